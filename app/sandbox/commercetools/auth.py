"""OAuth2 client credentials, opaque access tokens and scope checks, as commercetools enforces them.

Unlike `@labdigital/commercetools-mock`, the sandbox really checks scopes: a token's scopes decide what
it may read, and a store-scoped scope (`view_orders:{projectKey}:{storeKey}`) opens only that store's
`/in-store/key={storeKey}/…` endpoints. That is what lets the gateway's least-privilege set-up be
tested end to end.
"""

import base64
import binascii
import hmac
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, NamedTuple

import msgspec

from app.sandbox.commercetools.config import SandboxConfig
from app.sandbox.commercetools.errors import (
    CommercetoolsError,
    insufficient_scope,
    invalid_client,
    invalid_token,
    oauth_bad_request,
)

# What the sandbox API client may request besides `manage_project`: every read scope…
VIEW_PERMISSIONS: Final = (
    "view_orders",
    "view_customers",
    "view_payments",
    "view_stores",
    "view_states",
    "view_types",
    "view_shipping_methods",
    "view_customer_groups",
    "view_channels",
    "view_discount_codes",
    "view_cart_discounts",
    "view_messages",
    "view_products",
    "view_categories",
    "view_tax_categories",
    "view_carts",
    "view_shopping_lists",
    "view_project_settings",
)
# …and, for the resources commercetools serves per store, their store-scoped variants.
STORE_SCOPED_PERMISSIONS: Final = ("view_orders", "view_customers", "view_carts", "view_shopping_lists")
# What the sandbox lets a client change (customer update actions, for the gateway's profile sync).
MANAGE_PERMISSIONS: Final = ("manage_customers",)


class Scope(msgspec.Struct, frozen=True):
    """`permission:projectKey` or `permission:projectKey:storeKey`."""

    permission: str
    project_key: str
    store_key: str | None = None

    @classmethod
    def parse(cls, text: str) -> "Scope | None":
        parts = text.split(":")
        if len(parts) == 2 and all(parts):
            return cls(parts[0], parts[1])
        if len(parts) == 3 and all(parts):
            return cls(parts[0], parts[1], parts[2])
        return None

    def __str__(self) -> str:
        suffix = f":{self.store_key}" if self.store_key else ""
        return f"{self.permission}:{self.project_key}{suffix}"


class ScopeFamily(NamedTuple):
    """The scopes that open one kind of resource; `manage_project` opens everything."""

    view: str
    manage: str


class AccessToken(msgspec.Struct):
    value: str
    scopes: tuple[Scope, ...]
    expires_at: float


class TokenStore:
    """Issues tokens for the one sandbox API client and remembers them until they expire."""

    def __init__(
        self, config: SandboxConfig, store_keys: Iterable[str], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._config = config
        self._clock = clock
        self._tokens: dict[str, AccessToken] = {}
        project = config.project_key
        stores = tuple(store_keys)
        allowed = {f"manage_project:{project}"}
        allowed.update(f"{permission}:{project}" for permission in (*VIEW_PERMISSIONS, *MANAGE_PERMISSIONS))
        allowed.update(f"{permission}:{project}:{store}" for permission in STORE_SCOPED_PERMISSIONS for store in stores)
        self.allowed_scopes: frozenset[str] = frozenset(allowed)

    def issue(self, authorization: str | None, form: Mapping[str, str]) -> dict[str, Any]:
        """Answer `POST /oauth/token`. Raises `CommercetoolsError` with commercetools' OAuth errors."""
        self._authenticate_client(authorization)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise oauth_bad_request("invalid_request", "Missing required parameter: grant_type.")
        if grant_type != "client_credentials":
            raise oauth_bad_request("unsupported_grant_type", f"Invalid grant type '{grant_type}'.")
        requested = list(dict.fromkeys((form.get("scope") or "").split()))
        if not requested:
            requested = [f"manage_project:{self._config.project_key}"]
        refused = [scope for scope in requested if scope not in self.allowed_scopes]
        if refused:
            raise oauth_bad_request("invalid_scope", f"Invalid scope: {' '.join(refused)}.")
        token = AccessToken(
            value=secrets.token_urlsafe(24),
            scopes=tuple(scope for text in requested if (scope := Scope.parse(text)) is not None),
            expires_at=self._clock() + self._config.token_ttl_seconds,
        )
        self._tokens[token.value] = token
        return {
            "access_token": token.value,
            "token_type": "Bearer",
            "expires_in": self._config.token_ttl_seconds,
            "scope": " ".join(requested),
        }

    def _authenticate_client(self, authorization: str | None) -> None:
        scheme, _, credentials = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            raise invalid_client()
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise invalid_client() from None
        client_id, _, client_secret = decoded.partition(":")
        # Both compared in constant time, so the fake teaches the right habit to anyone reading it.
        good_id = hmac.compare_digest(client_id.encode(), self._config.client_id.encode())
        good_secret = hmac.compare_digest(client_secret.encode(), self._config.client_secret.encode())
        if not (good_id and good_secret):
            raise invalid_client()

    def authenticate(self, authorization: str | None) -> AccessToken:
        """The token behind an `Authorization: Bearer …` header. Raises 401 `invalid_token`."""
        scheme, _, value = (authorization or "").partition(" ")
        token = self._tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None or token.expires_at <= self._clock():
            raise invalid_token()
        return token

    def expire_all(self) -> None:
        """Make every issued token expire now, as a rotation or a 48 h wait would."""
        now = self._clock()
        for token in self._tokens.values():
            token.expires_at = min(token.expires_at, now)


def authorize(
    token: AccessToken, project_key: str, family: ScopeFamily, store_key: str | None, *, write: bool = False
) -> None:
    """Raise 403 `insufficient_scope` unless `token` may read (``write``: change) this resource kind here.

    `store_key` is the store of an `/in-store/key=…/` endpoint, or None for the project-wide one.
    A store-scoped scope opens only its own store's in-store endpoints; project-wide scopes open both.
    """
    permissions = (family.manage,) if write else family
    for scope in token.scopes:
        if scope.project_key != project_key:
            continue
        if scope.permission == "manage_project" and scope.store_key is None:
            return
        if scope.permission in permissions and (scope.store_key is None or scope.store_key == store_key):
            return
    needed = (
        [f"{family.manage}:{project_key}"]
        if write
        else [f"{family.view}:{project_key}", f"{family.manage}:{project_key}"]
    )
    raise insufficient_scope(needed)


def raise_for_project(project_key: str, expected: str) -> None:
    if project_key != expected:
        raise CommercetoolsError(404, "ResourceNotFound", f"The Project with key '{project_key}' was not found.")
