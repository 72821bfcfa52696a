"""Loads the card texts, sources and override reasons from ``content.toml``.

Card wording is data, not code: clinicians and informaticists edit the TOML file, and
``render`` fills its named fields with the patient's own numbers.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


class _StrictFields(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        raise KeyError(f"card template field {key!r} was not supplied")


@cache
def content() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("content.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def card_text(kind: str) -> dict[str, Any]:
    cards: dict[str, Any] = content()["cards"]
    return dict(cards[kind])


def source(key: str, topic: str) -> dict[str, Any]:
    """A CDS Hooks Source citing one of the sources; ``topic`` codes the card's concern."""
    src = content()["sources"][key]
    service = content()["service"]
    return {
        "label": src["label"],
        "url": src["url"],
        "topic": {"system": service["topic_system"], "code": topic},
    }


def note(key: str) -> str:
    return str(content()["notes"][key])


def data_quality_words(part: str, code: str) -> str:
    """The words for a data-quality ``issue`` or ``effect`` code (the code itself when the
    table has none, so that a new code is still shown)."""
    return str(content()["data_quality"][part].get(code, code))


def override_reasons() -> list[dict[str, str]]:
    """Every override reason as a CDS Hooks Coding with its display (the spec requires one)."""
    reasons = content()["override_reasons"]
    return [
        {"system": reasons["system"], "code": code, "display": display}
        for code, display in reasons["codes"].items()
    ]


def override_reason_codes() -> frozenset[tuple[str, str]]:
    return frozenset((r["system"], r["code"]) for r in override_reasons())


def render(template: str, **fields: Any) -> str:
    """Fill ``{name}`` fields; a missing field is a programming error, never a blank."""
    return template.format_map(_StrictFields(fields)).strip()
