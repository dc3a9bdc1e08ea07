"""The identity provider's public keys (JWKS) for caller tokens: one configured URL, cached, refetched under a limit.

Keys come only from the URL in ``GATEWAY_JWKS_URL``; nothing in a token (``jku``, ``x5u``, ``x5c``,
``jwk``) can point anywhere else or supply a key. What a fetch keeps is a public signing key of a
type the allow-list below can use, with a ``kid``: ``oct`` (symmetric) keys, encryption keys,
RSA keys under 2048 bits, other curves and private members are dropped, so a JWKS can never turn
an HMAC secret or a private key into something a token is checked against.

Refetch policy (RFC 8725 and ``reliability.md`` §3):

- the set is fetched on first use, and again when a token names an unknown ``kid`` (the issuer
  rotated its keys) or when the cached set is older than ``max_age`` (so removed keys stop
  working without a restart);
- at most one fetch *attempt* starts per ``min_refetch_interval``, whatever the traffic: a flood of
  made-up ``kid`` values costs the identity provider one request per interval, so over any window
  of T seconds there are at most ``1 + T / min_refetch_interval`` fetches;
- concurrent callers share the fetch in flight (single flight), and a caller that gives up (its
  request was cancelled) does not cancel it for the others;
- a fetch is bounded by ``timeout`` as a whole (connect, TLS, a slowly trickling body), redirects
  are not followed, and the body is capped;
- a failed fetch keeps the previous set: tokens whose ``kid`` is cached still verify. A token whose
  ``kid`` is not cached while the latest fetch failed gets :class:`UpstreamUnavailableError`
  (503 with ``Retry-After``), not 401: the token may be perfectly good and the caller should
  retry, not throw it away and sign the agent out. A successful fetch that names no such ``kid``
  gets :class:`AuthenticationError` (401).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx
import msgspec
from joserfc.errors import JoseError
from joserfc.jwk import Key, import_key

from app.errors import AuthenticationError, UpstreamUnavailableError
from app.observability import log_event
from app.settings import jwks_url_problem

__all__ = ["ASYMMETRIC_ALGORITHMS", "JWKS_UPSTREAM", "JwksKeys"]

_logger = logging.getLogger("app.jwks")

#: Algorithms a JWKS key may verify. Each is bound to one key type (and curve) below: the token's
#: header picks the algorithm from this list, never the kind of key. ``EdDSA`` is the RFC 8037 name
#: RFC 9864 deprecates for leaving the curve open; it is pinned to Ed25519 here, i.e. ``Ed25519``.
ASYMMETRIC_ALGORITHMS: Final = ("RS256", "PS256", "ES256", "Ed25519", "EdDSA")
_KEY_TYPE: Final[Mapping[str, tuple[str, str | None]]] = {
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "Ed25519": ("OKP", "Ed25519"),
    "EdDSA": ("OKP", "Ed25519"),
}
# Public members per key type: whatever else a JWKS entry carries (d, p, q, ...) is not kept.
_PUBLIC_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "RSA": ("n", "e"),
    "EC": ("crv", "x", "y"),
    "OKP": ("crv", "x"),
}
_CURVES: Final[Mapping[str, str]] = {"EC": "P-256", "OKP": "Ed25519"}
_MIN_RSA_BITS: Final = 2048
_MAX_KID_LENGTH: Final = 256
MAX_JWKS_BYTES: Final = 256 * 1024
MAX_JWKS_KEYS: Final = 100
JWKS_UPSTREAM: Final = "identity provider JWKS"


@dataclass(frozen=True)
class _Entry:
    key: Key
    key_type: str
    curve: str | None
    alg: str | None

    def fits(self, alg: str) -> bool:
        key_type, curve = _KEY_TYPE[alg]
        return self.key_type == key_type and self.curve == curve and self.alg in (None, alg)


class _FetchError(Exception):
    """A fetch that produced no usable key set; the message is a short reason, never a body."""


class _Borrowed(httpx.AsyncBaseTransport):
    """An injected transport, used without being closed: its owner (a test, the app) closes it."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._transport.handle_async_request(request)


