"""Empty elements: found, dropped, reported.

FHIR R4 forbids empty arrays, objects and strings, yet EHRs send them (`"doseAndRate": []`),
and lenient parsers (HAPI's, cql-exec-fhir) read such a resource as if the element were
absent. So does this service, unless strict validation is on: each element that is empty, or
holds nothing but empty elements, is removed and reported as a finding; its siblings are
kept. An array item is removed too, except where a primitive array has its `_name` partner
(extensions aligned by index): there the item becomes the null placeholder FHIR JSON uses.

Finding them is cheap when there are none, the usual case: the request body is searched at C
speed (`may_hold_empty`), then each resource's compact JSON (`holds_empty`), and only a
resource that may hold one is walked. Measured with `bench/bench_service.py --input-only` on a
shared 2-core machine, for 300 entries (120 kB): the body search 0.3 ms on every request (a
fifth of reading the Bundle and hashing its key, a few percent of the cold input path and
well under 1 % of a cold evaluation); with one resource in ten holding empty elements, the
search, the look at each resource and the walks together about 2 ms. The walk keeps the
nesting bound that validation would apply to the raw resource, so dropping an empty element
never lets too deep a body through.
"""

from __future__ import annotations

from typing import Any

import orjson

from .data_quality import DROPPED, EMPTY_ELEMENT, Finding, finding
from .outcome import FhirInputError

# All but brackets, braces and quotes out: an empty array or object, whatever whitespace it
# held, then reads `[]` or `{}` (so does an array of numbers, or brackets in a string: a false
# alarm only costs a closer look), while every string keeps its quotes (`["a"]` reads `[""]`).
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"')

_GONE: Any = object()


def may_hold_empty(body: bytes) -> bool:
    """False when the JSON text holds no empty array, object or string (true may be wrong)."""
    if b'""' in body:
        return True
    skeleton = body.translate(None, _NOT_STRUCTURE)
    return b"[]" in skeleton or b"{}" in skeleton


def too_deep(max_depth: int) -> FhirInputError:
    return FhirInputError.of(413, f"JSON nested deeper than {max_depth} levels", code="too-costly")


def holds_empty(resource: dict[str, Any], max_depth: int) -> bool:
    """False when the resource holds no empty element (true may be wrong)."""
    try:
        encoded = orjson.dumps(resource)
    except orjson.JSONEncodeError:  # past orjson's own recursion limit, far past max_depth
        raise too_deep(max_depth) from None
    return b"[]" in encoded or b"{}" in encoded or b'""' in encoded


def _may_be_empty(value: Any) -> bool:
    """An object, an array or the empty string: what the walk must look into."""
    kind = type(value)
    return kind is dict or kind is list or (kind is str and not value)


class _Walk:
    __slots__ = ("dropped", "max_depth")

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.dropped: list[str] = []

    def object(self, obj: dict[str, Any], path: str, depth: int) -> Any:
        """`obj` without its empty elements (`obj` itself when it has none); _GONE when
        nothing is left. `depth`: the nesting level of `obj` in the request."""
        if depth > self.max_depth:
            raise too_deep(self.max_depth)
        changed: dict[str, Any] | None = None
        for key, value in obj.items():
            if not _may_be_empty(value):
                continue
            mark = len(self.dropped)
            # A primitive array with its `_name` partner keeps its places (extensions align).
            partner = key[1:] if key.startswith("_") else f"_{key}"
            partnered = type(value) is list and partner in obj
            new = self.child(value, f"{path}.{key}", depth + 1, partnered)
            if new is value:
                continue
            if changed is None:
                changed = dict(obj)
            if new is _GONE:
                # Reported once, as the outermost element removed.
                del self.dropped[mark:]
                self.dropped.append(f"{path}.{key}")
                del changed[key]
            else:
                changed[key] = new
        if changed is None:
            return obj if obj else _GONE
        return changed if changed else _GONE

    def child(self, value: Any, path: str, depth: int, keep_places: bool) -> Any:
        """An element without its empty elements, _GONE when nothing is left (an empty
        string is gone)."""
        if type(value) is dict:
            return self.object(value, path, depth)
        if type(value) is list:
            return self.array(value, path, depth, keep_places)
        return _GONE

    def array(self, items: list[Any], path: str, depth: int, keep_places: bool) -> Any:
        if depth > self.max_depth:
            raise too_deep(self.max_depth)
        replaced: dict[int, Any] = {}
        for index, item in enumerate(items):
            if not _may_be_empty(item):
                continue
            mark = len(self.dropped)
            new = self.child(item, f"{path}[{index}]", depth + 1, False)
            if new is item:
                continue
            if new is _GONE:
                del self.dropped[mark:]
                self.dropped.append(f"{path}[{index}]")
                new = None if keep_places else _GONE
            replaced[index] = new
        if not replaced:
            return items if items else _GONE
        kept = [replaced.get(i, item) for i, item in enumerate(items)]
        kept = [item for item in kept if item is not _GONE]
        # Every item gone: the caller reports the array itself instead.
        return kept if kept else _GONE


def drop_empty(
    resource: dict[str, Any], *, depth: int, max_depth: int
) -> tuple[dict[str, Any], list[str]]:
    """The resource without its empty elements, and the path of each element dropped,
    relative to the resource (".dosage[0].doseAndRate"), in document order.

    `depth` is the nesting level of the resource in the request (4 in a Bundle); a container
    nested past `max_depth` is refused (413) as the depth check of validation would refuse it.
    The resource is returned unchanged (the same object) when nothing was dropped; otherwise
    a copy, sharing the untouched parts.
    """
    if not resource.get("resourceType"):
        return resource, []  # not a resource: left to the checks that refuse it
    walk = _Walk(max_depth)
    cleaned = walk.object(resource, "", depth)
    return cleaned, walk.dropped


def tolerate(
    resource: dict[str, Any], *, depth: int, max_depth: int
) -> tuple[dict[str, Any], list[tuple[Finding, str]]]:
    """The resource without its empty elements (the same object when it holds none), and an
    ``empty-element``/``dropped`` finding for each, with its path relative to the resource."""
    if not holds_empty(resource, max_depth):
        return resource, []
    cleaned, dropped = drop_empty(resource, depth=depth, max_depth=max_depth)
    return cleaned, [(finding(cleaned, where, EMPTY_ELEMENT, DROPPED), where) for where in dropped]
