"""The commercetools query-predicate language (`where=`), parsed and evaluated without `eval`.

Supported, as commercetools documents it:

- comparisons `= != <> < <= > >=` against string, number and boolean literals or `:name` inputs;
- `in (...)`, `not in (...)` and `in :name` (an input given several times is a list);
- `is defined`, `is not defined`, `is empty`, `is not empty`;
- `and`, `or`, `not(...)` and parentheses (`and` binds tighter than `or`);
- nested predicates on objects and arrays, `shippingInfo(deliveries(parcels(trackingData(trackingId = "1Z"))))`:
  an array matches when any element matches, at every level.

String compares are exact and case-sensitive (commercetools compares `customerEmail` exactly; a gateway
that wants case-insensitive email lookups has to normalise itself). Timestamps (`createdAt >= "…"`) are
compared as instants, so `"2026-06-01T00:00:00Z"` and `"2026-06-01T00:00:00.000Z"` are the same moment
and an offset such as `+02:00` counts; a timestamp without offset is read as UTC.

Knowing deviations: field names are not validated against the resource schema (commercetools answers
400 for unknown fields, the sandbox simply finds nothing), literal types are not checked against field
types (a mismatch finds nothing instead of 400), and `contains`, `within` and full-text operators are
not implemented (they are a syntax error here).
"""

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

MAX_NESTING: Final = 64

# ---------------------------------------------------------------------------------------------------
# AST


class Variable(msgspec.Struct, frozen=True):
    """`:name`, resolved from the `var.name` query parameter before evaluation."""

    name: str


class Input(msgspec.Struct, frozen=True):
    """A bound `var.*` value: always text on the wire, read as the type of the field it is compared to."""

    text: str


Literal = str | int | float | bool
Value = Literal | Variable | Input


class Compare(msgspec.Struct, frozen=True):
    field: str
    op: str
    value: Value


class In(msgspec.Struct, frozen=True):
    field: str
    values: tuple[Value, ...] | Variable
    negated: bool = False


class Defined(msgspec.Struct, frozen=True):
    field: str
    negated: bool = False


class Empty(msgspec.Struct, frozen=True):
    field: str
    negated: bool = False


class Nested(msgspec.Struct, frozen=True):
    field: str
    inner: "Predicate"


class And(msgspec.Struct, frozen=True):
    items: tuple["Predicate", ...]


class Or(msgspec.Struct, frozen=True):
    items: tuple["Predicate", ...]


class Not(msgspec.Struct, frozen=True):
    inner: "Predicate"


Predicate = Compare | In | Defined | Empty | Nested | And | Or | Not


class PredicateSyntaxError(ValueError):
    """The text is not a predicate; `str()` is commercetools' wording, to follow `Malformed parameter: where: `."""


class PredicateInputError(ValueError):
    """A `:name` input is missing or used as a single value while given several times."""


# ---------------------------------------------------------------------------------------------------
# Tokens

_OPERATORS: Final = ("!=", "<>", "<=", ">=", "=", "<", ">")
_ESCAPES: Final = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_KEYWORDS: Final = frozenset({"and", "or", "not", "in", "is", "defined", "empty", "true", "false"})


class _Token(msgspec.Struct, frozen=True):
    kind: str  # ident, string, number, var, op, "(", ")", ",", eof
    text: str
    position: int
    value: Any = None


def _is_digit(char: str) -> bool:
    # Not str.isdigit: that accepts "¹" and other Unicode digits int() refuses.
    return "0" <= char <= "9"


def _is_ident_start(char: str) -> bool:
    return char.isascii() and (char.isalpha() or char == "_")


def _is_ident_char(char: str) -> bool:
    # Hyphens appear in locale keys (`name(de-CH = "…")`) and custom field names.
    return char.isascii() and (char.isalnum() or char in "_-")


