"""The audit trail of unmasked reads, for operators (scope ``audit:read``)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter

from app.api.paging import CursorQuery, LimitQuery, decode_cursor, encode_cursor
from app.api.params import SinceQuery, UntilQuery, parse_instant
from app.api.problems import problem_responses
from app.api.security import requires
from app.lookup.audit import AuditPage, AuditTrail

__all__ = ["AuditController"]

_IDENT = r"^[A-Za-z0-9._:@/-]{1,128}$"


class AuditController(Controller):
    path = "/v1/audit"
    tags = ("operations",)

    @get(
        "/",
        operation_id="QueryAudit",
        **requires("audit:read"),
        summary="Who read which personal fields of which resource, newest first",
        responses=problem_responses(400, 401, 403, 422, 503),
    )
    async def query(
        self,
        audit: NamedDependency[AuditTrail],
        subject: Annotated[str | None, Parameter(pattern=_IDENT, description="The caller's sub")] = None,
        resource_type: Annotated[str | None, QueryParameter(name="resourceType", pattern=_IDENT)] = None,
        resource_id: Annotated[str | None, QueryParameter(name="resourceId", pattern=_IDENT)] = None,
        since: SinceQuery = None,
        until: UntilQuery = None,
        limit: LimitQuery = 50,
        cursor: CursorQuery = None,
    ) -> AuditPage:
        page = await audit.page(
            subject=subject,
            resource_type=resource_type,
            resource_id=resource_id,
            since=parse_instant("since", since),
            until=parse_instant("until", until),
            limit=limit,
            before=decode_cursor("audit", cursor),
        )
        return msgspec.structs.replace(page, next=encode_cursor("audit", page.next) if page.next else None)
