"""The composition root: the only place that turns settings into a running application.

``create_app`` takes everything it wires as arguments (transports, mappings) so tests inject
``httpx.MockTransport`` or an in-process sandbox instead of patching by dotted path. Settings are
read from the environment only by :func:`app_from_env`, which uvicorn calls as a factory.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx
from litestar import Controller, Litestar, Router
from litestar.datastructures import CacheControlHeader, State
from litestar.di import NamedDependency, Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from app import __version__
from app.access import build_authenticator, build_event_sender_authenticator
from app.api.audit import AuditController
from app.api.conditional import CallerReads
from app.api.customers import CustomerController, LookupController, OwnershipController
from app.api.dead_letters import DeadLetterController
from app.api.events import EventIntake, EventsController
from app.api.health import HealthController
from app.api.links import LinkController
from app.api.metrics import metrics
from app.api.middleware import ControlCharacterGuard, GatewayApp, strict_query
from app.api.orders import OrderController
from app.api.problems import EXCEPTION_HANDLERS
from app.api.reference import SCHEMA_PATH, document_json, local_swagger, problem_types, schema_router, swagger_assets
from app.api.requests import GatewayRequest
from app.api.security import AccessGuard, RateLimitGuard, check_routes_declare_access, provide_caller
from app.api.static import static_baseline
from app.api.tickets import TicketController
from app.cache import ViewCache
from app.commercetools.client import CommercetoolsClient
from app.lookup import LookupService
from app.lookup.answers import RefreshBudget
from app.lookup.audit import AuditTrail
from app.lookup.links import LinkService
from app.lookup.reader import ScopedReader
from app.mapping.loader import Mappings, load_mappings
from app.mapping.rules import ViewRules
from app.masking import Masker
from app.masking.redaction import PayloadLog, Redactor
from app.novomind.client import NovomindClient
from app.observability import configure_logging, export_spans
from app.profile.history import SyncHistory
from app.profile.service import ProfileSync
from app.push.backfill import Backfill
from app.push.customers import CustomerContacts
from app.push.dead_letters import DeadLetterService
from app.push.history import PushHistoryService
from app.push.intake import accept_delivery
from app.push.reconcile import Reconciler
from app.push.runtime import PushRuntime
from app.push.worker import Outcome
from app.ratelimit import RateLimits
from app.readiness import ReadinessService, Upstream
from app.settings import Settings, load_settings
from app.storage.factory import open_storage
from app.storage.ports import Delivery, Storage
from app.tracing import tracing_from_env
from app.widget.controller import WidgetController, WidgetPages
from app.widget.entry import WidgetEntry
from app.widget.frame import frame_headers
from app.widget.pages import STATIC_DIRECTORY, Pages
from app.widget.tokens import WidgetTokens, WithWidgetTokens

__all__ = ["API_VERSION", "Services", "app_from_env", "build_pusher", "create_app", "openapi_config"]

API_VERSION = __version__
MAX_BODY_BYTES = 16 * 1024
_CONTROLLERS = (
    OrderController,
    CustomerController,
    LookupController,
    OwnershipController,
    LinkController,
    TicketController,
    AuditController,
    EventsController,
    DeadLetterController,
    HealthController,
)


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="commercetools <-> novomind support gateway",
        version=API_VERSION,
        description="Support-ready views of commercetools orders for novomind iAGENT agents.",
        path=SCHEMA_PATH,
        render_plugins=[local_swagger(), document_json()],
        openapi_router=schema_router(),
        components=Components(
            security_schemes={
                "BearerJWT": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description='Caller token: iss, aud, exp, sub, scope (space-separated), stores (keys or ["*"])',
                ),
                "EventSender": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="GATEWAY_EVENTS_SECRET, or an OIDC ID token of the configured push service",
                ),
            }
        ),
    )


class Services:
    """What the handlers use, built once per process when the app starts (storage opens async)."""

    def __init__(
        self,
        reader: ScopedReader,
        storage: Storage,
        lookup: LookupService,
        links: LinkService,
        readiness: ReadinessService,
        profiles: ProfileSync,
        push_history: PushHistoryService,
    ) -> None:
        self.reader = reader
        self.storage = storage
        self.lookup = lookup
        self.links = links
        self.readiness = readiness
        self.profiles = profiles
        self.push_history = push_history


def _services(state: State) -> Services:
    services: Services = state.services
    return services


def _readiness(services: NamedDependency[Services]) -> ReadinessService:
    return services.readiness


def _lookup(services: NamedDependency[Services]) -> LookupService:
    return services.lookup


def _caller_reads(services: NamedDependency[Services], request: GatewayRequest) -> CallerReads:
    return CallerReads(services.lookup, provide_caller(request))


def _links(services: NamedDependency[Services]) -> LinkService:
    return services.links


def _profiles(services: NamedDependency[Services]) -> ProfileSync:
    return services.profiles


def _audit(services: NamedDependency[Services]) -> AuditTrail:
    return AuditTrail(services.storage.audit)


def _dead_letters(services: NamedDependency[Services]) -> DeadLetterService:
    return DeadLetterService(services.storage.queue)


def _push_history(services: NamedDependency[Services]) -> PushHistoryService:
    return services.push_history


def _utcnow() -> datetime:
    return datetime.now(UTC)


def payload_log(settings: Settings, mappings: Mappings, rules: ViewRules | None = None) -> PayloadLog:
    """``GATEWAY_LOG_PAYLOADS``: upstream bodies, redacted of every field the mappings mark personal."""
    rules = rules or ViewRules.from_mappings(mappings)
    personal_fields = [n for n, r in (rules.order_fields | rules.customer_fields).items() if r.personal]
    return PayloadLog(
        enabled=settings.gateway.log_payloads,
        redactor=Redactor(personal_fields, max_bytes=settings.gateway.log_payload_max_bytes),
    )


def view_cache(settings: Settings, mappings: Mappings, *, local: bool = True) -> ViewCache:
    """This process's view cache (``local=False``: only to evict, as ``ctnm push`` does)."""
    gateway = settings.gateway
    return ViewCache.connect(
        mappings.cache,
        redis_url=settings.redis_url,
        key=gateway.cache_key.reveal() if gateway.cache_key is not None else None,
        namespace=gateway.cache_namespace,
        max_entries=gateway.cache_l1_entries if local else 0,
        max_bytes=gateway.cache_l1_bytes if local else 0,
        lock_seconds=gateway.cache_lock_seconds,
    )


