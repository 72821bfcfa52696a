"""FHIR REST client for the prefetch fallback: reads and searches with paging and a deadline."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import orjson

log = logging.getLogger(__name__)


class FhirFetchError(Exception):
    """The FHIR server could not give us the data; `reason` is safe to log and to label."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _same_origin(url: str, base: str) -> bool:
    # The bearer token may only ever be sent to the server the EHR named.
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc) and a.path.startswith(b.path.rstrip("/"))


class FhirClient:
    """GETs one prefetch query and returns its resources, following `Bundle.link[next]`."""

    def __init__(self, http: httpx.AsyncClient, *, page_limit: int = 10) -> None:
        self._http = http
        self._page_limit = page_limit

    async def fetch(self, base: str, query: str, token: str | None) -> list[dict[str, Any]]:
        base = base.rstrip("/") + "/"
        url = urljoin(base, query)
        headers = {"Accept": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        resources: list[dict[str, Any]] = []
        seen: set[str] = set()
        pages = 0
        next_url: str | None = url
        while next_url is not None:
            if next_url in seen:
                raise FhirFetchError("next-loop")
            if pages >= self._page_limit:
                raise FhirFetchError("page-limit")
            seen.add(next_url)
            pages += 1
            body = await self._get(next_url, headers)
            if body.get("resourceType") == "OperationOutcome":
                raise FhirFetchError("operation-outcome")
            if body.get("resourceType") != "Bundle":
                resources.append(body)
                return resources
            resources.extend(bundle_resources(body))
            next_url = next_link(body)
            if next_url is not None:
                next_url = urljoin(base, next_url)
                if not _same_origin(next_url, base):
                    raise FhirFetchError("foreign-next-link")
        return resources

    async def _get(self, url: str, headers: dict[str, str]) -> dict[str, Any]:
        try:
            response = await self._http.get(url, headers=headers)
        except httpx.TimeoutException:
            raise FhirFetchError("timeout") from None
        except httpx.HTTPError:
            raise FhirFetchError("transport") from None
        if response.status_code in (401, 403):
            raise FhirFetchError("unauthorized")
        if response.status_code == 404:
            # A read of something that does not exist: no data, like a null prefetch.
            return {"resourceType": "Bundle", "type": "searchset", "entry": []}
        if response.status_code >= 400:
            raise FhirFetchError(f"http-{response.status_code // 100}xx")
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise FhirFetchError("not-json") from None
        if not isinstance(body, dict):
            raise FhirFetchError("not-a-resource")
        return body


def bundle_resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Resources of a searchset, leaving out search-outcome OperationOutcomes."""
    found: list[dict[str, Any]] = []
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return found
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        resource = entry.get("resource")
        search = entry.get("search")
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue
        if isinstance(resource, dict):
            found.append(resource)
    return found


def next_link(bundle: dict[str, Any]) -> str | None:
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        if (
            isinstance(link, dict)
            and link.get("relation") == "next"
            and isinstance(link.get("url"), str)
        ):
            return str(link["url"])
    return None
