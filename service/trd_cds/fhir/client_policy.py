"""Which FHIR servers the prefetch fallback may call.

`fhirServer` comes from the request body, so an unchecked fallback would fetch any URL a
caller names (server-side request forgery) and send it the EHR's access token. A server must
be https (plain http is a development setting), carry no user info, and sit under one of the
configured URL prefixes. Where it resolves to is checked separately, at connect time
(`client_transport`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

import httpx

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# A base URL is short; httpx itself refuses URLs past 65,536 characters.
MAX_URL_CHARS = 2048
# Spaces, control characters and DEL (which httpx refuses), and backslashes (which some
# servers read as slashes).
_UNSENDABLE = re.compile(r"[\x00-\x20\x7f\\]")


class FhirServerRefused(ValueError):
    """The fhirServer may not be called; the message is safe to show the caller."""


def _origin(parts: SplitResult) -> tuple[str, str, int]:
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower().rstrip("."), port


def escapes_its_path(path: str) -> bool:
    """True when a URL path has a dot segment (`.` or `..`, also percent-encoded) or an
    encoded slash or backslash: the path a server (or httpx, which removes dot segments)
    resolves it to is not the one compared with an allowed prefix. Refusing them is simpler
    and safer than normalising (RFC 3986 5.2.4) and comparing the result."""
    for segment in path.split("/"):
        decoded = unquote(segment)
        if decoded in (".", "..") or "/" in decoded or "\\" in decoded:
            return True
    return False


def _path_under(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")


@dataclass(frozen=True, slots=True)
class FhirServerPolicy:
    allowed_prefixes: tuple[str, ...] = ()
    # No allowlist: refuse every server (production), or allow any (development).
    open_when_unlisted: bool = False
    allow_http: bool = False

    @property
    def fallback_enabled(self) -> bool:
        return bool(self.allowed_prefixes) or self.open_when_unlisted

    def check(self, url: str) -> None:
        """Raise FhirServerRefused unless `url` is a server this service may call."""
        if len(url) > MAX_URL_CHARS:
            raise FhirServerRefused(f"fhirServer is longer than {MAX_URL_CHARS} characters")
        if _UNSENDABLE.search(url):
            raise FhirServerRefused(
                "fhirServer must not contain spaces, control characters or backslashes"
            )
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a malformed port
            # What the HTTP client would refuse when sending (an octal IPv4 host, say) is
            # refused here, as the caller's error.
            httpx.URL(url)
        except (ValueError, httpx.InvalidURL):
            raise FhirServerRefused("fhirServer is not a valid URL") from None
        if escapes_its_path(parts.path):
            raise FhirServerRefused(
                "fhirServer must not contain dot segments or encoded slashes in its path"
            )
        scheme = parts.scheme.lower()
        if scheme != "https" and not (scheme == "http" and self.allow_http):
            raise FhirServerRefused("fhirServer must be an https URL")
        if not parts.hostname or parts.username is not None or parts.password is not None:
            raise FhirServerRefused("fhirServer must name a host and carry no user info")
        if parts.query or parts.fragment:
            raise FhirServerRefused("fhirServer must be a base URL, without query or fragment")
        if not self.allowed_prefixes:
            if self.open_when_unlisted:
                return
            raise FhirServerRefused("fhirServer is not one this service may call")
        origin = _origin(parts)
        for prefix in self.allowed_prefixes:
            allowed = urlsplit(prefix)
            if _origin(allowed) == origin and _path_under(parts.path, allowed.path):
                return
        raise FhirServerRefused("fhirServer is not one this service may call")


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address; False for private, loopback, link-local,
    multicast, reserved and unspecified ones (IPv4-mapped IPv6 judged by its IPv4 address)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is None and ip in _NAT64:
            # A NAT64 gateway would forward to the embedded IPv4 address.
            mapped = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if mapped is not None:
            ip = mapped
    return ip.is_global and not ip.is_multicast
