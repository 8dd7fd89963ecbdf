"""The explore language: parser, errors with positions, types, grouping, injection attempts, results."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.opendata.factories import ANTIBES, CANNES, NICE, MadeRelease, file_release

from territoria.errors import DomainError, Unparseable
from territoria.opendata.explore import (
    MAX_EXPRESSION,
    Agg,
    BoolOp,
    Col,
    Compare,
    DateFn,
    InList,
    IsNull,
    Like,
    Not,
    QueryRejected,
    Truth,
    parse_instant,
    parse_request,
    parse_select,
    parse_where,
    tokenize,
)
from territoria.opendata.query import prepare, run_page, to_sql


@pytest.fixture(scope="module")
def rel(tmp_path_factory: pytest.TempPathFactory) -> MadeRelease:
    """The small area release, on a file."""
    return file_release(tmp_path_factory.mktemp("explore") / "energy.parquet")


def rows_of(
    rel: MadeRelease, limit: int = 10_000, offset: int = 0, **params: str
) -> tuple[int, list[dict[str, Any]]]:
    """total_count and rows of a query."""
    page = run_page(rel.table, parse_request(**params), limit=limit, offset=offset)
    return page.total_count, page.rows


def iso(value: datetime | None) -> str | None:
    """ISO text as the explore API writes timestamps."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def syntax_error(field: str, text: str) -> Unparseable:
    """The Unparseable raised by parsing `text` as `field`."""
    with pytest.raises(Unparseable) as info:
        parse_request(**{field: text})
    assert info.value.errors[0]["field"] == field
    assert info.value.errors[0]["code"] == "SYNTAX"
    return info.value


# -- parser ---------------------------------------------------------------------------------------------


def test_tokens_carry_one_based_positions() -> None:
    tokens = tokenize("where", "area_code = 'l''Escarène' and x>=-1.5e2")
    assert [(t.kind, t.pos) for t in tokens] == [
        ("name", 1),
        ("op", 11),
        ("string", 13),
        ("keyword", 27),
        ("name", 31),
        ("op", 32),
        ("punct", 34),
        ("number", 35),
        ("end", 40),
    ]
    assert tokens[2].value == "l'Escarène"
    assert tokens[7].value == 150.0


def test_where_tree() -> None:
    text = (
        "NOT (area_code IN ('06088', '06004') Or segment like 'res%') AND month(period) >= '2024-02' "
        "and area_name is not null and secret and contributors not in (1, 2) and segment not like 'x'"
    )
    cond = parse_where(text)
    at = text.index("month(") + 1
    assert isinstance(cond, BoolOp) and cond.op == "and" and len(cond.items) == 6
    negated, compare, isnull, truth, notin, notlike = cond.items
    assert isinstance(negated, Not) and isinstance(negated.item, BoolOp) and negated.item.op == "or"
    inlist, like = negated.item.items
    assert isinstance(inlist, InList) and [v.value for v in inlist.values] == ["06088", "06004"]
    assert isinstance(like, Like) and like.pattern.value == "res%"
    assert (
        isinstance(compare, Compare)
        and compare.op == ">="
        and compare.left == DateFn("month", Col("period", at + 6), at)
    )
    assert isinstance(isnull, IsNull) and isnull.negated
    assert isinstance(truth, Truth) and truth.left == Col("secret", truth.pos)
    assert isinstance(notin, InList) and notin.negated
    assert isinstance(notlike, Like) and notlike.negated


def test_select_items_and_aliases() -> None:
    items = parse_select("area_code, count(*), sum(energy_kwh_sum) AS energy, month(period) as m")
    assert [i.alias for i in items] == [None, None, "energy", "m"]
    assert items[1].expr == Agg("count", None, 12)
    assert isinstance(items[3].expr, DateFn)


def test_and_binds_tighter_than_or() -> None:
    cond = parse_where("a = 1 or b = 2 and c = 3")
    assert isinstance(cond, BoolOp) and cond.op == "or"
    assert isinstance(cond.items[1], BoolOp) and cond.items[1].op == "and"


