"""Whatever a client sends, the answer is never a 500 (property-based)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FakeRules, Fhir, fake_cards, running_app
from trd_cds.app import create_app
from trd_cds.settings import Settings

_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        ["2024-02-30", "2024-05-01", "Patient/p1", "Patient/p2", "urn:uuid:x", "final", "mg"]
    ),
)
_json = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_paths = st.lists(
    st.sampled_from(
        [
            "entry",
            0,
            1,
            2,
            "resource",
            "dosage",
            "subject",
            "code",
            "coding",
            "effectivePeriod",
            "valueInteger",
            "status",
        ]
    ),
    min_size=1,
    max_size=5,
)


def _mutate(document: Any, path: list[Any], value: Any) -> Any:
    """Replace whatever sits at `path` (as far as it exists) with `value`."""
    target = document
    for step in path[:-1]:
        if (isinstance(target, dict) and isinstance(step, str) and step in target) or (
            isinstance(target, list) and isinstance(step, int) and step < len(target)
        ):
            target = target[step]
        else:
            break
    last = path[-1]
    if isinstance(target, dict):
        target[str(last)] = value
    elif isinstance(target, list) and target:
        target[int(last) % len(target) if isinstance(last, int) else 0] = value
    return document


ALLOWED = {200, 400, 404, 412, 413, 415, 422, 503}


def _hook_body(bundle: dict[str, Any]) -> dict[str, Any]:
    return {
        "hook": "order-sign",
        "hookInstance": "6a1b7a9e-6f0e-4a3a-9d4c-0f4f1f2f3f4f",
        "context": {
            "userId": "Practitioner/1",
            "patientId": "p1",
            "draftOrders": {"resourceType": "Bundle", "entry": bundle["entry"][1:2]},
        },
        "prefetch": {"patient": bundle["entry"][0]["resource"], "medicationStatements": bundle},
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=_paths, value=_json, raw=_json)
def test_mutated_inputs_never_get_a_500(path: list[Any], value: Any, raw: Any) -> None:
    async def scenario() -> list[int]:
        app = create_app(Settings(max_json_depth=16), rules=FakeRules(), card_builder=fake_cards)
        statuses = []
        async with running_app(app) as client:
            bundle = _mutate(Fhir.patient_bundle(4), path, value)
            for url, body in (
                ("/evaluate?asOf=2024-05-01", bundle),
                ("/evaluate", raw),
                (
                    "/cds-services/trd-order-sign",
                    _mutate(_hook_body(Fhir.patient_bundle(4)), ["prefetch", *path], value),
                ),
                ("/cds-services/trd-order-sign", raw),
                ("/cds-services/trd-order-sign/feedback", raw),
            ):
                response = await client.post(
                    url, content=orjson.dumps(body), headers={"content-type": "application/json"}
                )
                statuses.append(response.status_code)
                assert response.headers["content-type"].startswith(
                    ("application/json", "application/fhir+json")
                )
        return statuses

    statuses = asyncio.run(scenario())
    assert set(statuses) <= ALLOWED, statuses
