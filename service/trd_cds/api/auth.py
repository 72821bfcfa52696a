"""Trusting CDS clients (CDS Hooks 2.0): every call carries `Authorization: Bearer <JWT>`.

The JWT is signed by the EHR with an asymmetric key (ES384/RS384, also ES256/RS256; never
`none`, never HMAC). It is accepted when its `iss` is a trusted issuer, its key (by `kid`,
from the issuer's JWK Set or an allowed `jku`) verifies the signature, `aud` is this
service's canonical URL of the endpoint called, `exp`/`iat`/`nbf` hold (with a small
leeway), the `tenant` matches when one is configured, and its `jti` has not been seen before
it expires. Any failure is a bare 401; the log says why, never with the token.
Signature checks are PyJWT's (with `cryptography`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from trd_cds.cache.breaker import CircuitBreaker
from trd_cds.cache.keys import KEY_PREFIX
from trd_cds.fhir.outcome import Issue, operation_outcome
from trd_cds.settings import TrustedIssuer

from .jwks import JwksCache, KeySetUnavailable, keyset_source

log = logging.getLogger(__name__)

# Asymmetric only: `none` and HS* are refused before any key is looked at.
ALGORITHMS: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "ES256": ("EC", "secp256r1"),
    "ES384": ("EC", "secp384r1"),
}
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]
MAX_TOKEN_BYTES = 16 * 1024


class AuthError(Exception):
    """The token is refused; `reason` is a short code, safe to log and to use as a label."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CdsClient:
    """Who called, once the token is verified."""

    iss: str
    sub: str | None
    tenant: str | None


# --------------------------------------------------------------------------------- replay
class ReplayGuard(Protocol):
    async def first_use(self, key: str, ttl_seconds: float) -> bool:
        """Record `key` for `ttl_seconds`; False when it was already recorded."""
        ...