@pytest.mark.parametrize(
    ("field", "text", "position", "needle"),
    [
        ("where", "area_code = ", 13, "expected a value after '='"),
        ("where", "energy_kwh_sum >= 'x' and", 26, "expected a column name"),
        ("where", "(area_code = 'x'", 17, "expected ')' to close the '(' at position 1"),
        ("where", "area_code = 'abc", 13, "unterminated string"),
        ("where", 'area_code = "x"', 13, "strings use single quotes"),
        ("where", "area_code in ()", 15, "expected a value"),
        ("where", "area_code in ('a' 'b')", 19, "expected ',' or ')'"),
        ("where", "area_code is nul", 14, "expected 'null'"),
        ("where", "area_code = null", 11, "is null"),
        ("where", "area_code not = 'x'", 15, "expected 'in' or 'like'"),
        ("where", "area_code like 5", 16, "expected a quoted pattern"),
        ("where", "sum(energy_kwh_sum) > 1", 1, "aggregate sum() cannot be used in where"),
        ("where", "area_code = 'x' area_name", 17, "expected 'and', 'or' or the end"),
        ("select", "area_code,", 11, "expected a column name or a function"),
        ("select", "median(x)", 1, "unknown function 'median'"),
        ("select", "count(", 7, "a column name or '*'"),
        ("select", "sum(*)", 5, "expected a column name"),
        ("select", "sum(x", 6, "expected ')'"),
        ("select", "x as", 5, "expected an alias"),
        ("select", "x y", 3, "expected ',' or the end"),
        ("group_by", "area_code segment", 11, "expected ',' or the end"),
        ("order_by", "area_code up", 11, "expected ',' or the end"),
    ],
)
def test_syntax_errors_say_where_and_what(field: str, text: str, position: int, needle: str) -> None:
    exc = syntax_error(field, text)
    assert exc.errors[0]["position"] == position, exc.message
    assert needle in exc.message
    assert exc.message.startswith(f"{field}: ")
    assert exc.message.endswith(f"at position {position}")


def test_expected_value_message_matches_the_documented_shape() -> None:
    exc = syntax_error("where", "contributors = ")
    assert exc.message == "where: expected a value after '=', found the end at position 16"


def test_too_long_an_expression_is_refused() -> None:
    text = "area_code = 'x' or " * 200
    assert len(text) > MAX_EXPRESSION
    with pytest.raises(QueryRejected) as info:
        parse_request(where=text)
    assert info.value.errors[0]["code"] == "TOO_LONG"
    parse_request(where="area_code = '" + "x" * (MAX_EXPRESSION - 14) + "'")  # at the limit: fine


def test_empty_parameters_mean_absent() -> None:
    assert parse_request(select="", where="  ", group_by=None, order_by="") == parse_request()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-03", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC)),
        ("2024-03-05T10:00:00Z", datetime(2024, 3, 5, 10, tzinfo=UTC)),
        ("2024-03-05 12:00:00+02:00", datetime(2024, 3, 5, 10, tzinfo=UTC)),
        ("2024-13", None),
        ("yesterday", None),
    ],
)
def test_instants(text: str, expected: datetime | None) -> None:
    assert parse_instant(text) == expected


# -- checks against the table ---------------------------------------------------------------------------


def rejected(rel: MadeRelease, **params: str) -> QueryRejected:
    """The QueryRejected of a query that parses but cannot run."""
    with pytest.raises(QueryRejected) as info:
        prepare(rel.table, parse_request(**params))
    return info.value


