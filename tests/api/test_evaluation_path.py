"""The assessment path through HTTP: caching, the crisis fallback, readiness, no leaks."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

import orjson

from trd_cds.cache.memory import MemoryCache
from trd_cds.settings import Settings

FHIR_JSON = {"content-type": "application/fhir+json"}


async def _evaluate(client: Any, bundle: dict[str, Any], as_of: str = "2024-05-01") -> Any:
    return await client.post(
        f"/evaluate?asOf={as_of}", content=orjson.dumps(bundle), headers=FHIR_JSON
    )


async def test_the_assessment_is_cached_per_ruleset_date_and_content(
    make_client: Any, fhir: Any, fake_rules: Any
) -> None:
    bundle = fhir.patient_bundle(9)
    reordered = {**bundle, "entry": list(reversed(bundle["entry"]))}
    async with make_client(rules=fake_rules) as client:
        first = await _evaluate(client, bundle)
        again = await _evaluate(client, reordered)
        assert fake_rules.calls == 1
        assert again.json()["assessment"] == first.json()["assessment"]
        await _evaluate(client, bundle, as_of="2024-05-02")
        assert fake_rules.calls == 2
        await _evaluate(client, fhir.patient_bundle(9, salt=1))
        assert fake_rules.calls == 3
        metrics = (await client.get("/metrics")).text
    assert 'trd_cds_evaluations_total{result="hit"} 1.0' in metrics
    assert 'trd_cds_evaluations_total{result="miss"} 3.0' in metrics
    assert 'trd_cds_cache_events_total{backend="memory",event="hit"} 1.0' in metrics


async def test_cards_are_rebuilt_on_every_hit(make_client: Any, fhir: Any) -> None:
    async with make_client() as client:
        uuids = [
            (await _evaluate(client, fhir.patient_bundle(5))).json()["cards"][0]["uuid"]
            for _ in range(2)
        ]
    assert uuids[0] != uuids[1]


async def test_concurrent_identical_requests_compute_once(make_client: Any, fhir: Any) -> None:
    from conftest import FakeRules

    rules = FakeRules(delay=0.1)
    async with make_client(rules=rules) as client:
        responses = await asyncio.gather(
            *(_evaluate(client, fhir.patient_bundle(5)) for _ in range(8))
        )
    assert {r.status_code for r in responses} == {200}
    assert rules.calls == 1


async def test_timeout_with_crisis_answers_with_the_crisis_card(
    make_client: Any, fhir: Any
) -> None:
    from conftest import FakeRules

    rules = FakeRules(delay=0.5)
    bundle = fhir.patient_bundle(5)
    bundle["entry"].append({"resource": fhir.item9(1, 2, "2024-04-25")})
    async with make_client(Settings(evaluation_timeout_seconds=0.05), rules=rules) as client:
        response = await _evaluate(client, bundle)
        assert response.status_code == 200
        body = response.json()
        assert body["assessment"]["complete"] is False
        assert body["assessment"]["crisis"] is True
        assert body["assessment"]["unavailableReason"] == "timeout"
        assert [card["indicator"] for card in body["cards"]] == ["critical"]
        # The late result still lands in the cache for the next request.
        await asyncio.sleep(0.6)
        later = await _evaluate(client, bundle)
        assert later.json()["assessment"].get("complete", True) is True
        assert rules.calls == 1


async def test_timeout_without_crisis_is_503(make_client: Any, fhir: Any) -> None:
    from conftest import FakeRules

    async with make_client(
        Settings(evaluation_timeout_seconds=0.05), rules=FakeRules(delay=0.3)
    ) as client:
        response = await _evaluate(client, fhir.patient_bundle(5))
    assert response.status_code == 503
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_rules_failure_never_leaks_details(make_client: Any, fhir: Any, caplog: Any) -> None:
    from conftest import FakeRules

    bundle = fhir.patient_bundle(5)
    async with make_client(rules=FakeRules(fail=True)) as client:
        plain = await _evaluate(client, bundle)
        bundle["entry"].append({"resource": fhir.item9(1, 1, "2024-04-30")})
        crisis = await _evaluate(client, bundle)
    assert plain.status_code == 503
    assert "patient detail" not in plain.text
    assert crisis.status_code == 200 and crisis.json()["cards"][0]["indicator"] == "critical"
    assert not any("patient detail" in r.getMessage() for r in caplog.records)


async def test_card_builder_failure_falls_back_to_the_crisis_only_answer(
    make_client: Any, fhir: Any
) -> None:
    from conftest import fake_cards

    def fragile(assessment: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
        if assessment.get("complete", True):
            raise KeyError("cards broke")
        return fake_cards(assessment, **kw)

    bundle = fhir.patient_bundle(3)
    bundle["entry"].append({"resource": fhir.item9(1, 3, "2024-04-30")})
    async with make_client(card_builder=fragile) as client:
        response = await _evaluate(client, bundle)
    assert response.status_code == 200
    assert [c["indicator"] for c in response.json()["cards"]] == ["critical"]


async def test_unexpected_errors_become_a_bare_500_outcome(make_client: Any, fhir: Any) -> None:
    class Exploding(MemoryCache):
        async def get(self, key: str) -> Any:
            raise AssertionError("internal detail")

    def bad_signal(patient: Any, as_of: date) -> bool:
        raise ZeroDivisionError("internal detail")

    async with make_client(cache=Exploding(), crisis_signal=bad_signal) as client:
        response = await _evaluate(client, fhir.patient_bundle(3))
    assert response.status_code == 500
    assert response.json()["issue"][0]["diagnostics"] == "internal error"
    assert "internal detail" not in response.text


async def test_readiness_waits_for_the_rules_and_the_card_builder(
    make_client: Any, monkeypatch: Any
) -> None:
    from conftest import FakeRules, fake_cards, running_app
    from trd_cds import app as app_module
    from trd_cds.app import create_app

    gate = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow_load(settings: Settings) -> Any:
        asyncio.run_coroutine_threadsafe(gate.wait(), loop).result(timeout=5)
        return FakeRules()

    monkeypatch.setattr(app_module, "load_rules", slow_load)
    async with running_app(create_app(Settings(), card_builder=fake_cards)) as client:
        assert (await client.get("/livez")).status_code == 200
        not_ready = await client.get("/readyz")
        assert not_ready.status_code == 503
        assert "loading rules" in not_ready.json()["issue"][0]["diagnostics"]
        gate.set()
        for _ in range(100):
            if (await client.get("/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.01)
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["rulesetVersion"].startswith("test-")
        metrics = (await client.get("/metrics")).text
        assert "trd_cds_ready 1.0" in metrics
        assert 'trd_cds_ruleset_info{version="test-' in metrics


async def test_requests_before_ready_are_503(make_client: Any, fhir: Any, monkeypatch: Any) -> None:
    from conftest import fake_cards, running_app
    from trd_cds import app as app_module
    from trd_cds.app import create_app

    def broken_load(settings: Settings) -> Any:
        raise ImportError("no rules yet")

    monkeypatch.setattr(app_module, "load_rules", broken_load)
    async with running_app(create_app(Settings(), card_builder=fake_cards)) as client:
        await asyncio.sleep(0.05)
        readiness = await client.get("/readyz")
        response = await _evaluate(client, fhir.patient_bundle(3))
    assert readiness.status_code == 503
    assert "failed" in readiness.json()["issue"][0]["diagnostics"]
    assert response.status_code == 503


async def test_logs_are_json_with_request_id_and_no_patient_data(
    make_client: Any, fhir: Any, capsys: Any
) -> None:
    from trd_cds.logging_setup import configure_logging

    bundle = fhir.patient_bundle(3, pid="mrn-778899")
    configure_logging("INFO")
    try:
        async with make_client() as client:
            response = await _evaluate(client, bundle)
            await client.post(
                "/evaluate", content=b"{", headers={**FHIR_JSON, "x-request-id": "req-42"}
            )
    finally:
        logging.getLogger().handlers.clear()
    lines = [
        orjson.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    access = [line for line in lines if line.get("msg") == "request"]
    assert {line["route"] for line in access} == {"/evaluate"}
    assert response.headers["x-request-id"] in {line.get("requestId") for line in access}
    assert "req-42" in {line.get("requestId") for line in access}
    assert "mrn-778899" not in str(lines)


async def test_unmatched_routes_are_labelled_without_their_path(make_client: Any) -> None:
    async with make_client() as client:
        response = await client.get("/Patient/mrn-5551234")
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 404 and response.json()["resourceType"] == "OperationOutcome"
    assert "mrn-5551234" not in metrics
    assert 'route="unmatched"' in metrics


async def test_overload_is_refused_at_once_instead_of_queued(make_client: Any, fhir: Any) -> None:
    from conftest import FakeRules

    rules = FakeRules(delay=0.2)
    settings = Settings(max_pending_evaluations=1, rules_threads=1)
    crisis_bundle = fhir.patient_bundle(4, salt=3)
    crisis_bundle["entry"].append({"resource": fhir.item9(1, 1, "2024-04-28")})
    async with make_client(settings, rules=rules) as client:
        responses = await asyncio.gather(
            _evaluate(client, fhir.patient_bundle(4, salt=1)),
            _evaluate(client, fhir.patient_bundle(4, salt=2)),
            _evaluate(client, crisis_bundle),
        )
    assert [r.status_code for r in responses] == [200, 503, 200]
    assert responses[1].headers["retry-after"] == "1"
    assert responses[2].json()["assessment"]["unavailableReason"] == "overloaded"
    assert rules.calls == 1


async def test_validation_runs_on_the_miss_path_only(
    make_client: Any, fhir: Any, monkeypatch: Any
) -> None:
    from trd_cds.fhir import bundle as bundle_module

    checked: list[int] = []
    real = bundle_module.check_resources

    def counting(pairs: Any, *, strict: bool) -> None:
        checked.append(len(pairs))
        real(pairs, strict=strict)

    monkeypatch.setattr(bundle_module, "check_resources", counting)
    async with make_client() as client:
        for _ in range(3):
            assert (await _evaluate(client, fhir.patient_bundle(6))).status_code == 200
        invalid = fhir.patient_bundle(6)
        invalid["entry"][1]["resource"]["status"] = 7
        assert (await _evaluate(client, invalid)).status_code == 422
        assert (await _evaluate(client, invalid)).status_code == 422  # never cached
    assert checked == [6, 6, 6]


async def test_the_card_builder_gets_the_patient_id(make_client: Any, fhir: Any) -> None:
    from conftest import fake_cards

    seen: list[Any] = []

    def recording(assessment: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
        seen.append(kw["patient_id"])
        return fake_cards(assessment, **kw)

    async with make_client(card_builder=recording) as client:
        assert (await _evaluate(client, fhir.patient_bundle(3, pid="pt-9"))).status_code == 200
    assert seen == ["pt-9"]
