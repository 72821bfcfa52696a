"""The cache key depends on the patient data's content only, never on its order."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from trd_cds.cache.keys import patient_digest, result_key

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=8))
_json = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=8,
)
_resources = st.lists(
    st.builds(
        # Ids from a small set: resources with their own ids, without one, or repeated.
        lambda rtype, rid, body: {"resourceType": rtype, **body, **({"id": rid} if rid else {})},
        st.sampled_from(["Patient", "Observation", "MedicationStatement", "Condition"]),
        st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "e"])),
        st.dictionaries(
            st.text(min_size=1, max_size=6).filter(lambda k: k not in ("resourceType", "id")),
            _json,
            max_size=5,
        ),
    ),
    max_size=8,
)


def _reorder_keys(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _reorder_keys(child, rng) for key, child in items}
    if isinstance(value, list):
        return [_reorder_keys(child, rng) for child in value]
    return value


@settings(max_examples=80, deadline=None)
@given(_resources, st.randoms(use_true_random=False))
def test_digest_ignores_resource_order_and_key_order(
    resources: list[dict[str, Any]], rng: random.Random
) -> None:
    shuffled = [_reorder_keys(resource, rng) for resource in resources]
    rng.shuffle(shuffled)
    assert patient_digest(shuffled) == patient_digest(resources)


@settings(max_examples=40, deadline=None)
@given(_resources, st.integers(-5, 5))
def test_digest_changes_when_content_changes(resources: list[dict[str, Any]], value: int) -> None:
    changed = [*resources, {"resourceType": "Observation", "valueInteger": value}]
    assert patient_digest(changed) != patient_digest(resources)


def test_list_order_inside_a_resource_matters() -> None:
    first = {"resourceType": "MedicationStatement", "dosage": [{"text": "a"}, {"text": "b"}]}
    second = {"resourceType": "MedicationStatement", "dosage": [{"text": "b"}, {"text": "a"}]}
    assert patient_digest([first]) != patient_digest([second])


def test_key_layout_has_version_date_and_digest_only() -> None:
    digest = patient_digest([{"resourceType": "Patient", "id": "secret-mrn-123"}])
    key = result_key("2026.1", date(2025, 3, 4), digest)
    assert key == f"trd:v1:2026.1:2025-03-04:{digest}"
    assert "secret" not in key and len(digest) == 64


def test_resources_cannot_be_split_differently() -> None:
    # Newlines separate the resources; a newline inside a string is escaped, so it cannot.
    one = [{"resourceType": "Observation", "note": "a\n{}"}]
    two = [{"resourceType": "Observation", "note": "a"}, {"resourceType": "Observation"}]
    assert patient_digest(one) != patient_digest(two)
    assert b"\n" not in orjson.dumps(one[0])


def test_resources_without_ids_or_repeated_still_ignore_order() -> None:
    no_id = [{"resourceType": "Observation", "valueInteger": n} for n in range(5)]
    repeated = [{"resourceType": "Patient", "id": "p", "gender": g} for g in ("male", "female")]
    for resources in (no_id, repeated, [*no_id, *repeated]):
        assert patient_digest(resources) == patient_digest(list(reversed(resources)))
    with_ids = [{"resourceType": "Observation", "id": str(n), "valueInteger": n} for n in range(5)]
    assert patient_digest(with_ids) == patient_digest(list(reversed(with_ids)))
    assert patient_digest(with_ids) != patient_digest(with_ids[:4])