def test_unknown_column_names_it_and_lists_the_columns(rel: MadeRelease) -> None:
    exc = rejected(rel, where="area_cod = '06088'")
    assert "unknown column 'area_cod'" in exc.message
    assert "area_code, area_name, period" in exc.message
    assert exc.errors[0] == {
        "field": "where",
        "code": "UNKNOWN_COLUMN",
        "message": exc.message,
        "position": 1,
    }
    assert rejected(rel, select="sum(nope)").errors[0]["position"] == 5
    assert rejected(rel, order_by="nope desc").errors[0]["field"] == "order_by"


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"select": "sum(area_name)"}, "sum() needs a numeric column; 'area_name' is a string"),
        ({"select": "avg(secret)"}, "avg() needs a numeric column"),
        ({"select": "hour(area_code)"}, "hour() needs a date or datetime column"),
        ({"where": "contributors = '12'"}, "give a number without quotes"),
        ({"where": "area_code = 6088"}, "quote the value, e.g. '06088'"),
        ({"where": "secret = 'yes'"}, "use true or false"),
        ({"where": "period >= 'last week'"}, "ISO 8601"),
        ({"where": "month(period) = 3"}, "ISO 8601"),
        ({"where": "contributors like '1%'"}, "like needs a text column"),
        ({"where": "area_code"}, "not a condition"),
        ({"where": "contributors = 99999999999999999999"}, "64-bit"),
    ],
)
def test_type_mismatches_are_explained(rel: MadeRelease, params: dict[str, str], needle: str) -> None:
    exc = rejected(rel, **params)
    assert needle in exc.message
    assert exc.errors[0]["code"] == "TYPE"


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"select": "area_code, sum(energy_kwh_sum)"}, "'area_code' is neither aggregated nor in group_by"),
        (
            {"select": "area_code, segment, count(*)", "group_by": "area_code"},
            "'segment' is neither aggregated",
        ),
        ({"select": "month(period) as m, count(*)", "group_by": "period"}, "'m' is neither aggregated"),
        ({"select": "sum(contributors) as n", "group_by": "n"}, "cannot group by an aggregate"),
        ({"group_by": "area_code", "order_by": "segment"}, "neither a group key nor an aggregate"),
        ({"order_by": "count(*)"}, "grouped results only"),
        ({"select": "area_code, max(period) as area_code"}, "two items are named 'area_code'"),
    ],
)
def test_grouping_rules(rel: MadeRelease, params: dict[str, str], needle: str) -> None:
    exc = rejected(rel, **params)
    assert needle in exc.message, exc.message


# -- results against Python -----------------------------------------------------------------------------


def test_default_query_returns_every_row_in_file_order(rel: MadeRelease) -> None:
    total, rows = rows_of(rel)
    assert total == len(rel.rows) == len(rows)
    assert rows[0] == {**rel.rows[0], "period": iso(rel.rows[0]["period"])}
    assert [r["area_code"] for r in rows] == [r["area_code"] for r in rel.rows]


def test_pages(rel: MadeRelease) -> None:
    total, first = rows_of(rel, limit=5, offset=0)
    _, second = rows_of(rel, limit=5, offset=5)
    _, beyond = rows_of(rel, limit=5, offset=1000)
    assert total == len(rel.rows) and len(first) == len(second) == 5 and beyond == []
    assert [r["energy_kwh_sum"] for r in first + second] == [r["energy_kwh_sum"] for r in rel.rows[:10]]
    assert rows_of(rel, limit=0)[0] == len(rel.rows)


OPS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@pytest.mark.parametrize("op", list(OPS))
def test_every_comparison(rel: MadeRelease, op: str) -> None:
    total, rows = rows_of(rel, where=f"contributors {op} 12")
    expected = [r for r in rel.rows if OPS[op](r["contributors"], 12)]
    assert total == len(rows) == len(expected)
    _, rows = rows_of(rel, where=f"energy_kwh_sum {op} 2100.5", select="energy_kwh_sum")
    expected = [
        r for r in rel.rows if r["energy_kwh_sum"] is not None and OPS[op](r["energy_kwh_sum"], 2100.5)
    ]
    assert sorted(r["energy_kwh_sum"] for r in rows) == sorted(r["energy_kwh_sum"] for r in expected)
    _, rows = rows_of(rel, where=f"period {op} '2024-03-01'", select="period")
    expected = [r for r in rel.rows if OPS[op](r["period"], datetime(2024, 3, 1, tzinfo=UTC))]
    assert len(rows) == len(expected)
    _, rows = rows_of(rel, where=f"area_code {op} '{CANNES}'", select="area_code")
    expected = [r for r in rel.rows if r["area_code"] is not None and OPS[op](r["area_code"], CANNES)]
    assert len(rows) == len(expected)


