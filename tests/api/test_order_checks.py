"""The safety checks of drafted orders run like the rules evaluation: in the rules threads (the
event loop stays free), within the evaluation budget and its admission control, and the drafted
orders count against the entries limit."""

from __future__ import annotations

import asyncio
import threading
from datetime import date
from typing import Any

from test_cds_hooks import hook_request

from conftest import FakeRules
from trd_cds.fhir.patient_data import PatientData
from trd_cds.settings import Settings

ORDER_SIGN = "/cds-services/trd-order-sign"
# Bounds every wait of these tests: a check that never returns fails them instead of hanging.
WAIT_SECONDS = 5.0


class BlockingOrderRules(FakeRules):
    """check_orders holds until released, recording which thread ran it."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()
        self.threads: list[str] = []

    def check_orders(
        self, patient: PatientData, as_of: date, draft_orders: list[dict[str, Any]]
    ) -> Any:
        self.threads.append(threading.current_thread().name)
        self.started.set()
        self.release.wait(WAIT_SECONDS)
        return super().check_orders(patient, as_of, draft_orders)


async def _started(rules: BlockingOrderRules) -> None:
    assert await asyncio.to_thread(rules.started.wait, WAIT_SECONDS), "order check never ran"


async def test_livez_answers_while_an_order_check_runs(make_client: Any, fhir: Any) -> None:
    rules = BlockingOrderRules()
    settings = Settings(evaluation_timeout_seconds=30)
    try:
        async with make_client(settings, rules=rules) as client:
            call = asyncio.ensure_future(
                client.post(ORDER_SIGN, json=hook_request(fhir, "trd-order-sign"))
            )
            await _started(rules)
            livez = await asyncio.wait_for(client.get("/livez"), WAIT_SECONDS)
            # The check is still held: the loop answered /livez while it ran.
            still_running = not call.done()
            rules.release.set()
            response = await asyncio.wait_for(call, WAIT_SECONDS)
    finally:
        rules.release.set()
    assert livez.status_code == 200
    assert still_running
    assert response.status_code == 200, response.text
    assert response.json()["cards"][-1]["summary"] == "MedicationRequest/draft1"
    assert [name.startswith("rules") for name in rules.threads] == [True]


async def test_an_order_check_counts_against_admission_control(
    make_client: Any, fhir: Any
) -> None:
    rules = BlockingOrderRules()
    settings = Settings(evaluation_timeout_seconds=30, max_pending_evaluations=1)
    try:
        async with make_client(settings, rules=rules) as client:
            call = asyncio.ensure_future(
                client.post(ORDER_SIGN, json=hook_request(fhir, "trd-order-sign"))
            )
            await _started(rules)
            # The same patient (its assessment now cached) and another one: both need the rules
            # threads, which the held check fills.
            same = await client.post(ORDER_SIGN, json=hook_request(fhir, "trd-order-sign"))
            other = hook_request(fhir, "trd-patient-view")
            other["prefetch"]["medicationStatements"]["entry"].append(
                {"resource": fhir.statement(9)}
            )
            view = await client.post("/cds-services/trd-patient-view", json=other)
            rules.release.set()
            first = await asyncio.wait_for(call, WAIT_SECONDS)
    finally:
        rules.release.set()
    assert first.status_code == 200
    for refused in (same, view):
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert "overloaded" in refused.json()["issue"][0]["diagnostics"]
    assert len(rules.threads) == 1


async def test_an_order_check_past_the_budget_gives_no_cards_without_it(
    make_client: Any, fhir: Any
) -> None:
    rules = BlockingOrderRules()
    settings = Settings(evaluation_timeout_seconds=0.2)
    crisis = hook_request(fhir, "trd-order-sign")
    crisis["prefetch"]["observations"]["entry"].append(
        {"resource": fhir.item9(1, 2, date.today().isoformat())}
    )
    try:
        async with make_client(settings, rules=rules) as client:
            # Released only once answered: the answer cannot wait for the check.
            plain = await asyncio.wait_for(
                client.post(ORDER_SIGN, json=hook_request(fhir, "trd-order-sign")), WAIT_SECONDS
            )
            with_crisis = await asyncio.wait_for(
                client.post(ORDER_SIGN, json=crisis), WAIT_SECONDS
            )
            rules.release.set()
    finally:
        rules.release.set()
    # Cards that skipped the safety checks of the drafts would be unsafe: none, or only the
    # crisis card, which needs no rules.
    assert plain.status_code == 503, plain.text
    assert "timeout" in plain.json()["issue"][0]["diagnostics"]
    assert with_crisis.status_code == 200, with_crisis.text
    cards = with_crisis.json()["cards"]
    assert [card["indicator"] for card in cards] == ["critical"]


async def test_drafted_orders_count_against_the_entries_limit(
    make_client: Any, fhir: Any
) -> None:
    body = hook_request(fhir, "trd-order-sign")
    # The prefetch holds 4 resources (patient, two statements, a PHQ-9).
    body["context"]["draftOrders"] = fhir.bundle([fhir.draft_order(f"d{n}") for n in range(3)])
    rules = FakeRules()
    async with make_client(Settings(max_entries=7), rules=rules) as client:
        fits = await client.post(ORDER_SIGN, json=body)
    async with make_client(Settings(max_entries=6), rules=rules) as client:
        over = await client.post(ORDER_SIGN, json=body)
    async with make_client(Settings(max_entries=2), rules=rules) as client:
        drafts_alone = await client.post(ORDER_SIGN, json=body)
    assert fits.status_code == 200, fits.text
    for refused in (over, drafts_alone):
        assert refused.status_code == 413, refused.text
        outcome = refused.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert "resources" in outcome["issue"][0]["diagnostics"]
    assert len(rules.order_calls) == 1