class _Lexer:
    def __init__(self, text: str, parameter: str) -> None:
        self.text = text
        self.parameter = parameter
        self.pos = 0

    def error(self, detail: str, position: int) -> PredicateSyntaxError:
        return syntax_error(self.text, self.parameter, detail, position)

    def tokens(self) -> list[_Token]:
        result: list[_Token] = []
        while True:
            token = self._next()
            result.append(token)
            if token.kind == "eof":
                return result

    def _next(self) -> _Token:
        text = self.text
        while self.pos < len(text) and text[self.pos].isspace():
            self.pos += 1
        start = self.pos
        if start >= len(text):
            return _Token("eof", "", start)
        char = text[start]
        if char in "(),":
            self.pos += 1
            return _Token(char, char, start)
        if char == '"':
            return self._string()
        for op in _OPERATORS:
            if text.startswith(op, start):
                self.pos += len(op)
                return _Token("op", op, start)
        if char == ":":
            self.pos += 1
            if self.pos >= len(text) or not _is_ident_start(text[self.pos]):
                raise self.error("Expected an input variable name after ':'", self.pos)
            name = self._take_while(_is_ident_char)
            return _Token("var", ":" + name, start, name)
        if _is_digit(char) or (char == "-" and start + 1 < len(text) and _is_digit(text[start + 1])):
            return self._number()
        if _is_ident_start(char):
            word = self._take_while(_is_ident_char)
            return _Token("ident", word, start, word)
        raise self.error(f"Unexpected character '{char}'", start)

    def _take_while(self, accept: Any) -> str:
        start = self.pos
        while self.pos < len(self.text) and accept(self.text[self.pos]):
            self.pos += 1
        return self.text[start : self.pos]

    def _number(self) -> _Token:
        start = self.pos
        if self.text[self.pos] == "-":
            self.pos += 1
        self._take_while(_is_digit)
        is_float = False
        if self.pos < len(self.text) and self.text[self.pos] == ".":
            self.pos += 1
            if not self._take_while(_is_digit):
                raise self.error("Expected digits after '.'", self.pos)
            is_float = True
        if self.pos < len(self.text) and self.text[self.pos] in "eE":
            self.pos += 1
            if self.pos < len(self.text) and self.text[self.pos] in "+-":
                self.pos += 1
            if not self._take_while(_is_digit):
                raise self.error("Expected an exponent", self.pos)
            is_float = True
        raw = self.text[start : self.pos]
        if self.pos < len(self.text) and _is_ident_start(self.text[self.pos]):
            raise self.error(f"Unexpected character '{self.text[self.pos]}'", self.pos)
        value: int | float = float(raw) if is_float else int(raw)
        return _Token("number", raw, start, value)

    def _string(self) -> _Token:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                raise self.error("Unterminated string literal", start)
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                return _Token("string", text[start : self.pos], start, "".join(out))
            if char != "\\":
                out.append(char)
                self.pos += 1
                continue
            escape = text[self.pos + 1 : self.pos + 2]
            if escape in _ESCAPES:
                out.append(_ESCAPES[escape])
                self.pos += 2
            elif escape == "u":
                digits = text[self.pos + 2 : self.pos + 6]
                if len(digits) != 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
                    raise self.error("Invalid unicode escape", self.pos)
                out.append(chr(int(digits, 16)))
                self.pos += 6
            else:
                raise self.error("Invalid escape sequence", self.pos)


def syntax_error(text: str, parameter: str, detail: str, position: int) -> PredicateSyntaxError:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return PredicateSyntaxError(
        f"Syntax error while parsing '{parameter}'. {detail} (line {line}, column {column}):{text}"
    )


# ---------------------------------------------------------------------------------------------------
# Parser


