"""The request class: JSON bodies that cannot be decoded are the caller's mistake, never a 500."""

from __future__ import annotations

from typing import Any

from litestar import Request

from app.errors import InvalidInputError

__all__ = ["GatewayRequest"]


class GatewayRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        # Litestar decodes untyped first: thousands of nested brackets exhaust the recursion limit
        # and invalid UTF-8 inside a string escapes as UnicodeDecodeError; both are bad input.
        try:
            return await super().json()
        except (RecursionError, UnicodeDecodeError):
            raise InvalidInputError(
                "body", "not a JSON document the API accepts (too deeply nested or not UTF-8)"
            ) from None
