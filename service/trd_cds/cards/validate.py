"""Checks a CDS Hooks 2.0 response against the specification's rules for cards.

Used by the tests, and by the service in strict mode, so that an EHR never receives a card it
would reject. Each message names the card (by position) and the rule it breaks.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlparse

INDICATORS = frozenset({"info", "warning", "critical"})
SELECTION_BEHAVIORS = frozenset({"at-most-one", "any"})
ACTION_TYPES = frozenset({"create", "update", "delete"})
LINK_TYPES = frozenset({"absolute", "smart"})


def _absolute_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlparse(value)
    return parts.scheme in {"https", "http"} and bool(parts.netloc)


def _empty_fields(value: Any, path: str) -> list[str]:
    """CDS Hooks: JSON elements SHALL NOT be null or empty."""
    if value is None:
        return [f"{path} is null"]
    if isinstance(value, (str, list, dict)) and len(value) == 0:
        return [f"{path} is empty"]
    problems: list[str] = []
    if isinstance(value, dict):
        for key, child in value.items():
            problems += _empty_fields(child, f"{path}.{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            problems += _empty_fields(child, f"{path}[{i}]")
    return problems


def _coding_problems(coding: Any, path: str, *, display_required: bool) -> list[str]:
    if not isinstance(coding, dict):
        return [f"{path} is not a Coding"]
    problems = []
    if not isinstance(coding.get("code"), str):
        problems.append(f"{path}.code is missing")
    if display_required and not isinstance(coding.get("display"), str):
        problems.append(f"{path}.display is required")
    return problems


def card_problems(card: dict[str, Any], where: str = "card") -> list[str]:
    problems = _empty_fields(card, where)
    summary = card.get("summary")
    if not isinstance(summary, str) or not summary:
        problems.append(f"{where}.summary is required")
    elif len(summary) >= 140:
        problems.append(f"{where}.summary has {len(summary)} characters (must be < 140)")
    if card.get("indicator") not in INDICATORS:
        problems.append(f"{where}.indicator {card.get('indicator')!r} is not info/warning/critical")
    if "uuid" in card:
        try:
            uuid.UUID(str(card["uuid"]))
        except ValueError:
            problems.append(f"{where}.uuid is not a UUID")
    src = card.get("source")
    if not isinstance(src, dict) or not isinstance(src.get("label"), str):
        problems.append(f"{where}.source.label is required")
    else:
        if "url" in src and not _absolute_url(src["url"]):
            problems.append(f"{where}.source.url must be an absolute URL")
        if "icon" in src and not _absolute_url(src["icon"]):
            problems.append(f"{where}.source.icon must be an absolute URL")
        if "topic" in src:
            problems += _coding_problems(src["topic"], f"{where}.source.topic", display_required=False)
    if "detail" in card and not isinstance(card["detail"], str):
        problems.append(f"{where}.detail must be a Markdown string")
    suggestions = card.get("suggestions")
    if suggestions is not None:
        if card.get("selectionBehavior") not in SELECTION_BEHAVIORS:
            problems.append(f"{where}.selectionBehavior is required with suggestions")
        recommended = 0
        for i, s in enumerate(suggestions):
            sp = f"{where}.suggestions[{i}]"
            if not isinstance(s.get("label"), str):
                problems.append(f"{sp}.label is required")
            if "isRecommended" in s:
                if not isinstance(s["isRecommended"], bool):
                    problems.append(f"{sp}.isRecommended must be a boolean")
                recommended += bool(s["isRecommended"])
            for j, act in enumerate(s.get("actions", [])):
                problems += _action_problems(act, f"{sp}.actions[{j}]")
        if recommended > 1 and card.get("selectionBehavior") != "any":
            problems.append(f"{where}: several suggestions recommended without selectionBehavior any")
    for i, reason in enumerate(card.get("overrideReasons", [])):
        problems += _coding_problems(reason, f"{where}.overrideReasons[{i}]", display_required=True)
    for i, link in enumerate(card.get("links", [])):
        lp = f"{where}.links[{i}]"
        if not isinstance(link.get("label"), str):
            problems.append(f"{lp}.label is required")
        if not _absolute_url(link.get("url")):
            problems.append(f"{lp}.url must be an absolute URL")
        if link.get("type") not in LINK_TYPES:
            problems.append(f"{lp}.type must be absolute or smart")
        if "appContext" in link and link.get("type") != "smart":
            problems.append(f"{lp}.appContext is only allowed on smart links")
    return problems


def _action_problems(act: dict[str, Any], path: str) -> list[str]:
    problems = []
    kind = act.get("type")
    if kind not in ACTION_TYPES:
        problems.append(f"{path}.type must be create, update or delete")
    if not isinstance(act.get("description"), str):
        problems.append(f"{path}.description is required")
    resource = act.get("resource")
    if kind in {"create", "update"} and not (isinstance(resource, dict) and "resourceType" in resource):
        problems.append(f"{path}.resource must be a FHIR resource for {kind}")
    if kind == "update" and isinstance(resource, dict) and not resource.get("id"):
        problems.append(f"{path}.resource must keep the id of the resource it updates")
    if kind == "delete":
        if isinstance(resource, str):
            problems.append(f"{path}.resource must not carry an id string for delete")
        if not isinstance(act.get("resourceId"), str):
            problems.append(f"{path}.resourceId should name the deleted resource")
    return problems


def response_problems(response: dict[str, Any]) -> list[str]:
    cards = response.get("cards")
    if not isinstance(cards, list):
        return ["response.cards must be an array"]
    problems = []
    seen: set[str] = set()
    for i, card in enumerate(cards):
        problems += card_problems(card, f"cards[{i}]")
        topic = card.get("source", {}).get("topic", {}).get("code")
        if topic in seen:
            problems.append(f"cards[{i}] repeats the concern {topic!r}")
        seen.add(str(topic))
    return problems
