"""Empty elements (arrays, objects, strings, and objects holding nothing else) are dropped and
reported, instead of refusing the resource; strict validation still refuses them."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from trd_cds.fhir.bundle import InputLimits, parse_bundle
from trd_cds.fhir.empty_elements import drop_empty, may_hold_empty
from trd_cds.settings import Settings

FHIR_JSON = {"content-type": "application/fhir+json"}
async def _post(client: Any, body: bytes, query: str = "?asOf=2024-05-01") -> Any:
    return await client.post(f"/evaluate{query}", content=body, headers=FHIR_JSON)


def _label(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


async def test_empty_elements_are_dropped_and_reported_for_every_resource_type_read(
    make_client: Any, fhir: Any, fake_rules: Any
) -> None:
    cases = fhir.empty_element_cases()
    bundle = fhir.bundle([dirty for _, dirty, _ in cases])
    async with make_client(rules=fake_rules) as client:
        response = await _post(client, orjson.dumps(bundle))
    assert response.status_code == 200, response.text
    body = response.json()

    # Nothing accepted is lost: what the rules read is each resource exactly as it was before
    # the empty elements were added, every sibling in place.
    patient = fake_rules.last_patient
    assert list(patient.resources) == [clean for clean, _, _ in cases]

    expected = sorted(
        (
            {"resource": _label(clean), "path": path, "issue": "empty-element", "effect": "dropped"}
            for clean, _, paths in cases
            for path in paths
        ),
        key=lambda f: (f["resource"], f["path"]),
    )
    assert list(patient.findings) == expected

    issues = body["issues"]
    assert issues["resourceType"] == "OperationOutcome"
    assert all(i["severity"] == "warning" for i in issues["issue"])
    expressions = {e for i in issues["issue"] for e in i["expression"]}
    assert expressions == {
        f"Bundle.entry[{index}].resource.{path.split('.', 1)[1]}"
        for index, (_, _, paths) in enumerate(cases)
        for path in paths
    }
    statement_issue = next(
        i for i in issues["issue"] if i["expression"] == ["Bundle.entry[2].resource.reasonCode"]
    )
    assert "MedicationStatement.reasonCode" in statement_issue["diagnostics"]
    assert "empty" in statement_issue["diagnostics"]


async def test_the_reported_doseAndRate_case_is_answered(
    make_client: Any, fhir: Any
) -> None:
    bundle = fhir.patient_bundle(4)
    bundle["entry"][2]["resource"]["dosage"][0]["doseAndRate"] = []
    async with make_client() as client:
        response = await _post(client, orjson.dumps(bundle))
    assert response.status_code == 200, response.text
    [issue] = response.json()["issues"]["issue"]
    assert issue["expression"] == ["Bundle.entry[2].resource.dosage[0].doseAndRate"]
    assert issue["severity"] == "warning"


async def test_a_clean_bundle_carries_no_issues(make_client: Any, fhir: Any) -> None:
    async with make_client() as client:
        response = await _post(client, orjson.dumps(fhir.patient_bundle(5)))
    assert response.status_code == 200
    assert "issues" not in response.json()


async def test_empty_elements_written_with_whitespace_are_found(
    make_client: Any, fhir: Any, fake_rules: Any
) -> None:
    bundle = fhir.patient_bundle(3)
    bundle["entry"][2]["resource"]["dosage"][0]["doseAndRate"] = []
    bundle["entry"][2]["resource"]["note"] = {}
    body = orjson.dumps(bundle, option=orjson.OPT_INDENT_2)
    body = body.replace(b"[]", b"[ \n\t ]").replace(b"{}", b"{\r\n}")
    assert b"[]" not in body and b"{}" not in body
    async with make_client(rules=fake_rules) as client:
        response = await _post(client, body)
    assert response.status_code == 200, response.text
    assert [f["path"] for f in fake_rules.last_patient.findings] == [
        "MedicationStatement.dosage[0].doseAndRate",
        "MedicationStatement.note",
    ]


async def test_strict_validation_still_refuses_empty_elements(make_client: Any, fhir: Any) -> None:
    for _, dirty, _ in fhir.empty_element_cases():
        if dirty["resourceType"] == "Medication":
            continue  # strict validation covers the types the typed check reads
        others = [fhir.patient()] if dirty["resourceType"] != "Patient" else []
        body = orjson.dumps(fhir.bundle([*others, dirty]))
        async with make_client(Settings(strict_validation=True)) as client:
            response = await _post(client, body)
        assert response.status_code == 422, (dirty["resourceType"], response.text)
        issue = response.json()["issue"][0]
        assert issue["severity"] == "error"
        assert issue["expression"][0].startswith(f"Bundle.entry[{len(others)}].resource")


async def test_the_reported_case_stays_422_in_strict_mode_naming_the_element(
    make_client: Any, fhir: Any
) -> None:
    bundle = fhir.patient_bundle(4)
    bundle["entry"][2]["resource"]["dosage"][0]["doseAndRate"] = []
    async with make_client(Settings(strict_validation=True)) as client:
        response = await _post(client, orjson.dumps(bundle))
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == [
        "Bundle.entry[2].resource.dosage[0].doseAndRate"
    ]


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda r: r["effectivePeriod"].update(start="2024-02-30"), "effectivePeriod.start"),
        (lambda r: r.update(status=7), "status"),
        (lambda r: r["dosage"][0]["timing"]["repeat"].update(frequency="1"),
         "dosage[0].timing.repeat.frequency"),
    ],
)
async def test_wrong_types_next_to_empty_elements_stay_422(
    make_client: Any, fhir: Any, mutate: Any, path: str
) -> None:
    bundle = fhir.patient_bundle(4)
    statement = bundle["entry"][2]["resource"]
    statement["dosage"][0]["doseAndRate"] = []
    statement["note"] = [{"text": ""}]
    mutate(statement)
    async with make_client() as client:
        response = await _post(client, orjson.dumps(bundle))
    assert response.status_code == 422, response.text
    assert response.json()["issue"][0]["expression"] == [f"Bundle.entry[2].resource.{path}"]


async def test_an_element_the_rules_need_that_is_empty_is_missing(
    make_client: Any, fhir: Any
) -> None:
    bundle = fhir.patient_bundle(4)
    bundle["entry"][2]["resource"]["subject"] = {"reference": ""}
    async with make_client() as client:
        response = await _post(client, orjson.dumps(bundle))
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[2].resource.subject"]


async def test_empty_elements_change_the_cache_key(
    make_client: Any, fhir: Any, fake_rules: Any
) -> None:
    clean = fhir.patient_bundle(5)
    dirty = copy.deepcopy(clean)
    dirty["entry"][2]["resource"]["reasonCode"] = []
    also_dirty = copy.deepcopy(clean)  # other empty elements, the same resources once dropped
    also_dirty["entry"][2]["resource"]["reasonCode"] = [{}]
    async with make_client(rules=fake_rules) as client:
        first = await _post(client, orjson.dumps(clean))
        second = await _post(client, orjson.dumps(dirty))
        assert fake_rules.calls == 2  # not the clean bundle's result
        again = await _post(client, orjson.dumps(dirty))
        assert fake_rules.calls == 2  # a hit
        third = await _post(client, orjson.dumps(also_dirty))
        assert fake_rules.calls == 2  # same data, same finding: a hit
    assert "issues" not in first.json()
    for response in (second, again, third):
        [issue] = response.json()["issues"]["issue"]
        assert issue["expression"] == ["Bundle.entry[2].resource.reasonCode"]


def test_the_digest_covers_the_findings_in_any_order() -> None:
    from trd_cds.cache.keys import patient_digest

    resources = [{"resourceType": "Patient", "id": "p1"}]
    one = {"resource": "Patient/p1", "path": "Patient.name", "issue": "empty-element",
           "effect": "dropped"}
    two = {**one, "path": "Patient.telecom"}
    assert patient_digest(resources, [one]) != patient_digest(resources)
    assert patient_digest(resources, [one, two]) == patient_digest(resources, [two, one])
    assert patient_digest(resources, [one]) != patient_digest(resources, [two])
    assert patient_digest(resources, ()) == patient_digest(resources)


def test_findings_name_a_resource_without_id_by_its_type() -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "", "gender": "female", "name": []}}
        ],
    }
    patient = parse_bundle(orjson.dumps(bundle), InputLimits())
    assert [f["resource"] for f in patient.findings] == ["Patient", "Patient"]
    assert patient.resources[0] == {"resourceType": "Patient", "gender": "female"}


def test_primitive_arrays_keep_their_places_for_their_extensions() -> None:
    extension = {"url": "http://example.org/x", "valueString": "y"}
    resource = {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"given": ["", "Ann", ""], "_given": [{"extension": [extension]}, None, {}]}],
    }
    cleaned, dropped = drop_empty(resource, depth=1, max_depth=64)
    assert cleaned["name"][0] == {
        "given": [None, "Ann", None],
        "_given": [{"extension": [extension]}, None, None],
    }
    assert dropped == [".name[0].given[0]", ".name[0].given[2]", ".name[0]._given[2]"]
    assert resource["name"][0]["given"] == ["", "Ann", ""]  # the input is left as it was


def test_dropping_leaves_the_input_and_unchanged_parts_alone() -> None:
    resource = {"resourceType": "Observation", "id": "o", "code": {"text": "x"}, "note": []}
    cleaned, dropped = drop_empty(resource, depth=1, max_depth=64)
    assert dropped == [".note"]
    assert "note" in resource
    assert cleaned["code"] is resource["code"]
    untouched = {"resourceType": "Observation", "id": "o", "code": {"text": "x"}}
    assert drop_empty(untouched, depth=1, max_depth=64) == (untouched, [])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"a": ["x", " "], "b": {"c": "d"}, "e": [{"f": 1}]}', False),
        (b'{"a": []}', True),
        (b'{"a": [\n  ]}', True),
        (b'{"a": {}}', True),
        (b'{"a": { }}', True),
        (b'{"a": ""}', True),
        (b'{"a": ["x", ""]}', True),
    ],
)
def test_the_quick_look_never_misses_an_empty_element(body: bytes, expected: bool) -> None:
    assert may_hold_empty(body) is expected


def test_empty_elements_past_the_nesting_bound_are_still_refused(fhir: Any) -> None:
    from trd_cds.fhir.outcome import FhirInputError

    bundle = fhir.patient_bundle(2)
    deep: Any = []
    for _ in range(70):
        deep = [deep]
    bundle["entry"][1]["resource"]["note"] = deep  # all empty: dropping it would hide the depth
    with pytest.raises(FhirInputError) as caught:
        parse_bundle(orjson.dumps(bundle), InputLimits())
    assert caught.value.status == 413


async def test_the_openapi_document_describes_the_warnings(make_client: Any) -> None:
    async with make_client() as client:
        document = (await client.get("/openapi.json")).json()
    ok = document["paths"]["/evaluate"]["post"]["responses"]["200"]
    schema = ok["content"]["application/json"]["schema"]
    issues = schema["properties"]["issues"]
    assert issues["properties"]["resourceType"] == {"const": "OperationOutcome"}
    assert "warning" in issues["description"]
    finding = schema["properties"]["assessment"]["properties"]["dataQuality"]["items"]
    assert finding["required"] == ["resource", "path", "issue", "effect"]
