"""Settings from the environment (prefix `TRD_`), e.g. `TRD_REDIS_URL=redis://cache:6379/0`."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRD_", extra="ignore")

    # Cache: no Redis URL means the in-process cache.
    redis_url: str | None = None
    cache_ttl_seconds: float = Field(default=3600.0, gt=0)
    cache_ttl_jitter: float = Field(default=0.1, ge=0, le=1)
    cache_max_entries: int = Field(default=10_000, ge=1)
    redis_timeout_ms: int = Field(default=75, ge=1)
    redis_lock_ttl_seconds: float = Field(default=5.0, gt=0)
    redis_lock_wait_ms: int = Field(default=250, ge=0)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_cooldown_seconds: float = Field(default=5.0, gt=0)

    # Client input limits.
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_entries: int = Field(default=5_000, ge=1)
    max_json_depth: int = Field(default=64, ge=8)
    strict_validation: bool = False

    # Time budgets.
    evaluation_timeout_seconds: float = Field(default=2.0, gt=0)
    rules_threads: int = Field(default=2, ge=1)
    max_pending_evaluations: int = Field(default=8, ge=1)
    fhir_deadline_seconds: float = Field(default=2.0, gt=0)
    fhir_request_timeout_seconds: float = Field(default=1.0, gt=0)
    fhir_page_limit: int = Field(default=10, ge=1)
    # When set, the only FHIR servers (URL prefixes) the prefetch fallback may call: fhirServer
    # comes from the request, and an open fetcher is a server-side request forgery tool.
    allowed_fhir_servers: list[str] = Field(default_factory=list)

    # Rules: CQL parameter overrides, as a JSON object in TRD_RULES_PARAMETERS.
    rules_parameters: dict[str, Any] = Field(default_factory=dict)

    # Browser-based CDS clients call across origins (CDS Hooks 2.0, CORS).
    cors_origins: list[str] = Field(default_factory=lambda: ["*"])

    log_level: str = "INFO"
    log_json: bool = True
    # Benchmarks only: exposes POST /_bench/echo, the orjson round-trip floor.
    bench_echo: bool = False