def build_pusher(
    settings: Settings,
    mappings: Mappings,
    storage: Storage,
    stack: AsyncExitStack,
    *,
    workers: int = 1,
    poll: bool | None = None,
    commercetools: CommercetoolsClient | None = None,
    commercetools_transport: httpx.AsyncBaseTransport | None = None,
    novomind_transport: httpx.AsyncBaseTransport | None = None,
    observe: Callable[[Delivery, Outcome, int], None] | None = None,
    payloads: PayloadLog | None = None,
    evict: Callable[[str], Awaitable[None]] | None = None,
    evict_customer: Callable[[str], Awaitable[None]] | None = None,
    readiness: ReadinessService | None = None,
) -> PushRuntime:
    """The status pusher for this process; the clients it opens are closed by ``stack``.

    ``evict`` / ``evict_customer``: drop an order's (a customer's) cached views; by default, through a
    cache of this process that only evicts (with Redis it reaches every gateway process)."""
    if settings.novomind is None:
        raise ValueError("NOVOMIND_BASE_URL and the other NOVOMIND_* settings are required to push")
    payloads = payloads or payload_log(settings, mappings)
    if evict is None or evict_customer is None:
        evicting = view_cache(settings, mappings, local=False)
        stack.push_async_callback(evicting.aclose)

        async def evict_order(order_id: str) -> None:
            await evicting.evict("order", order_id)

        async def evict_customer_views(customer_id: str) -> None:
            await evicting.evict("customer", customer_id)

        evict = evict or evict_order
        evict_customer = evict_customer or evict_customer_views
    if commercetools is None:
        limits = rate_limits(settings, mappings)
        if limits is not None:
            stack.push_async_callback(limits.aclose)
        commercetools = CommercetoolsClient(
            settings.commercetools,
            transport=commercetools_transport,
            on_payload=payloads.upstream,
            budget=limits.charge_commercetools if limits else None,
        )
        stack.push_async_callback(commercetools.aclose)
    novomind = NovomindClient(settings.novomind, transport=novomind_transport, on_payload=payloads.upstream)
    stack.push_async_callback(novomind.aclose)
    if readiness is not None:
        readiness.add(Upstream("novomind", novomind.health, novomind.probe))
    return PushRuntime(
        storage=storage,
        mappings=mappings,
        orders=commercetools,
        messages=commercetools,
        tickets=novomind,
        workers=workers,
        poll=settings.gateway.push_poll if poll is None else poll,
        batch_size=settings.gateway.push_batch_size,
        lease_seconds=settings.gateway.push_lease_seconds,
        observe=observe,
        evict=evict,
        customers=CustomerContacts(
            mappings.ownership, commercetools, SyncHistory(storage.audit, now=_utcnow), evict=evict_customer
        ),
    )


