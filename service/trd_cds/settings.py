"""Settings from the environment (prefix `TRD_`), e.g. `TRD_REDIS_URL=redis://cache:6379/0`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class TrustedIssuer(BaseModel):
    """A CDS client (EHR) whose JWTs are accepted, and where its public keys are published.

    `jwks_url` or `jwks_file` is the issuer's own JWK Set; `jku` lists the only JWK Set URLs a
    token's `jku` header may point to (a token naming any other is refused). `tenant`, when set,
    must equal the token's `tenant` claim.
    """

    iss: str = Field(min_length=1)
    jwks_url: str | None = None
    jwks_file: Path | None = None
    jku: list[str] = Field(default_factory=list)
    tenant: str | None = None

    @model_validator(mode="after")
    def _has_keys(self) -> TrustedIssuer:
        # Keys fetched over plain http could be swapped in transit: https only (or a file).
        for url in [self.jwks_url, *self.jku]:
            if url is not None and not url.startswith("https://"):
                raise ValueError(f"issuer {self.iss}: key set URLs must be https ({url})")
        if self.jwks_url and self.jwks_file:
            raise ValueError(f"issuer {self.iss}: give jwks_url or jwks_file, not both")
        if not (self.jwks_url or self.jwks_file or self.jku):
            raise ValueError(f"issuer {self.iss}: needs jwks_url, jwks_file or a jku allowlist")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRD_", extra="ignore")

    # production: CDS clients must authenticate; development: they need not (a warning says so).
    env: Literal["production", "development"] = "production"

    # Trusting CDS clients (CDS Hooks 2.0): every call carries `Authorization: Bearer <JWT>`.
    # None: required in production, not in development.
    auth_required: bool | None = None
    # The canonical URL clients call this service at (scheme, host, optional path prefix, e.g.
    # https://cds.hospital.org/trd); a token's `aud` must be this plus the path called.
    public_base_url: str | None = None
    # JSON list of TrustedIssuer objects, e.g.
    # [{"iss": "https://ehr.example.org", "jwks_url": "https://ehr.example.org/jwks.json"}]
    auth_issuers: list[TrustedIssuer] = Field(default_factory=list)

    @field_validator("public_base_url")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("TRD_PUBLIC_BASE_URL must be an absolute URL (https://host[/prefix])")
        return value

    auth_leeway_seconds: float = Field(default=30.0, ge=0, le=300)
    # A token living longer than this (exp - iat) is refused: it bounds replay-store size too.
    auth_max_token_lifetime_seconds: int = Field(default=600, ge=30, le=86_400)
    auth_jwks_cache_seconds: float = Field(default=3600.0, gt=0)
    # An unknown `kid` refreshes the key set at most this often (per key set).
    auth_jwks_min_refresh_seconds: float = Field(default=30.0, ge=0)
    auth_jwks_timeout_seconds: float = Field(default=2.0, gt=0)

    # Cache: no Redis URL means the in-process cache.
    redis_url: str | None = None
    cache_ttl_seconds: float = Field(default=3600.0, gt=0)
    cache_ttl_jitter: float = Field(default=0.1, ge=0, le=1)
    # The in-process cache (the whole cache without Redis, the near cache in front of it with
    # one), per worker: an assessment of 300 resources is about 18 kB of JSON.
    cache_max_entries: int = Field(default=10_000, ge=1)
    cache_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # With Redis, keep results in the in-process cache too, in front of it: a key names one
    # immutable result, so the near copy is never stale; it saves the round trip on a hit.
    cache_near: bool = True
    redis_timeout_ms: int = Field(default=75, ge=1)
    redis_lock_ttl_seconds: float = Field(default=5.0, gt=0)
    redis_lock_wait_ms: int = Field(default=250, ge=0)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_cooldown_seconds: float = Field(default=5.0, gt=0)

    # Client input limits.
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_entries: int = Field(default=5_000, ge=1)
    # At most 254: the nesting orjson encodes (the cache key), and well inside Python's
    # recursion limit for the checks that walk a Bundle's own elements.
    max_json_depth: int = Field(default=64, ge=8, le=254)
    strict_validation: bool = False
    # A client sending its body slower than this gets 408 (slow-body attacks hold a worker).
    body_read_timeout_seconds: float = Field(default=10.0, gt=0)

    # Time budgets.
    evaluation_timeout_seconds: float = Field(default=2.0, gt=0)
    rules_threads: int = Field(default=2, ge=1)
    max_pending_evaluations: int = Field(default=8, ge=1)
    fhir_deadline_seconds: float = Field(default=2.0, gt=0)
    fhir_request_timeout_seconds: float = Field(default=1.0, gt=0)
    fhir_page_limit: int = Field(default=10, ge=1)
    fhir_max_response_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # The only FHIR servers (URL prefixes) the prefetch fallback may call: fhirServer comes from
    # the request, and an open fetcher is a server-side request forgery tool. Empty: no fallback
    # in production; any server in development.
    allowed_fhir_servers: list[str] = Field(default_factory=list)
    # Development only: plain-http FHIR servers, and servers on private, loopback or
    # link-local addresses (every resolved address is checked at connect time).
    fhir_allow_http: bool = False
    fhir_allow_private_addresses: bool = False

    # Rules: CQL parameter overrides, as a JSON object in TRD_RULES_PARAMETERS.
    rules_parameters: dict[str, Any] = Field(default_factory=dict)

    # Browser-based CDS clients call across origins (CDS Hooks 2.0, CORS): list the EHR origins.
    cors_origins: list[str] = Field(default_factory=lambda: ["*"])

    # The trial timeline page the cards link to. Launch handles are signed with this key (at
    # least 32 characters); unset, each server makes one at start (`trd-cds serve` shares it
    # with its workers): set it when several servers or replicas answer behind one address.
    launch_key: SecretStr | None = Field(default=None, min_length=32)
    # How long a card's link to the page works (the cached assessment must still be there).
    launch_handle_seconds: int = Field(default=600, ge=30, le=86_400)
    # SMART launch of the page from the EHR: the client id the EHR registered for it (unset:
    # the cards carry no smart link), and the origins the launch page may call (the EHR's FHIR
    # server, for its SMART configuration, and its authorization server).
    smart_client_id: str | None = None
    smart_origins: list[str] = Field(default_factory=list)

    @field_validator("smart_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            scheme, _, rest = origin.partition("://")
            if scheme not in ("https", "http") or not rest or "/" in rest:
                raise ValueError(f"TRD_SMART_ORIGINS: {origin!r} is not an origin (https://host[:port])")
        return value

    log_level: str = "INFO"
    log_json: bool = True
    # After the rules load, move everything alive into the GC's permanent generation (the
    # compiled libraries are never freed, and full collections walking them caused the slowest
    # cold requests) and collect the young generation less often. Off in tests, which build
    # many short-lived engines.
    gc_freeze: bool = True
    # Benchmarks only: exposes POST /_bench/echo, the orjson round-trip floor.
    bench_echo: bool = False

    @property
    def development(self) -> bool:
        return self.env == "development"

    @property
    def auth_enforced(self) -> bool:
        return self.auth_required if self.auth_required is not None else not self.development

    @property
    def fhir_fallback_open(self) -> bool:
        """May the fallback call any server? Only in development with no allowlist."""
        return self.development and not self.allowed_fhir_servers
