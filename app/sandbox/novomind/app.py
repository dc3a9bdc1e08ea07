"""The sandbox's HTTP surface: iAGENT's OAuth2 token endpoint, its documented `categories` resource,
the simulator-only ticket, storage and memo resources, and the `/__sim/…` control routes.

Documented (public REST pages): `POST /iMail/api/rest/token` (password grant), `GET /categories`,
`POST /categories/{id}` (only its 404 is documented; the 200 echo is a guess). Simulator-only (no
public endpoint exists; the real paths are in the customer's API console): `GET /tickets/{id}`,
`GET` and `PUT /tickets/{id}/storage`, `POST` and `GET /processes/{processId}/memos` and everything under
`/__sim/`. The storage merge and memo creation also honour an `Idempotency-Key` header (simulator-only:
a repeat of a key with the same method and path answers the first answer again and changes nothing),
unless `NovomindSandboxConfig.deduplicate` is off, as a real iAGENT that documents no such header.
Bearer checks and `Accept` negotiation happen in `frontdoor.FrontDoor`, before any route runs.
"""

import base64
import binascii
import hmac
from typing import Any, Final, cast
from urllib.parse import parse_qsl

import msgspec
from litestar import Litestar, Request, Response, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from app.sandbox.novomind.config import NovomindSandboxConfig, SeedTicket
from app.sandbox.novomind.desk import DeskWidget, desk_page, desk_stylesheet
from app.sandbox.novomind.faults import Fault
from app.sandbox.novomind.frontdoor import FrontDoor
from app.sandbox.novomind.state import NovomindSandboxState, RecordedRequest, StoredAnswer, Ticket
from app.sandbox.novomind.wire import (
    ERROR_MEDIA_TYPE,
    NovomindError,
    encode,
    generic_error,
    negotiate,
    success_headers,
    vendor_media_type,
)

AnyRequest = Request[Any, Any, Any]
ROOT: Final = "/iMail/api/rest"
CONTROL_JSON: Final = "application/json"


def _state(request: AnyRequest) -> NovomindSandboxState:
    return cast(NovomindSandboxState, request.app.state.novomind)


def _answer(request: AnyRequest, body: Any, status: int = 200) -> Response[bytes]:
    """A successful API answer in the negotiated version (the front door already refused a 406)."""
    state = _state(request)
    version = negotiate(request.headers.get("accept"), state.config.default_version) or state.config.default_version
    return Response(
        content=encode(state.extra_fields.add(body)),
        status_code=status,
        media_type=vendor_media_type(version),
        headers=success_headers(),
    )


def _control(body: Any, status: int = 200) -> Response[bytes]:
    return Response(content=encode(body), status_code=status, media_type=CONTROL_JSON)


def _numeric_id(raw: str, what: str) -> int:
    if not raw.isascii() or not raw.isdigit():
        raise NovomindError(404, f"{what} {raw} not found")
    return int(raw)


def _ticket(request: AnyRequest, raw_id: str) -> Ticket:
    ticket = _state(request).tickets.get(_numeric_id(raw_id, "Ticket"))
    if ticket is None:
        raise NovomindError(404, f"Ticket {raw_id} not found")
    return ticket


def _json(raw: bytes) -> Any:
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise NovomindError(400, "Malformed JSON request body") from None


def _path(request: AnyRequest) -> str:
    # The scope's path as is: `request.url` parses and builds a whole URL, for every write.
    path: str = request.scope["path"]
    return path


def _idempotency_key(request: AnyRequest) -> str | None:
    """Simulator-only: the request's `Idempotency-Key` (or the configured header), if it has one."""
    name = _state(request).config.idempotency_header
    key = (request.headers.get(name) or "").strip() if name else ""
    return key or None


def _replayed(request: AnyRequest, key: str | None) -> Response[bytes] | None:
    """Simulator-only: the first answer again if this key already made this write, else `None`.

    A replayed memo answers 200 rather than 201 (nothing was created). `Idempotent-Replayed: true`
    marks every replay. Callers check and then write without awaiting in between, so two concurrent
    requests with one key cannot both write.
    """
    if key is None or not _state(request).config.deduplicate:
        return None
    first = _state(request).idempotency.answer(key, request.method, _path(request))
    if first is None:
        return None
    response = _answer(request, first.body, status=200)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _remember(request: AnyRequest, key: str | None, status: int, body: Any) -> None:
    if key is not None:
        answer = StoredAnswer(status=status, body=body)
        _state(request).idempotency.applied(key, request.method, _path(request), answer)


