"""The assessment beside the chart, worded from ``content.toml`` as the cards are."""

from __future__ import annotations

from typing import Any

from trd_cds.cards import content

# Flags that make a trial inadequate; the others are noted beside the verdict.
_UNMET = ("low-dose", "too-short", "poor-adherence", "dose-unknown")
_ROMAN = ("0", "I", "II", "III", "IV", "V")


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "unknown" if value is None else str(value)


def _flag_words(flag: str, trial: dict[str, Any], facts: dict[str, Any]) -> str:
    words: dict[str, str] = content.content()["timeline"]["flags"]
    template = words.get(flag)
    if template is None:
        return flag
    return content.render(
        template,
        dose=_fmt(trial.get("maxDailyDoseMg")),
        min_dose=_fmt(facts.get("minAdequateMg")),
        days=_fmt(trial.get("daysAtAdequateDose")),
        required_days=_fmt(facts.get("requiredDays")),
        drugs=", ".join(facts.get("interactingDrugs") or []) or "unknown",
    )


def trial_sentence(trial: dict[str, Any], facts: dict[str, Any]) -> str:
    text = content.content()["timeline"]
    outcomes: dict[str, str] = text["outcomes"]
    flags = [str(f) for f in trial.get("flags") or []]
    dose = trial.get("maxDailyDoseMg")
    days = trial.get("daysAtAdequateDose")
    fields = {
        "drug": trial.get("ingredient"),
        "class_name": trial.get("class"),
        "start": trial.get("start"),
        "end": trial.get("end"),
        "dose": content.render(text["dose"], dose=_fmt(dose)) if dose is not None
        else text["dose_unknown"],
        "weeks": _fmt(round(days / 7, 1)) if isinstance(days, int | float) else "unknown",
        "outcome": outcomes.get(str(trial.get("outcome")), str(trial.get("outcome"))),
    }
    unmet = [_flag_words(f, trial, facts) for f in flags if f in _UNMET]
    notes = [_flag_words(f, trial, facts) for f in flags if f not in _UNMET]
    if not trial.get("inCurrentEpisode"):
        sentence = content.render(text["trial_before_episode"], **fields)
    elif trial.get("failed"):
        sentence = content.render(text["trial_failed"], **fields)
    elif trial.get("adequate"):
        sentence = content.render(text["trial_adequate"], **fields)
    else:
        sentence = content.render(text["trial_not_adequate"], **fields,
                                  reasons="; ".join(unmet) or fields["outcome"])
    if notes:
        sentence += content.render(text["also"], notes="; ".join(notes))
    return sentence


def explanation(assessment: dict[str, Any]) -> dict[str, Any]:
    """`trials`: one sentence per trial, in the assessment's order; `staging`: one line."""
    text = content.content()["timeline"]
    facts = (assessment.get("details") or {}).get("trials") or []
    trials = assessment.get("trials") or []
    sentences = [trial_sentence(t, facts[i] if i < len(facts) else {})
                 for i, t in enumerate(trials)]
    staging = assessment.get("staging") or {}
    stage = staging.get("thaseRush")
    if assessment.get("trdStatus") == "met" and stage is not None:
        score = staging.get("maudsleyScore")
        maudsley = (f"{score} ({staging.get('maudsleyBand')})" if score is not None
                    else "not computable from the record")
        staged = content.render(text["staging"], maudsley=maudsley,
                                thase_rush=_ROMAN[stage] if 0 <= stage <= 5 else "unknown")
    else:
        staged = text["staging_none"]
    return {"title": text["title"], "trials": sentences or [text["no_trials"]],
            "staging": staged}
