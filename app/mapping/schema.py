"""Structs for the files in ``mappings/``. Strict: an unknown key is an error, not a silent no-op.

Keys are kebab-case in the files. Every rule validates itself on decode, so a bad locale or time
zone stops start-up with the file and key named instead of surfacing in an agent's widget.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Annotated, Any, Literal

import limits
import msgspec
from babel import Locale, UnknownLocaleError

__all__ = [
    "PROFILE_FIELDS",
    "STATE_LABEL_KINDS",
    "STATUS_TEXT_KINDS",
    "TEMPLATE_VARIABLES",
    "AutoLinkRules",
    "CacheFile",
    "CacheRule",
    "CarrierRule",
    "CarriersFile",
    "ContactWrite",
    "CustomFieldsFile",
    "FieldOwnership",
    "FieldRule",
    "LinkKindRule",
    "LinksFile",
    "MarketRule",
    "MarketsFile",
    "MaskingFile",
    "MaskingRule",
    "OwnershipFile",
    "PollChannel",
    "PollRules",
    "PushFile",
    "PushWrite",
    "RetryRules",
    "default_ownership",
]


class MappingStruct(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="kebab", kw_only=True):
    """Base of every mapping-file Struct: kebab-case keys, unknown keys rejected."""


def _check_locale(tag: str) -> None:
    try:
        Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError):
        raise ValueError(f"unknown locale {tag!r} (use a BCP 47 tag such as 'de-DE')") from None


class MarketRule(MappingStruct, frozen=True):
    """How one market (a commercetools store) is shown: language, fallbacks, clock."""

    locale: str
    """Display locale for names, money and dates (BCP 47, e.g. ``de-DE``)."""
    fallback_locales: tuple[str, ...] = ()
    """Tried in order for localized strings after ``locale`` and its bare language."""
    time_zone: str = "UTC"
    """IANA zone in which agents of this market read timestamps."""

    def __post_init__(self) -> None:
        for tag in (self.locale, *self.fallback_locales):
            _check_locale(tag)
        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {self.time_zone!r} (use an IANA name such as 'Europe/Berlin')"
            ) from None


class MarketsFile(MappingStruct, frozen=True):
    """``mappings/markets.toml``."""

    default: MarketRule
    """Used when an order has neither a store entry below nor a ``locale`` of its own."""
    stores: dict[str, MarketRule] = msgspec.field(default_factory=dict)


_TEMPLATE_FIELD = re.compile(r"\{([^{}]*)\}")


class CacheRule(MappingStruct, frozen=True):
    """How long one market's views are served from the cache, and how old they may be when told so."""

    ttl_seconds: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 30.0
    """A view this young is served without asking commercetools (0: every read asks)."""
    max_stale_seconds: Annotated[float, msgspec.Meta(ge=0, le=604_800)] = 600.0
    """When commercetools fails or is slow, an older view is served marked ``stale`` up to this age."""
    refresh_wait_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
    """How long a read of an expired view waits for commercetools before answering with the stale view
    (the refresh carries on and fills the cache)."""

    def __post_init__(self) -> None:
        if self.max_stale_seconds < self.ttl_seconds:
            raise ValueError("max-stale-seconds must be at least ttl-seconds")


class CacheFile(MappingStruct, frozen=True):
    """``mappings/cache.toml``: freshness per market (commercetools store), ``default`` for the rest."""

    default: CacheRule = msgspec.field(default_factory=CacheRule)
    stores: dict[str, CacheRule] = msgspec.field(default_factory=dict)

    def rule(self, store: str | None) -> CacheRule:
        return self.stores.get(store, self.default) if store is not None else self.default


class CarrierRule(MappingStruct, frozen=True):
    """One carrier: how to link a parcel's tracking id to the carrier's tracking page."""

    tracking_url: str
    """``https://`` URL with ``{trackingId}`` (URL-encoded when filled) and no other placeholder."""
    aliases: tuple[str, ...] = ()
    """Other spellings of the carrier in commercetools' ``trackingData.carrier`` (case-insensitive)."""

    def __post_init__(self) -> None:
        if not self.tracking_url.startswith("https://"):
            raise ValueError("tracking-url must start with https://")
        placeholders = _TEMPLATE_FIELD.findall(self.tracking_url)
        if placeholders != ["trackingId"]:
            raise ValueError("tracking-url must contain {trackingId} exactly once and no other placeholder")


