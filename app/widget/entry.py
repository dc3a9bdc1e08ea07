"""The widget's entry check: a verified signed context whose role ``mappings/widget.toml`` knows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from app.mapping.schema import WidgetFile, WidgetRole
from app.widget.context import ContextRejectedError, WidgetContext, verify

__all__ = ["WidgetEntry"]


class WidgetEntry:
    def __init__(
        self,
        *,
        secret: str | None,
        max_ttl_seconds: int,
        roles: WidgetFile,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._max_ttl = max_ttl_seconds
        self._roles = roles.roles
        self._now = now

    def open(self, pairs: Iterable[tuple[str, str]]) -> tuple[WidgetContext, WidgetRole]:
        """The context and its role, or :class:`ContextRejectedError` with the reason in plain words."""
        if self._secret is None:
            raise ContextRejectedError("the widget is not set up on this gateway (GATEWAY_WIDGET_SECRET)")
        context = verify(pairs, secret=self._secret, now=self._now(), max_ttl_seconds=self._max_ttl)
        role = self._roles.get(context.role)
        if role is None:
            raise ContextRejectedError("the role in the link is not one the widget knows")
        return context, role
