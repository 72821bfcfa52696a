"""The HTTP transport of the prefetch fallback: it connects only to public addresses.

The host of `fhirServer` is resolved here, at connect time, every address it resolves to is
checked (private, loopback, link-local, multicast and reserved ranges are refused unless
allowed), and the connection goes to an address that was checked: a DNS answer cannot change
between the check and the connect (no rebinding window). TLS still verifies the certificate
against the host name, which httpcore passes separately from the address.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import Iterable, Mapping
from typing import Any

import certifi
import httpcore
import httpx

from .client_policy import is_public_address


class BlockedAddress(httpcore.ConnectError):
    """The host resolves to an address the fallback may not reach."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, *, allow_private: bool = False) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self._allow_private:
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            async with asyncio.timeout(timeout):
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve host: {type(exc).__name__}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses or not all(is_public_address(a) for a in addresses):
            raise BlockedAddress("host resolves to a non-public address")
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are not FHIR servers")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def tls_context(environ: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """Certificate verification for outbound https (FHIR servers, key sets): the CA bundle of
    `SSL_CERT_FILE` and/or the CA directory of `SSL_CERT_DIR` (a hospital CA), else certifi's.

    Read here explicitly, because the clients keep httpx's `trust_env` off: that would also
    take proxies from the environment, which the token must never pass through. A named file
    or directory that cannot be read fails at start-up rather than at the first call.
    """
    env = os.environ if environ is None else environ
    cafile = env.get("SSL_CERT_FILE") or None
    capath = env.get("SSL_CERT_DIR") or None
    if cafile is None and capath is None:
        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile, capath=capath)


def guarded_transport(
    *,
    allow_private: bool = False,
    max_connections: int = 100,
    max_keepalive_connections: int = 20,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncHTTPTransport:
    """An httpx transport over GuardedBackend; no proxy from the environment, no HTTP/2;
    certificates verified against `ssl_context` (default: `tls_context()`)."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx does not take a network backend, so its connection pool is replaced with one that
    # has ours (same settings otherwise). tests/fhir/test_ssrf_guard.py checks this holds.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context or tls_context(),
        max_connections=max_connections,
        max_keepalive_connections=max_keepalive_connections,
        keepalive_expiry=5.0,
        network_backend=GuardedBackend(allow_private=allow_private),
    )
    return transport
