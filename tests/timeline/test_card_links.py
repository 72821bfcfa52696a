"""Which cards link to the timeline, and that the links are valid CDS Hooks 2.0 links."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from trd_cds.cards import build_cards
from trd_cds.cards.links import TimelineLaunch
from trd_cds.cards.validate import card_problems
from trd_cds.fhir.bundle import parse_bundle
from trd_cds.rules import TrdRules
from trd_cds.settings import Settings
from trd_cds.wiring import input_limits

EXAMPLE = Path(__file__).resolve().parents[2] / "fhir_examples" / "classic-trd.json"
LAUNCH = TimelineLaunch(page_url="https://cds.example.org/timeline/", handle="abc.def",
                        smart_launch_url="https://cds.example.org/timeline/launch.html")


def test_the_status_augment_and_switch_cards_carry_both_links_and_stay_valid() -> None:
    patient = parse_bundle(EXAMPLE.read_bytes(), input_limits(Settings()))
    assessment = TrdRules.load().assess(patient, date(2025, 6, 1))
    cards = build_cards(assessment, hook="patient-view", patient_id="p1", timeline=LAUNCH)
    linked = {c["source"]["topic"]["code"]: c["links"] for c in cards if c.get("links")}
    assert set(linked) == {"trd-met", "augment", "switch-class"}
    for links in linked.values():
        assert links == [
            {"label": links[0]["label"], "url": "https://cds.example.org/timeline/launch.html",
             "type": "smart", "appContext": '{"launchHandle":"abc.def"}'},
            {"label": links[1]["label"], "url": "https://cds.example.org/timeline/#h=abc.def",
             "type": "absolute"},
        ]
    assert all(card_problems(c) == [] for c in cards)
    # Without a launch the cards are as before (the goldens).
    plain = build_cards(assessment, hook="patient-view", patient_id="p1")
    assert not any(c.get("links") for c in plain)
