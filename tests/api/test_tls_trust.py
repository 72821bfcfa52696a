"""A hospital CA named by SSL_CERT_FILE is trusted for the EHR's key sets and for its FHIR
server, while proxies from the environment stay unused. The servers here are local TLS servers
with certificates from a CA made for the test."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from conftest import BASE_URL, CdsClientIssuer, Fhir, free_port, public_jwk, running_app
from trd_cds.app import _fhir_http_client, create_app
from trd_cds.fhir.client import FhirClient, FhirFetchError
from trd_cds.settings import Settings, TrustedIssuer


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) files: a throw-away CA and a
    certificate it signed for localhost and 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Hospital CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = (directory / n for n in ("ca.pem", "server.pem", "key.pem"))
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.routes.get(self.path.split("?")[0])
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class TlsServer:
    """An https server on 127.0.0.1 answering fixed JSON bodies by path."""

    def __init__(self, cert: Path, key: Path, routes: dict[str, Any]) -> None:
        handler = type("Handler", (_Handler,), {"routes": {
            path: json.dumps(body).encode() for path, body in routes.items()
        }})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def hospital_tls(tmp_path: Path) -> Iterator[tuple[Path, TlsServer]]:
    ca, cert, key = _certificates(tmp_path)
    server = TlsServer(cert, key, {
        "/jwks.json": {"keys": [public_jwk("ec384")]},
        "/fhir/Patient/p1": Fhir.patient(),
    })
    yield ca, server
    server.close()


@pytest.fixture
def hostile_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy that does not exist: a client that took it from the environment would fail."""
    dead = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


async def _discovery(settings: Settings, issuer: CdsClientIssuer) -> int:
    app = create_app(settings)
    async with running_app(app) as client:
        response = await client.get("/cds-services", headers=issuer.auth("/cds-services"))
    return response.status_code


@pytest.mark.usefixtures("hostile_proxy_env")
async def test_key_sets_are_fetched_with_the_hospital_ca(
    hospital_tls: tuple[Path, TlsServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, server = hospital_tls
    issuer = CdsClientIssuer(tmp_path)
    settings = issuer.settings(
        auth_issuers=[
            TrustedIssuer(iss=issuer.iss, jwks_url=f"https://localhost:{server.port}/jwks.json")
        ]
    )
    assert settings.public_base_url == BASE_URL
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    assert await _discovery(settings, issuer) == 401  # the CA is not trusted by default
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    assert await _discovery(settings, issuer) == 200


@pytest.mark.usefixtures("hostile_proxy_env")
async def test_the_fhir_server_is_read_with_the_hospital_ca(
    hospital_tls: tuple[Path, TlsServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, server = hospital_tls
    settings = Settings(fhir_allow_private_addresses=True)
    base = f"https://localhost:{server.port}/fhir"

    async def fetch() -> list[dict[str, Any]]:
        async with _fhir_http_client(settings) as http:
            return await FhirClient(http).fetch(base, "Patient/p1", "tkn")

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(FhirFetchError) as refused:
        await fetch()
    assert refused.value.reason == "transport"
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    assert [r["id"] for r in await fetch()] == ["p1"]
