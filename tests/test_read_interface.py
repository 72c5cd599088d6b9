"""Guard of the read interface (issue 12): ``fleet_monitor`` asks the ingest's tables
questions only through :mod:`fleet_monitor.history`.

Every SQL string literal of ``fleet_monitor/**/*.py`` outside ``history/`` is
scanned for ``FROM``/``JOIN``/``UPDATE``/``INTO`` followed by one of the ingest's
table names. The names come from the ingest's declared tables (the ORM classes of
``gbfs_ingest``), not from a list here, so a table the ingest adds is guarded too.
Only string constants are scanned (adjacent literals are joined by the parser, so
a query split over lines is seen whole); docstrings, comments and Python imports
(``from operator import ...``) are not SQL and are left out.

What may remain outside the read interface is listed below, each with its reason;
the scan fails on anything else, and also when an allowed entry is gone (so the
list only shrinks).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import gbfs_ingest.db  # noqa: F401  (declares the ingest's tables on the shared metadata)
from datastore.base import Base

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fleet_monitor"

#: Directories of fleet_monitor not scanned, and why.
EXEMPT_DIRS = {
    # the read interface itself
    "fleet_monitor/history",
    # schema migrations: DDL and one-off data moves over every table, run by alembic
    "fleet_monitor/migrations",
}

#: Writers: statements that change the ingest's tables from outside the read
#: interface, on purpose. Key: (file, table) -> number of statements.
WRITERS: dict[tuple[str, str], int] = {
    # Retention coarsens then deletes old stays (UPDATE dwell ... FROM dwell, DELETE
    # FROM dwell): a writer, run by the statistics' retention job after the stays
    # were aggregated; the ids it selects are those it rewrites in the same statement
    # batch, so the selection belongs with the write (see the module's comment).
    ("fleet_monitor/stats/retention.py", "dwell"): 4,
    # Marks an API token used (UPDATE operator_api_token ... FROM operator): a write
    # to the service's own table that reads the operator's slug in the same statement.
    ("fleet_monitor/notices/contacts.py", "operator"): 1,
}

#: Remaining reads (not moved yet): the session lookup (``user_session``) joins the
#: ``operator`` table only to turn the account's operator id into a slug. The way
#: out, taken by the statistics, notices, case lists and residents' reports, is to
#: join ``history.operators.OPERATORS_RELATION(_TEXT)`` instead; the session lookup
#: runs on every request, so it keeps its join until that is measured.
#: Counted per file: a new join fails the scan.
OPERATOR_JOINS: dict[tuple[str, str], int] = {
    ("fleet_monitor/web/sessions.py", "operator"): 1,
}


def ingest_tables() -> set[str]:
    """The ingest's table names, from its declared ORM classes."""
    return {
        mapper.local_table.name
        for mapper in Base.registry.mappers
        if mapper.class_.__module__.startswith("gbfs_ingest")
    }


def table_pattern(tables: set[str]) -> re.Pattern[str]:
    names = "|".join(re.escape(t) for t in sorted(tables, key=len, reverse=True))
    return re.compile(
        rf'\b(?:FROM|JOIN|UPDATE|INTO)\s+(?:ONLY\s+)?"?({names})"?(?![\w.(])', re.IGNORECASE
    )


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def sql_reads(source: str, pattern: re.Pattern[str]) -> list[tuple[int, str]]:
    """(line, table) of each statement in ``source``'s string literals that names an
    ingest table after FROM/JOIN/UPDATE/INTO (docstrings left out)."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            hits += [(node.lineno, m.group(1).lower()) for m in pattern.finditer(node.value)]
    return sorted(hits)


def scan() -> Counter[tuple[str, str]]:
    pattern = table_pattern(ingest_tables())
    found: Counter[tuple[str, str]] = Counter()
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if any(rel.startswith(d + "/") for d in EXEMPT_DIRS):
            continue
        for _line, table in sql_reads(path.read_text(encoding="utf-8"), pattern):
            found[(rel, table)] += 1
    return found


def test_ingest_tables_come_from_the_ingest_metadata() -> None:
    tables = ingest_tables()
    assert {"operator", "feed", "feed_fetch", "raw_blob", "outage", "dwell"} <= tables
    assert {"vehicle_current", "dwell_event", "vehicle_alias", "station"} <= tables
    # the service's own tables are not the ingest's
    assert not {"violation", "notice", "permit", "zone"} & tables


def test_the_scan_finds_sql_over_ingest_tables() -> None:
    """The guard can fail: it flags reads in every shape the code uses."""
    pattern = table_pattern(ingest_tables())
    sample = '''
"""Docstrings name tables in prose: read from dwell, joined with feed_fetch."""
from operator import itemgetter

Q = "SELECT id FROM dwell d WHERE d.ended_at IS NULL"
SPLIT = (
    "SELECT o.slug FROM violation v"
    " JOIN operator o ON o.slug = v.operator"
)
TRICKY = f"select * from   \\"vehicle_current\\" WHERE x = {1}"
SAFE = "SELECT * FROM violation JOIN feed_fetch_summary s ON true"
FUNC = "SELECT * FROM feed(1)"
QUALIFIED = "SELECT * FROM dwell.x"

def f():
    """Nothing here: FROM outage is prose in a docstring."""
    # FROM raw_blob in a comment is not SQL
    return "UPDATE station SET x = 1", "INSERT INTO outage VALUES (1)"
'''
    assert sql_reads(sample, pattern) == [
        (5, "dwell"),
        (7, "operator"),  # the split literal, joined by the parser
        (10, "vehicle_current"),  # any case, quoted, in an f-string
        (18, "outage"),  # writes too
        (18, "station"),
    ]
    assert sql_reads("X = 'SELECT 1 FROM violation'", pattern) == []


def test_only_the_listed_sql_over_ingest_tables_remains_outside_history() -> None:
    found = scan()
    allowed = {**WRITERS, **OPERATOR_JOINS}
    unexpected = {k: n for k, n in found.items() if n > allowed.get(k, 0)}
    assert not unexpected, (
        "SQL over the ingest's tables outside fleet_monitor/history (move it into a"
        f" named function of the read interface): {unexpected}"
    )
    stale = {k: n for k, n in allowed.items() if found.get(k, 0) != n}
    assert not stale, f"allow-list entries no longer matching the code (shrink them): {stale}"
