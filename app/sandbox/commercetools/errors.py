"""commercetools error bodies: `{statusCode, message, errors: [{code, message, ...}]}`.

Every error the sandbox answers is raised as a `CommercetoolsError` and rendered by one exception
handler, so the body shape cannot drift between routes.
"""

from typing import Any

JsonObject = dict[str, Any]


class CommercetoolsError(Exception):
    """An error response exactly as commercetools would send it."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        oauth: bool = False,
        oauth_description: bool = True,
        headers: dict[str, str] | None = None,
        extra: JsonObject | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        # The auth server and the auth layer of the API add OAuth-style `error` fields (RFC 6749/6750).
        self.oauth = oauth
        self.oauth_description = oauth_description
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> JsonObject:
        error: JsonObject = {"code": self.code, "message": self.message, **self.extra}
        body: JsonObject = {"statusCode": self.status, "message": self.message, "errors": [error]}
        if self.oauth:
            body["error"] = self.code
            if self.oauth_description:
                body["error_description"] = self.message
        return body


def invalid_input(message: str) -> CommercetoolsError:
    return CommercetoolsError(400, "InvalidInput", message)


def malformed_parameter(parameter: str, detail: str) -> CommercetoolsError:
    return invalid_input(f"Malformed parameter: {parameter}: {detail}")


def resource_not_found_by_id(resource_id: str) -> CommercetoolsError:
    return CommercetoolsError(404, "ResourceNotFound", f"The Resource with ID '{resource_id}' was not found.")


def resource_not_found_by_key(key: str) -> CommercetoolsError:
    # ASSUMPTION: commercetools words key and order-number misses the same way as ID misses.
    return CommercetoolsError(404, "ResourceNotFound", f"The Resource with key '{key}' was not found.")


def endpoint_not_found(path: str) -> CommercetoolsError:
    return CommercetoolsError(404, "ResourceNotFound", f"URI not found: {path}")


def invalid_token() -> CommercetoolsError:
    # Shaped like the documented AuthErrorResponse example, which has `error` but no `error_description`.
    return CommercetoolsError(
        401,
        "invalid_token",
        "invalid_token",
        oauth=True,
        oauth_description=False,
        headers={"WWW-Authenticate": "Bearer"},
    )


def insufficient_scope(missing: list[str]) -> CommercetoolsError:
    message = f"Insufficient scope. One of the following scopes is missing: {', '.join(missing)}."
    return CommercetoolsError(403, "insufficient_scope", message, oauth=True)


def invalid_client() -> CommercetoolsError:
    return CommercetoolsError(
        401,
        "invalid_client",
        "Please provide valid client credentials using HTTP Basic Authentication.",
        oauth=True,
        headers={"WWW-Authenticate": 'Basic realm="commercetools"'},
    )


def oauth_bad_request(code: str, message: str) -> CommercetoolsError:
    return CommercetoolsError(400, code, message, oauth=True)


_GENERIC: dict[int, tuple[str, str]] = {
    400: ("InvalidInput", "Invalid input."),
    401: ("invalid_token", "invalid_token"),
    403: ("insufficient_scope", "Insufficient scope."),
    404: ("ResourceNotFound", "The Resource was not found."),
    409: ("ConcurrentModification", "Version mismatch. Concurrent modification."),
    429: ("TooManyRequests", "Too many requests. Please retry later."),
    500: ("General", "Internal Server Error."),
    502: ("General", "Bad Gateway."),
    503: ("OverCapacity", "The service is temporarily over capacity. Please retry later."),
    504: ("General", "Gateway Timeout."),
}


def generic_error(status: int) -> CommercetoolsError:
    """The error commercetools (or its edge) would most plausibly send for a bare status code."""
    if status == 401:
        return invalid_token()
    code, message = _GENERIC.get(status, ("General" if status >= 500 else "InvalidInput", f"HTTP {status}."))
    return CommercetoolsError(status, code, message)
