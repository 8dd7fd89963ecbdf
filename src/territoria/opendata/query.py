"""Explore queries: the checked syntax tree compiled to SQLAlchemy Core, run by DuckDB over the release file.

DuckDB reads the release's Parquet file through `read_parquet(?)` with the path bound as a parameter;
statements are SQLAlchemy constructs compiled for the DuckDB dialect (`duckdb_engine`), so every value
from the caller travels as a bound parameter. One in-process DuckDB database is shared by all queries
(one cursor each) under a memory limit, spilling to a temporary directory past it.
"""

from __future__ import annotations

import queue
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from duckdb_engine import Dialect

from territoria.opendata.explore import (
    COMPARE_OPS,
    Agg,
    BoolOp,
    Col,
    Compare,
    Cond,
    DateFn,
    ExploreRequest,
    Expr,
    Field,
    InList,
    IsNull,
    Like,
    Not,
    QueryRejected,
    SelectItem,
    column_names,
    default_name,
    key_of,
    literal_value,
    rejected,
)
from territoria.opendata.tables import ReleaseTable

MEMORY_LIMIT = "256MB"
THREADS = 2
BATCH_ROWS = 65_536  # rows per record batch of a stream: memory stays flat, per-batch overhead small
DIALECT = Dialect(paramstyle="qmark")


# -- compiler: syntax tree → SQLAlchemy Core ---------------------------------------------------------

SA_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "string": sa.String(),
    "integer": sa.BigInteger(),
    "number": sa.Float(),
    "boolean": sa.Boolean(),
    "datetime": sa.DateTime(timezone=True),
    "date": sa.Date(),
}
TOTAL = "#total"  # window column carrying the row count of a grouped query (not a valid identifier)
Typed: TypeAlias = tuple[sa.ColumnElement[Any], str]
Key: TypeAlias = tuple[str, ...]


@dataclass(frozen=True)
class CompiledQuery:
    """A checked query: its statement (no limit), output names, and whether it groups rows."""

    statement: sa.Select[Any]
    names: tuple[str, ...]
    grouped: bool
    where: sa.ColumnElement[bool] | None
    source: sa.FromClause

    def page(self, limit: int, offset: int) -> sa.Select[Any]:
        """A page of the rows; a grouped page carries the number of groups in the TOTAL column."""
        statement = self.statement
        if self.grouped:  # counting groups in the same pass costs little once they are built
            statement = statement.add_columns(sa.func.count().over().label(TOTAL))
        return statement.limit(limit).offset(offset)

    def count(self) -> sa.Select[Any]:
        """The number of rows the query yields (before limit)."""
        if self.grouped:
            return sa.select(sa.func.count()).select_from(self.statement.order_by(None).subquery())
        count = sa.select(sa.func.count()).select_from(self.source)
        return count if self.where is None else count.where(self.where)


@dataclass
class _Item:
    """A resolved select item: its name, tree, expression and labelled column."""

    name: str
    node: Expr
    sql: sa.ColumnElement[Any]
    label: sa.Label[Any]
    aliased: bool  # named with 'as' (or by default, like count)

    @property
    def aggregate(self) -> bool:
        return isinstance(self.node, Agg)