class CarriersFile(MappingStruct, frozen=True):
    """``mappings/carriers.toml``."""

    carriers: dict[str, CarrierRule] = msgspec.field(default_factory=dict)


class FieldRule(MappingStruct, frozen=True):
    """One commercetools custom field shown to agents."""

    label: dict[str, str]
    """Label per language tag, resolved with the view's locale chain."""
    stores: tuple[str, ...] = ()
    """Show only for these stores; empty means every store."""
    personal: bool = False
    """The value is personal data (masked for callers without ``pii:read``)."""

    def __post_init__(self) -> None:
        if not self.label:
            raise ValueError('label needs at least one language, e.g. { en = "Gift message" }')
        for tag in self.label:
            _check_locale(tag)


class CustomFieldsFile(MappingStruct, frozen=True):
    """``mappings/custom-fields.toml``: which custom fields agents see; unlisted fields are never shown."""

    order: dict[str, FieldRule] = msgspec.field(default_factory=dict)
    customer: dict[str, FieldRule] = msgspec.field(default_factory=dict)


class LinkKindRule(MappingStruct, frozen=True):
    """One kind of novomind reference that can be linked."""

    pattern: str
    """Regular expression a reference of this kind must match in full (checked before anything is stored)."""
    description: str = ""

    def __post_init__(self) -> None:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"pattern is not a valid regular expression ({exc})") from None


class AutoLinkRules(MappingStruct, frozen=True):
    order_custom_field: str = "novomindTicketId"
    """Order custom field holding a novomind ticket id: such orders are linked to that ticket."""

    def __post_init__(self) -> None:
        # Becomes part of a where template (field names cannot be predicate variables): identifier only.
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", self.order_custom_field):
            raise ValueError("order-custom-field must be a commercetools field name (letters, digits, _)")


class LinksFile(MappingStruct, frozen=True):
    """``mappings/links.toml``: linkable novomind reference kinds and automatic links."""

    kinds: dict[str, LinkKindRule]
    auto: AutoLinkRules = msgspec.field(default_factory=AutoLinkRules)

    def __post_init__(self) -> None:
        if "ticket" not in self.kinds:
            raise ValueError("kinds.ticket is required: /v1/links/{ticketId} links tickets")


_SCOPE = re.compile(r"[a-z]+:[a-z]+")


class WidgetRole(MappingStruct, frozen=True):
    """One ``[roles.<role>]`` of ``mappings/widget.toml``."""

    scopes: list[str]
    stores: list[str] | None = None
    """``None`` (key left out) = every store."""

    def __post_init__(self) -> None:
        for scope in self.scopes:
            if not _SCOPE.fullmatch(scope):
                raise ValueError(f"scope {scope!r} is not of the form resource:action")


class WidgetFile(MappingStruct, frozen=True):
    """``mappings/widget.toml``: the widget's roles, each mapped to scopes and stores."""

    roles: dict[str, WidgetRole]


EmailStrategy = Literal["email", "hide", "show"]
PhoneStrategy = Literal["last-2", "hide", "show"]
NameStrategy = Literal["initial", "hide", "show"]
HideOrShow = Literal["hide", "show"]


class MaskingRule(MappingStruct, frozen=True):
    """How each personal field is shown to a caller without ``pii:read``; unlisted means hidden."""

    email: EmailStrategy = "hide"
    phone: PhoneStrategy = "hide"
    first_name: NameStrategy = "hide"
    middle_name: NameStrategy = "hide"
    last_name: NameStrategy = "hide"
    street: HideOrShow = "hide"
    postal_code: HideOrShow = "hide"
    city: HideOrShow = "hide"
    company: HideOrShow = "hide"
    date_of_birth: HideOrShow = "hide"
    personal_custom_fields: HideOrShow = "hide"


class MaskingFile(MappingStruct, frozen=True):
    """``mappings/masking.toml``."""

    default: MaskingRule = msgspec.field(default_factory=MaskingRule)
    stores: dict[str, MaskingRule] = msgspec.field(default_factory=dict)

    def rule_for(self, store_key: str | None) -> MaskingRule:
        return self.stores.get(store_key, self.default) if store_key else self.default


# -- push.toml --------------------------------------------------------------------------------------