class _Parser:
    def __init__(self, text: str, parameter: str) -> None:
        self.lexer = _Lexer(text, parameter)
        self.tokens = self.lexer.tokens()
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def peek(self, offset: int = 1) -> _Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.current
        if token.kind != "eof":
            self.index += 1
        return token

    def is_word(self, word: str, token: _Token | None = None) -> bool:
        token = token or self.current
        return token.kind == "ident" and token.text == word

    def expect(self, kind: str, description: str) -> _Token:
        if self.current.kind != kind:
            raise self.unexpected(description)
        return self.advance()

    def unexpected(self, expected: str) -> PredicateSyntaxError:
        token = self.current
        found = "end of input" if token.kind == "eof" else f"input '{token.text}'"
        return self.lexer.error(f"Unexpected {found}, expected {expected}", token.position)

    def parse(self) -> Predicate:
        if self.current.kind == "eof":
            raise self.unexpected("a predicate")
        predicate = self.parse_or()
        if self.current.kind != "eof":
            raise self.unexpected("'and', 'or' or end of input")
        return predicate

    def parse_or(self) -> Predicate:
        items = [self.parse_and()]
        while self.is_word("or"):
            self.advance()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Predicate:
        items = [self.parse_unary()]
        while self.is_word("and"):
            self.advance()
            items.append(self.parse_unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_unary(self) -> Predicate:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.lexer.error("Predicate nested too deeply", self.current.position)
        try:
            if self.is_word("not") and self.peek().kind == "(":
                self.advance()
                return Not(self.parse_group())
            if self.current.kind == "(":
                return self.parse_group()
            return self.parse_field()
        finally:
            self.depth -= 1

    def parse_group(self) -> Predicate:
        self.expect("(", "'('")
        inner = self.parse_or()
        self.expect(")", "')', 'and' or 'or'")
        return inner

    def parse_field(self) -> Predicate:
        token = self.current
        if token.kind != "ident" or token.text in _KEYWORDS:
            raise self.unexpected("a field name, 'not' or '('")
        field = self.advance().text
        current = self.current
        if current.kind == "(":
            return Nested(field, self.parse_group())
        if current.kind == "op":
            op = self.advance().text
            return Compare(field, op, self.parse_value())
        if self.is_word("in"):
            self.advance()
            return In(field, self.parse_in_values())
        if self.is_word("not") and self.is_word("in", self.peek()):
            self.advance()
            self.advance()
            return In(field, self.parse_in_values(), negated=True)
        if self.is_word("is"):
            self.advance()
            negated = self.is_word("not")
            if negated:
                self.advance()
            if self.is_word("defined"):
                self.advance()
                return Defined(field, negated)
            if self.is_word("empty"):
                self.advance()
                return Empty(field, negated)
            raise self.unexpected("'defined' or 'empty'")
        raise self.unexpected("comparison operator, not, in, is or '('")

    def parse_value(self) -> Value:
        token = self.current
        if token.kind in ("string", "number"):
            self.advance()
            value: Value = token.value
            return value
        if token.kind == "var":
            self.advance()
            return Variable(token.value)
        if self.is_word("true") or self.is_word("false"):
            self.advance()
            return token.text == "true"
        raise self.unexpected("a string, number, boolean or :input")

    def parse_in_values(self) -> tuple[Value, ...] | Variable:
        if self.current.kind == "var":
            return Variable(self.advance().value)
        self.expect("(", "'(' or :input")
        values = [self.parse_value()]
        while self.current.kind == ",":
            self.advance()
            values.append(self.parse_value())
        self.expect(")", "',' or ')'")
        return tuple(values)


def parse_predicate(text: str, parameter: str = "where") -> Predicate:
    """Parse one `where` value. Raises `PredicateSyntaxError`."""
    return _Parser(text, parameter).parse()


def quote(value: str) -> str:
    """A string literal that parses back to exactly `value` (what a careful client sends)."""
    out = ['"']
    for char in value:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


# ---------------------------------------------------------------------------------------------------
# Input variables


def bind_variables(predicate: Predicate, variables: Mapping[str, Sequence[str]]) -> Predicate:
    """Replace every `:name` with its `var.name` values. Raises `PredicateInputError`."""

    def single(value: Value) -> Value:
        if not isinstance(value, Variable):
            return value
        given = variables.get(value.name)
        if not given:
            raise PredicateInputError(f"Missing value for input variable ':{value.name}'.")
        if len(given) > 1:
            raise PredicateInputError(f"Input variable ':{value.name}' has several values but one is expected.")
        return Input(given[0])

    def bind(node: Predicate) -> Predicate:
        match node:
            case Compare(field, op, value):
                return Compare(field, op, single(value))
            case In(field, Variable(name), negated):
                given = variables.get(name)
                if not given:
                    raise PredicateInputError(f"Missing value for input variable ':{name}'.")
                return In(field, tuple(Input(text) for text in given), negated)
            case In(field, values, negated):
                assert isinstance(values, tuple)
                return In(field, tuple(single(value) for value in values), negated)
            case Defined() | Empty():
                return node
            case Nested(field, inner):
                return Nested(field, bind(inner))
            case And(items):
                return And(tuple(bind(item) for item in items))
            case Or(items):
                return Or(tuple(bind(item) for item in items))
            case Not(inner):
                return Not(bind(inner))

    return bind(predicate)


# ---------------------------------------------------------------------------------------------------
# Evaluation


class _Missing:
    pass


_MISSING: Final = _Missing()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _coerce(expected: Value, actual: object) -> object:
    """Read a `var.*` text as the type of the field it meets, as commercetools types inputs by usage."""
    if not isinstance(expected, Input):
        return expected
    text = expected.text
    if isinstance(actual, bool):
        return {"true": True, "false": False}.get(text, text)
    if _is_number(actual):
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text
    return text


_TIMESTAMP: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _instant(text: str) -> datetime | None:
    if not _TIMESTAMP.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _instants(actual: object, expected: object) -> tuple[datetime, datetime] | None:
    """Both sides as instants when both are ISO-8601 timestamps, else None."""
    if not (isinstance(actual, str) and isinstance(expected, str)):
        return None
    left, right = _instant(actual), _instant(expected)
    return None if left is None or right is None else (left, right)


def _same(actual: object, expected: object) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual is expected
    if _is_number(actual) and _is_number(expected):
        return actual == expected
    if not (isinstance(actual, str) and isinstance(expected, str)):
        return False
    if actual == expected:
        return True
    instants = _instants(actual, expected)
    return instants is not None and instants[0] == instants[1]


_ORDERINGS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _ordered(actual: object, op: str, expected: object) -> bool:
    instants = _instants(actual, expected)
    if instants is not None:
        return _ORDERINGS[op](*instants)
    comparable = (_is_number(actual) and _is_number(expected)) or (
        isinstance(actual, str) and isinstance(expected, str)
    )
    return comparable and _ORDERINGS[op](actual, expected)


def _compare(actual: object, op: str, expected: Value) -> bool:
    if isinstance(actual, list):
        return any(_compare(item, op, expected) for item in actual)
    # Undefined fields match no comparison, `!=` included (ASSUMPTION: SQL-like three-valued logic).
    if actual is _MISSING or actual is None or isinstance(actual, dict):
        return False
    value = _coerce(expected, actual)
    if op == "=":
        return _same(actual, value)
    if op in ("!=", "<>"):
        return not _same(actual, value)
    return _ordered(actual, op, value)


def _member(actual: object, values: tuple[Value, ...]) -> bool:
    if isinstance(actual, list):
        return any(_member(item, values) for item in actual)
    return any(_same(actual, _coerce(value, actual)) for value in values)


def _field(resource: Mapping[str, Any], name: str) -> object:
    value = resource.get(name, _MISSING)
    return _MISSING if value is None else value


def evaluate(predicate: Predicate, resource: Mapping[str, Any]) -> bool:
    """Whether `resource` (a JSON object) matches. Inputs must be bound first."""
    match predicate:
        case Compare(field, op, value):
            return _compare(_field(resource, field), op, value)
        case In(field, values, negated):
            if isinstance(values, Variable):
                raise PredicateInputError(f"Unbound input variable ':{values.name}'.")
            actual = _field(resource, field)
            if actual is _MISSING:
                return False
            return _member(actual, values) != negated
        case Defined(field, negated):
            return (_field(resource, field) is not _MISSING) != negated
        case Empty(field, negated):
            actual = _field(resource, field)
            empty = actual is _MISSING or (isinstance(actual, list) and not actual)
            return empty != negated
        case Nested(field, inner):
            actual = _field(resource, field)
            if isinstance(actual, dict):
                return evaluate(inner, actual)
            if isinstance(actual, list):
                return any(isinstance(item, dict) and evaluate(inner, item) for item in actual)
            return False
        case And(items):
            return all(evaluate(item, resource) for item in items)
        case Or(items):
            return any(evaluate(item, resource) for item in items)
        case Not(inner):
            return not evaluate(inner, resource)