class _Compiler:
    """Turns syntax trees into SQLAlchemy expressions over the release's known columns."""

    def __init__(self, table: ReleaseTable, source: sa.FromClause) -> None:
        self.table = table
        self.source = source

    def column(self, field: Field, col: Col) -> Typed:
        spec = self.table.column(col.name)
        if spec is None:
            names = ", ".join(c.name for c in self.table.columns)
            raise rejected(
                field, "UNKNOWN_COLUMN", f"unknown column {col.name!r} (columns: {names})", col.pos
            )
        return self.source.c[spec.name], spec.type

    def expr(self, field: Field, node: Expr) -> Typed:
        if isinstance(node, Col):
            return self.column(field, node)
        if isinstance(node, DateFn):
            return self.date_fn(field, node)
        return self.aggregate(field, node)

    def date_fn(self, field: Field, node: DateFn) -> Typed:
        sql, kind = self.column(field, node.arg)
        part = sa.literal(node.fn, sa.String(), literal_execute=True)  # one of four fixed words
        if kind == "datetime":
            # Truncate naive UTC microseconds: DuckDB's time-zone-aware date_trunc is ~3x slower.
            naive = sa.func.make_timestamp(sa.func.epoch_us(sql))
            micros = sa.func.epoch_us(sa.func.date_trunc(part, naive))
            return sa.func.make_timestamptz(micros, type_=SA_TYPES["datetime"]), "datetime"
        if kind == "date" and node.fn != "hour":
            return sa.cast(sa.func.date_trunc(part, sql), sa.Date()), "date"
        need = "a datetime" if kind == "date" else "a date or datetime"
        message = f"{node.fn}() needs {need} column; {node.arg.name!r} is a {kind}"
        raise rejected(field, "TYPE", message, node.pos)

    def aggregate(self, field: Field, node: Agg) -> Typed:
        if node.arg is None:
            return sa.func.count(), "integer"
        sql, kind = self.column(field, node.arg)
        if node.fn == "count":
            return sa.func.count(sql), "integer"
        if node.fn in ("min", "max"):
            return (sa.func.min(sql) if node.fn == "min" else sa.func.max(sql)), kind
        if kind not in ("integer", "number"):
            message = (
                f"{node.fn}() needs a numeric column; {node.arg.name!r} is a {kind} "
                "(count, min and max take any column)"
            )
            raise rejected(field, "TYPE", message, node.pos)
        if node.fn == "avg":
            return sa.func.avg(sql, type_=sa.Float()), "number"
        if kind == "integer":  # DuckDB sums integers as 128-bit: bring them back to 64
            return sa.cast(sa.func.sum(sql), sa.BigInteger()), "integer"
        return sa.func.sum(sql, type_=sa.Float()), "number"

    def condition(self, node: Cond) -> sa.ColumnElement[bool]:
        if isinstance(node, BoolOp):
            parts = [self.condition(item) for item in node.items]
            return sa.and_(*parts) if node.op == "and" else sa.or_(*parts)
        if isinstance(node, Not):
            return sa.not_(self.condition(node.item))
        sql, kind = self.expr("where", node.left)
        year_fn = isinstance(node.left, DateFn) and node.left.fn == "year"
        if isinstance(node, Compare):
            value = literal_value("where", kind, node.right, year_fn=year_fn)
            result: sa.ColumnElement[bool] = COMPARE_OPS[node.op](sql, sa.literal(value, SA_TYPES[kind]))
            return result
        if isinstance(node, InList):
            values = [literal_value("where", kind, v, year_fn=year_fn) for v in node.values]
            return sql.not_in(values) if node.negated else sql.in_(values)
        if isinstance(node, Like):
            if kind != "string":
                raise rejected("where", "TYPE", f"like needs a text column, not a {kind}", node.pos)
            pattern = sa.literal(node.pattern.value, sa.String())
            return sql.not_like(pattern) if node.negated else sql.like(pattern)
        if isinstance(node, IsNull):
            return sql.is_not(None) if node.negated else sql.is_(None)
        if kind != "boolean":
            message = f"a {kind} column is not a condition: compare it with a value (e.g. = …)"
            raise rejected("where", "TYPE", message, node.pos)
        return sql.is_(sa.true())

    def items(self, request: ExploreRequest) -> list[_Item]:
        """The select items (defaults filled in), each with its output name."""
        if request.select is not None:
            chosen = request.select
        elif request.group_by is not None:
            keys = tuple(SelectItem(node, None) for node in request.group_by)
            chosen = (*keys, SelectItem(Agg("count", None, 1), "count"))
        else:
            chosen = tuple(SelectItem(Col(c.name, 1), None) for c in self.table.columns)
        out: list[_Item] = []
        for item, name in zip(chosen, column_names(chosen), strict=True):
            if any(o.name == name for o in out):
                message = f"two items are named {name!r}: give one an alias with 'as'"
                raise rejected("select", "DUPLICATE", message, item.expr.pos)
            sql, _ = self.expr("select", item.expr)
            out.append(_Item(name, item.expr, sql, sql.label(name), item.alias is not None))
        return out


def _group_keys(comp: _Compiler, request: ExploreRequest, aliases: dict[str, _Item]) -> dict[Key, Any]:
    """Structural key → SQL expression of each group_by item (select aliases resolved)."""
    keys: dict[Key, Any] = {}
    for node in request.group_by or ():
        resolved = aliases[node.name].node if isinstance(node, Col) and node.name in aliases else node
        if isinstance(resolved, Agg):
            raise rejected("group_by", "GROUP_BY", "cannot group by an aggregate", node.pos)
        keys.setdefault(key_of(resolved), comp.expr("group_by", resolved)[0])
    return keys


def _check_grouping(items: list[_Item], keys: dict[Key, Any]) -> None:
    """Every plain select item of a grouped query must be a group key."""
    for item in items:
        if item.aggregate or key_of(item.node) in keys:
            continue
        what = "add it to group_by or aggregate it" if keys else "add a group_by with it, or aggregate it"
        example = f" (e.g. min({item.node.name}))" if isinstance(item.node, Col) else ""
        message = f"{item.name!r} is neither aggregated nor in group_by: {what}{example}"
        raise rejected("select", "GROUP_BY", message, item.node.pos)