TEMPLATE_VARIABLES: frozenset[str] = frozenset(
    {
        "messageId",
        "occurredAt",
        "changeKind",
        "orderId",
        "orderNumber",
        "orderVersion",
        "ticketId",
        "processId",
        "statusText",
        "orderState",
        "oldOrderState",
        "shipmentState",
        "paymentState",
        "workflowState",
        "lineItemId",
        "quantity",
        "deliveryId",
        "itemCount",
        "parcelId",
        "trackingId",
        "carrier",
        "trackingUrl",
        "returnTrackingId",
        "returnItemId",
        "returnShipmentState",
        "refundAmount",
        "transactionId",
        "transactionState",
        "orderStateLabel",
        "shipmentStateLabel",
        "paymentStateLabel",
    }
)
"""What a path, body or status text may refer to as ``{name}``; each change fills the ones it knows."""

STATE_LABEL_KINDS: dict[str, str] = {
    "order-state": "orderState",
    "shipment-state": "shipmentState",
    "payment-state": "paymentState",
}
"""``[labels.<locale>.<kind>]`` → the state placeholder it labels (``{orderStateLabel}`` and so on)."""

STATUS_TEXT_KINDS: frozenset[str] = frozenset(
    {
        "order-state",
        "shipment-state",
        "payment-state",
        "workflow-state",
        "line-item-state",
        "delivery",
        "delivery-removed",
        "parcel",
        "return",
        "returns-replaced",
        "return-shipment-state",
        "refund",
        "transaction-state",
        "order-placed",
        "order-removed",
        "snapshot",
    }
)
"""The keys of ``[texts.<locale>]``: one per kind of status change (``snapshot``: the order re-read)."""

_STATE_KEYED = frozenset(
    {"order-state", "shipment-state", "payment-state", "workflow-state", "return-shipment-state", "transaction-state"}
)

BodyTemplate = dict[str, Any]
"""Nested tables whose leaves are template strings (checked by ``_check_body``)."""


def _check_template(text: str, where: str) -> None:
    if text.count("{") != text.count("}"):
        raise ValueError(f"{where}: unbalanced braces in {text!r}")
    unknown = sorted(set(_TEMPLATE_FIELD.findall(text)) - TEMPLATE_VARIABLES)
    if unknown:
        raise ValueError(
            f"{where}: unknown placeholder {{{unknown[0]}}} (known: {', '.join(sorted(TEMPLATE_VARIABLES))})"
        )


def _check_body(body: BodyTemplate, where: str) -> None:
    for key, value in body.items():
        if isinstance(value, dict):
            _check_body(value, f"{where}.{key}")
        elif isinstance(value, str):
            _check_template(value, f"{where}.{key}")
        else:
            raise ValueError(f"{where}.{key}: must be a text (placeholders allowed) or a table")


