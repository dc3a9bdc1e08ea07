"""Load and validate every file in the mappings directory once, at start-up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

from app.mapping.schema import (
    CacheFile,
    CarriersFile,
    CustomFieldsFile,
    LimitsFile,
    LinkKindRule,
    LinksFile,
    MarketsFile,
    MaskingFile,
    OwnershipFile,
    PushFile,
    WidgetFile,
    WidgetRole,
    default_ownership,
)

__all__ = ["FILES", "MappingError", "Mappings", "load_mappings"]

T = TypeVar("T")


class MappingError(Exception):
    """A mapping file is missing or invalid; the message names the file, the key and the fix."""


class Mappings(msgspec.Struct, frozen=True, kw_only=True):
    markets: MarketsFile
    carriers: CarriersFile = msgspec.field(default_factory=CarriersFile)
    custom_fields: CustomFieldsFile = msgspec.field(default_factory=CustomFieldsFile)
    masking: MaskingFile = msgspec.field(default_factory=MaskingFile)
    links: LinksFile = msgspec.field(
        default_factory=lambda: LinksFile(kinds={"ticket": LinkKindRule(pattern=r"[0-9]{1,19}")})
    )
    cache: CacheFile = msgspec.field(default_factory=CacheFile)
    limits: LimitsFile = msgspec.field(default_factory=LimitsFile)
    widget: WidgetFile = msgspec.field(
        default_factory=lambda: WidgetFile(
            roles={"agent": WidgetRole(scopes=["orders:read", "customers:read", "links:write"])}
        )
    )
    ownership: OwnershipFile = msgspec.field(default_factory=default_ownership)
    push: PushFile | None = None
    """``None`` only for a Mappings built in code without a push target (the pusher then refuses to start)."""


# File name -> (Mappings field, Struct). Every file is required: an absent file is more likely a
# deployment mistake than an intent to show no tracking links or custom fields.
FILES: dict[str, tuple[str, type[msgspec.Struct]]] = {
    "markets.toml": ("markets", MarketsFile),
    "carriers.toml": ("carriers", CarriersFile),
    "custom-fields.toml": ("custom_fields", CustomFieldsFile),
    "links.toml": ("links", LinksFile),
    "masking.toml": ("masking", MaskingFile),
    "push.toml": ("push", PushFile),
    "cache.toml": ("cache", CacheFile),
    "limits.toml": ("limits", LimitsFile),
    "widget.toml": ("widget", WidgetFile),
    "ownership.toml": ("ownership", OwnershipFile),
}

_UNKNOWN = re.compile(r"Object contains unknown field `(?P<key>[^`]+)`")
_MISSING = re.compile(r"Object missing required field `(?P<key>[^`]+)`")
_AT = re.compile(r" - at `\$(?P<at>[^`]*)`$")


def _dotted(at: str) -> str:
    """``.stores['de-store'].locale`` -> ``stores.de-store.locale``."""
    return re.sub(r"\['([^']*)'\]", r".\1", at).lstrip(".")


def _struct_at(root: type[msgspec.Struct], location: str) -> mi.StructType | None:
    """The Struct that sits at a dotted location of a file, to list the keys allowed there."""
    info: mi.Type = mi.type_info(root)
    parts = [p for p in location.split(".") if p]
    while parts:
        if isinstance(info, mi.StructType):
            field = next((f for f in info.fields if f.encode_name == parts[0]), None)
            if field is None:
                return None
            info = field.type
        elif isinstance(info, mi.DictType):
            info = info.value_type
        else:
            return None
        parts.pop(0)
    return info if isinstance(info, mi.StructType) else None


def _explain(path: Path, root: type[msgspec.Struct], exc: msgspec.MsgspecError, prefix: str = "") -> MappingError:
    message = str(exc)
    at_match = _AT.search(message)
    location = ".".join(p for p in (prefix, _dotted(at_match["at"]) if at_match else "") if p)
    problem = message[: at_match.start()] if at_match else message
    if match := _UNKNOWN.search(problem):
        key = f"{location}.{match['key']}".lstrip(".")
        struct = _struct_at(root, location)
        allowed = ", ".join(f.encode_name for f in struct.fields) if struct else "see the file's header"
        return MappingError(f"{path}: unknown key '{key}'; fix: remove or rename it (allowed here: {allowed})")
    if match := _MISSING.search(problem):
        key = f"{location}.{match['key']}".lstrip(".")
        return MappingError(f"{path}: missing key '{key}'; fix: add it")
    return MappingError(f"{path}: invalid value at '{location or 'top level'}': {problem}; fix: correct the value")


def _named_tables(root: type[msgspec.Struct]) -> dict[str, Any]:
    """Top-level tables keyed by name (``stores.<key>``, ``order.<field>``) and their entry type."""
    info = mi.type_info(root)
    assert isinstance(info, mi.StructType)
    return {
        f.encode_name: f.type.value_type.cls
        for f in info.fields
        if isinstance(f.type, mi.DictType) and isinstance(f.type.value_type, mi.StructType)
    }


def _decode(path: Path, root: type[T]) -> T:
    assert issubclass(root, msgspec.Struct)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MappingError(f"{path}: file not found; fix: create it or point GATEWAY_MAPPINGS_DIR elsewhere") from None
    try:
        document = msgspec.toml.decode(raw)
    except msgspec.MsgspecError as exc:
        raise MappingError(f"{path}: not valid TOML ({exc}); fix: correct the syntax") from None
    # Named tables are converted entry by entry: msgspec reports a dict entry's location as "[...]",
    # and the operator needs to know *which* store or field is wrong.
    for table, rule_type in _named_tables(root).items():
        entries = document.get(table) if isinstance(document, dict) else None
        if isinstance(entries, dict):
            for name, entry in entries.items():
                try:
                    msgspec.convert(entry, rule_type)
                except msgspec.MsgspecError as exc:
                    raise _explain(path, root, exc, f"{table}.{name}") from None
    try:
        return msgspec.convert(document, root)
    except msgspec.MsgspecError as exc:
        raise _explain(path, root, exc) from None


def load_mappings(directory: Path) -> Mappings:
    """Decode and validate every mapping file; raise :class:`MappingError` on the first problem."""
    if directory.is_dir():
        for stray in sorted(p.name for p in directory.glob("*.toml") if p.name not in FILES):
            raise MappingError(
                f"{directory / stray}: unknown mapping file; fix: rename it to one of {', '.join(sorted(FILES))}"
            )
    decoded = {field: _decode(directory / name, root) for name, (field, root) in FILES.items()}
    return msgspec.convert(decoded, Mappings, from_attributes=True)