class JwksKeys:
    """Public signing keys by ``kid``, from one JWKS URL; see the module docstring for the refetch policy."""

    def __init__(
        self,
        url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        min_refetch_interval: float = 30.0,
        max_age: float = 600.0,
        timeout: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if problem := jwks_url_problem(url):
            raise ValueError(f"JWKS URL: {problem}")
        if min_refetch_interval <= 0 or timeout <= 0:
            raise ValueError("min_refetch_interval and timeout must be positive")
        self._url = url
        self._transport = transport
        self._min_interval = min_refetch_interval
        self._max_age = max(max_age, min_refetch_interval)
        self._timeout = timeout
        self._clock = clock
        self._keys: dict[str, tuple[_Entry, ...]] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch attempt, successful or not
        self._last_failed = False
        self._inflight: asyncio.Task[None] | None = None

    async def key_for(self, kid: str, alg: str) -> Key:
        """The cached key ``kid`` that may verify ``alg``, refetching the set if the policy allows.

        Raises :class:`AuthenticationError` when the set has no such key (or the key is not for
        ``alg``), :class:`UpstreamUnavailableError` when the key is unknown and the set could not
        be fetched.
        """
        if alg not in _KEY_TYPE:
            raise AuthenticationError("invalid bearer token (algorithm not allowed)")
        if kid not in self._keys or self._is_stale():
            await self._refresh()
        entries = self._keys.get(kid)
        if entries is None:
            if self._last_failed:
                raise UpstreamUnavailableError(
                    JWKS_UPSTREAM, "signing keys could not be fetched", retry_after_seconds=self._retry_after()
                )
            raise AuthenticationError("invalid bearer token (unknown key id)")
        for entry in entries:
            if entry.fits(alg):
                return entry.key
        raise AuthenticationError("invalid bearer token (the key is not for this algorithm)")

    def _is_stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._max_age

    def _retry_after(self) -> float:
        if self._attempted_at is None:
            return self._min_interval
        return max(1.0, self._min_interval - (self._clock() - self._attempted_at))

    async def _refresh(self) -> None:
        """Start (or join) one fetch if the rate limit allows; never raises for a failed fetch."""
        loop = asyncio.get_running_loop()
        task = self._inflight
        # A task from another (finished) event loop cannot be awaited here; it is simply ignored.
        if task is None or task.done() or task.get_loop() is not loop:
            now = self._clock()
            if self._attempted_at is not None and now - self._attempted_at < self._min_interval:
                return
            self._attempted_at = now
            task = loop.create_task(self._fetch_and_store())
            self._inflight = task
        # Shielded: a caller that is cancelled leaves the fetch running for everyone else waiting on it.
        await asyncio.shield(task)

    async def _fetch_and_store(self) -> None:
        started = time.perf_counter()
        try:
            keys, skipped = await self._fetch()
        except _FetchError as exc:
            self._last_failed = True
            log_event(_logger, logging.WARNING, "jwks.fetch_failed", reason=str(exc), kept=len(self._keys))
            return
        self._keys = keys
        self._fetched_at = self._clock()
        self._last_failed = False
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        log_event(_logger, logging.INFO, "jwks.fetched", keys=len(keys), skipped=skipped, durationMs=duration_ms)

    async def _fetch(self) -> tuple[dict[str, tuple[_Entry, ...]], int]:
        try:
            async with asyncio.timeout(self._timeout):
                body = await self._download()
        except TimeoutError:
            raise _FetchError(f"no complete answer within {self._timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise _FetchError(type(exc).__name__) from None
        return _parse(body)

    async def _download(self) -> bytes:
        # One short-lived client per fetch (at most one per interval): nothing to close at shutdown. Without
        # an injected transport httpx builds its own, honouring HTTPS_PROXY/NO_PROXY, and closes it here.
        transport = _Borrowed(self._transport) if self._transport is not None else None
        headers = {"Accept": "application/jwk-set+json, application/json"}
        # Redirects are not followed: keys come from the configured URL, not from wherever it points.
        async with (
            httpx.AsyncClient(transport=transport, timeout=self._timeout, follow_redirects=False) as client,
            client.stream("GET", self._url, headers=headers) as response,
        ):
            if response.status_code != 200:
                raise _FetchError(f"HTTP {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_JWKS_BYTES:
                raise _FetchError("key set too large")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise _FetchError("key set too large")
            return bytes(body)


def _parse(body: bytes) -> tuple[dict[str, tuple[_Entry, ...]], int]:
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise _FetchError("not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise _FetchError("not a JWK set")
    entries: list[Any] = document["keys"]
    if len(entries) > MAX_JWKS_KEYS:
        raise _FetchError("too many keys")
    keys: dict[str, list[_Entry]] = {}
    skipped = 0
    for item in entries:
        found = _entry(item)
        if found is None:
            skipped += 1
            continue
        kid, entry = found
        keys.setdefault(kid, []).append(entry)
    if not keys:
        # An empty set is far likelier a broken deployment than the issuer revoking every key:
        # keep what we have rather than reject every caller.
        raise _FetchError("no usable signing key")
    return {kid: tuple(found) for kid, found in keys.items()}, skipped


def _entry(item: object) -> tuple[str, _Entry] | None:
    """The usable public signing key in one JWKS member, or ``None`` (dropped, counted as skipped)."""
    if not isinstance(item, dict):
        return None
    key_type, kid, alg, use, key_ops = (item.get(name) for name in ("kty", "kid", "alg", "use", "key_ops"))
    if not isinstance(key_type, str) or key_type not in _PUBLIC_MEMBERS:  # "oct" and unknown types end here
        return None
    if not isinstance(kid, str) or not 0 < len(kid) <= _MAX_KID_LENGTH:
        return None
    if use is not None and use != "sig":
        return None
    if key_ops is not None and not (isinstance(key_ops, list) and "verify" in key_ops):
        return None
    if alg is not None and (alg not in _KEY_TYPE or _KEY_TYPE[alg][0] != key_type):
        return None
    members = {name: item.get(name) for name in _PUBLIC_MEMBERS[key_type]}
    if not all(isinstance(value, str) for value in members.values()):
        return None
    curve = _CURVES.get(key_type)
    if curve is not None and members["crv"] != curve:
        return None
    if key_type == "RSA" and _modulus_bits(str(members["n"])) < _MIN_RSA_BITS:
        return None
    public: dict[str, Any] = {"kty": key_type, "kid": kid, **members}
    if alg is not None:
        public["alg"] = alg
    try:
        key = import_key(public)
    except (JoseError, ValueError, TypeError):
        return None
    return kid, _Entry(key=key, key_type=key_type, curve=curve, alg=alg)


def _modulus_bits(n: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    except (binascii.Error, ValueError):
        return 0
    return int.from_bytes(raw, "big").bit_length()