class PushWrite(MappingStruct, frozen=True):
    """One request a status change makes to each linked ticket (``[writes.<name>]``, in file order)."""

    method: Literal["PUT", "POST", "PATCH"]
    path: str
    """Relative to ``NOVOMIND_BASE_URL``; ``{ticketId}``/``{processId}`` are URL-encoded when filled."""
    body: BodyTemplate
    """JSON body; each string may hold placeholders. An entry whose placeholders this change does not
    know is left out, and a write whose body ends up empty is not sent (so a memo needs a text)."""
    reference_field: str | None = None
    """The body field that carries the write's own reference (its idempotency key), so that a read
    can later tell whether this very write arrived; e.g. ``externalReference`` for a memo."""
    verify: str | None = None
    """For a write that is not idempotent by nature (POST, PATCH): ``"GET <path>"``, a read that lists
    what this write creates, looked through for ``reference-field`` before a write whose outcome is
    unknown (a crash, a timeout) is sent again; or ``"none"`` where the installation offers no such
    read (then such a write may arrive twice, at most once more per crash). PUT writes are re-sent."""
    read: str | None = None
    """For a state write (PUT): ``"GET <path>"``, a read of what the write assigns (the ticket's
    storage), for ``ctnm reconcile`` to compare with the order's state; without it the write is not
    checked. The answer is a JSON object of the body's keys, or one holding them under ``storage``."""

    def __post_init__(self) -> None:
        if not self.path.startswith("/") or "//" in self.path or "?" in self.path:
            raise ValueError("path must start with / and hold neither // nor a query string")
        _check_template(self.path, "path")
        _check_body(self.body, "body")
        if self.reference_field is not None:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,63}", self.reference_field):
                raise ValueError("reference-field must be a field name such as 'externalReference'")
            if self.reference_field in self.body:
                raise ValueError(
                    f"reference-field: the body already has {self.reference_field!r}; the reference fills it"
                )
        if self.read is not None:
            if self.method != "PUT":
                raise ValueError("read: only a PUT assigns state that a read can compare; remove read")
            read_method, _, read_path = self.read.partition(" ")
            if read_method != "GET" or not read_path.startswith("/") or "//" in read_path or "?" in read_path:
                raise ValueError('read must be "GET /path/{ticketId}/..." (a read, no query string)')
            _check_template(read_path, "read")
        if self.verify is None or self.verify == "none":
            return
        if self.method == "PUT":
            raise ValueError("verify: a PUT is idempotent and is simply sent again; remove verify")
        method, _, path = self.verify.partition(" ")
        if method != "GET" or not path.startswith("/") or "//" in path or "?" in path:
            raise ValueError('verify must be "GET /path/{processId}/..." (a read, no query string) or "none"')
        _check_template(path, "verify")
        if self.reference_field is None:
            raise ValueError("verify needs reference-field: the body field a read finds this write by")

    @property
    def read_path(self) -> str | None:
        """The state read's path template, if one is declared."""
        return None if self.read is None else self.read.partition(" ")[2]

    @property
    def verify_path(self) -> str | None:
        """The verification read's path template, if one is declared."""
        if self.verify is None or self.verify == "none":
            return None
        return self.verify.partition(" ")[2]


class PollChannel(MappingStruct, frozen=True):
    """One schedule of the Messages API poller: these message types, this often."""

    message_types: tuple[str, ...]
    interval_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not self.message_types:
            raise ValueError("message-types needs at least one commercetools message type")
        if not all(re.fullmatch(r"[A-Z][A-Za-z]{1,99}", t) for t in self.message_types):
            raise ValueError("message-types must be commercetools message type names such as 'OrderStateChanged'")
        if not 1 <= self.interval_seconds <= 86_400:
            raise ValueError("interval-seconds must be between 1 and 86400")


class PollRules(MappingStruct, frozen=True):
    overlap_seconds: float = 120.0
    """Each poll re-reads this far behind the cursor: commercetools may make a message visible after
    later ones. Messages seen twice are dropped by message id."""
    channels: dict[str, PollChannel] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.overlap_seconds <= 3600:
            raise ValueError("overlap-seconds must be between 0 and 3600")
        if self.channels and not all(re.fullmatch(r"[a-z][a-z0-9-]{0,39}", n) for n in self.channels):
            raise ValueError("channel names must be lower-case words such as 'orders'")


class RetryRules(MappingStruct, frozen=True):
    max_attempts: int = 8
    """Deliveries of one event before it goes to the dead-letter queue (errors that can never succeed go at once)."""
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 300.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= 100:
            raise ValueError("max-attempts must be between 1 and 100")
        if not 0 < self.backoff_base_seconds <= self.backoff_cap_seconds <= 86_400:
            raise ValueError("need 0 < backoff-base-seconds <= backoff-cap-seconds <= 86400")


class HistoryRules(MappingStruct, frozen=True):
    keep_per_ticket: int = 50
    """Settled writes remembered per ticket for ``GET /v1/tickets/{ticketId}/pushes``; older ones are dropped."""

    def __post_init__(self) -> None:
        if not 1 <= self.keep_per_ticket <= 1000:
            raise ValueError("keep-per-ticket must be between 1 and 1000")


