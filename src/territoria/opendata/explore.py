"""The explore language: a small, safe query language over a release's public table.

Four query parameters, each parsed on its own (positions in errors count characters from 1):

``select``   items separated by commas; each item is an expression, optionally ``as alias``.
             Default: every column; with ``group_by`` and no ``select``: the group keys and
             ``count(*) as count``.
``where``    a condition: ``and``, ``or``, ``not``, parentheses, and predicates on an operand
             (a column or a date function of one):
             ``= != <> < <= > >=`` a literal, ``[not] in (literal, …)``, ``[not] like 'pattern'``
             (``%`` any text, ``_`` one character), ``is [not] null``, or a bare boolean column.
``group_by`` operands or select aliases separated by commas; every select item that is not an
             aggregate must then be a group key.
``order_by`` expressions or select aliases, each optionally followed by ``asc`` or ``desc``.

Expressions:

- a column name (letters, digits, ``_``; not starting with a digit);
- a date function ``year(col)``, ``month(col)``, ``day(col)``, ``hour(col)``: the start of the
  year/month/day/hour holding the value (UTC timestamp), so grouping by ``month(period)`` groups by month;
- an aggregate ``count(*)``, ``count(col)``, ``sum(col)``, ``avg(col)``, ``min(col)``, ``max(col)``.

Literals: ``'text'`` (a quote inside is doubled: ``'l''Escarène'``), integers, decimals (``-1.5``,
``2e3``), ``true``, ``false``. Datetime columns and date functions compare with ISO 8601 strings,
partial ones allowed (``'2024'``, ``'2024-03'``, ``'2024-03-05'``, ``'2024-03-05T10:00:00Z'``; no
zone means UTC); ``year(col)`` also compares with an integer year. Null is tested with ``is null``.
Keywords are case-insensitive; column names are not. Default names of computed items: ``count`` for
``count(*)``, ``{function}_{column}`` otherwise (``sum_energy_kwh_sum``).

Names in ``group_by`` and ``order_by`` mean a select alias (or the default name of a computed item)
first, then a column. Grouped results are ordered by ``order_by`` and then by the group keys, so pages
are stable; ungrouped results keep the file's order unless ``order_by`` says otherwise. Nulls sort last.
Aggregates skip nulls (a secret cell's measure is null). Comparisons with null are never true: ``!=``
does not match rows where the column is null (totals have a null ``area_code``).

This module turns text into a small tree and types its literals; `opendata.query.compile_query` turns
the tree into SQLAlchemy Core expressions over column objects of the release's known columns, with every
literal a bound parameter. No SQL text is ever built from the input.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

from territoria.dates import MAX_YEAR, MIN_YEAR, check_instant
from territoria.errors import DomainError, Invalid, Unparseable

MAX_EXPRESSION = 2000
DATE_FUNCTIONS = frozenset({"year", "month", "day", "hour"})
AGGREGATES = frozenset({"count", "sum", "avg", "min", "max"})
KEYWORDS = frozenset({"and", "or", "not", "in", "like", "is", "null", "true", "false", "as", "asc", "desc"})
COMPARISONS = ("<=", ">=", "!=", "<>", "=", "<", ">")
Field = Literal["select", "where", "group_by", "order_by"]
# Parentheses and 'not's one condition may nest: the parser and the SQL compiler recurse once per level,
# and a few hundred levels exhaust Python's stack (RecursionError, a 500).
MAX_DEPTH = 50


class QueryRejected(DomainError):
    """A well-formed explore query that cannot run (unknown column, type mismatch, grouping)."""


# -- tokens -------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),*\-])""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    """One token: kind (name, keyword, number, string, op, punct, end), text, value, 1-based position."""

    kind: str
    text: str
    pos: int
    value: Any = None


def _syntax(field: Field, message: str, pos: int) -> Unparseable:
    """A syntax error with its position, in the problem+json `errors` shape."""
    text = f"{field}: {message} at position {pos}"
    return Unparseable(text, errors=[{"field": field, "position": pos, "code": "SYNTAX", "message": text}])


def _string(field: Field, text: str, start: int) -> tuple[Token, int]:
    """The single-quoted string starting at `start` (0-based); '' is a quote."""
    i, parts = start + 1, []
    while True:
        end = text.find("'", i)
        if end < 0:
            raise _syntax(field, "unterminated string: close it with a single quote", start + 1)
        parts.append(text[i:end])
        if text.startswith("''", end):
            parts.append("'")
            i = end + 2
            continue
        return Token("string", text[start : end + 1], start + 1, "".join(parts)), end + 1


def tokenize(field: Field, text: str) -> list[Token]:
    """The tokens of one parameter, ending with an `end` token."""
    if len(text) > MAX_EXPRESSION:
        message = f"{field}: expression of {len(text)} characters exceeds {MAX_EXPRESSION}; simplify it"
        raise QueryRejected(message, errors=[{"field": field, "code": "TOO_LONG", "message": message}])
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        if text[i] == "'":
            token, i = _string(field, text, i)
            tokens.append(token)
            continue
        m = _TOKEN.match(text, i)
        if m is None:
            hint = ": strings use single quotes" if text[i] == '"' else ""
            raise _syntax(field, f"unexpected character {text[i]!r}{hint}", i + 1)
        kind, word = m.lastgroup or "", m.group()
        if kind == "name" and word.lower() in KEYWORDS:
            tokens.append(Token("keyword", word, i + 1, word.lower()))
        elif kind == "number":
            is_int = word.isdigit()
            tokens.append(Token("number", word, i + 1, int(word) if is_int else float(word)))
        elif kind != "space":
            tokens.append(Token(kind, word, i + 1, word))
        i = m.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


# -- syntax tree --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Col:
    """A column (or, in group_by and order_by, possibly a select alias)."""

    name: str
    pos: int


@dataclass(frozen=True)
class DateFn:
    """year/month/day/hour(column): start of the period holding the value."""

    fn: str
    arg: Col
    pos: int


@dataclass(frozen=True)
class Agg:
    """An aggregate; arg None is count(*)."""

    fn: str
    arg: Col | None
    pos: int


Expr: TypeAlias = Col | DateFn | Agg
Operand: TypeAlias = Col | DateFn


@dataclass(frozen=True)
class Lit:
    """A literal: kind string, integer, number or boolean."""

    value: Any
    kind: str
    pos: int


@dataclass(frozen=True)
class Compare:
    """operand op literal."""

    op: str
    left: Operand
    right: Lit
    pos: int


@dataclass(frozen=True)
class InList:
    """operand [not] in (literals)."""

    left: Operand
    values: tuple[Lit, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class Like:
    """operand [not] like 'pattern'."""

    left: Operand
    pattern: Lit
    negated: bool
    pos: int


@dataclass(frozen=True)
class IsNull:
    """operand is [not] null."""

    left: Operand
    negated: bool
    pos: int


@dataclass(frozen=True)
class Truth:
    """A bare boolean column used as a condition."""

    left: Operand
    pos: int


@dataclass(frozen=True)
class BoolOp:
    """and / or over two or more conditions."""

    op: str
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Not:
    """not condition."""

    item: Cond


Cond: TypeAlias = Compare | InList | Like | IsNull | Truth | BoolOp | Not


@dataclass(frozen=True)
class SelectItem:
    """An expression and its optional alias."""

    expr: Expr
    alias: str | None


@dataclass(frozen=True)
class OrderItem:
    """An expression (or select alias) and its direction."""

    expr: Expr
    descending: bool


@dataclass(frozen=True)
class ExploreRequest:
    """The four parsed parameters (None: not given)."""

    select: tuple[SelectItem, ...] | None = None
    where: Cond | None = None
    group_by: tuple[Expr, ...] | None = None
    order_by: tuple[OrderItem, ...] | None = None


# -- parser -------------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the tokens of one parameter."""

    def __init__(self, field: Field, text: str) -> None:
        self.field = field
        self.tokens = tokenize(field, text)
        self.i = 0
        self.depth = 0  # open parentheses and 'not's around the current condition

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def accept(self, kind: str, value: Any) -> Token | None:
        if self.tok.kind == kind and self.tok.value == value:
            return self.advance()
        return None

    def fail(self, expected: str, after: Token | None = None) -> Unparseable:
        got = "the end" if self.tok.kind == "end" else repr(self.tok.text)
        where = f" after {after.text!r}" if after is not None and after.text else ""
        return _syntax(self.field, f"expected {expected}{where}, found {got}", self.tok.pos)

    def expect(self, kind: str, value: Any, expected: str, after: Token | None = None) -> Token:
        token = self.accept(kind, value)
        if token is None:
            raise self.fail(expected, after)
        return token

    def end(self) -> None:
        if self.tok.kind != "end":
            what = "',' or the end" if self.field != "where" else "'and', 'or' or the end"
            raise self.fail(what)

    def items(self, parse_one: Callable[[], Any]) -> tuple[Any, ...]:
        """Comma-separated items up to the end."""
        out = [parse_one()]
        while self.accept("punct", ","):
            out.append(parse_one())
        self.end()
        return tuple(out)

    # expressions

    def expr(self) -> Expr:
        if self.tok.kind != "name":
            raise self.fail("a column name or a function")
        name = self.advance()
        if not self.accept("punct", "("):
            return Col(name.text, name.pos)
        fn = name.text.lower()
        if fn not in AGGREGATES | DATE_FUNCTIONS:
            known = ", ".join(sorted(AGGREGATES | DATE_FUNCTIONS))
            raise _syntax(self.field, f"unknown function {name.text!r} (known: {known})", name.pos)
        arg: Col | None
        if fn == "count" and self.accept("punct", "*"):
            arg = None
        elif self.tok.kind == "name":
            token = self.advance()
            arg = Col(token.text, token.pos)
        else:
            raise self.fail("a column name" + (" or '*'" if fn == "count" else ""), name)
        self.expect("punct", ")", "')'")
        if fn in DATE_FUNCTIONS:
            assert arg is not None
            return DateFn(fn, arg, name.pos)
        return Agg(fn, arg, name.pos)

    def operand(self) -> Operand:
        expr = self.expr()
        if isinstance(expr, Agg):
            raise _syntax(
                self.field, f"aggregate {expr.fn}() cannot be used in where (it filters rows)", expr.pos
            )
        return expr

    def select_item(self) -> SelectItem:
        expr = self.expr()
        if as_ := self.accept("keyword", "as"):
            if self.tok.kind != "name":
                raise self.fail("an alias (letters, digits, '_')", as_)
            return SelectItem(expr, self.advance().text)
        return SelectItem(expr, None)

    def order_item(self) -> OrderItem:
        expr = self.expr()
        if self.accept("keyword", "desc"):
            return OrderItem(expr, True)
        self.accept("keyword", "asc")
        return OrderItem(expr, False)

    # conditions

    def disjunction(self) -> Cond:
        items = [self.conjunction()]
        while self.accept("keyword", "or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def conjunction(self) -> Cond:
        items = [self.negation()]
        while self.accept("keyword", "and"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def negation(self) -> Cond:
        if self.tok.kind in ("keyword", "punct") and self.tok.value in ("not", "("):
            return self.nested()
        return self.predicate()

    def nested(self) -> Cond:
        """A 'not' or a parenthesised condition, refused past MAX_DEPTH levels (recursion is bounded)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _syntax(
                self.field,
                f"conditions are nested more than {MAX_DEPTH} levels deep (parentheses and 'not'): "
                f"simplify the expression / conditions imbriquées sur plus de {MAX_DEPTH} niveaux : "
                "simplifiez l'expression",
                self.tok.pos,
            )
        try:
            if self.accept("keyword", "not"):
                return Not(self.negation())
            opening = self.advance()
            inner = self.disjunction()
            self.expect("punct", ")", "')' to close the '(' at position " + str(opening.pos))
            return inner
        finally:
            self.depth -= 1

    def predicate(self) -> Cond:
        left = self.operand()
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            if tok.text == "<>":
                tok = Token("op", "!=", tok.pos, "!=")
            if self.tok.kind == "keyword" and self.tok.value == "null":
                raise _syntax(self.field, "compare with null using 'is null' or 'is not null'", tok.pos)
            return Compare(tok.text, left, self.literal(tok), tok.pos)
        if self.accept("keyword", "is"):
            negated = self.accept("keyword", "not") is not None
            self.expect("keyword", "null", "'null'", tok)
            return IsNull(left, negated, tok.pos)
        negated = self.accept("keyword", "not") is not None
        if in_ := self.accept("keyword", "in"):
            opening = self.expect("punct", "(", "'('", in_)
            values = [self.literal(opening)]
            while comma := self.accept("punct", ","):
                values.append(self.literal(comma))
            self.expect("punct", ")", "',' or ')'")
            return InList(left, tuple(values), negated, tok.pos)
        if like := self.accept("keyword", "like"):
            if self.tok.kind != "string":
                raise self.fail("a quoted pattern", like)
            return Like(left, self.literal(like), negated, tok.pos)
        if negated:
            raise self.fail("'in' or 'like'", self.tokens[self.i - 1])
        return Truth(left, left.pos)

    def literal(self, after: Token) -> Lit:
        tok = self.tok
        if tok.kind in ("string", "number"):
            self.advance()
            return Lit(tok.value, "string" if tok.kind == "string" else _number_kind(tok.value), tok.pos)
        if tok.kind == "keyword" and tok.value in ("true", "false"):
            self.advance()
            return Lit(tok.value == "true", "boolean", tok.pos)
        if tok.kind == "punct" and tok.text == "-" and self.tokens[self.i + 1].kind == "number":
            self.advance()
            value = -self.advance().value
            return Lit(value, _number_kind(value), tok.pos)
        raise self.fail("a value", after)


def _number_kind(value: int | float) -> str:
    """Literal kind of a parsed number."""
    return "integer" if isinstance(value, int) else "number"


def parse_select(text: str) -> tuple[SelectItem, ...]:
    """The items of a select parameter."""
    parser = _Parser("select", text)
    return parser.items(parser.select_item)


def parse_where(text: str) -> Cond:
    """The condition of a where parameter."""
    parser = _Parser("where", text)
    cond = parser.disjunction()
    parser.end()
    return cond


def parse_group_by(text: str) -> tuple[Expr, ...]:
    """The keys of a group_by parameter."""
    parser = _Parser("group_by", text)
    return parser.items(parser.expr)


def parse_order_by(text: str) -> tuple[OrderItem, ...]:
    """The items of an order_by parameter."""
    parser = _Parser("order_by", text)
    return parser.items(parser.order_item)


def _given(text: str | None) -> bool:
    return text is not None and text.strip() != ""


def parse_request(
    select: str | None = None,
    where: str | None = None,
    group_by: str | None = None,
    order_by: str | None = None,
) -> ExploreRequest:
    """Parse the four parameters (empty or missing ones are absent); Unparseable on a syntax error."""
    return ExploreRequest(
        select=parse_select(select) if select is not None and _given(select) else None,
        where=parse_where(where) if where is not None and _given(where) else None,
        group_by=parse_group_by(group_by) if group_by is not None and _given(group_by) else None,
        order_by=parse_order_by(order_by) if order_by is not None and _given(order_by) else None,
    )


# -- literal values -----------------------------------------------------------------------------------

_PARTIAL = re.compile(r"^\d{4}(-\d{2})?$")
COMPARE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def parse_instant(text: str) -> datetime | None:
    """An ISO 8601 date or datetime, partial allowed ('2024', '2024-03'); naive means UTC; None if invalid."""
    raw = text.strip()
    if _PARTIAL.match(raw):
        raw = raw + "-01" * (3 - len(raw.split("-")))
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    try:
        return check_instant(value, "date")
    except Invalid:  # years near 1 or 9999 overflow once a zone is applied: refused like a malformed date
        return None


def rejected(field: Field, code: str, message: str, pos: int | None) -> QueryRejected:
    """A QueryRejected error whose errors list names the parameter and position."""
    text = f"{field}: {message}" + (f" at position {pos}" if pos is not None else "")
    entry: dict[str, Any] = {"field": field, "code": code, "message": text}
    if pos is not None:
        entry["position"] = pos
    return QueryRejected(text, errors=[entry])


def literal_value(field: Field, col_type: str, lit: Lit, *, year_fn: bool = False) -> Any:
    """The Python value to bind for a literal compared with an operand of `col_type`."""
    kind = lit.kind
    if col_type in ("integer", "number") and kind in ("integer", "number"):
        if kind == "integer" and not -(2**63) < lit.value < 2**63:
            raise rejected(field, "TYPE", f"{lit.value} is out of the 64-bit integer range", lit.pos)
        return lit.value
    if col_type == "string" and kind == "string":
        return lit.value
    if col_type == "boolean" and kind == "boolean":
        return lit.value
    if col_type in ("datetime", "date"):
        if year_fn and kind == "integer" and MIN_YEAR <= lit.value <= MAX_YEAR:
            value: datetime | None = datetime(lit.value, 1, 1, tzinfo=UTC)
        else:
            value = parse_instant(lit.value) if kind == "string" else None
        if value is None:
            example = "'2024', '2024-03', '2024-03-05' or '2024-03-05T10:00:00Z'"
            raise rejected(field, "TYPE", f"expected an ISO 8601 date or datetime such as {example}", lit.pos)
        return value.date() if col_type == "date" else value
    hint = {
        "string": "quote the value, e.g. '06088'",
        "integer": "give a number without quotes",
        "number": "give a number without quotes",
        "boolean": "use true or false",
    }.get(col_type, "")
    raise rejected(field, "TYPE", f"a {col_type} operand cannot be compared with a {kind}: {hint}", lit.pos)


def key_of(expr: Expr) -> tuple[str, ...]:
    """A structural key: equal keys mean the same expression."""
    if isinstance(expr, Col):
        return ("col", expr.name)
    if isinstance(expr, DateFn):
        return ("fn", expr.fn, expr.arg.name)
    return ("agg", expr.fn, expr.arg.name if expr.arg else "*")


def default_name(expr: Expr) -> str:
    """Output name of an item without alias."""
    if isinstance(expr, Col):
        return expr.name
    if isinstance(expr, Agg) and expr.arg is None:
        return "count"
    assert expr.arg is not None
    return f"{expr.fn}_{expr.arg.name}"


def column_names(items: Sequence[SelectItem]) -> list[str]:
    """Output names of select items."""
    return [item.alias or default_name(item.expr) for item in items]
