"""Turns an assessment (RULES.md §11) and the hook's context into CDS Hooks cards.

Order: crisis, safety on draft orders, TRD status, adequacy findings, augmentation,
switching, referrals, diagnosis review. One card per concern; no card repeats another.

The assessment's ``details`` object carries the concrete facts the cards state:

``patientId`` (str), ``age`` (int), ``crisisEvidence`` ({item9Score, item9Date} or
{suicidalIdeation: true}), ``currentTrial`` ({ingredient, class, rxcui, maxDailyDoseMg,
minAdequateDoseMg, daysAtAdequateDose, requiredDays, reassessDate}), ``augmentationOptions``
([{agent, rxcui, kind, startDose, unit, monitoring, preferred}]), ``switchOptions``
([{ingredient, rxcui, class, startDose}]), ``adherenceIssues`` ([{ingredient, evidence}]),
``comorbidities`` ([str]) and ``ectFirst`` (bool). The rules decide every one of them, after
the safety rules; this module only words them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import content
from .card import action, make_card, suggestion
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


def crisis_card(evidence: dict[str, Any] | None) -> dict[str, Any]:
    """The 988 crisis card. Depends on nothing but the evidence already in hand."""
    text = content.card_text("crisis")
    if evidence and evidence.get("item9Score") is not None:
        reason = content.render(text["reason_item9"], score=evidence["item9Score"],
                                date=evidence.get("item9Date", "a recent date"))
    elif evidence and evidence.get("suicidalIdeation"):
        reason = content.render(text["reason_condition"])
    else:
        reason = content.render(text["reason_unspecified"])
    link = {"label": text["link_label"], "url": text["link_url"], "type": "absolute"}
    return make_card("crisis", detail_fields={"reason": reason}, links=[link])


def _draft_id(order: dict[str, Any]) -> str | None:
    value = order.get("id")
    return value if isinstance(value, str) and value else None


def _order_drug(order: dict[str, Any]) -> str:
    concept = order.get("medicationCodeableConcept") or {}
    for coding in concept.get("coding", []):
        if coding.get("display"):
            return str(coding["display"])
    return str(concept.get("text") or "the drafted medication")


def safety_cards(findings: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    cards: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for finding in findings:
        rule = str(finding.get("rule"))
        drug = str(finding.get("drug") or "drafted medication")
        if (rule, drug) in seen:
            continue
        seen.add((rule, drug))
        fields = {"drug": drug, **(finding.get("facts") or {})}
        fields = {k: _fmt(v) for k, v in fields.items()}
        kind = f"safety-{rule}"
        try:
            card = make_card(kind, summary_fields=fields, detail_fields=fields, overridable=True,
                             indicator=finding.get("indicator"))
        except KeyError:
            card = make_card(
                "safety-generic",
                summary_fields={"rule": rule, "drug": drug},
                detail_fields={"rule": rule, "drug": drug,
                               "description": finding.get("description", "see the cited source.")},
                overridable=True,
                indicator=finding.get("indicator"),
            )
        cards.append(card)
    return cards


def _trial_rows(trials: Sequence[dict[str, Any]]) -> str:
    rows = []
    for t in trials:
        if not (t.get("failed") and t.get("inCurrentEpisode")):
            continue
        dose = f"{_fmt(t['maxDailyDoseMg'])} mg/day" if t.get("maxDailyDoseMg") is not None else "unknown"
        weeks = _fmt(round(t["daysAtAdequateDose"] / 7, 1)) if t.get("daysAtAdequateDose") is not None else "unknown"
        outcome = str(t.get("outcome")) + (" (inferred)" if t.get("outcomeInferred") else "")
        rows.append(f"| {t['ingredient']} | {t['class']} | {dose} | {weeks} | {outcome} |")
    return "\n".join(rows)


def trd_status_card(assessment: dict[str, Any]) -> dict[str, Any] | None:
    status = assessment.get("trdStatus")
    classes = assessment.get("failedClasses") or []
    trials = assessment.get("trials") or []
    if status == "met":
        staging = assessment.get("staging") or {}
        stage = staging.get("thaseRush")
        score = staging.get("maudsleyScore")
        maudsley = (f"{score} ({staging.get('maudsleyBand')})" if score is not None
                    else "not computable from the record")
        fields = {"class_count": len(classes), "classes": ", ".join(classes)}
        return make_card("trd-met", summary_fields=fields, detail_fields={
            **fields, "trial_rows": _trial_rows(trials),
            "thase_rush": stage if stage is not None else "unknown", "maudsley": maudsley})
    failed = [t for t in trials if t.get("failed") and t.get("inCurrentEpisode")]
    if status == "not-met" and failed:
        label = f"{failed[-1]['ingredient']} ({failed[-1]['class']})"
        return make_card("trd-one-failure", summary_fields={"trial": label},
                         detail_fields={"trial": label})
    return None


def _dose_card(details: dict[str, Any], hook: str, drafts: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    trial = details.get("currentTrial")
    if not trial or trial.get("minAdequateDoseMg") is None:
        return None
    drug = trial["ingredient"]
    fields = {"drug": drug, "current_dose": _fmt(trial.get("maxDailyDoseMg") or "an unknown dose"),
              "target_dose": _fmt(trial["minAdequateDoseMg"])}
    text = content.card_text("optimize-dose")
    patient_id = details.get("patientId")
    draft = next((d for d in drafts if _order_drug(d).lower().startswith(drug.lower())), None)
    resource = medication_request(patient_id=patient_id, drug=drug, rxcui=trial.get("rxcui"),
                                  daily_dose=trial["minAdequateDoseMg"], unit="mg", based_on=draft)
    if draft is not None and hook in ORDER_HOOKS and _draft_id(draft):
        act = action("update", content.render(text["action_update"], **fields), resource)
    else:
        act = action("create", content.render(text["action_create"], **fields), resource)
    sug = suggestion(content.render(text["suggestion_label"], **fields), [act])
    return make_card("optimize-dose", summary_fields=fields, detail_fields=fields, suggestions=[sug])


def _extend_card(details: dict[str, Any]) -> dict[str, Any] | None:
    trial = details.get("currentTrial")
    if not trial or not trial.get("reassessDate"):
        return None
    fields = {"drug": trial["ingredient"], "days": trial.get("daysAtAdequateDose"),
              "required_days": trial.get("requiredDays"), "reassess_date": trial["reassessDate"]}
    return make_card("extend-trial", summary_fields=fields, detail_fields=fields)


def _adherence_card(details: dict[str, Any]) -> dict[str, Any] | None:
    issues = details.get("adherenceIssues") or []
    if not issues:
        return None
    drugs = ", ".join(sorted({i["ingredient"] for i in issues}))
    evidence = "; ".join(f"{i['ingredient']}: {i['evidence']}" for i in issues)
    return make_card("address-adherence", summary_fields={"drugs": drugs},
                     detail_fields={"drugs": drugs, "evidence": evidence})


def _young_adult_note(assessment: dict[str, Any]) -> str:
    return content.note("young_adult") if "young-adult" in (assessment.get("safety") or []) else ""


def _augment_card(assessment: dict[str, Any], details: dict[str, Any]) -> dict[str, Any] | None:
    options = details.get("augmentationOptions") or []
    if not options:
        return None
    text = content.card_text("augment")
    trial = details.get("currentTrial") or {}
    base = trial.get("ingredient", "the current antidepressant")
    reason = (text["reason_trd"] if assessment.get("trdStatus") == "met"
              else content.render(text["reason_partial"], base_drug=base))
    suggestions = []
    preferred_seen = False
    for opt in options:
        fields = {"agent": opt["agent"], "dose": _fmt(opt["startDose"]), "unit": opt["unit"],
                  "monitoring": opt.get("monitoring") or "monitor response and side effects"}
        resource = medication_request(patient_id=details.get("patientId"), drug=opt["agent"],
                                      rxcui=opt.get("rxcui"), daily_dose=opt["startDose"],
                                      unit=opt["unit"], note=fields["monitoring"])
        recommended = bool(opt.get("preferred")) and not preferred_seen
        preferred_seen = preferred_seen or recommended
        suggestions.append(suggestion(content.render(text["suggestion_label"], **fields),
                                      [action("create", content.render(text["action"], **fields), resource)],
                                      recommended=recommended))
    fields = {"base_drug": base, "agent_count": len(options), "reason": reason,
              "young_adult_note": _young_adult_note(assessment)}
    return make_card("augment", summary_fields=fields, detail_fields=fields, suggestions=suggestions)


def _switch_card(assessment: dict[str, Any], details: dict[str, Any], hook: str,
                 drafts: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    options = details.get("switchOptions") or []
    trial = details.get("currentTrial")
    if not options or not trial:
        return None
    text = content.card_text("switch-class")
    draft = next((d for d in drafts if _draft_id(d)), None) if hook in ORDER_HOOKS else None
    suggestions = []
    for opt in options:
        fields = {"drug": opt["ingredient"], "dose": _fmt(opt["startDose"]), "class_name": opt["class"]}
        resource = medication_request(patient_id=details.get("patientId"), drug=opt["ingredient"],
                                      rxcui=opt.get("rxcui"), daily_dose=opt["startDose"], unit="mg",
                                      based_on=draft)
        kind, template = ("update", "action_update") if draft is not None else ("create", "action_create")
        suggestions.append(suggestion(content.render(text["suggestion_label"], **fields),
                                      [action(kind, content.render(text[template], **fields), resource)]))
    maoi_offered = any(o["class"] == "MAOI" for o in options)
    fields = {"current_drug": trial["ingredient"], "current_class": trial["class"],
              "failed_classes": ", ".join(assessment.get("failedClasses") or []) or "none",
              "washout_note": content.note("washout") if maoi_offered else "",
              "young_adult_note": _young_adult_note(assessment)}
    return make_card("switch-class", summary_fields=fields, detail_fields=fields, suggestions=suggestions)


def _referral(label: str, service: tuple[str, tuple[str, str] | None], patient_id: str,
              note: str | None = None) -> dict[str, Any]:
    resource = service_request(patient_id=patient_id, display=service[0], coding=service[1],
                               note=note)
    return suggestion(label, [action("create", label, resource)])


def _referral_cards(codes: Sequence[str], details: dict[str, Any]) -> list[dict[str, Any]]:
    patient_id = details.get("patientId")
    if not patient_id:
        return []
    cards = []
    if "psychotherapy" in codes:
        text = content.card_text("psychotherapy")
        cards.append(make_card("psychotherapy", selection="at-most-one", suggestions=[
            _referral(text["suggestion_cbt"], CBT, patient_id),
            _referral(text["suggestion_ipt"], IPT, patient_id)]))
    if "ect" in codes:
        text = content.card_text("ect")
        first = bool(details.get("ectFirst"))
        fields = {"priority_note": content.note("ect_priority") if first else "",
                  "priority_sentence": content.note("ect_priority_sentence") if first else ""}
        cards.append(make_card("ect", summary_fields=fields, detail_fields=fields,
                               suggestions=[_referral(text["suggestion_label"], ECT, patient_id)]))
    if "esketamine" in codes:
        text = content.card_text("esketamine")
        note = "Esketamine nasal spray evaluation; REMS-certified setting; BP and dissociation monitoring."
        cards.append(make_card("esketamine", suggestions=[
            _referral(text["suggestion_label"], ESKETAMINE, patient_id, note)]))
    return cards


def _diagnosis_card(assessment: dict[str, Any], details: dict[str, Any]) -> dict[str, Any] | None:
    text = content.card_text("review-diagnosis")
    if assessment.get("trdStatus") == "excluded":
        reason, explanation = text["reason_excluded"], text["explanation_excluded"]
    else:
        conditions = ", ".join(details.get("comorbidities") or []) or "conditions"
        reason = content.render(text["reason_comorbidity"], conditions=conditions)
        explanation = content.render(text["explanation_comorbidity"], conditions=conditions)
    return make_card("review-diagnosis", summary_fields={"reason": reason},
                     detail_fields={"explanation": explanation})


def build_cards(
    assessment: dict[str, Any],
    *,
    hook: str,
    draft_orders: Sequence[dict[str, Any]] = (),
    order_findings: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    details: dict[str, Any] = assessment.get("details") or {}
    codes: list[str] = list(assessment.get("suggestions") or [])
    drafts = list(draft_orders) if hook in ORDER_HOOKS else []
    cards: list[dict[str, Any] | None] = []
    if assessment.get("crisis"):
        cards.append(crisis_card(details.get("crisisEvidence")))
    cards += safety_cards(order_findings if hook in ORDER_HOOKS else ())
    cards.append(trd_status_card(assessment))
    if "optimize-dose" in codes:
        cards.append(_dose_card(details, hook, drafts))
    if "extend-trial" in codes:
        cards.append(_extend_card(details))
    if "address-adherence" in codes:
        cards.append(_adherence_card(details))
    if "augment" in codes:
        cards.append(_augment_card(assessment, details))
    if "switch-class" in codes:
        cards.append(_switch_card(assessment, details, hook, drafts))
    cards += _referral_cards(codes, details)
    if "review-diagnosis" in codes:
        cards.append(_diagnosis_card(assessment, details))
    return [c for c in cards if c is not None]
