"""The application factory. The lifespan owns the rules, the cache and the HTTP client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
import orjson
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from starlette.responses import Response

from trd_cds.api.auth import (
    AuthGate,
    AuthMiddleware,
    MemoryReplayGuard,
    RedisReplayGuard,
    ReplayGuard,
    TokenVerifier,
)
from trd_cds.api.errors import install_error_handlers
from trd_cds.api.jwks import JwksCache
from trd_cds.api.metrics import Metrics, mark_worker_gone
from trd_cds.api.middleware import RequestContextMiddleware
from trd_cds.api.openapi import install_openapi
from trd_cds.api.protocols import CardBuilder, CrisisSignal, RulesEngine
from trd_cds.api.routes import evaluate, health, hooks, timeline
from trd_cds.api.state import Services
from trd_cds.cache.base import ResultCache
from trd_cds.cache.feedback_store import FeedbackStore, MemoryFeedbackStore, RedisFeedbackStore
from trd_cds.cache.redis_cache import RedisCache
from trd_cds.cache.tiered import TieredCache, redis_backend
from trd_cds.fhir.client import FhirClient
from trd_cds.fhir.client_policy import FhirServerPolicy
from trd_cds.fhir.client_transport import guarded_transport, tls_context
from trd_cds.logging_setup import configure_logging
from trd_cds.settings import Settings
from trd_cds.timeline.handle import LaunchHandles, new_key
from trd_cds.timeline.launch import TimelineLinker
from trd_cds.wiring import input_limits, load_rules, make_evaluator, memory_cache

log = logging.getLogger(__name__)


def _make_cache(settings: Settings, metrics: Metrics) -> tuple[ResultCache, FeedbackStore]:
    memory = memory_cache(settings, metrics)
    if not settings.redis_url:
        return memory, MemoryFeedbackStore()
    redis = RedisCache(
        settings.redis_url,
        ttl_seconds=settings.cache_ttl_seconds,
        jitter=settings.cache_ttl_jitter,
        timeout_seconds=settings.redis_timeout_ms / 1000,
        lock_ttl_seconds=settings.redis_lock_ttl_seconds,
        failure_threshold=settings.breaker_failures,
        cooldown_seconds=settings.breaker_cooldown_seconds,
        on_event=metrics.cache_event,
        on_breaker_change=metrics.breaker_changed,
    )
    metrics.breaker_changed(redis.name, "closed")
    cache: ResultCache = TieredCache(memory, redis) if settings.cache_near else redis
    return cache, RedisFeedbackStore(redis.client)


def auth_config_problem(settings: Settings) -> str | None:
    """Why authentication, though required, cannot work; None when it can (or is off)."""
    if not settings.auth_enforced:
        return None
    missing = [
        name
        for name, value in (
            ("TRD_AUTH_ISSUERS", settings.auth_issuers),
            ("TRD_PUBLIC_BASE_URL", settings.public_base_url),
        )
        if not value
    ]
    if missing:
        return f"CDS client authentication is required but {' and '.join(missing)} not set"
    return None


def _fhir_http_client(settings: Settings) -> httpx.AsyncClient:
    """The prefetch fallback's client: public addresses only (unless allowed), no redirects,
    no proxy from the environment, and no cookies (one EHR session must never ride along
    with another call)."""
    return httpx.AsyncClient(
        transport=guarded_transport(
            allow_private=settings.fhir_allow_private_addresses, ssl_context=tls_context()
        ),
        timeout=httpx.Timeout(settings.fhir_request_timeout_seconds),
        follow_redirects=False,
        trust_env=False,
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
    )


def _log_security_posture(
    settings: Settings, problem: str | None, policy: FhirServerPolicy
) -> None:
    if not settings.auth_enforced:
        log.warning(
            "CDS client authentication is OFF (TRD_ENV=development or TRD_AUTH_REQUIRED=false): "
            "anyone who can reach this service can call it"
        )
    if problem is not None:
        log.error("not ready: %s; every call is refused (401)", problem)
    if not policy.fallback_enabled:
        log.info("FHIR server fallback off: TRD_ALLOWED_FHIR_SERVERS is empty")
    elif policy.open_when_unlisted:
        log.warning("FHIR server fallback may call any server (development, no allowlist)")
    if not settings.development and (
        settings.fhir_allow_http or settings.fhir_allow_private_addresses
    ):
        log.warning("FHIR server fallback allows plain http or private addresses in production")


def create_app(
    settings: Settings | None = None,
    *,
    rules: RulesEngine | None = None,
    card_builder: CardBuilder | None = None,
    crisis_signal: CrisisSignal | None = None,
    cache: ResultCache | None = None,
    feedback: FeedbackStore | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> FastAPI:
    """Build the app. Anything injected is used as is (and not closed by the app)."""
    settings = settings or Settings()
    metrics = Metrics()
    gate = AuthGate(enforced=settings.auth_enforced, public_base_url=settings.public_base_url)
    gate.on_failure = metrics.auth_failure
    problem = auth_config_problem(settings)
    policy = FhirServerPolicy(
        allowed_prefixes=tuple(settings.allowed_fhir_servers),
        open_when_unlisted=settings.fhir_fallback_open,
        allow_http=settings.fhir_allow_http,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_cache = cache is None
        made_cache, made_feedback = _make_cache(settings, metrics) if own_cache else (None, None)
        result_cache = cache if cache is not None else made_cache
        assert result_cache is not None
        store = feedback or made_feedback or MemoryFeedbackStore()
        client = http_client or _fhir_http_client(settings)
        _log_security_posture(settings, problem, policy)
        jwks_http: httpx.AsyncClient | None = None
        if settings.auth_enforced and problem is None:
            # No proxy from the environment (trust_env off), but its CA bundle, explicitly.
            jwks_http = httpx.AsyncClient(
                timeout=httpx.Timeout(settings.auth_jwks_timeout_seconds),
                follow_redirects=False,
                trust_env=False,
                verify=tls_context(),
            )
            redis = redis_backend(result_cache)
            replay: ReplayGuard = (
                RedisReplayGuard(
                    redis.client,
                    timeout_seconds=settings.redis_timeout_ms / 1000,
                    failure_threshold=settings.breaker_failures,
                    cooldown_seconds=settings.breaker_cooldown_seconds,
                )
                if redis is not None
                else MemoryReplayGuard()
            )
            gate.verifier = TokenVerifier(
                settings.auth_issuers,
                jwks=JwksCache(
                    jwks_http,
                    max_age=settings.auth_jwks_cache_seconds,
                    min_refresh=settings.auth_jwks_min_refresh_seconds,
                ),
                replay=replay,
                leeway_seconds=settings.auth_leeway_seconds,
                max_lifetime_seconds=settings.auth_max_token_lifetime_seconds,
            )
        evaluator = make_evaluator(settings, result_cache, metrics,
                                   card_builder=card_builder, crisis_signal=crisis_signal)
        evaluator.linker = _timeline_linker(settings)
        state = Services(
            settings=settings,
            limits=input_limits(settings),
            metrics=metrics,
            evaluator=evaluator,
            cache=result_cache,
            feedback=store,
            fhir_client=FhirClient(
                client,
                page_limit=settings.fhir_page_limit,
                max_response_bytes=settings.fhir_max_response_bytes,
                request_timeout_seconds=settings.fhir_request_timeout_seconds,
            ),
            fhir_policy=policy,
            config_problem=problem,
        )
        app.state.services = state
        loader: asyncio.Task[None] | None = None
        if rules is not None:
            _set_rules(state, rules)
        else:
            state.not_ready_reason = "loading rules"
            loader = asyncio.create_task(_load_in_background(state))
        try:
            yield
        finally:
            if loader is not None and not loader.done():
                loader.cancel()
            if http_client is None:
                await client.aclose()
            if jwks_http is not None:
                gate.verifier = None
                await jwks_http.aclose()
            if own_cache:
                await result_cache.aclose()
            evaluator.close()
            mark_worker_gone()

    app = FastAPI(
        title="trd-cds",
        lifespan=lifespan,
        version=_version(),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.auth_gate = gate
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(hooks.router)
    app.include_router(evaluate.router)
    app.include_router(health.router)
    app.include_router(timeline.router)
    app.mount("/timeline", timeline.TimelineStatic(settings), name="timeline")
    if settings.bench_echo:
        app.add_api_route("/_bench/echo", _echo, methods=["POST"])
    # Outermost last: request context → CORS (answers preflights) → authentication → routes.
    app.add_middleware(AuthMiddleware, gate=gate)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID", "X-Launch-Handle"],
        expose_headers=["X-Request-ID"],
    )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app


def _timeline_linker(settings: Settings) -> TimelineLinker:
    key = settings.launch_key.get_secret_value() if settings.launch_key else new_key()
    handles = LaunchHandles(key, lifetime_seconds=settings.launch_handle_seconds)
    return TimelineLinker(handles, smart_client_id=settings.smart_client_id)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("trd-cds")
    except PackageNotFoundError:
        return "0"


async def _echo(request: Request) -> Response:
    """The floor for the benchmark: orjson in and out, nothing else."""
    return Response(orjson.dumps(orjson.loads(await request.body())), media_type="application/json")


def _set_rules(state: Services, rules: RulesEngine) -> None:
    state.evaluator.rules = rules
    state.metrics.ruleset_info.labels(rules.ruleset_version).set(1)
    if state.evaluator.card_builder is None:
        state.not_ready_reason = "no card builder (trd_cds.cards.build_cards) available"
        log.error("not ready: %s", state.not_ready_reason)
        return
    if state.config_problem is not None:
        state.not_ready_reason = state.config_problem
        return
    state.not_ready_reason = None
    state.metrics.ready.set(1)
    log.info("rules loaded", extra={"rulesetVersion": rules.ruleset_version})


async def _load_in_background(state: Services) -> None:
    try:
        rules = await asyncio.to_thread(load_rules, state.settings)
    except Exception as exc:
        state.not_ready_reason = "rules failed to load"
        log.error("rules failed to load: %s", type(exc).__name__, exc_info=exc)
        return
    _set_rules(state, rules)


def app_from_env() -> FastAPI:
    """Entry point for `uvicorn --factory` and for `trd-cds serve` workers."""
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    return create_app(settings)
