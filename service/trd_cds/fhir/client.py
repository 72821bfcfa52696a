"""FHIR REST client for the prefetch fallback: reads and searches with paging and a deadline."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import orjson

from .bounded_body import (
    ACCEPT_ENCODING,
    BadEncoding,
    BodyTooLarge,
    UnsupportedEncoding,
    read_bounded,
)
from .client_policy import escapes_its_path
from .client_transport import BlockedAddress

log = logging.getLogger(__name__)


class FhirFetchError(Exception):
    """The FHIR server could not give us the data; `reason` is safe to log and to label."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _same_origin(url: str, base: str) -> bool:
    # The bearer token may only ever be sent to the server the EHR named.
    a, b = urlsplit(url), urlsplit(base)
    if escapes_its_path(a.path):
        return False  # `…/base/../elsewhere` starts with the base only as text
    prefix = b.path.rstrip("/")
    under = not prefix or a.path == prefix or a.path.startswith(prefix + "/")
    return (a.scheme, a.netloc) == (b.scheme, b.netloc) and under


class FhirClient:
    """GETs one prefetch query and returns its resources, following `Bundle.link[next]`.

    Bounded everywhere: pages per query, bytes per response, and time per request (the whole
    request, not only each socket read: a server dripping bytes cannot stretch it). The
    access token goes in the Authorization header of these GETs and nowhere else.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        page_limit: int = 10,
        max_response_bytes: int = 8 * 1024 * 1024,
        request_timeout_seconds: float = 1.0,
    ) -> None:
        self._http = http
        self._page_limit = page_limit
        self._max_bytes = max_response_bytes
        self._request_timeout = request_timeout_seconds

    async def fetch(self, base: str, query: str, token: str | None) -> list[dict[str, Any]]:
        base = base.rstrip("/") + "/"
        url = urljoin(base, query)
        headers = {"Accept": "application/fhir+json", "Accept-Encoding": ACCEPT_ENCODING}
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
            async with asyncio.timeout(self._request_timeout):
                status, content = await self._read(url, headers)
        except TimeoutError:
            raise FhirFetchError("timeout") from None
        except httpx.InvalidURL:
            # A next link the server made up that no request can carry.
            raise FhirFetchError("invalid-url") from None
        except httpx.TimeoutException:
            raise FhirFetchError("timeout") from None
        except httpx.HTTPError as exc:
            if isinstance(exc.__cause__, BlockedAddress):
                raise FhirFetchError("blocked-address") from None
            raise FhirFetchError("transport") from None
        if status in (401, 403):
            raise FhirFetchError("unauthorized")
        if status == 404:
            # A read of something that does not exist: no data, like a null prefetch.
            return {"resourceType": "Bundle", "type": "searchset", "entry": []}
        if 300 <= status < 400:
            # Redirects are never followed: they could lead the token to another host.
            raise FhirFetchError("redirect")
        if status >= 400 or status < 200:
            raise FhirFetchError(f"http-{status // 100}xx")
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise FhirFetchError("not-json") from None
        if not isinstance(body, dict):
            raise FhirFetchError("not-a-resource")
        return body

    async def _read(self, url: str, headers: dict[str, str]) -> tuple[int, bytes]:
        """Status and body, refusing a body larger than the limit (decoded: a compressed
        body is inflated only up to it) as it streams in."""
        async with self._http.stream(
            "GET", url, headers=headers, follow_redirects=False
        ) as response:
            if not 200 <= response.status_code < 300:
                return response.status_code, b""  # only the status is read
            try:
                return response.status_code, await read_bounded(response, self._max_bytes)
            except BodyTooLarge:
                raise FhirFetchError("too-large") from None
            except UnsupportedEncoding:
                raise FhirFetchError("unsupported-encoding") from None
            except BadEncoding:
                raise FhirFetchError("bad-encoding") from None


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
