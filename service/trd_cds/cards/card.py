"""Assembles CDS Hooks 2.0 card objects from the templates in ``content.toml``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from . import content

# Stable uuids: the same advice for the same data gets the same uuid across calls, so an EHR
# can deduplicate and feedback can be tied back to the card type.
_SPACES = re.compile(r"(?<=\S) {2,}|[ ]+(?=\n)|[ ]+$")
_NAMESPACE = uuid.UUID("6f1d3c52-8a37-4f0e-9b55-2f4a1d9e7c10")


def _tidy_spaces(text: str) -> str:
    # The regular expression costs about 50 ns a character; most texts have nothing to tidy.
    if "  " in text or " \n" in text or text.endswith(" "):
        return _SPACES.sub(" ", text)
    return text


def stable_uuid(*parts: Any) -> str:
    return str(uuid.uuid5(_NAMESPACE, orjson.dumps(parts, option=orjson.OPT_SORT_KEYS).decode()))


def action(kind: str, description: str, resource: dict[str, Any] | None = None,
           resource_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "description": description}
    if resource is not None:
        out["resource"] = resource
    if resource_id is not None:
        out["resourceId"] = resource_id
    return out


def suggestion(label: str, actions: Sequence[dict[str, Any]], *,
               recommended: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"label": label, "uuid": stable_uuid("suggestion", label, actions)}
    if recommended is not None:
        out["isRecommended"] = recommended
    if actions:
        out["actions"] = list(actions)
    return out


def make_card(
    kind: str,
    *,
    summary_fields: dict[str, Any] | None = None,
    detail_fields: dict[str, Any] | None = None,
    suggestions: Sequence[dict[str, Any]] = (),
    selection: str = "at-most-one",
    links: Sequence[dict[str, Any]] = (),
    overridable: bool = False,
    indicator: str | None = None,
    summary: str | None = None,
) -> dict[str, Any]:
    """One card; empty fields are left out, as CDS Hooks forbids null or empty values.
    ``summary`` replaces the template's summary (a shorter wording of the same card)."""
    text = content.card_text(kind)
    summary = content.render(summary or text["summary"], **(summary_fields or {}))
    if len(summary) >= 140 and "summary_short" in text:
        # CDS Hooks: a summary under 140 characters; long drug lists get the short wording.
        summary = content.render(text["summary_short"], **(summary_fields or {}))
    # Optional fields left empty must not leave runs of spaces behind.
    detail = _tidy_spaces(content.render(text["detail"], **(detail_fields or {})))
    card: dict[str, Any] = {
        "uuid": stable_uuid(kind, summary, detail),
        "summary": summary,
        "indicator": indicator or text["indicator"],
        "source": content.source(text["source"], topic=kind),
        "detail": detail,
    }
    if suggestions:
        card["suggestions"] = list(suggestions)
        card["selectionBehavior"] = selection
    if overridable:
        card["overrideReasons"] = content.override_reasons()
    if links:
        card["links"] = list(links)
    return card