@pytest.mark.parametrize(
    ("where", "keep"),
    [
        (f"area_code in ('{NICE}', '{ANTIBES}')", lambda r: r["area_code"] in (NICE, ANTIBES)),
        (f"area_code not in ('{NICE}')", lambda r: r["area_code"] not in (NICE, None)),
        ("area_name like 'N%'", lambda r: (r["area_name"] or "").startswith("N")),
        ("area_name not like '%e%'", lambda r: r["area_name"] is not None and "e" not in r["area_name"]),
        ("area_name like 'Ca__es'", lambda r: r["area_name"] == "Cannes"),
        ("area_code is null", lambda r: r["area_code"] is None),
        ("area_code IS NOT NULL", lambda r: r["area_code"] is not None),
        ("secret", lambda r: r["secret"]),
        ("not secret", lambda r: not r["secret"]),
        ("secret = false", lambda r: not r["secret"]),
        (
            f"(area_code = '{NICE}' or area_code = '{CANNES}') and segment = 'tertiary'",
            lambda r: r["area_code"] in (NICE, CANNES) and r["segment"] == "tertiary",
        ),
        (
            f"not (area_code = '{NICE}') AND total = ''",
            lambda r: r["area_code"] != NICE and r["total"] == "",
        ),
        ("energy_kwh_mean > -1e9 and contributors >= -3", lambda r: r["energy_kwh_mean"] is not None),
        ("month(period) >= '2024-03'", lambda r: r["period"] >= datetime(2024, 3, 1, tzinfo=UTC)),
        ("year(period) = 2024", lambda r: r["period"].year == 2024),
        ("year(period) = '2023'", lambda r: False),
        ("day(period) = '2024-02-01'", lambda r: r["period"] == datetime(2024, 2, 1, tzinfo=UTC)),
        ("period = '2024-02-01T01:00:00+01:00'", lambda r: r["period"] == datetime(2024, 2, 1, tzinfo=UTC)),
    ],
)
def test_predicates(rel: MadeRelease, where: str, keep: Any) -> None:
    total, rows = rows_of(rel, where=where)
    expected = [{**r, "period": iso(r["period"])} for r in rel.rows if keep(r)]
    assert total == len(expected)
    assert rows == expected


def test_aggregates_by_group(rel: MadeRelease) -> None:
    total, rows = rows_of(
        rel,
        select="area_code, count(*) as n, count(energy_kwh_sum) as published, sum(energy_kwh_sum) as energy, "
        "avg(contributors) as k, min(period) as first, max(energy_kwh_mean), sum(contributors)",
        where="total = ''",
        group_by="area_code",
        order_by="energy desc",
    )
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rel.rows:
        if r["total"] == "":
            groups[r["area_code"]].append(r)
    assert total == len(groups) == 3
    expected = []
    for code, items in groups.items():
        sums = [r["energy_kwh_sum"] for r in items if r["energy_kwh_sum"] is not None]
        expected.append(
            {
                "area_code": code,
                "n": len(items),
                "published": len(sums),
                "energy": pytest.approx(sum(sums)),
                "k": pytest.approx(sum(r["contributors"] for r in items) / len(items)),
                "first": iso(min(r["period"] for r in items)),
                "max_energy_kwh_mean": pytest.approx(
                    max(r["energy_kwh_mean"] for r in items if r["energy_kwh_mean"])
                ),
                "sum_contributors": sum(r["contributors"] for r in items),
            }
        )
    expected.sort(key=lambda e: -e["energy"].expected)
    assert rows == expected
    assert isinstance(rows[0]["sum_contributors"], int)


def test_month_grouping_through_an_alias(rel: MadeRelease) -> None:
    total, rows = rows_of(
        rel,
        select="area_code, month(period) as month, sum(energy_kwh_sum) as energy",
        where="area_code is not null",
        group_by="area_code, month",
        limit=5,
        offset=2,
    )
    sums: dict[tuple[str, str | None], float] = defaultdict(float)
    for r in rel.rows:
        if r["area_code"] is not None:
            sums[(r["area_code"], iso(r["period"]))] += r["energy_kwh_sum"] or 0.0
    ordered = sorted(sums.items())  # grouped results are ordered by their keys unless told otherwise
    assert total == len(sums) == 12
    assert [(r["area_code"], r["month"]) for r in rows] == [k for k, _ in ordered[2:7]]
    assert [r["energy"] for r in rows] == pytest.approx([v for _, v in ordered[2:7]])


def test_default_select_of_a_grouping_counts(rel: MadeRelease) -> None:
    total, rows = rows_of(rel, group_by="segment", order_by="count desc")
    assert total == 3
    assert rows[0] == {"segment": "residential", "count": 12} or rows[0] == {
        "segment": "tertiary",
        "count": 12,
    }
    assert rows[-1] == {"segment": None, "count": 4}


