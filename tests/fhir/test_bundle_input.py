"""Every kind of bad /evaluate input gets the right status and an OperationOutcome, never a 500."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from trd_cds.settings import Settings

FHIR_JSON = {"content-type": "application/fhir+json"}


def _assert_outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"] and all(i["severity"] == "error" for i in body["issue"])
    return body


async def _post(
    client: Any, body: bytes, headers: dict[str, str] | None = None, query: str = "?asOf=2024-05-01"
) -> Any:
    return await client.post(f"/evaluate{query}", content=body, headers=headers or FHIR_JSON)


async def test_valid_bundle_is_evaluated(make_client: Any, fhir: Any) -> None:
    async with make_client() as client:
        response = await _post(client, orjson.dumps(fhir.patient_bundle(7)))
    assert response.status_code == 200
    body = response.json()
    assert body["assessment"]["resourceCount"] == 7
    assert body["assessment"]["evaluationDate"] == "2024-05-01"
    assert body["cards"][0]["summary"] == "optimise-dose"


async def test_plain_json_content_type_is_accepted_and_others_refused(
    make_client: Any, fhir: Any
) -> None:
    async with make_client() as client:
        ok = await _post(
            client,
            orjson.dumps(fhir.patient_bundle(3)),
            {"content-type": "application/json; charset=utf-8"},
        )
        refused = await _post(
            client, orjson.dumps(fhir.patient_bundle(3)), {"content-type": "text/plain"}
        )
    assert ok.status_code == 200
    _assert_outcome(refused, 415)


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b'{"resourceType": "Bundle", ', b"\xff\xfe", b"[1, 2, 3]", b'"Bundle"'],
)
async def test_non_json_or_non_object_is_400(make_client: Any, body: bytes) -> None:
    async with make_client() as client:
        _assert_outcome(await _post(client, body), 400)


async def test_resource_that_is_not_a_bundle_is_400(make_client: Any, fhir: Any) -> None:
    async with make_client() as client:
        _assert_outcome(await _post(client, orjson.dumps(fhir.patient())), 400)


async def test_bundle_about_two_patients_is_400(make_client: Any, fhir: Any) -> None:
    two_patients = fhir.bundle([fhir.patient("p1"), fhir.patient("p2")])
    foreign_reference = fhir.bundle([fhir.patient("p1"), fhir.statement(1, pid="p2")])
    async with make_client() as client:
        body = _assert_outcome(await _post(client, orjson.dumps(two_patients)), 400)
        assert "more than one patient" in body["issue"][0]["diagnostics"]
        _assert_outcome(await _post(client, orjson.dumps(foreign_reference)), 400)


async def test_urn_uuid_references_resolve_through_full_urls(make_client: Any, fhir: Any) -> None:
    statement = fhir.statement(1)
    statement["subject"] = {"reference": "urn:uuid:4a7c9b0e-0000-4000-8000-000000000001"}
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:4a7c9b0e-0000-4000-8000-000000000001",
                "resource": fhir.patient(),
            },
            {"fullUrl": "urn:uuid:4a7c9b0e-0000-4000-8000-000000000002", "resource": statement},
        ],
    }
    async with make_client() as client:
        assert (await _post(client, orjson.dumps(bundle))).status_code == 200


async def test_bundle_without_patient_is_400(make_client: Any, fhir: Any) -> None:
    async with make_client() as client:
        _assert_outcome(await _post(client, orjson.dumps(fhir.bundle([fhir.statement(1)]))), 400)


async def test_invalid_element_is_422_naming_entry_and_path(make_client: Any, fhir: Any) -> None:
    bundle = fhir.bundle([fhir.patient(), fhir.phq9(1), fhir.statement(1), fhir.statement(2)])
    bundle["entry"][3]["resource"]["effectivePeriod"]["start"] = "2024-02-30"
    async with make_client() as client:
        body = _assert_outcome(await _post(client, orjson.dumps(bundle)), 422)
    assert body["issue"][0]["expression"] == ["Bundle.entry[3].resource.effectivePeriod.start"]


@pytest.mark.parametrize(
    ("index", "mutate", "path"),
    [
        (1, lambda r: r.update(valueInteger="17"), "Bundle.entry[1].resource.valueInteger"),
        (1, lambda r: r.update(status=None), "Bundle.entry[1].resource.status"),
        (
            2,
            lambda r: r["dosage"][0]["doseAndRate"][0]["doseQuantity"].update(value=True),
            "Bundle.entry[2].resource.dosage[0].doseAndRate[0].doseQuantity.value",
        ),
        (2, lambda r: r.update(dosage={"text": "x"}), "Bundle.entry[2].resource.dosage"),
        (
            2,
            lambda r: r["medicationCodeableConcept"].update(coding="36437"),
            "Bundle.entry[2].resource.medicationCodeableConcept.coding",
        ),
        (2, lambda r: r.pop("subject"), "Bundle.entry[2].resource.subject"),
        (0, lambda r: r.update(birthDate="1980-1-2"), "Bundle.entry[0].resource.birthDate"),
        (
            1,
            lambda r: r.update(effectiveDateTime="2024-04-20T10:00:00"),
            "Bundle.entry[1].resource.effectiveDateTime",
        ),
    ],
)
async def test_typed_check_names_the_element(
    make_client: Any, fhir: Any, index: int, mutate: Any, path: str
) -> None:
    bundle = fhir.patient_bundle(4)
    mutate(bundle["entry"][index]["resource"])
    async with make_client() as client:
        body = _assert_outcome(await _post(client, orjson.dumps(bundle)), 422)
    assert body["issue"][0]["expression"] == [path]


async def test_entry_without_resource_is_422(make_client: Any, fhir: Any) -> None:
    bundle = fhir.patient_bundle(3)
    bundle["entry"].append({"fullUrl": "urn:uuid:x"})
    async with make_client() as client:
        body = _assert_outcome(await _post(client, orjson.dumps(bundle)), 422)
    assert body["issue"][0]["expression"] == ["Bundle.entry[3].resource"]


async def test_strict_mode_validates_everything_with_fhir_resources(
    make_client: Any, fhir: Any
) -> None:
    bundle = fhir.patient_bundle(4)
    # Unknown element: ignored by the typed check (the rules never read it), refused in strict mode.
    bundle["entry"][2]["resource"]["effectivePeriod"]["beginning"] = "2024-01-01"
    async with make_client() as client:
        assert (await _post(client, orjson.dumps(bundle))).status_code == 200
    async with make_client(Settings(strict_validation=True)) as client:
        body = _assert_outcome(await _post(client, orjson.dumps(bundle)), 422)
    assert body["issue"][0]["expression"][0].startswith("Bundle.entry[2].resource.effectivePeriod")


async def test_body_over_the_limit_is_413(make_client: Any, fhir: Any) -> None:
    bundle = fhir.patient_bundle(3)
    bundle["entry"][0]["resource"]["text"] = {"status": "generated", "div": "x" * 3000}
    async with make_client(Settings(max_body_bytes=2048)) as client:
        _assert_outcome(await _post(client, orjson.dumps(bundle)), 413)

        async def chunks() -> Any:
            # No content-length: the limit holds while streaming too.
            for _ in range(10):
                yield b" " * 1000

        _assert_outcome(await client.post("/evaluate", content=chunks(), headers=FHIR_JSON), 413)


async def test_too_many_entries_is_413(make_client: Any, fhir: Any) -> None:
    async with make_client(Settings(max_entries=10)) as client:
        _assert_outcome(await _post(client, orjson.dumps(fhir.patient_bundle(11))), 413)
        assert (await _post(client, orjson.dumps(fhir.patient_bundle(10)))).status_code == 200


def _deep_bundle(fhir: Any, depth: int) -> bytes:
    bundle = fhir.patient_bundle(2)
    bundle["entry"][0]["resource"]["extension"] = "@"
    return orjson.dumps(bundle).replace(b'"@"', b"[" * depth + b"]" * depth)


# 100: past the bound; 300 and 900: past what orjson encodes for the cache key, within what
# it parses; 5000: past what it parses.
@pytest.mark.parametrize("depth", [100, 300, 900, 5000])
async def test_deeply_nested_json_is_refused(make_client: Any, fhir: Any, depth: int) -> None:
    async with make_client() as client:
        _assert_outcome(await _post(client, _deep_bundle(fhir, depth)), 413)


def _nested(depth: int) -> Any:
    value: Any = "x"
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


@pytest.mark.parametrize("where", ["resource", "meta", "search"])
async def test_nesting_bound_is_exact_wherever_it_is(make_client: Any, fhir: Any, where: str) -> None:
    # Depth counts objects and arrays from the Bundle (1): entry array 2, entry 3, resource 4.
    limit = 12
    levels = {"resource": limit - 4, "meta": limit - 1, "search": limit - 3}[where]

    def post_with(extra: int) -> bytes:
        bundle = fhir.patient_bundle(3, salt=extra)
        nested = _nested(levels + extra)
        if where == "resource":
            bundle["entry"][1]["resource"]["note"] = nested
        elif where == "meta":
            bundle["meta"] = nested
        else:
            bundle["entry"][2]["search"] = nested
        return orjson.dumps(bundle)

    async with make_client(Settings(max_json_depth=limit)) as client:
        assert (await _post(client, post_with(0))).status_code == 200
        _assert_outcome(await _post(client, post_with(1)), 413)


async def test_deep_bundle_elements_are_refused_even_when_the_resources_are_cached(
    make_client: Any, fhir: Any
) -> None:
    # The resources' depth is checked with their validation, on a miss; the Bundle's own
    # elements at once, so the same bytes never get 413 once and 200 later.
    bundle = fhir.patient_bundle(3)
    async with make_client() as client:
        assert (await _post(client, orjson.dumps(bundle))).status_code == 200
        bundle["meta"] = _nested(200)
        _assert_outcome(await _post(client, orjson.dumps(bundle)), 413)
        del bundle["meta"]
        bundle["entry"][0]["request"] = _nested(200)
        _assert_outcome(await _post(client, orjson.dumps(bundle)), 413)


def test_parse_bundle_refuses_deep_resources_without_crashing(fhir: Any) -> None:
    from trd_cds.fhir.bundle import InputLimits, parse_bundle
    from trd_cds.fhir.outcome import FhirInputError

    for depth in (70, 300):
        with pytest.raises(FhirInputError) as caught:
            parse_bundle(_deep_bundle(fhir, depth), InputLimits())
        assert caught.value.status == 413


@pytest.mark.parametrize("as_of", ["2024-13-01", "yesterday", "2024-1-1", "20240101"])
async def test_bad_as_of_is_400(make_client: Any, fhir: Any, as_of: str) -> None:
    async with make_client() as client:
        _assert_outcome(
            await _post(client, orjson.dumps(fhir.patient_bundle(2)), query=f"?asOf={as_of}"), 400
        )


async def test_as_of_defaults_to_today(make_client: Any, fhir: Any) -> None:
    from datetime import date

    async with make_client() as client:
        response = await _post(client, orjson.dumps(fhir.patient_bundle(2)), query="")
    assert response.json()["assessment"]["evaluationDate"] == date.today().isoformat()
