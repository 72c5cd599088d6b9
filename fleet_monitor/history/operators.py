"""The operators known to the ingest (``operator`` table), for the service's pages,
reports and commands.

The table belongs to the ingest (``gbfs_ingest.db``); the rest of ``fleet_monitor``
reaches it here, not through the ingest's modules nor its own SQL. Functions take
the caller's SQLAlchemy connection or session (``conn``) or psycopg cursor
(``cur``); the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text

from gbfs_ingest.db import Operator

__all__ = [
    "OPERATORS_RELATION",
    "Operator",
    "operator_id",
    "operator_ids_by_slug",
    "operator_list",
    "operator_name",
    "operator_rows",
    "operator_slugs",
    "operators_of_day",
    "operators_relation_params",
]

#: Every operator as a relation ``o(id, slug, name)``, built from parameters (psycopg
#: style) that :func:`operators_relation_params` reads through this module: queries
#: over the service's own tables that name an operator by slug join it
#: (``JOIN {OPERATORS_RELATION} ON o.slug = v.operator``) instead of the table.
OPERATORS_RELATION = (
    "unnest(%(op_ids)s::int[], %(op_slugs)s::text[], %(op_names)s::text[]) AS o(id, slug, name)"
)

#: The same relation for SQLAlchemy ``text()`` queries (``:name`` parameters), with
#: the parameters of :func:`operators_relation_binds`.
OPERATORS_RELATION_TEXT = (
    "unnest(CAST(:op_ids AS int[]), CAST(:op_slugs AS text[]), CAST(:op_names AS text[]))"
    " AS o(id, slug, name)"
)


def operators_relation_binds(conn: Any) -> dict[str, list[Any]]:
    """The parameters of :data:`OPERATORS_RELATION_TEXT`, on a SQLAlchemy connection
    or session."""
    rows = operator_list(conn)
    return {
        "op_ids": [r[0] for r in rows],
        "op_slugs": [r[1] for r in rows],
        "op_names": [r[2] for r in rows],
    }


def operators_relation_params(cur: Any) -> dict[str, list[Any]]:
    """The parameters of :data:`OPERATORS_RELATION`, on a psycopg cursor."""
    rows = operator_rows(cur)
    return {
        "op_ids": [r[0] for r in rows],
        "op_slugs": [r[1] for r in rows],
        "op_names": [r[2] for r in rows],
    }


def operators_of_day(conn: Any, start: datetime, end: datetime) -> list[tuple[int, str, str]]:
    """Operators (id, slug, name) with a permit in force or a fetch of their feeds
    in ``[start, end)``, by slug (the daily report's operators of a day)."""
    rows = conn.execute(
        text(
            "SELECT o.id, o.slug, o.name FROM operator o WHERE EXISTS ("
            "  SELECT 1 FROM permit p WHERE p.operator = o.slug AND p.effective_from < :e"
            "  AND (p.effective_to IS NULL OR p.effective_to > :s))"
            " OR EXISTS (SELECT 1 FROM feed f JOIN feed_fetch ff ON ff.feed_id = f.id"
            "  WHERE f.operator_id = o.id AND ff.started_at >= :s AND ff.started_at < :e)"
            " ORDER BY o.slug"
        ),
        {"s": start, "e": end},
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def operator_list(conn: Any, *, by_name: bool = False) -> list[tuple[int, str, str]]:
    """Every operator (id, slug, name), by slug, or by name then slug (``by_name``)."""
    order = "name, slug" if by_name else "slug"
    rows = conn.execute(text(f"SELECT id, slug, name FROM operator ORDER BY {order}")).all()
    return [(r[0], r[1], r[2]) for r in rows]


def operator_id(conn: Any, slug: str) -> int | None:
    """The id of the operator ``slug``, or None when there is none."""
    row = conn.execute(text("SELECT id FROM operator WHERE slug = :s"), {"s": slug}).first()
    return None if row is None else int(row[0])


def operator_name(conn: Any, op_id: int) -> str:
    """The name of operator ``op_id`` (which must exist)."""
    return str(
        conn.execute(text("SELECT name FROM operator WHERE id = :id"), {"id": op_id}).scalar_one()
    )


def operator_rows(cur: Any) -> list[tuple[int, str, str]]:
    """Every operator (id, slug, name) by slug, on a psycopg cursor."""
    cur.execute("SELECT id, slug, name FROM operator ORDER BY slug")
    return [(r[0], r[1], r[2]) for r in cur.fetchall()]


def operator_ids_by_slug(cur: Any) -> dict[str, int]:
    """Slug -> id of every operator, on a psycopg cursor."""
    cur.execute("SELECT slug, id FROM operator")
    return dict(cur.fetchall())


def operator_slugs(cur: Any) -> set[str]:
    """The slugs of every operator, on a psycopg cursor."""
    cur.execute("SELECT slug FROM operator")
    return {r[0] for r in cur.fetchall()}