class PushFile(MappingStruct, frozen=True):
    """``mappings/push.toml``: what a commercetools status change does to the linked novomind tickets."""

    link_kinds: tuple[str, ...] = ("ticket",)
    """Which link kinds receive status pushes (their reference is the ``{ticketId}``)."""
    reference_prefixes: tuple[str, ...] = ()
    """Removed from a linked reference before it fills ``{ticketId}``/``{processId}`` (shops write
    ``T-100042`` where iAGENT's ticket id is the number)."""
    writes: dict[str, PushWrite] = msgspec.field(default_factory=dict)
    texts: dict[str, dict[str, str | dict[str, str]]] = msgspec.field(default_factory=dict)
    """``[texts.<locale>]``: per kind of change, one text, or a table of texts per commercetools state."""
    labels: dict[str, dict[str, dict[str, str]]] = msgspec.field(default_factory=dict)
    """``[labels.<locale>.<kind>]``: words for commercetools state codes in memo texts
    (``{shipmentStateLabel}``: ``Delivered`` → "zugestellt"); a code without a label stands as it is."""
    retry: RetryRules = msgspec.field(default_factory=RetryRules)
    poll: PollRules = msgspec.field(default_factory=PollRules)
    history: HistoryRules = msgspec.field(default_factory=HistoryRules)

    def __post_init__(self) -> None:
        if not self.writes:
            raise ValueError("writes needs at least one [writes.<name>] table")
        for locale, kinds in self.texts.items():
            _check_locale(locale)
            for kind, text in kinds.items():
                if kind not in STATUS_TEXT_KINDS:
                    raise ValueError(
                        f"texts.{locale}.{kind}: unknown kind (known: {', '.join(sorted(STATUS_TEXT_KINDS))})"
                    )
                if isinstance(text, dict):
                    if kind not in _STATE_KEYED:
                        raise ValueError(f"texts.{locale}.{kind}: this kind has no states; give one text")
                    for state, per_state in text.items():
                        _check_template(per_state, f"texts.{locale}.{kind}.{state}")
                else:
                    _check_template(text, f"texts.{locale}.{kind}")
        for locale, labelled in self.labels.items():
            _check_locale(locale)
            for kind, words in labelled.items():
                if kind not in STATE_LABEL_KINDS:
                    raise ValueError(
                        f"labels.{locale}.{kind}: unknown kind (known: {', '.join(sorted(STATE_LABEL_KINDS))})"
                    )
                for code, label in words.items():
                    if not label.strip() or "{" in label or "}" in label:
                        raise ValueError(f"labels.{locale}.{kind}.{code}: a label is plain, non-empty text")


def _check_rate(rate: str) -> None:
    try:
        limits.parse(rate)
    except ValueError:
        raise ValueError(f'{rate!r} is not a rate (write it as "20/second" or "1000 per minute")') from None


class CallerLimits(MappingStruct, frozen=True):
    """Per caller (the token's ``sub``): what one runaway client may ask of the gateway."""

    rate: str = "20/second"
    forced_refresh_cost: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 5
    """A request with ``Cache-Control: no-cache`` counts this many times: it goes to commercetools."""
    subjects: dict[str, str] = msgspec.field(default_factory=dict)
    """Rates for named callers (a reporting job, an integration), instead of ``rate``."""

    def __post_init__(self) -> None:
        for rate in (self.rate, *self.subjects.values()):
            _check_rate(rate)

    def rate_of(self, subject: str) -> str:
        return self.subjects.get(subject, self.rate)


class UpstreamLimit(MappingStruct, frozen=True):
    """All gateway processes together, whatever the caller: every commercetools request counts."""

    rate: str = "100/second"

    def __post_init__(self) -> None:
        _check_rate(self.rate)


class LimitsFile(MappingStruct, frozen=True):
    """``mappings/limits.toml``: rate limits that protect commercetools from a runaway client."""

    callers: CallerLimits = msgspec.field(default_factory=CallerLimits)
    commercetools: UpstreamLimit = msgspec.field(default_factory=UpstreamLimit)


# -- customer profile ownership (mappings/ownership.toml) -----------------------------------------

Owner = Literal["commercetools", "novomind"]
Direction = Literal["commercetools-to-novomind", "novomind-to-commercetools", "none"]

# The CustomerView fields a profile sync can own, by their name in the view (and in a merge patch).
PROFILE_FIELDS: tuple[str, ...] = (
    "email",
    "title",
    "salutation",
    "firstName",
    "middleName",
    "lastName",
    "companyName",
    "dateOfBirth",
    "addresses",
    "customerGroup",
)
# Fields the file must name: the ones the issue of record lists; the others default to commercetools.
REQUIRED_PROFILE_FIELDS: frozenset[str] = frozenset(
    {"email", "firstName", "lastName", "dateOfBirth", "addresses", "customerGroup"}
)
# Structured fields only commercetools can own: writing them from novomind would need address ids
# and customer-group references that a contact does not hold.
COMMERCETOOLS_ONLY_FIELDS: frozenset[str] = frozenset({"addresses", "customerGroup"})
_OWN_DIRECTION: dict[str, str] = {
    "commercetools": "commercetools-to-novomind",
    "novomind": "novomind-to-commercetools",
}