def _order(
    comp: _Compiler, request: ExploreRequest, aliases: dict[str, _Item], keys: dict[Key, Any], grouped: bool
) -> list[Any]:
    """ORDER BY clauses; grouped results end with the group keys so that pages are stable."""
    clauses: list[Any] = []
    used: set[Key] = set()
    for entry in request.order_by or ():
        node = entry.expr
        sql: Any
        if isinstance(node, Col) and node.name in aliases:
            sql = aliases[node.name].label  # rendered as the alias
            used.add(key_of(aliases[node.name].node))
        else:
            if grouped and not isinstance(node, Agg) and key_of(node) not in keys:
                message = (
                    f"{default_name(node)!r} is neither a group key nor an aggregate: add it to group_by"
                )
                raise rejected("order_by", "GROUP_BY", message, node.pos)
            if not grouped and isinstance(node, Agg):
                message = "an aggregate orders grouped results only: add a group_by"
                raise rejected("order_by", "GROUP_BY", message, node.pos)
            sql = comp.expr("order_by", node)[0]
            used.add(key_of(node))
        clauses.append(sql.desc() if entry.descending else sql.asc())
    if grouped:
        clauses.extend(expr.asc() for key, expr in keys.items() if key not in used)
    return clauses


def compile_query(table: ReleaseTable, request: ExploreRequest, source: sa.FromClause) -> CompiledQuery:
    """Check a parsed request against the table and build its statement over `source` (no limit)."""
    comp = _Compiler(table, source)
    items = comp.items(request)
    # Names of computed items ('m' in `month(period) as m`, or `count`) stand for them in group_by and
    # order_by; a name that is also a column means the column unless an alias says otherwise.
    aliases = {i.name: i for i in items if i.aliased or table.column(i.name) is None}
    keys = _group_keys(comp, request, aliases)
    grouped = request.group_by is not None or any(i.aggregate for i in items)
    if grouped:
        _check_grouping(items, keys)
    where = comp.condition(request.where) if request.where is not None else None
    statement = sa.select(*[i.label for i in items]).select_from(source)
    if where is not None:
        statement = statement.where(where)
    if keys:
        statement = statement.group_by(*keys.values())
    statement = statement.order_by(*_order(comp, request, aliases, keys, grouped))
    return CompiledQuery(statement, tuple(i.name for i in items), grouped, where, source)


# -- running with DuckDB ------------------------------------------------------------------------------

_shared: duckdb.DuckDBPyConnection | None = None
_shared_lock = threading.Lock()


def _database() -> duckdb.DuckDBPyConnection:
    """The process's DuckDB database (in memory, bounded), created on first use."""
    global _shared  # noqa: PLW0603 - one bounded engine per process, like the SQL engine
    with _shared_lock:
        if _shared is None:
            spill = Path(tempfile.gettempdir()) / "territoria-duckdb"
            config: dict[str, str | bool | int | float | list[str]] = {
                "memory_limit": MEMORY_LIMIT,
                "threads": THREADS,
                "temp_directory": str(spill),
                "autoinstall_known_extensions": False,
            }
            con = duckdb.connect(":memory:", config=config)
            # Truncations run on UTC microseconds, and results come back as UTC whatever the host zone.
            con.execute("SET GLOBAL TimeZone = 'UTC'")
            _shared = con
        return _shared