class MemoryReplayGuard:
    """Seen token ids in this process, each kept until its token expires.

    Bounded: expired ids are dropped as new ones arrive; past `max_entries` the oldest go
    first (tokens live minutes, so that needs more fresh tokens than any EHR sends).
    """

    def __init__(
        self, *, max_entries: int = 200_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._max = max_entries
        self._clock = clock

    def __len__(self) -> int:
        return len(self._seen)

    async def first_use(self, key: str, ttl_seconds: float) -> bool:
        now = self._clock()
        expires = self._seen.get(key)
        if expires is not None and expires > now:
            return False
        self._seen[key] = now + ttl_seconds
        self._seen.move_to_end(key)
        self._prune(now)
        return True

    def _prune(self, now: float) -> None:
        # Entries are roughly in expiry order (lifetimes are short and similar).
        while self._seen:
            oldest_key, oldest_expiry = next(iter(self._seen.items()))
            if oldest_expiry > now and len(self._seen) <= self._max:
                break
            del self._seen[oldest_key]


class RedisReplayGuard:
    """Seen token ids in Redis (SET NX with expiry), shared by every replica.

    Redis trouble must not take the service down, so it falls back to this process's memory
    (replay protection per replica) under a short timeout and a circuit breaker.
    """

    def __init__(
        self,
        client: Redis,
        *,
        timeout_seconds: float = 0.075,
        failure_threshold: int = 5,
        cooldown_seconds: float = 5.0,
    ) -> None:
        self._client = client
        self._timeout = timeout_seconds
        self.breaker = CircuitBreaker(
            failure_threshold=failure_threshold, cooldown_seconds=cooldown_seconds
        )
        self.fallback = MemoryReplayGuard()

    async def first_use(self, key: str, ttl_seconds: float) -> bool:
        # Also remembered locally: after a Redis outage the local copy still catches replays.
        local = await self.fallback.first_use(key, ttl_seconds)
        if not self.breaker.allow():
            return local
        try:
            async with asyncio.timeout(self._timeout * 2):
                stored = await self._client.set(
                    f"{KEY_PREFIX}:jti:{key}", b"1", nx=True, px=max(1, int(ttl_seconds * 1000))
                )
        except (RedisError, OSError, TimeoutError) as exc:
            self.breaker.record_failure()
            log.warning("replay check without redis: %s", type(exc).__name__)
            return local
        self.breaker.record_success()
        return bool(stored) and local


# ------------------------------------------------------------------------------- verifier
def _reason_of(exc: jwt.InvalidTokenError) -> str:
    match exc:
        case jwt.ExpiredSignatureError():
            return "expired"
        case jwt.ImmatureSignatureError():
            return "not-yet-valid"
        case jwt.InvalidAudienceError():
            return "wrong-audience"
        case jwt.InvalidIssuerError():
            return "wrong-issuer"
        case jwt.MissingRequiredClaimError():
            return "missing-claim"
        case jwt.InvalidSignatureError():
            return "bad-signature"
        case jwt.InvalidAlgorithmError():
            return "algorithm-not-allowed"
        case jwt.InvalidIssuedAtError():
            return "bad-iat"
        case _:
            return "invalid-token"


class TokenVerifier:
    def __init__(
        self,
        issuers: Iterable[TrustedIssuer],
        *,
        jwks: JwksCache,
        replay: ReplayGuard,
        leeway_seconds: float = 30.0,
        max_lifetime_seconds: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuers = {issuer.iss: issuer for issuer in issuers}
        self._jwks = jwks
        self._replay = replay
        self._leeway = leeway_seconds
        self._max_lifetime = max_lifetime_seconds
        self._clock = clock

    @property
    def jwks(self) -> JwksCache:
        return self._jwks

    async def verify(self, token: str, audience: str) -> CdsClient:
        if len(token) > MAX_TOKEN_BYTES:
            raise AuthError("token-too-large")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise AuthError("malformed") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALGORITHMS:
            raise AuthError("algorithm-not-allowed")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
            raise AuthError("bad-typ")
        if "crit" in header:
            # No JWS extensions are understood here, so none may be critical (RFC 7515 4.1.11).
            raise AuthError("crit-unsupported")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("no-kid")
        iss = unverified.get("iss")
        issuer = self._issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise AuthError("untrusted-issuer")

        jku = header.get("jku")
        if jku is not None:
            if not isinstance(jku, str) or jku not in issuer.jku:
                raise AuthError("jku-not-allowed")
            source: str | None = jku
        else:
            source = keyset_source(issuer.jwks_url, issuer.jwks_file)
        if source is None:
            raise AuthError("no-key-set")
        try:
            trusted = await self._jwks.key(source, kid)
        except KeySetUnavailable as exc:
            raise AuthError(f"keys-unavailable:{exc.reason}") from None
        if trusted is None:
            raise AuthError("unknown-kid")
        if trusted.alg is not None and trusted.alg != alg:
            raise AuthError("algorithm-not-of-key")
        key_type, curve = ALGORITHMS[alg]
        public_key: Any = trusted.key.key
        if trusted.key.key_type != key_type or (
            curve is not None and getattr(getattr(public_key, "curve", None), "name", None) != curve
        ):
            raise AuthError("algorithm-not-of-key")

        try:
            claims = jwt.decode(
                token,
                public_key,
                algorithms=[alg],
                audience=audience,
                issuer=issuer.iss,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidTokenError as exc:
            raise AuthError(_reason_of(exc)) from None
        except (TypeError, ValueError):
            raise AuthError("algorithm-not-of-key") from None
        return await self._check_claims(claims, issuer)

    async def _check_claims(self, claims: dict[str, Any], issuer: TrustedIssuer) -> CdsClient:
        now = self._clock()
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise AuthError("invalid-token")
        if iat > now + self._leeway:
            raise AuthError("not-yet-valid")
        if exp - iat > self._max_lifetime:
            raise AuthError("lifetime-too-long")
        tenant = claims.get("tenant")
        if issuer.tenant is not None and tenant != issuer.tenant:
            raise AuthError("wrong-tenant")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise AuthError("missing-claim")
        # Hashed: the store holds no claim text, and the key length is fixed.
        replay_key = hashlib.sha256(f"{issuer.iss}\0{jti}".encode()).hexdigest()
        if not await self._replay.first_use(replay_key, max(1.0, exp - now + self._leeway)):
            raise AuthError("replayed")
        sub = claims.get("sub")
        return CdsClient(
            iss=issuer.iss,
            sub=sub if isinstance(sub, str) else None,
            tenant=tenant if isinstance(tenant, str) else None,
        )


# ----------------------------------------------------------------------------- middleware
_UNAUTHORIZED = orjson.dumps(operation_outcome(Issue("authentication required", code="login")))
UNAUTHENTICATED_PATHS = frozenset({"/livez", "/readyz", "/metrics", "/openapi.json"})
# The timeline page's files hold no data: a browser following a card's link loads them.
PAGE_PREFIX = "/timeline/"
# Its data endpoint takes the service's own launch handle (checked there) in place of a JWT.
LAUNCH_HANDLE_PATHS = frozenset({"/timeline/assessment"})


def _has_header(scope: Scope, name: bytes) -> bool:
    return any(key == name for key, _ in scope.get("headers", ()))


def needs_jwt(scope: Scope) -> bool:
    path: str = scope["path"]
    if path in UNAUTHENTICATED_PATHS:
        return False
    if path in LAUNCH_HANDLE_PATHS:
        return not _has_header(scope, b"x-launch-handle") or _has_header(scope, b"authorization")
    return not path.startswith(PAGE_PREFIX)


class AuthGate:
    """What the middleware checks against; the lifespan fills in the verifier."""

    def __init__(self, *, enforced: bool, public_base_url: str | None) -> None:
        self.enforced = enforced
        self.public_base_url = (public_base_url or "").rstrip("/")
        self.verifier: TokenVerifier | None = None
        self.on_failure: Callable[[str], None] | None = None


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


class AuthMiddleware:
    """Refuses every call but health, metrics and the OpenAPI document without a valid JWT.

    Sits inside the CORS middleware, so a browser's preflight is answered without one.
    """

    def __init__(self, app: ASGIApp, gate: AuthGate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gate = self.gate
        if scope["type"] != "http" or not gate.enforced or not needs_jwt(scope):
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        if token is None:
            await self._refuse("no-bearer-token", scope, receive, send)
            return
        if gate.verifier is None or not gate.public_base_url:
            await self._refuse("auth-not-configured", scope, receive, send)
            return
        try:
            client = await gate.verifier.verify(token, gate.public_base_url + scope["path"])
        except AuthError as exc:
            await self._refuse(exc.reason, scope, receive, send)
            return
        scope.setdefault("state", {})["cds_client"] = client
        await self.app(scope, receive, send)

    async def _refuse(self, reason: str, scope: Scope, receive: Receive, send: Send) -> None:
        log.warning("cds client refused: %s", reason, extra={"authFailure": reason})
        if self.gate.on_failure is not None:
            self.gate.on_failure(reason)
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/fhir+json"),
                    (b"content-length", str(len(_UNAUTHORIZED)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _UNAUTHORIZED})