class FieldOwnership(MappingStruct, frozen=True):
    owner: Owner
    direction: Direction | None = None
    """Defaults to the owner's side outward; ``none`` keeps the field out of the sync altogether."""

    def __post_init__(self) -> None:
        if self.direction not in (None, "none", _OWN_DIRECTION[self.owner]):
            raise ValueError(
                f"direction {self.direction!r} would sync a {self.owner}-owned field into its owner; "
                f"use {_OWN_DIRECTION[self.owner]!r} or 'none'"
            )

    @property
    def syncs(self) -> str:
        return self.direction or _OWN_DIRECTION[self.owner]


class ContactWrite(MappingStruct, frozen=True):
    """How a commercetools-owned change reaches the novomind contact whose External ID is the customer id."""

    method: Literal["PATCH", "PUT", "POST"] = "PATCH"
    path: str = "/iMail/api/rest/contacts/external-id/{customerId}"
    """Relative to NOVOMIND_BASE_URL; ``{customerId}`` is filled URL-encoded. The body holds the changed
    fields in the CustomerView's shape (custom fields under ``custom``; ``null``: removed)."""

    def __post_init__(self) -> None:
        if not self.path.startswith("/") or "{customerId}" not in self.path:
            raise ValueError("contact-write.path must start with '/' and contain {customerId}")
        rest = self.path.replace("{customerId}", "")
        if "{" in rest or "}" in rest:
            raise ValueError("contact-write.path knows only the placeholder {customerId}")


class OwnershipFile(MappingStruct, frozen=True):
    """``mappings/ownership.toml``: which side owns each customer profile field, and where it syncs."""

    custom_type: str
    """Key of the commercetools custom Type the novomind-owned custom fields live on."""
    fields: dict[str, FieldOwnership]
    """``[fields.<name>]``: the CustomerView's profile fields (``email``, ``firstName``, …)."""
    custom_fields: dict[str, FieldOwnership] = msgspec.field(default_factory=dict)
    """``[custom-fields.<name>]``: customer custom fields; those owned by novomind live on ``custom-type``."""
    other_custom_fields: FieldOwnership = msgspec.field(default_factory=lambda: FieldOwnership(owner="commercetools"))
    """Every customer custom field not listed (they belong to the shop's own Types)."""
    contact_write: ContactWrite = msgspec.field(default_factory=ContactWrite)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{2,256}", self.custom_type):
            raise ValueError("custom-type must be a commercetools Type key (2-256 of A-Z a-z 0-9 _ -)")
        unknown = sorted(set(self.fields) - set(PROFILE_FIELDS))
        if unknown:
            raise ValueError(f"fields.{unknown[0]}: not a profile field (known: {', '.join(PROFILE_FIELDS)})")
        missing = sorted(REQUIRED_PROFILE_FIELDS - set(self.fields))
        if missing:
            raise ValueError(f"fields.{missing[0]}: missing; every profile field needs an owner")
        for name in sorted(COMMERCETOOLS_ONLY_FIELDS & set(self.fields)):
            if self.fields[name].owner != "commercetools":
                raise ValueError(f"fields.{name}: only commercetools can own it (novomind cannot write it)")
        for name in self.custom_fields:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", name):
                raise ValueError(f"custom-fields.{name}: not a commercetools field name")
        if self.other_custom_fields.owner != "commercetools":
            raise ValueError("other-custom-fields: only commercetools can own fields of Types the gateway does not own")


def default_ownership() -> OwnershipFile:
    """The shipped ``mappings/ownership.toml``: commercetools owns everything but two support fields."""
    commercetools = FieldOwnership(owner="commercetools")
    novomind = FieldOwnership(owner="novomind")
    return OwnershipFile(
        custom_type="support-profile",
        fields=dict.fromkeys(PROFILE_FIELDS, commercetools),
        custom_fields={"supportNote": novomind, "preferredContactChannel": novomind},
    )
