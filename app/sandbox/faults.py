"""Fault injection shared by the built-in sandboxes: which requests fail, how often, in what order.

A `Fault` is armed for `times` matching requests and then spent. Matching faults are used in the order
they were injected, one fault per request. What a fault does to a response is each sandbox's own
business (its error body, its media types): see `app.sandbox.commercetools.faults` and
`app.sandbox.novomind.faults`.
"""

from typing import Literal

import msgspec
from litestar.types import ASGIApp, HTTPResponseStartEvent, HTTPScope, Message, Receive, Scope, Send


class Fault(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """One injected failure. On the wire (the sandboxes' fault routes) the fields are camelCase."""

    path_contains: str = ""
    method: str = "*"
    status: int | None = None
    times: int = 1
    retry_after: str | None = None
    delay_ms: int = 0
    body: Literal["error", "junk", "truncated"] = "error"
    drop_connection: bool = False

    def __post_init__(self) -> None:
        # msgspec turns these into validation errors when a Fault arrives as JSON.
        if self.times < 1:
            raise ValueError("times must be at least 1")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status code")
        if self.delay_ms < 0:
            raise ValueError("delayMs must not be negative")

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method.upper() == method.upper()) and self.path_contains in path


class ArmedFault(msgspec.Struct, rename="camel"):
    fault: Fault
    remaining: int


class FaultInjector:
    """The faults waiting for requests."""

    def __init__(self) -> None:
        self._armed: list[ArmedFault] = []

    def inject(self, fault: Fault) -> None:
        self._armed.append(ArmedFault(fault, fault.times))

    def clear(self) -> None:
        self._armed.clear()

    @property
    def armed(self) -> list[ArmedFault]:
        return list(self._armed)

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault matching this request, counting it as used once."""
        for armed in self._armed:
            if armed.fault.matches(method, path):
                armed.remaining -= 1
                if armed.remaining <= 0:
                    self._armed.remove(armed)
                return armed.fault
        return None


# -- what a fault does to the ASGI exchange (shared; each sandbox picks bodies and media types) -----


def header(scope: HTTPScope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key.lower() == name), None)


async def respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]], content_type: bytes | None
) -> None:
    all_headers = [*headers, (b"content-length", str(len(body)).encode())]
    if content_type is not None:
        all_headers.insert(0, (b"content-type", content_type))
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def respond_truncated(
    app: ASGIApp, fault: Fault, scope: Scope, receive: Receive, send: Send, extra: list[tuple[bytes, bytes]]
) -> None:
    """The real response cut in the middle, ``Content-Length`` adjusted so only parsing fails."""
    started: list[HTTPResponseStartEvent] = []
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            started.append(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    body = b"".join(chunks)
    status = fault.status or (started[0]["status"] if started else 200)
    headers = [
        (name, value) for name, value in (started[0]["headers"] if started else []) if name.lower() != b"content-length"
    ]
    await respond(send, status, body[: len(body) // 2], headers + extra, content_type=None)


async def drop_mid_body(send: Send, content_type: bytes, first_bytes: bytes, error: ConnectionResetError) -> None:
    # The response must have started: an ASGI server answers 500 to an app that fails before that,
    # while a failure mid-body makes it close the connection, which is what a client should see.
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", content_type), (b"content-length", b"4096")],
        }
    )
    await send({"type": "http.response.body", "body": first_bytes, "more_body": True})
    raise error