def _pusher_commercetools(settings: Settings, mappings: Mappings, stack: AsyncExitStack) -> CommercetoolsClient:
    """A commercetools client as the pusher's, for the operator commands around it; closed by ``stack``."""
    limits = rate_limits(settings, mappings)
    if limits is not None:
        stack.push_async_callback(limits.aclose)
    client = CommercetoolsClient(
        settings.commercetools,
        on_payload=payload_log(settings, mappings).upstream,
        budget=limits.charge_commercetools if limits else None,
    )
    stack.push_async_callback(client.aclose)
    return client


def build_backfill(settings: Settings, mappings: Mappings, storage: Storage, stack: AsyncExitStack) -> Backfill:
    """``ctnm backfill``: queues into ``storage`` what brings the linked tickets up to date."""
    if mappings.push is None:
        raise ValueError("mappings/push.toml is required to backfill")
    return Backfill(
        queue=storage.queue,
        links=storage.links,
        cursors=storage.cursors,
        history=_pusher_commercetools(settings, mappings, stack),
        rules=mappings.push,
    )


def build_reconciler(
    settings: Settings, mappings: Mappings, storage: Storage, stack: AsyncExitStack, *, run_id: str
) -> Reconciler:
    """``ctnm reconcile``: compares linked tickets with their orders, queues repairs into ``storage``."""
    if settings.novomind is None:
        raise ValueError("NOVOMIND_BASE_URL and the other NOVOMIND_* settings are required to reconcile")
    if mappings.push is None:
        raise ValueError("mappings/push.toml is required to reconcile")
    novomind = NovomindClient(settings.novomind, on_payload=payload_log(settings, mappings).upstream)
    stack.push_async_callback(novomind.aclose)
    return Reconciler(
        links=storage.links,
        queue=storage.queue,
        orders=_pusher_commercetools(settings, mappings, stack),
        tickets=novomind,
        rules=mappings.push,
        markets=mappings.markets,
        tracking_url=ViewRules.from_mappings(mappings).tracking_url,
        run_id=run_id,
    )


def create_app(
    settings: Settings,
    *,
    commercetools_transport: httpx.AsyncBaseTransport | None = None,
    jwks_transport: httpx.AsyncBaseTransport | None = None,
    mappings: Mappings | None = None,
    storage: Storage | None = None,
    novomind_transport: httpx.AsyncBaseTransport | None = None,
    push: bool | None = None,
) -> Litestar:
    """The gateway, wired from ``settings``. A ``storage`` passed in stays open after shutdown (its
    owner closes it); otherwise the backend the settings choose is opened at start-up.

    ``push``: run the status pusher in this process. By default it runs when novomind is configured,
    the backend is the embedded one and ``GATEWAY_PUSH_IN_PROCESS`` is on; with Redis, run
    ``ctnm push`` workers instead (they scale apart from the API)."""
    mappings = mappings or load_mappings(Path(settings.gateway.mappings_dir))
    authenticator = build_authenticator(settings.gateway, jwks_transport=jwks_transport)
    rules = ViewRules.from_mappings(mappings)
    payloads = payload_log(settings, mappings, rules)
    limits = rate_limits(settings, mappings)
    commercetools = CommercetoolsClient(
        settings.commercetools,
        transport=commercetools_transport,
        on_payload=payloads.upstream,
        budget=limits.charge_commercetools if limits else None,
    )
    reader = ScopedReader(commercetools)
    masker = Masker(mappings.masking, rules.order_fields, rules.customer_fields)
    senders = build_event_sender_authenticator(settings.gateway, jwks_transport=jwks_transport)

    def intake(services: NamedDependency[Services]) -> EventIntake:
        return EventIntake(senders, partial(accept_delivery, services.storage.queue, evict=services.lookup.evict_order))

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        store = storage or await open_storage(redis_url=settings.redis_url, data_dir=settings.gateway.data_dir)
        cache = view_cache(settings, mappings)
        await cache.start()
        links = LinkService(reader, store.links, mappings.links, on_change=cache.evict)
        history = SyncHistory(store.audit, now=_utcnow)
        lookup = LookupService(
            reader,
            rules,
            links,
            masker,
            store.audit,
            payloads,
            cache=cache,
            refreshes=RefreshBudget(settings.gateway.cache_forced_refreshes_per_minute),
            synced_fields=history.synced_fields,
        )
        profiles = ProfileSync(mappings.ownership, reader, commercetools, lookup, history)
        readiness = ReadinessService(store.ping, [Upstream("commercetools", commercetools.health, commercetools.probe)])
        prefixes = mappings.push.reference_prefixes if mappings.push is not None else ()
        push_history = PushHistoryService(store.history, reference_prefixes=prefixes)
        app.state.services = Services(reader, store, lookup, links, readiness, profiles, push_history)
        run_pusher = (
            push
            if push is not None
            else (settings.gateway.push_in_process and settings.novomind is not None and store.backend == "sqlite")
        )
        stop = asyncio.Event()
        async with AsyncExitStack() as stack:
            if run_pusher:
                pusher = build_pusher(
                    settings,
                    mappings,
                    store,
                    stack,
                    commercetools=commercetools,
                    novomind_transport=novomind_transport,
                    payloads=payloads,
                    evict=lookup.evict_order,
                    evict_customer=lookup.evict_customer,
                    readiness=readiness,
                )
                task = asyncio.create_task(pusher.run(stop))

                async def stop_pusher() -> None:
                    stop.set()
                    await task

                stack.push_async_callback(stop_pusher)
            try:
                yield
            finally:
                await stack.aclose()
                await readiness.aclose()
                if limits is not None:
                    await limits.aclose()
                await cache.aclose()
                await commercetools.aclose()
                if storage is None:
                    await store.aclose()

    widget_secret = settings.gateway.widget_secret
    widget_tokens = WidgetTokens(widget_secret.reveal()) if widget_secret is not None else None
    widget_routes, widget_pages = _widget_routes(settings, mappings, widget_tokens)
    app = GatewayApp(
        route_handlers=[
            *_CONTROLLERS,
            problem_types,
            swagger_assets(),
            *static_baseline(settings.gateway.bench_static_bytes),
            *widget_routes,
            *([metrics] if settings.gateway.metrics_public else []),
        ],
        guards=[
            AccessGuard(WithWidgetTokens(authenticator, widget_tokens) if widget_tokens else authenticator),
            *([RateLimitGuard(limits)] if limits else []),
            strict_query,
        ],
        dependencies={
            "services": Provide(_services, sync_to_thread=False),
            "lookup": Provide(_lookup, sync_to_thread=False),
            "readiness": Provide(_readiness, sync_to_thread=False),
            "reads": Provide(_caller_reads, sync_to_thread=False),
            "links": Provide(_links, sync_to_thread=False),
            "profiles": Provide(_profiles, sync_to_thread=False),
            "audit": Provide(_audit, sync_to_thread=False),
            "dead_letters": Provide(_dead_letters, sync_to_thread=False),
            "push_history": Provide(_push_history, sync_to_thread=False),
            "intake": Provide(intake, sync_to_thread=False),
            "caller": Provide(provide_caller, sync_to_thread=False),
            "widget": widget_pages,
        },
        middleware=[ControlCharacterGuard()],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        openapi_config=openapi_config(),
        # The largest body the API takes is a link request of a few hundred bytes.
        request_max_body_size=MAX_BODY_BYTES,
        request_class=GatewayRequest,
    )
    check_routes_declare_access(_CONTROLLERS)
    return app