@contextmanager
def duckdb_cursor() -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor (its own connection) on the shared database, closed afterwards."""
    cursor = _database().cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def release_source(table: ReleaseTable) -> sa.TableValuedAlias:
    """The release's Parquet file as a table `release` with the release's known columns."""
    columns = [sa.column(c.name, SA_TYPES[c.type]) for c in table.columns]
    path = sa.bindparam("release_path", str(table.path), type_=sa.String())
    return sa.func.read_parquet(path).table_valued(*columns).alias("release")


def to_sql(statement: sa.Select[Any]) -> tuple[str, list[Any]]:
    """DuckDB SQL text with `?` markers, and the values bound to them in order."""
    compiled = statement.compile(dialect=DIALECT, compile_kwargs={"render_postcompile": True})
    return compiled.string, [compiled.params[name] for name in compiled.positiontup or ()]


def _relation(cursor: duckdb.DuckDBPyConnection, statement: sa.Select[Any]) -> duckdb.DuckDBPyRelation:
    """A lazy relation over the statement."""
    text, params = to_sql(statement)
    relation = cursor.sql(text, params=params)
    assert relation is not None  # a SELECT always yields a relation
    return relation


def _failed(exc: duckdb.Error) -> QueryRejected:
    """A DuckDB failure caused by the query (too much memory, a value out of range)."""
    if isinstance(exc, duckdb.OutOfMemoryException):
        message = "the query needs more memory than allowed: narrow it with where or group less finely"
    else:
        message = f"the query could not run: {str(exc).splitlines()[0]}"
    return QueryRejected(message, errors=[{"field": None, "code": "QUERY", "message": message}])


def prepare(table: ReleaseTable, request: ExploreRequest) -> CompiledQuery:
    """Compile a parsed request over the release file (QueryRejected when it cannot run)."""
    return compile_query(table, request, release_source(table))


@dataclass(frozen=True)
class Page:
    """One page of an explore query."""

    names: tuple[str, ...]
    total_count: int
    rows: list[dict[str, Any]]


def run_page(table: ReleaseTable, request: ExploreRequest, *, limit: int, offset: int) -> Page:
    """Rows `offset` to `offset + limit` of the query, and how many rows it yields in all."""
    query = prepare(table, request)
    try:
        with duckdb_cursor() as cursor:
            data: pa.Table = _relation(cursor, query.page(limit, offset)).to_arrow_table()
            if query.grouped and data.num_rows:
                total = int(data.column(TOTAL)[0].as_py())
                data = data.drop_columns([TOTAL])
            else:
                total = int(_relation(cursor, query.count()).fetchall()[0][0])
                if query.grouped:
                    data = data.drop_columns([TOTAL])
    except (duckdb.DataError, duckdb.OutOfMemoryException) as exc:
        raise _failed(exc) from exc
    return Page(query.names, total, json_rows(data))


_END = object()


class BatchStream:
    """An open query: its Arrow schema and record batches, read ahead by a thread; close() ends it.

    DuckDB computes the next batches (outside the GIL) while the consumer encodes the current one.
    """

    def __init__(
        self, cursor: duckdb.DuckDBPyConnection, reader: pa.RecordBatchReader, ahead: int = 2
    ) -> None:
        self._cursor = cursor
        self._reader = reader
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def schema(self) -> pa.Schema:
        """The schema of every batch."""
        return self._reader.schema

    def _offer(self, item: Any) -> bool:
        """Queue an item unless the stream was closed meanwhile."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for batch in self._reader:
                if not self._offer(batch):
                    return
            self._offer(_END)
        except Exception as exc:  # handed over to the consumer's thread
            self._offer(exc)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        """Batches until the query is exhausted (an error mid-stream ends the answer short)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._produce, name="opendata-stream", daemon=True)
            self._thread.start()
        while (item := self._queue.get()) is not _END:
            if isinstance(item, duckdb.DataError | duckdb.OutOfMemoryException):
                raise _failed(item) from item
            if isinstance(item, Exception):
                raise item
            yield item

    def close(self) -> None:
        """Stop reading ahead, release the reader and the cursor."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._reader.close()
        self._cursor.close()


def open_stream(
    table: ReleaseTable, request: ExploreRequest, *, limit: int | None = None, batch_rows: int = BATCH_ROWS
) -> BatchStream:
    """Start the query (errors in it raise now) and stream its rows in record batches."""
    query = prepare(table, request)
    statement = query.statement if limit is None else query.statement.limit(limit)
    cursor = _database().cursor()
    try:
        reader = _relation(cursor, statement).to_arrow_reader(batch_rows)
    except duckdb.Error as exc:
        cursor.close()
        if isinstance(exc, duckdb.DataError | duckdb.OutOfMemoryException):
            raise _failed(exc) from exc
        raise
    except BaseException:
        cursor.close()
        raise
    return BatchStream(cursor, reader)


# -- Arrow to JSON-ready values -----------------------------------------------------------------------

Columnar: TypeAlias = pa.Table | pa.RecordBatch


def iso_text(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Timestamps as ISO 8601 UTC text ('2024-03-01T00:00:00Z'), vectorised; nulls stay null."""
    unit = values.type.unit
    naive = values.cast(pa.timestamp(unit))  # same UTC instants, without the per-value zone lookups
    try:
        text, width = naive.cast(pa.timestamp("s")).cast(pa.string()), 19
    except pa.ArrowInvalid:  # sub-second values keep their microseconds
        text, width = naive.cast(pa.timestamp("us")).cast(pa.string()), 26
    text = pc.binary_replace_slice(text, start=10, stop=11, replacement="T")
    return pc.binary_replace_slice(text, start=width, stop=width, replacement="Z")


def with_iso_times(data: Columnar) -> Columnar:
    """The same columns with every timestamp column as ISO 8601 text."""
    for i, field in enumerate(data.schema):
        if pa.types.is_timestamp(field.type):
            data = data.set_column(i, field.name, iso_text(data.column(i)))
    return data


def json_rows(data: Columnar) -> list[dict[str, Any]]:
    """Rows as dictionaries of JSON-ready values (timestamps as ISO 8601 text)."""
    rows: list[dict[str, Any]] = with_iso_times(data).to_pylist()
    return rows