def test_aggregate_without_group_by_is_one_row(rel: MadeRelease) -> None:
    total, rows = rows_of(rel, select="year(period) as y, count(*)", group_by="y")
    assert (total, rows) == (1, [{"y": "2024-01-01T00:00:00Z", "count": len(rel.rows)}])
    total, rows = rows_of(rel, select="count(*), sum(energy_kwh_sum) as e")
    assert total == 1
    assert rows == [
        {"count": len(rel.rows), "e": pytest.approx(sum(r["energy_kwh_sum"] or 0 for r in rel.rows))}
    ]


def test_order_by_several_items(rel: MadeRelease) -> None:
    _, rows = rows_of(rel, select="area_code, period", order_by="area_code desc, period DESC")
    located = sorted(((r["area_code"], r["period"]) for r in rel.rows if r["area_code"]), reverse=True)
    assert [(r["area_code"], r["period"]) for r in rows[: len(located)]] == [(a, iso(p)) for a, p in located]
    assert all(r["area_code"] is None for r in rows[len(located) :])  # nulls last


# -- injection ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("where", "1; DROP TABLE x"),
        ("where", "' OR 1=1 --"),
        ("where", "area_code = 'x'; DROP TABLE release"),
        ("where", "area_code = 'x' -- comment"),
        ("where", "area_code = 'x' union select 1"),
        ("where", "area_code = 'x' /* */"),
        ("where", "area_code = $1"),
        ("where", "area_code = ?"),
        ("select", "area_code; DROP TABLE x"),
        ("select", "area_code FROM read_parquet('/etc/passwd')"),
        ("select", "read_csv('/etc/passwd')"),
        ("select", '"area_code"'),
        ("group_by", "area_code) union select * from x --"),
        ("order_by", "area_code; select 1"),
        ("order_by", "(select 1)"),
    ],
)
def test_injection_attempts_are_syntax_errors(field: str, text: str) -> None:
    syntax_error(field, text)


def test_quotes_inside_a_literal_stay_a_literal(rel: MadeRelease) -> None:
    request = parse_request(where="area_code = 'x'') or 1=1 --'")
    sql, params = to_sql(prepare(rel.table, request).statement)
    assert "1=1" not in sql and "--" not in sql
    assert "x') or 1=1 --" in params
    assert rows_of(rel, where="area_code = 'x'') or 1=1 --'") == (0, [])
    assert rows_of(rel, where="area_name = 'Nice'' OR ''1''=''1'")[0] == 0


EXPLORE_ALPHABET = [
    "area_code", "period", "energy_kwh_sum", "secret", "contributors", "area_name", "nope",
    "=", "!=", "<", ">=", "in", "not", "and", "or", "like", "is", "null", "true", "(", ")", ",", "*",
    "'06088'", "'2024-03'", "'", "''", "12", "-3.5", "1e400", "month(", "sum(", "count(", "as", "desc", ";", "--",
]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    field=st.sampled_from(["select", "where", "group_by", "order_by"]),
    words=st.lists(st.sampled_from(EXPLORE_ALPHABET), max_size=12),
)
def test_any_input_is_an_answer_or_a_domain_error(rel: MadeRelease, field: str, words: list[str]) -> None:
    """Never anything but a result or a user error (→ 400), whatever the tokens."""
    with contextlib.suppress(DomainError):
        run_page(rel.table, parse_request(**{field: " ".join(words)}), limit=3, offset=0)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(max_size=60))
def test_any_text_is_an_answer_or_a_domain_error(rel: MadeRelease, text: str) -> None:
    with contextlib.suppress(DomainError):
        run_page(rel.table, parse_request(where=text), limit=1, offset=0)


def test_statement_binds_every_value(rel: MadeRelease) -> None:
    request = parse_request(
        select="area_code, month(period) as m, sum(energy_kwh_sum) as e",
        where="area_name like 'N%' and contributors in (10, 11) and period >= '2024-02'",
        group_by="area_code, m",
        order_by="e desc",
    )
    sql, params = to_sql(prepare(rel.table, request).page(7, 3))
    for literal in ("N%", "2024", "10", "11", "7"):
        assert literal not in sql
    assert "N%" in params and 10 in params and 7 in params
    assert datetime(2024, 2, 1, tzinfo=UTC) in params