def _widget_routes(
    settings: Settings, mappings: Mappings, tokens: WidgetTokens | None
) -> tuple[list[type[Controller] | Router], Provide]:
    """The widget page and its static files (served by the gateway itself: nothing external loads)."""
    secret = settings.gateway.widget_secret
    entry = WidgetEntry(
        secret=secret.reveal() if secret is not None else None,
        max_ttl_seconds=settings.gateway.widget_max_ttl_seconds,
        roles=mappings.widget,
    )
    pages = WidgetPages(entry, tokens, Pages(), frame_headers(settings.gateway.widget_frame_ancestors))
    static = create_static_files_router(
        path=pages.pages.static_path,
        directories=[STATIC_DIRECTORY],
        # The path names the files' content (app/widget/pages.py): a browser may keep them for good.
        cache_control=CacheControlHeader(max_age=31_536_000, public=True, immutable=True),
        opt={"public": True},
        include_in_schema=False,
        name="widget-static",
    )
    return [WidgetController, static], Provide(lambda: pages, sync_to_thread=False)


def rate_limits(settings: Settings, mappings: Mappings) -> RateLimits | None:
    """The limits of ``mappings/limits.toml``, shared through Redis when the deployment has it."""
    if not settings.gateway.rate_limits:
        return None
    return RateLimits(mappings.limits, redis_url=settings.redis_url, namespace=settings.gateway.cache_namespace)


def app_from_env() -> Litestar:
    """uvicorn factory (``app.asgi:app_from_env``): settings are read here, once per process."""
    settings = load_settings(os.environ)
    configure_logging(settings.gateway.log_level)
    export_spans(tracing_from_env(os.environ))  # the CLI checked the variables before starting workers
    return create_app(settings)


async def check_commercetools(settings: Settings) -> None:
    """Fetch one commercetools token with the configured client: wrong credentials show at start-up,
    not first in ``/readyz``. Raises the client's GatewayError (rejected, unavailable, undecodable)."""
    client = CommercetoolsClient(settings.commercetools)
    try:
        await ScopedReader(client).ready()
    finally:
        await client.aclose()