# -- OAuth2 token endpoint (documented path; body shapes per RFC 6749, an ASSUMPTION) ---------------


def _oauth_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> NovomindError:
    return NovomindError(status, message, oauth_error=code, headers=headers)


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if authorization is None:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, sep, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (client_id, secret) if sep else None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


@post(f"{ROOT}/token", status_code=200, include_in_schema=False)
async def issue_token(request: AnyRequest) -> Response[bytes]:
    """Password grant. Client auth via HTTP Basic (seen in public client code) or form fields (RFC 6749)."""
    state = _state(request)
    config = state.config
    form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True))
    authorization = request.headers.get("authorization")
    credentials = _basic_credentials(authorization)
    if credentials is None and authorization is None and "client_id" in form:
        credentials = (form["client_id"], form.get("client_secret", ""))
    if (
        credentials is None
        or not _same(credentials[0], config.client_id)
        or not _same(credentials[1], config.client_secret)
    ):
        challenge = {"WWW-Authenticate": 'Basic realm="oauth2/client"'} if authorization else None
        raise _oauth_error(401, "invalid_client", "Bad client credentials", challenge)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise _oauth_error(400, "invalid_request", "Missing grant type")
    if grant_type != "password":
        raise _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant_type}")
    if "username" not in form or "password" not in form:
        raise _oauth_error(400, "invalid_request", "Missing username or password")
    if not _same(form["username"], config.username) or not _same(form["password"], config.password):
        raise _oauth_error(400, "invalid_grant", "Bad credentials")
    body = {"access_token": state.tokens.issue(), "token_type": "bearer", "expires_in": config.token_ttl_seconds}
    return Response(
        content=encode(state.extra_fields.add(body)),
        media_type=ERROR_MEDIA_TYPE,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


# -- documented resource: categories ----------------------------------------------------------------


@get(f"{ROOT}/categories", include_in_schema=False)
async def list_categories(request: AnyRequest) -> Response[bytes]:
    """Documented: a JSON array of categories; the public example shows the flags, not `id`/`name`."""
    return _answer(request, msgspec.to_builtins(list(_state(request).categories.values())))


@post(f"{ROOT}/categories/{{category_id:str}}", status_code=200, include_in_schema=False)
async def post_category(request: AnyRequest, category_id: FromPath[str]) -> Response[bytes]:
    """Documented: unknown id → 404 JSON error. Simulator guess: a known id answers 200 with the category."""
    category = _state(request).categories.get(_numeric_id(category_id, "Category"))
    if category is None:
        raise NovomindError(404, f"Category {category_id} not found")
    return _answer(request, msgspec.to_builtins(category))


# -- simulator-only resources: tickets, storage, memos ----------------------------------------------


@get(f"{ROOT}/tickets/{{ticket_id:str}}", include_in_schema=False)
async def get_ticket(request: AnyRequest, ticket_id: FromPath[str]) -> Response[bytes]:
    """Simulator-only: `{id, processId, ticketState, categoryId, tenantId, contact, storage, created}`."""
    return _answer(request, _ticket(request, ticket_id).view())


@get(f"{ROOT}/tickets/{{ticket_id:str}}/storage", include_in_schema=False)
async def read_storage(request: AnyRequest, ticket_id: FromPath[str]) -> Response[bytes]:
    """Simulator-only: `{id, storage}`, the ticket's key/value storage (iAGENT's `StorageHandler` reads
    keys one by one; an installation's API console names its own read, declared in push.toml)."""
    ticket = _ticket(request, ticket_id)
    return _answer(request, {"id": ticket.id, "storage": dict(ticket.storage)})


@put(f"{ROOT}/tickets/{{ticket_id:str}}/storage", status_code=200, include_in_schema=False)
async def merge_storage(request: AnyRequest, ticket_id: FromPath[str]) -> Response[bytes]:
    """Simulator-only: merges string keys → string values into the ticket's storage (`StorageHandler`).

    With an `Idempotency-Key` (simulator-only) a repeat answers the first answer and merges nothing.
    """
    raw = await request.body()  # the only await: replay check and merge run without yielding
    key = _idempotency_key(request)
    if (replay := _replayed(request, key)) is not None:
        return replay
    ticket = _ticket(request, ticket_id)
    patch = _json(raw)
    if not isinstance(patch, dict):
        raise NovomindError(400, "Storage update must be a JSON object")
    if not all(isinstance(value, str) for value in patch.values()):
        raise NovomindError(400, "Storage values must be strings")
    ticket.storage.update(patch)
    view = ticket.view()
    _remember(request, key, 200, view)
    return _answer(request, view)


@post(f"{ROOT}/processes/{{process_id:str}}/memos", status_code=201, include_in_schema=False)
async def create_memo(request: AnyRequest, process_id: FromPath[str]) -> Response[bytes]:
    """Simulator-only: `{"text": "...", "externalReference": "..."}` → 201 `{id, processId, text, created,
    externalReference}` (the reference is optional, a string of at most 255 characters).

    With an `Idempotency-Key` (simulator-only) a repeat answers 200 with the first memo and creates none.
    """
    state = _state(request)
    raw = await request.body()  # the only await: replay check and creation run without yielding
    key = _idempotency_key(request)
    if (replay := _replayed(request, key)) is not None:
        return replay
    number = _numeric_id(process_id, "Process")
    if not state.process_exists(number):
        raise NovomindError(404, f"Process {process_id} not found")
    body = _json(raw)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise NovomindError(400, "Memo text must be a non-empty string")
    reference = body.get("externalReference") if isinstance(body, dict) else None
    if reference is not None and (not isinstance(reference, str) or not 0 < len(reference) <= 255):
        raise NovomindError(400, "Memo externalReference must be a string of 1 to 255 characters")
    view = state.add_memo(number, text, reference).view()
    _remember(request, key, 201, view)
    return _answer(request, view, status=201)


@get(f"{ROOT}/processes/{{process_id:str}}/memos", include_in_schema=False)
async def list_process_memos(request: AnyRequest, process_id: FromPath[str]) -> Response[bytes]:
    """Simulator-only: the process's memos, oldest first, as a JSON array of memo objects."""
    state = _state(request)
    number = _numeric_id(process_id, "Process")
    if not state.process_exists(number):
        raise NovomindError(404, f"Process {process_id} not found")
    return _answer(request, [memo.view() for memo in state.memos_of(number)])


# -- contacts by External ID (simulator-only paths; the profile sync's default contact-write) --------


@patch(f"{ROOT}/contacts/external-id/{{external_id:str}}", status_code=200, include_in_schema=False)
async def merge_contact(request: AnyRequest, external_id: FromPath[str]) -> Response[bytes]:
    """Simulator-only: a JSON merge patch (RFC 7396) of the contact with this External ID; answers the
    contact. A contact that does not exist yet is created (ASSUMPTION: a real installation may require
    the contact to exist). Honours `Idempotency-Key` like the other writes."""
    raw = await request.body()  # the only await: replay check and merge run without yielding
    key = _idempotency_key(request)
    if (replay := _replayed(request, key)) is not None:
        return replay
    body = _json(raw)
    if not isinstance(body, dict) or not body:
        raise NovomindError(400, "Contact update must be a non-empty JSON object")
    view = _state(request).merge_contact(external_id, body)
    _remember(request, key, 200, view)
    return _answer(request, view)


@get(f"{ROOT}/contacts/external-id/{{external_id:str}}", include_in_schema=False)
async def get_contact(request: AnyRequest, external_id: FromPath[str]) -> Response[bytes]:
    contact = _state(request).contacts.get(external_id)
    if contact is None:
        raise NovomindError(404, f"Contact {external_id} not found")
    return _answer(request, contact)


# -- control routes (simulator-only, no auth, never recorded or faulted) -----------------------------


@get("/__sim/contacts", include_in_schema=False)
async def list_contacts(request: AnyRequest) -> Response[bytes]:
    return _control(list(_state(request).contacts.values()))


def _recorded(entry: RecordedRequest) -> dict[str, Any]:
    return {
        "method": entry.method,
        "path": entry.path,
        "query": entry.query,
        "headers": entry.headers,
        "body": entry.body.decode("utf-8", errors="replace"),
    }


@post("/__sim/tickets", status_code=201, include_in_schema=False)
async def seed_tickets(request: AnyRequest) -> Response[bytes]:
    """One ticket or a list of them (`SeedTicket`, camelCase); answers the stored tickets."""
    try:
        seeds = msgspec.json.decode(await request.body(), type=SeedTicket | list[SeedTicket])
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise NovomindError(400, f"Invalid ticket: {error}") from None
    state = _state(request)
    stored = [state.seed_ticket(seed).view() for seed in (seeds if isinstance(seeds, list) else [seeds])]
    return _control(stored, status=201)


@get("/__sim/tickets", include_in_schema=False)
async def list_tickets(request: AnyRequest) -> Response[bytes]:
    return _control([ticket.view() for ticket in _state(request).tickets.values()])


@get("/__sim/memos", include_in_schema=False)
async def list_memos(request: AnyRequest) -> Response[bytes]:
    return _control([memo.view() for memo in _state(request).memos])


@post("/__sim/faults", status_code=201, include_in_schema=False)
async def inject_fault(request: AnyRequest) -> Response[bytes]:
    try:
        fault = msgspec.json.decode(await request.body(), type=Fault)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise NovomindError(400, f"Invalid fault: {error}") from None
    _state(request).faults.inject(fault)
    return _control(fault, status=201)


@get("/__sim/faults", include_in_schema=False)
async def list_faults(request: AnyRequest) -> Response[bytes]:
    return _control(_state(request).faults.armed)


@delete("/__sim/faults", status_code=204, include_in_schema=False)
async def clear_faults(request: AnyRequest) -> None:
    _state(request).faults.clear()


@get("/__sim/requests", include_in_schema=False)
async def list_requests(request: AnyRequest) -> Response[bytes]:
    """Recorded requests; `body` as UTF-8 text (the state object keeps the bytes)."""
    return _control([_recorded(entry) for entry in _state(request).requests])


@get("/__sim/effects", include_in_schema=False)
async def list_effects(request: AnyRequest) -> Response[bytes]:
    """Simulator-only: `{"<Idempotency-Key>": {"requests": n, "applied": m}}`, to show "re-sent, applied once"."""
    return _control(_state(request).idempotency.effects())


@post("/__sim/reset", status_code=204, include_in_schema=False)
async def reset(request: AnyRequest) -> None:
    _state(request).reset()


@post("/__sim/expire-tokens", status_code=204, include_in_schema=False)
async def expire_tokens(request: AnyRequest) -> None:
    _state(request).expire_all_tokens()


# -- errors ----------------------------------------------------------------------------------------


def _error_response(request: AnyRequest, error: NovomindError) -> Response[bytes]:
    body = error.body()
    if not request.url.path.startswith("/__sim/"):
        body = _state(request).extra_fields.add(body)
    return Response(content=encode(body), status_code=error.status, media_type=ERROR_MEDIA_TYPE, headers=error.headers)


def _handle_novomind_error(request: AnyRequest, error: NovomindError) -> Response[bytes]:
    return _error_response(request, error)


def _handle_http_exception(request: AnyRequest, error: HTTPException) -> Response[bytes]:
    return _error_response(request, generic_error(error.status_code))


def _handle_unexpected(request: AnyRequest, __: Exception) -> Response[bytes]:
    return _error_response(request, generic_error(500))


def create_novomind_sandbox(
    config: NovomindSandboxConfig | None = None, *, desk_widget: DeskWidget | None = None
) -> Litestar:
    """A Litestar app that behaves like novomind iAGENT's REST API; `app.state.novomind` steers it.

    `desk_widget`: the signed widget URL for a ticket, framed by the desk page `/__sim/desk/{id}`.
    """
    state = NovomindSandboxState(config or NovomindSandboxConfig())
    app = Litestar(
        route_handlers=[
            issue_token,
            list_categories,
            post_category,
            get_ticket,
            read_storage,
            merge_storage,
            create_memo,
            list_process_memos,
            merge_contact,
            get_contact,
            list_contacts,
            seed_tickets,
            list_tickets,
            list_memos,
            inject_fault,
            list_faults,
            clear_faults,
            list_requests,
            list_effects,
            reset,
            expire_tokens,
            desk_page,
            desk_stylesheet,
        ],
        exception_handlers={
            NovomindError: _handle_novomind_error,
            HTTPException: _handle_http_exception,
            Exception: _handle_unexpected,
        },
        state=State({"novomind": state, "desk_widget": desk_widget}),
        # A fake of an external system has no API of its own to document.
        openapi_config=None,
        # Logging belongs to whoever embeds the sandbox (the demo, a test run), not to the fake.
        logging_config=None,
    )
    app.asgi_handler = FrontDoor(app.asgi_handler, state)
    return app
