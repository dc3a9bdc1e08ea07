"""Error taxonomy, classified by what the caller should do about it.

    GatewayError
    ├── RetriableError        try again later: the same request may succeed (upstream down, timeout)
    │   ├── UpstreamUnavailableError
    │   ├── StorageUnavailableError
    │   └── RateLimitedError      a limit of the gateway's own (429, Retry-After)
    ├── FatalError            do not retry: the same request fails the same way
    │   ├── NotFoundError
    │   ├── InvalidInputError
    │   ├── AuthenticationError (MissingCredentialsError)
    │   ├── PermissionDeniedError
    │   ├── ConflictError             the request contradicts the data's rules or state (profile sync)
    │   │   ├── OwnershipConflictError        a field the writer does not own
    │   │   ├── CustomTypeConflictError       the customer's custom fields belong to another Type
    │   │   └── ConcurrentModificationError   others kept changing the resource while we wrote
    │   ├── UpstreamContractError     upstream answered something we cannot decode
    │   └── UpstreamRejectedError     upstream refused our request (4xx other than 404): a config bug
    └── SkippableError        drop this item and carry on (used by batch work such as the pusher)

Messages are written for operators and callers and must never carry a response body, a token
or personal data: they may end up in logs and problem responses. HTTP status codes are assigned
in exactly one place, ``app.api.problems``.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose."""

    code: str = "gateway_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RetriableError(GatewayError):
    code = "retriable"

    def __init__(self, detail: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class UpstreamUnavailableError(RetriableError):
    """An upstream stayed unreachable, slow or overloaded for the whole retry budget."""

    code = "upstream_unavailable"

    def __init__(self, upstream: str, reason: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(f"{upstream} is unavailable ({reason})", retry_after_seconds=retry_after_seconds)
        self.upstream = upstream
        self.reason = reason


class StorageUnavailableError(RetriableError):
    code = "storage_unavailable"


class RateLimitedError(RetriableError):
    """A rate limit of the gateway's own (mappings/limits.toml) refused this now; retry after the wait."""

    code = "rate_limited"


class FatalError(GatewayError):
    code = "fatal"


class NotFoundError(FatalError):
    """The resource does not exist *or* the caller may not see it; callers cannot tell which."""

    code = "not_found"

    def __init__(self, resource: str) -> None:
        super().__init__(f"{resource} not found")
        self.resource = resource


class InvalidInputError(FatalError):
    code = "invalid_input"

    def __init__(self, parameter: str, problem: str, *, others: tuple[tuple[str, str], ...] = ()) -> None:
        # Several parameters at once (unknown and repeated ones): a client fixes them in one go.
        self.params = ((parameter, problem), *others)
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in self.params))
        self.parameter = parameter
        self.problem = problem


class AuthenticationError(FatalError):
    code = "unauthenticated"


class MissingCredentialsError(AuthenticationError):
    """No bearer token at all (RFC 6750: answered without an ``error`` code)."""


class PermissionDeniedError(FatalError):
    code = "forbidden"


class ConflictError(FatalError):
    code = "conflict"


class OwnershipConflictError(ConflictError):
    """A write names a field the writing side does not own (``mappings/ownership.toml``)."""

    code = "ownership_conflict"

    def __init__(self, field: str, owner: str) -> None:
        super().__init__(f"field {field} is owned by {owner}; only {owner} changes it, so nothing was written")
        self.field = field
        self.owner = owner


class CustomTypeConflictError(ConflictError):
    code = "custom_type_conflict"

    def __init__(self, wanted: str, found: str) -> None:
        super().__init__(
            f"the customer's custom fields use the Type {found}, not {wanted}; setting {wanted} would erase "
            f"them, so nothing was written"
        )
        self.wanted = wanted
        self.found = found


class ConcurrentModificationError(ConflictError):
    code = "concurrent_modification"

    def __init__(self, attempts: int) -> None:
        super().__init__(
            f"the customer changed in commercetools during each of {attempts} attempts; the patch was not "
            f"applied and nothing else was overwritten"
        )
        self.attempts = attempts


class UpstreamContractError(FatalError):
    """The upstream answered with a payload we cannot decode. Never cached, never retried."""

    code = "upstream_contract"

    def __init__(self, upstream: str, what: str) -> None:
        super().__init__(f"{upstream} returned a payload that could not be decoded ({what})")
        self.upstream = upstream


class UpstreamRejectedError(FatalError):
    """The upstream refused the request itself (4xx other than 404): credentials, scopes or a bug on our side."""

    code = "upstream_rejected"

    def __init__(self, upstream: str, status: int, error_code: str | None) -> None:
        suffix = f", {error_code}" if error_code else ""
        super().__init__(f"{upstream} rejected the request (HTTP {status}{suffix})")
        self.upstream = upstream
        self.status = status
        self.error_code = error_code


class SkippableError(GatewayError):
    code = "skippable"
