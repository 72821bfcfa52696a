"""Which FHIR servers the prefetch fallback may call.

`fhirServer` comes from the request body, so an unchecked fallback would fetch any URL a
caller names (server-side request forgery) and send it the EHR's access token. A server must
be https (plain http is a development setting), carry no user info, and sit under one of the
configured URL prefixes. Where it resolves to is checked separately, at connect time
(`client_transport`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class FhirServerRefused(ValueError):
    """The fhirServer may not be called; the message is safe to show the caller."""


def _origin(parts: SplitResult) -> tuple[str, str, int]:
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower().rstrip("."), port


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
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise FhirServerRefused("fhirServer is not a valid URL") from None
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
