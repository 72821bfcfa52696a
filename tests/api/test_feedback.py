"""CDS Hooks feedback: validation, storage, and counts per card type."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from trd_cds.cache.feedback_store import MemoryFeedbackStore


def _entry(card: str, outcome: str = "accepted", **extra: Any) -> dict[str, Any]:
    return {"card": card, "outcome": outcome, "outcomeTimestamp": "2025-06-01T10:00:00Z", **extra}


async def _issued_cards(client: Any, fhir: Any) -> list[dict[str, Any]]:
    from datetime import date

    bundle = fhir.patient_bundle(5)
    bundle["entry"].append({"resource": fhir.item9(1, 2, date.today().isoformat())})
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr1", "patientId": "p1"},
        "prefetch": {
            "patient": fhir.patient(),
            "medicationStatements": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": bundle["entry"][1:],
            },
        },
    }
    response = await client.post("/cds-services/trd-patient-view", json=body)
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


async def test_a_batch_of_feedback_is_recorded_and_counted_per_card_type(
    make_client: Any, fhir: Any
) -> None:
    store = MemoryFeedbackStore()
    async with make_client(feedback=store) as client:
        cards = await _issued_cards(client, fhir)
        crisis, suggestion = cards[0], cards[1]
        # Card types are remembered off the response path; a clinician is never this fast.
        await asyncio.sleep(0.01)
        batch = {
            "feedback": [
                _entry(suggestion["uuid"], acceptedSuggestions=[{"id": "s1"}]),
                _entry(
                    crisis["uuid"],
                    "overridden",
                    overrideReason={
                        "reason": {
                            "code": "already-addressed",
                            "system": "http://trd-cds.org/fhir/CodeSystem/override-reason",
                            "display": "Already addressed",
                        },
                        "userComment": "seen today",
                    },
                ),
                _entry(str(uuid.uuid4()), "overridden"),
            ]
        }
        response = await client.post("/cds-services/trd-patient-view/feedback", json=batch)
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 200
    assert [e["outcome"] for e in store.entries] == ["accepted", "overridden", "overridden"]
    # Card ids and outcomes only: free text, which may name the patient, is not kept.
    assert store.entries[1]["overrideReason"] == {
        "reason": {
            "code": "already-addressed",
            "system": "http://trd-cds.org/fhir/CodeSystem/override-reason",
            "display": "Already addressed",
        }
    }
    assert "seen today" not in str(list(store.entries))
    assert (
        'trd_cds_feedback_total{card_type="suggestion-optimise-dose",outcome="accepted",service="trd-patient-view"} 1.0'
        in metrics
    )
    assert (
        'trd_cds_feedback_total{card_type="crisis",outcome="overridden",service="trd-patient-view"} 1.0'
        in metrics
    )
    assert (
        'trd_cds_feedback_total{card_type="unknown",outcome="overridden",service="trd-patient-view"} 1.0'
        in metrics
    )


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        ({}, "feedback"),
        ({"feedback": []}, "feedback"),
        ({"feedback": ["x"]}, "feedback[0]"),
        (
            {"feedback": [{"outcome": "accepted", "outcomeTimestamp": "2025-06-01T10:00:00Z"}]},
            "feedback[0].card",
        ),
        ({"feedback": [_entry("c1", "ignored")]}, "feedback[0].outcome"),
        (
            {"feedback": [_entry("c1", outcomeTimestamp="2025-06-01")]},
            "feedback[0].outcomeTimestamp",
        ),
        ({"feedback": [{"card": "c1", "outcome": "accepted"}]}, "feedback[0].outcomeTimestamp"),
        (
            {"feedback": [_entry("c1", acceptedSuggestions=[{}])]},
            "feedback[0].acceptedSuggestions[0].id",
        ),
        ({"feedback": [_entry("c1", acceptedSuggestions=[])]}, "feedback[0].acceptedSuggestions"),
        (
            {"feedback": [_entry("c1", "overridden", acceptedSuggestions=[{"id": "s"}])]},
            "feedback[0].acceptedSuggestions",
        ),
        (
            {"feedback": [_entry("c1", overrideReason={"userComment": "x"})]},
            "feedback[0].overrideReason",
        ),
        (
            {"feedback": [_entry("c1", "overridden", overrideReason={"reason": {"code": "x"}})]},
            "feedback[0].overrideReason.reason.system",
        ),
        (
            {"feedback": [_entry("c1", "overridden", overrideReason={})]},
            "feedback[0].overrideReason",
        ),
        (
            {"feedback": [_entry("c1", "overridden", overrideReason={
                "reason": {"system": "urn:other", "code": "already-addressed"}})]},
            "feedback[0].overrideReason.reason",
        ),
        ({"feedback": [_entry("c1"), _entry("", "accepted")]}, "feedback[1].card"),
    ],
)
async def test_invalid_feedback_is_400(
    make_client: Any, body: dict[str, Any], expression: str
) -> None:
    store = MemoryFeedbackStore()
    async with make_client(feedback=store) as client:
        response = await client.post("/cds-services/trd-order-sign/feedback", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["issue"][0]["expression"] == [expression]
    assert not store.entries
