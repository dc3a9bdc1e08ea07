"""Load and validate every file in the mappings directory once, at start-up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

import msgspec

from app.mapping.schema import MarketRule, MarketsFile

__all__ = ["MappingError", "Mappings", "load_mappings"]

T = TypeVar("T")


class MappingError(Exception):
    """A mapping file is missing or invalid; the message names the file, the key and the fix."""


class Mappings(msgspec.Struct, frozen=True):
    markets: MarketsFile


_UNKNOWN = re.compile(r"Object contains unknown field `(?P<key>[^`]+)`")
_MISSING = re.compile(r"Object missing required field `(?P<key>[^`]+)`")
_AT = re.compile(r" - at `\$(?P<at>[^`]*)`$")
# Which Struct lives at which dotted location, to list the allowed keys in the error.
_STRUCT_AT: dict[str, type[msgspec.Struct]] = {"": MarketsFile, "default": MarketRule, "stores.*": MarketRule}


_NAMED_TABLES: dict[type, dict[str, type[msgspec.Struct]]] = {MarketsFile: {"stores": MarketRule}}


def _dotted(at: str) -> str:
    """``.stores['de-store'].locale`` -> ``stores.de-store.locale``."""
    return re.sub(r"\['([^']*)'\]", r".\1", at).lstrip(".")


def _allowed_keys(location: str) -> str:
    pattern = re.sub(r"^stores\.[^.]+", "stores.*", location)
    struct = _STRUCT_AT.get(pattern)
    return ", ".join(f.encode_name for f in msgspec.structs.fields(struct)) if struct else "see the file's header"


def _explain(path: Path, exc: msgspec.MsgspecError, prefix: str = "") -> MappingError:
    message = str(exc)
    at_match = _AT.search(message)
    location = ".".join(p for p in (prefix, _dotted(at_match["at"]) if at_match else "") if p)
    problem = message[: at_match.start()] if at_match else message
    where = location or "top level"
    if match := _UNKNOWN.search(problem):
        key = f"{location}.{match['key']}".lstrip(".")
        return MappingError(
            f"{path}: unknown key '{key}'; fix: remove or rename it (allowed here: {_allowed_keys(location)})"
        )
    if match := _MISSING.search(problem):
        key = f"{location}.{match['key']}".lstrip(".")
        return MappingError(f"{path}: missing key '{key}'; fix: add it")
    return MappingError(f"{path}: invalid value at '{where}': {problem}; fix: correct the value")


def _decode(path: Path, type_: type[T]) -> T:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MappingError(f"{path}: file not found; fix: create it or point GATEWAY_MAPPINGS_DIR elsewhere") from None
    try:
        document = msgspec.toml.decode(raw)
    except msgspec.MsgspecError as exc:
        raise MappingError(f"{path}: not valid TOML ({exc}); fix: correct the syntax") from None
    # Tables keyed by name (stores.<key>) are converted one by one: msgspec reports a dict entry's
    # location as "[...]", and the operator needs to know *which* store is wrong.
    for table, rule_type in _NAMED_TABLES.get(type_, {}).items():
        entries = document.get(table) if isinstance(document, dict) else None
        if isinstance(entries, dict):
            for name, entry in entries.items():
                try:
                    msgspec.convert(entry, rule_type)
                except msgspec.MsgspecError as exc:
                    raise _explain(path, exc, f"{table}.{name}") from None
    try:
        return msgspec.convert(document, type_)
    except msgspec.MsgspecError as exc:
        raise _explain(path, exc) from None


def load_mappings(directory: Path) -> Mappings:
    """Decode and validate every mapping file; raise :class:`MappingError` on the first problem."""
    known = {"markets.toml"}
    if directory.is_dir():
        for stray in sorted(p.name for p in directory.glob("*.toml") if p.name not in known):
            raise MappingError(
                f"{directory / stray}: unknown mapping file; fix: rename it to one of {', '.join(sorted(known))}"
            )
    return Mappings(markets=_decode(directory / "markets.toml", MarketsFile))
