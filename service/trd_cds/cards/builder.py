"""Turns an assessment (RULES.md §11) and the hook's context into CDS Hooks cards.

Order: crisis, safety on draft orders, safety of the drugs taken now, TRD status, trials whose
dose is unknown, adequacy findings, augmentation, switching, referrals, diagnosis review, and
last, for integrators, the records the rules could not fully use. One card per concern; no card
repeats another.

The concrete facts a card states (target doses, reassessment dates, eligible agents and switch
candidates after the safety rules, crisis evidence) come from the assessment's ``details``,
which the CQL computes (TRDAssessment."Details"); this module only words them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trd_cds.assessment import (
    Assessment,
    Conflict,
    Details,
    DraftDrug,
    Item9Evidence,
    OrderCheck,
    OrderFinding,
    Trial,
    no_orders,
)

from . import content
from .card import action, make_card, suggestion
from .links import TimelineLaunch, timeline_links, with_links
from .resources import CPT, SNOMED, medication_request, service_request

ORDER_HOOKS = frozenset({"order-select", "order-sign"})
# Referral codes from the knowledge tables; only codes not tagged unverified are sent, the
# others go as text (RULES.md: never rely on an unverified code alone).
CBT = ("Cognitive behavioral therapy", (SNOMED, "304891004"))
IPT = ("Interpersonal psychotherapy", None)
ECT = ("Electroconvulsive therapy", (CPT, "90870"))
ESKETAMINE = ("Esketamine nasal spray treatment in a REMS-certified setting", None)


def _fmt(value: Any) -> str:
    """Numbers as a clinician writes them: 20, 0.5, 37.5."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def crisis_card(details: Details) -> dict[str, Any]:
    """The 988 crisis card. Depends on nothing but the evidence already in hand: the latest
    positive item 9 answer, else an active suicidal-ideation Condition."""
    text = content.card_text("crisis")
    item9: Item9Evidence | None = details.get("crisisItem9")
    if item9 is not None:
        reason = content.render(text["reason_item9"], score=_fmt(item9["score"]),
                                date=item9["takenOn"])
    elif details.get("crisisSuicidalIdeationCondition"):
        reason = content.render(text["reason_condition"])
    else:
        reason = content.render(text["reason_unspecified"])
    link = {"label": text["link_label"], "url": text["link_url"], "type": "absolute"}
    return make_card("crisis", detail_fields={"reason": reason}, links=[link])


def _draft_id(order: dict[str, Any]) -> str | None:
    value = order.get("id")
    return value if isinstance(value, str) and value else None


def _join(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(dict.fromkeys(items))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _removals(findings: Sequence[OrderFinding]) -> dict[tuple[str, str], list[str]]:
    """(suggestion, candidate) -> the drafted drugs that rule it out (CQL "Draft Removals")."""
    out: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        removes = f.get("removesSuggestion")
        if removes is not None:
            out.setdefault((removes["suggestion"], removes["drug"]), []).append(f["drug"])
    return out


def _draft_note(removed: dict[str, list[str]]) -> str:
    """Which candidates a drafted order ruled out, for the card that no longer offers them."""
    if not removed:
        return ""
    drafts = [d for ds in removed.values() for d in ds]
    return content.render(content.note("draft_removed"), drafts=_join(drafts),
                          removed=_join(list(removed)))


def _partner(conflict: Conflict) -> str:
    key = "partner_drafted" if conflict.get("drafted") else "partner_current"
    return content.render(content.note(key), drug=conflict.get("drug"))


def _rule_fields(rule: str, group: list[OrderFinding], details: Details) -> dict[str, Any]:
    """The facts a safety card of ``rule`` states, from its findings and the assessment."""
    text = content.card_text(f"safety-{rule}")
    plain = [f for f in group if not f.get("conflictsWith")]
    conflicts = [f for f in group if f.get("conflictsWith")]
    drugs = [str(f.get("drug") or "drafted medication") for f in group]
    fields: dict[str, Any] = {"drug": _join(drugs), "drugs": _join(drugs)}
    days = [n for f in plain if (n := f.get("washoutDaysLeft")) is not None]
    doses = [mg for f in plain if (mg := f.get("dailyDoseMg")) is not None]
    if days:
        fields["washoutDaysLeft"] = _fmt(max(days))
    if doses:
        fields["dailyDoseMg"] = _fmt(max(doses))
    if conflicts:
        fields["partners"] = _join([str(c["conflictsWith"]["drug"]) for c in conflicts])
        lines = []
        for drug in dict.fromkeys(str(c.get("drug")) for c in conflicts):
            mine = [c["conflictsWith"] for c in conflicts if str(c.get("drug")) == drug]
            # The partners' role (from the CQL) says which side of the rule the drafted drug is on.
            lines.append(content.render(text[f"pair_with_{mine[0].get('role')}"], drug=drug,
                                        partners=_join([_partner(c) for c in mine])))
        fields["pairs"] = "\n".join(lines)
    if rule == "bupropion-seizure":
        fields["conditions"] = _conditions(details, text)
    if rule == "lithium-monitoring":
        egfr = details.get("latestEGFR")
        fields["egfr"] = _fmt(egfr) if egfr is not None else "not recorded"
    if rule == "citalopram-dose":
        fields["age"] = details.get("age", "unknown")
    if rule == "renal-dose":
        fields.update(_renal_fields(details, drugs))
    return fields


def safety_cards(findings: Sequence[OrderFinding],
                 details: Details | None = None) -> list[dict[str, Any]]:
    """One card per safety rule that a drafted order triggers (CDS Hooks: one concern, one
    card), naming every drafted drug and, for combinations, what each is combined with.
    Findings that only remove a suggestion make no card of their own."""
    details = details or {}
    groups: dict[str, list[OrderFinding]] = {}
    for finding in findings:
        if "removesSuggestion" in finding:
            continue
        groups.setdefault(finding["ruleId"], []).append(finding)
    cards: list[dict[str, Any]] = []
    for rule, group in groups.items():
        indicators = [str(f.get("indicator")) for f in group]
        indicator = next((i for i in ("critical", "warning", "info") if i in indicators), None)
        kind = f"safety-{rule}"
        try:
            text = content.card_text(kind)
            fields = _rule_fields(rule, group, details)
            summary = None
            fields["renal_note"] = ""
            if rule == "lithium-monitoring" and indicator == "warning":
                # The CQL raises drafted lithium to a warning when eGFR is below the limit.
                fields["renal_note"] = content.render(text["renal_note"], **fields) + " "
                summary = text["summary_renal"]
            card = make_card(kind, summary_fields=fields, detail_fields=fields, overridable=True,
                             indicator=indicator, summary=summary)
        except KeyError:
            drugs = _join([str(f.get("drug") or "drafted medication") for f in group])
            card = make_card(
                "safety-generic",
                summary_fields={"rule": rule, "drug": drugs},
                detail_fields={"rule": rule, "drug": drugs,
                               "description": "see the cited source."},
                overridable=True,
                indicator=indicator,
            )
        cards.append(card)
    return cards


def _renal_fields(details: Details, drugs: Sequence[str]) -> dict[str, str]:
    """The latest eGFR and the label's renal advice for ``drugs`` (CQL "Renal Dosing")."""
    egfr = details.get("latestEGFR")
    advice = [f"{r['drug']}: {r['advice']}" for r in details.get("renalDosing") or [] if r["drug"] in drugs]
    return {"egfr": _fmt(egfr) if egfr is not None else "not recorded", "advice": "; ".join(advice)}


def _conditions(details: Details, text: dict[str, Any]) -> str:
    found = [text[k] for k, flag in (("seizure", "seizureDisorder"), ("eating", "eatingDisorder"))
             if details.get(flag)]
    return _join(found) if found else str(text["either"])


def current_drug_cards(details: Details) -> list[dict[str, Any]]:
    """Cards for what the patient takes now (TRDAssessment "Details".currentDrugAlerts): a
    combination or dose that breaks a safety rule whatever is suggested or drafted."""
    cards = []
    for alert in details.get("currentDrugAlerts") or []:
        kind = f"current-{alert['ruleId']}"
        text = content.card_text(kind)
        fields = {"drugs": _join(alert.get("drugs") or ["a current drug"]),
                  "partners": _join(alert.get("partners") or ["another serotonergic drug"]),
                  "dose": _fmt(alert.get("doseMg")) if alert.get("doseMg") is not None else "unknown",
                  "age": details.get("age", "unknown")}
        if alert["ruleId"] == "bupropion-seizure":
            fields["conditions"] = _conditions(details, text)
        if alert["ruleId"] == "renal-dose":
            fields.update(_renal_fields(details, alert.get("drugs") or []))
        cards.append(make_card(kind, summary_fields=fields, detail_fields=fields, overridable=True,
                               indicator=alert.get("indicator")))
    return cards


def _trial_rows(trials: Sequence[Trial]) -> str:
    rows = []
    for t in trials:
        if not (t.get("failed") and t.get("inCurrentEpisode")):
            continue
        dose = f"{_fmt(t['maxDailyDoseMg'])} mg/day" if t.get("maxDailyDoseMg") is not None else "unknown"
        days = t.get("daysAtAdequateDose")
        weeks = _fmt(round(days / 7, 1)) if days is not None else "unknown"
        outcome = str(t.get("outcome")) + (" (inferred)" if t.get("outcomeInferred") else "")
        rows.append(f"| {t['ingredient']} | {t['class']} | {dose} | {weeks} | {outcome} |")
    return "\n".join(rows)


_ROMAN = ("0", "I", "II", "III", "IV", "V")


def trd_status_card(assessment: Assessment) -> dict[str, Any] | None:
    status = assessment.get("trdStatus")
    classes = assessment.get("failedClasses") or []
    trials = assessment.get("trials") or []
    if status == "met":
        staging = assessment.get("staging")
        stage = staging["thaseRush"] if staging else None
        score = staging["maudsleyScore"] if staging else None
        band = staging["maudsleyBand"] if staging else None
        maudsley = (f"{score} ({band})" if score is not None
                    else "not computable from the record")
        fields = {"class_count": len(classes), "classes": ", ".join(classes)}
        return make_card("trd-met", summary_fields=fields, detail_fields={
            **fields, "trial_rows": _trial_rows(trials),
            "thase_rush": _ROMAN[stage] if isinstance(stage, int) and 0 <= stage <= 5 else "unknown",
            "maudsley": maudsley})
    failed = [t for t in trials if t.get("failed") and t.get("inCurrentEpisode")]
    if status == "not-met" and failed:
        # Not met: every failed trial of the episode is in one class (or short of the count).
        fields = {"drugs": _join([t["ingredient"] for t in failed]),
                  "classes": _join([t["class"] for t in failed])}
        text = content.card_text("trd-one-failure")
        several = len({t["ingredient"] for t in failed}) > 1
        return make_card("trd-one-failure", summary_fields=fields, detail_fields=fields,
                         summary=text["summary_several"] if several else None)
    return None


def dose_unknown_card(assessment: Assessment) -> dict[str, Any] | None:
    """Trials of the episode with no readable dose: said, not left silent (their adequacy
    cannot be judged, so TRD may be understated)."""
    if assessment.get("trdStatus") not in {"met", "not-met"}:
        return None
    unknown = [t for t in assessment.get("trials") or []
               if t.get("inCurrentEpisode") and "dose-unknown" in (t.get("flags") or [])]
    if not unknown:
        return None
    drugs = _join(sorted({t["ingredient"] for t in unknown}))
    trials = _join([f"{t['ingredient']} trial from {t['start']}" for t in unknown])
    return make_card("dose-unknown", summary_fields={"drugs": drugs},
                     detail_fields={"trials": trials})


# Findings whose effect cannot change the advice (an empty element carries no data).
_SILENT_EFFECTS = frozenset({"dropped"})


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def data_quality_card(assessment: Assessment) -> dict[str, Any] | None:
    """One card for integrators listing the records the rules could not fully use, when one of
    them can change the advice."""
    relevant = [f for f in assessment.get("dataQuality") or []
                if f.get("effect") not in _SILENT_EFFECTS]
    if not relevant:
        return None
    rows = "\n".join(
        f"| {_cell(str(f['resource']))} | {_cell(str(f['path']))} | "
        f"{content.data_quality_words('issues', str(f['issue']))} | "
        f"{content.data_quality_words('effects', str(f['effect']))} |"
        for f in relevant)
    text = content.card_text("data-quality")
    return make_card("data-quality", summary_fields={"count": len(relevant)},
                     detail_fields={"rows": rows},
                     summary=text["summary_one"] if len(relevant) == 1 else None)


def _current_trial(assessment: Assessment, details: Details) -> Trial | None:
    """The trial the §12 'current / last trial' rule points at: the latest-starting one."""
    name = details.get("currentTrialIngredient")
    episode = [t for t in assessment.get("trials") or [] if t.get("inCurrentEpisode")]
    named = [t for t in episode if t.get("ingredient") == name]
    pool = named or episode
    return max(pool, key=lambda t: str(t.get("start"))) if pool else None


def _draft_for(drafts: Sequence[dict[str, Any]], ordered: Sequence[DraftDrug],
               drug: str) -> dict[str, Any] | None:
    """The drafted order of ``drug``: the CQL read what each draft orders from its codes
    (TRDAssessment "Drafted Drugs"), so desvenlafaxine is never taken for venlafaxine."""
    ids = {d["orderId"] for d in ordered if d["drug"] == drug and d["orderId"]}
    return next((d for d in drafts if _draft_id(d) in ids), None)


def _dose_card(details: Details, hook: str, drafts: Sequence[dict[str, Any]],
               ordered: Sequence[DraftDrug], patient_id: str | None,
               removed: dict[tuple[str, str], list[str]]) -> dict[str, Any] | None:
    target = details.get("doseTarget")
    if not target or target.get("targetDailyDoseMg") is None:
        return None
    drug = target["ingredient"]
    if ("optimize-dose", drug) in removed:
        return None
    current = target.get("currentDailyDoseMg")
    text = content.card_text("optimize-dose")
    renal = target.get("renalAdvice")
    fields = {"drug": drug, "current_dose": _fmt(current) if current is not None else "an unknown dose",
              "target_dose": _fmt(target["targetDailyDoseMg"]),
              "renal_note": content.render(text["renal_note"], advice=renal) if renal else ""}
    draft = _draft_for(drafts, ordered, drug) if hook in ORDER_HOOKS else None
    resource = medication_request(patient_id=patient_id, drug=drug, rxcui=None,
                                  daily_dose=target["targetDailyDoseMg"], unit="mg", based_on=draft)
    if draft is not None:
        act = action("update", content.render(text["action_update"], **fields), resource)
    else:
        act = action("create", content.render(text["action_create"], **fields), resource)
    sug = suggestion(content.render(text["suggestion_label"], **fields), [act])
    return make_card("optimize-dose", summary_fields=fields, detail_fields=fields, suggestions=[sug])


def _extend_card(details: Details) -> dict[str, Any] | None:
    plan = details.get("reassessment")
    if not plan or not plan.get("reassessOn"):
        return None
    fields = {"drug": plan["ingredient"], "days": plan.get("daysAtAdequateDose"),
              "required_days": plan.get("requiredDays"), "reassess_date": plan["reassessOn"]}
    return make_card("extend-trial", summary_fields=fields, detail_fields=fields)


def _adherence_card(assessment: Assessment, details: Details) -> dict[str, Any] | None:
    pdc = {t["ingredient"]: t["pdc"] for t in details.get("trials") or []}
    poor = [t for t in assessment.get("trials") or []
            if t.get("inCurrentEpisode") and "poor-adherence" in (t.get("flags") or [])]
    if not poor:
        return None
    drugs = ", ".join(sorted({t["ingredient"] for t in poor}))
    evidence = "; ".join(
        f"{t['ingredient']}: " + (f"{round(float(covered) * 100)}% of days covered by dispenses"
                                  if (covered := pdc.get(t["ingredient"])) is not None
                                  else "a record marked not taken")
        for t in poor)
    text = content.card_text("address-adherence")
    held = [str(text[h["suggestion"]]) for h in details.get("heldBack") or []
            if h["reason"] == "poor-adherence"]
    note = content.render(text["held_back"], suggestions=" and ".join(held)) if held else ""
    return make_card("address-adherence", summary_fields={"drugs": drugs},
                     detail_fields={"drugs": drugs, "evidence": evidence, "held_back_note": note})


def _tried_note(details: Details, template: str, suggestion_code: str,
               skip: Sequence[str] = (), named_already: Sequence[str] = ()) -> str:
    """Which candidates of the suggestion are not offered again, and why (CQL "Tried
    Agents"); ``skip``: the reasons the card already states, ``named_already``: the drugs."""
    reasons = content.content()["tried_reasons"]
    named = [f"{t['drug']} ({reasons.get(t['reason'], t['reason'])})"
             for t in details.get("triedAgents") or []
             if suggestion_code in t["candidateOf"] and t["reason"] not in skip
             and t["drug"] not in named_already
             and t["drug"] != details.get("currentTrialIngredient")]
    return content.render(template, agents=_join(named)) if named else ""


def _held_back_note(details: Details, suggestion_code: str, template: str) -> str:
    """Candidates a patient state holds back (alcohol use disorder, hypothyroidism ...): the
    removed candidates whose rules are warnings, named with the rule."""
    words = content.content()["rule_reasons"]
    held = [f"{r['drug']} ({', '.join(words.get(rule, rule) for rule in r['rules'])})"
            for r in details.get("removedCandidates") or []
            if r["suggestion"] == suggestion_code]
    return content.render(template, agents=_join(held)) if held else ""


def _young_adult_note(assessment: Assessment) -> str:
    return content.note("young_adult") if "young-adult" in (assessment.get("safety") or []) else ""


# augmentation_agents.csv writes daily doses as mg/day or mcg/day; an order states the dose
# given once a day in UCUM.
_DOSE_UNITS = {"mg/day": ("mg", "mg"), "mcg/day": ("ug", "mcg")}


def _augment_card(assessment: Assessment, details: Details,
                  patient_id: str | None,
                  removed: dict[tuple[str, str], list[str]]) -> dict[str, Any] | None:
    offered = details.get("augmentationAgents") or []
    agents = [a for a in offered if ("augment", a["agent"]) not in removed]
    if not agents:
        return None
    dropped = {a["agent"]: removed[("augment", a["agent"])] for a in offered
               if ("augment", a["agent"]) in removed}
    text = content.card_text("augment")
    monitoring = content.content()["monitoring"]
    # Augmentation adds to the antidepressant taken now; when none is (the last trial ended),
    # the card says so instead of naming a stopped drug.
    base = details.get("currentTrialIngredient")
    reason = (text["reason_trd"] if assessment.get("trdStatus") == "met"
              else content.render(text["reason_partial"], base_drug=base))
    if not base:
        reason += " " + text["no_current"]
    suggestions = []
    # The CQL lists agents in guideline order (augmentation_agents.csv): the first eligible one
    # is the preferred choice.
    for index, agent in enumerate(agents):
        ucum, shown = _DOSE_UNITS.get(agent["unit"], (agent["unit"], agent["unit"]))
        kind = "second-generation-antipsychotic" if agent["agent"] in {
            "aripiprazole", "brexpiprazole", "quetiapine", "cariprazine", "olanzapine"} else agent["agent"]
        fields = {"agent": agent["agent"], "dose": _fmt(agent["startDose"]), "unit": agent["unit"],
                  "monitoring": monitoring.get(kind, monitoring["default"])}
        resource = medication_request(patient_id=patient_id, drug=agent["agent"],
                                      rxcui=agent.get("rxcui"), daily_dose=agent["startDose"],
                                      unit=ucum, note=f"Starting dose {_fmt(agent['startDose'])} {shown} "
                                                      f"once daily; {fields['monitoring']}.")
        suggestions.append(suggestion(content.render(text["suggestion_label"], **fields),
                                      [action("create", content.render(text["action"], **fields), resource)],
                                      recommended=index == 0))
    current = details.get("currentAugmenters") or []
    if current:
        reason += " " + content.render(text["current_augmenters"], agents=_join(current))
    tried = _tried_note(details, text["tried"], "augment", named_already=current)
    held = _held_back_note(details, "augment", text["held_back"])
    reason = " ".join(p for p in (reason, tried, held) if p)
    fields = {"base_drug": base or "", "agent_count": len(agents), "reason": reason,
              "draft_note": _draft_note(dropped),
              "young_adult_note": _young_adult_note(assessment)}
    return make_card("augment", summary_fields=fields, detail_fields=fields, suggestions=suggestions,
                     summary=None if base else text["summary_no_current"])


def _switch_card(assessment: Assessment, details: Details, hook: str,
                 drafts: Sequence[dict[str, Any]], ordered: Sequence[DraftDrug],
                 patient_id: str | None,
                 removed: dict[tuple[str, str], list[str]]) -> dict[str, Any] | None:
    offered = details.get("switchCandidates") or []
    options = [o for o in offered if ("switch-class", o["ingredient"]) not in removed]
    trial = _current_trial(assessment, details)
    if not options or not trial:
        return None
    dropped = {o["ingredient"]: removed[("switch-class", o["ingredient"])] for o in offered
               if ("switch-class", o["ingredient"]) in removed}
    text = content.card_text("switch-class")
    # A switch replaces a drafted order of the failing drug (a renewal); any other draft is
    # left alone and the switch is a new order.
    draft = _draft_for(drafts, ordered, trial["ingredient"]) if hook in ORDER_HOOKS else None
    suggestions = []
    for opt in options:
        fields = {"drug": opt["ingredient"], "dose": _fmt(opt["minAdequateMg"]),
                  "max_dose": _fmt(opt["usualMaxMg"]), "class_name": opt["drugClass"]}
        # No starting dose is guessed: the order names the drug and the titration target.
        resource = medication_request(patient_id=patient_id, drug=opt["ingredient"],
                                      rxcui=opt.get("rxcui"), daily_dose=None, unit="mg",
                                      instruction=content.render(text["instruction"], **fields),
                                      based_on=draft)
        kind, template = ("update", "action_update") if draft is not None else ("create", "action_create")
        label = content.render(text["suggestion_label"], **fields)
        if opt.get("overdoseWarning"):
            label += text["overdose_label"]
        if opt.get("renalAdvice"):
            label += content.render(text["renal_label"], advice=opt["renalAdvice"])
        suggestions.append(suggestion(label, [action(kind, content.render(text[template], **fields), resource)]))
    maoi_offered = any(o["drugClass"] == "MAOI" for o in options)
    overdose = any(o.get("overdoseWarning") for o in options)
    # Switch applies to a failed trial, or to a current one that shows non-response after the
    # adequate duration at an adequate dose (RULES.md §12); the card says which.
    reason_key = "reason_failed" if trial.get("failed") else "reason_non_response"
    names = {"drug": trial["ingredient"], "class_name": trial["class"]}
    fields = {"current_drug": trial["ingredient"], "current_class": trial["class"],
              "reason": content.render(text[reason_key], **names),
              "failed_classes": ", ".join(assessment.get("failedClasses") or []) or "none",
              "washout_note": " ".join(p for p in (
                  content.note("washout") if maoi_offered else "",
                  text["overdose_note"] if overdose else "",
                  _tried_note(details, text["tried"], "switch-class", skip=("failed",))) if p),
              "draft_note": _draft_note(dropped),
              "young_adult_note": _young_adult_note(assessment)}
    return make_card("switch-class", summary_fields=fields, detail_fields=fields, suggestions=suggestions)


def _referral(label: str, service: tuple[str, tuple[str, str] | None], patient_id: str,
              note: str | None = None) -> dict[str, Any]:
    resource = service_request(patient_id=patient_id, display=service[0], coding=service[1],
                               note=note)
    return suggestion(label, [action("create", label, resource)])


def _ect_card(details: Details, crisis: bool, patient_id: str) -> dict[str, Any]:
    """ECT referral; when the CQL puts ECT first it says why (psychotic features, suicidality)."""
    text = content.card_text("ect")
    fields = {"priority_note": "", "priority_sentence": ""}
    if details.get("ectFirst"):
        reasons = _join([text[key] for key, present in (
            ("reason_psychotic", details.get("psychoticFeatures")),
            ("reason_suicidality", crisis or details.get("crisisSuicidalIdeationCondition")))
            if present] or [text["reason_either"]])
        sentence = content.render(content.note("ect_priority_sentence"), reasons=reasons)
        if any(h["reason"] == "psychotic-features" for h in details.get("heldBack") or []):
            sentence += " " + content.card_text("augment")["psychotic"]
        fields = {"priority_note": " " + content.render(content.note("ect_priority"), reasons=reasons),
                  "priority_sentence": sentence}
    return make_card("ect", summary_fields=fields, detail_fields=fields,
                     suggestions=[_referral(text["suggestion_label"], ECT, patient_id)])


def _referral_cards(codes: Sequence[str], details: Details,
                    patient_id: str | None,
                    removed: dict[tuple[str, str], list[str]]) -> list[dict[str, Any]]:
    if not patient_id:
        return []
    cards = []
    if "psychotherapy" in codes:
        text = content.card_text("psychotherapy")
        cards.append(make_card("psychotherapy", selection="at-most-one", suggestions=[
            _referral(text["suggestion_cbt"], CBT, patient_id),
            _referral(text["suggestion_ipt"], IPT, patient_id)]))
    if "ect" in codes and not details.get("ectFirst"):
        cards.append(_ect_card(details, False, patient_id))
    if "esketamine" in codes and ("esketamine", "esketamine") not in removed:
        text = content.card_text("esketamine")
        note = "Esketamine nasal spray evaluation; REMS-certified setting; BP and dissociation monitoring."
        cards.append(make_card("esketamine", suggestions=[
            _referral(text["suggestion_label"], ESKETAMINE, patient_id, note)]))
    return cards


def _diagnosis_card(assessment: Assessment, details: Details) -> dict[str, Any] | None:
    text = content.card_text("review-diagnosis")
    if assessment.get("trdStatus") == "excluded":
        reason, explanation = text["reason_excluded"], text["explanation_excluded"]
    else:
        found = [text[key] for key, flag in (("substance_use", "substanceUseDisorder"),
                                             ("hypothyroidism", "hypothyroidism")) if details.get(flag)]
        conditions = " and ".join(found) or "conditions"
        reason = content.render(text["reason_comorbidity"], conditions=conditions)
        explanation = content.render(text["explanation_comorbidity"], conditions=conditions)
    return make_card("review-diagnosis", summary_fields={"reason": reason},
                     detail_fields={"explanation": explanation})


def _deceased_card(details: Details) -> dict[str, Any]:
    text = content.card_text("deceased")
    died = details.get("deathDate")
    if died:
        statement = content.render(text["statement_dated"], date=_fmt(died))
        return make_card("deceased", summary_fields={"date": _fmt(died)},
                         detail_fields={"statement": statement})
    return make_card("deceased", summary=text["summary_undated"],
                     detail_fields={"statement": content.render(text["statement_undated"])})


def build_cards(
    assessment: Assessment,
    *,
    hook: str,
    draft_orders: Sequence[dict[str, Any]] = (),
    order_check: OrderCheck | None = None,
    patient_id: str | None = None,
    timeline: TimelineLaunch | None = None,
) -> list[dict[str, Any]]:
    details: Details = assessment.get("details") or Details()
    links = timeline_links(timeline)
    codes: list[str] = list(assessment.get("suggestions") or [])
    drafts = list(draft_orders) if hook in ORDER_HOOKS else []
    checked = order_check if order_check is not None and hook in ORDER_HOOKS else no_orders()
    ordered = checked["drafts"]
    cards: list[dict[str, Any] | None] = []
    if assessment.get("crisis"):
        cards.append(crisis_card(details))
    findings = checked["findings"]
    # Candidates of the (draft-free, cached) assessment that the drafted orders rule out.
    removed = _removals(findings)
    cards += safety_cards(findings, details)
    cards += current_drug_cards(details)
    if details.get("deceased"):
        # No advice for a patient the record says has died; the answer says so.
        cards.append(_deceased_card(details))
        codes = []
    cards.append(with_links(trd_status_card(assessment), links))
    cards.append(dose_unknown_card(assessment))
    if patient_id is None:
        # Actions must name their subject; without a patient id the advice cannot be actionable,
        # and an unactionable order card is worse than none.
        codes = [c for c in codes if c in {"extend-trial", "address-adherence", "review-diagnosis"}]
    if "ect" in codes and details.get("ectFirst") and patient_id:
        # Recommended first (psychotic features or suicidality): before the drug options.
        cards.append(_ect_card(details, bool(assessment.get("crisis")), patient_id))
    if "optimize-dose" in codes:
        cards.append(_dose_card(details, hook, drafts, ordered, patient_id, removed))
    if "extend-trial" in codes:
        cards.append(_extend_card(details))
    if "address-adherence" in codes:
        cards.append(_adherence_card(assessment, details))
    if "augment" in codes:
        cards.append(with_links(_augment_card(assessment, details, patient_id, removed), links))
    if "switch-class" in codes:
        cards.append(with_links(
            _switch_card(assessment, details, hook, drafts, ordered, patient_id, removed), links))
    cards += _referral_cards(codes, details, patient_id, removed)
    if "review-diagnosis" in codes:
        cards.append(_diagnosis_card(assessment, details))
    cards.append(data_quality_card(assessment))
    return [c for c in cards if c is not None]
