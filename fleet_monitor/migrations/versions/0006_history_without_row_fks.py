"""History tables without per-row foreign-key checks (a statement trigger cascades);
GBFS ids compared as bytes.

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-25 23:30:00

Why: every poll of a large feed writes thousands of rows into ``vehicle``,
``vehicle_alias``, ``dwell`` and ``vehicle_current``. Each foreign key costs a
row-level trigger that looks the parent up again (~2.5 µs per row and per
constraint here): 7 checks per vehicle trip, about 90 ms of a 100,000-vehicle
poll with 5 % of the fleet moving (bench/README.md). The only writer of these
tables is ``gbfs_ingest.vehicle_store``, which takes ``feed_id`` and
``operator_id`` from the ``feed`` row it holds locked, so the checks never find
anything. What the constraints also gave, deleting an operator's or a feed's
history with it, is kept by one statement-level trigger on ``feed`` (operators
still cascade to their feeds through a real foreign key).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, constraint, column, referenced table)
_FKS = [
    ("vehicle", "fk_vehicle_feed_id_feed", "feed_id", "feed"),
    ("vehicle", "fk_vehicle_operator_id_operator", "operator_id", "operator"),
    ("vehicle_alias", "fk_vehicle_alias_feed_id_feed", "feed_id", "feed"),
    ("vehicle_alias", "fk_vehicle_alias_vehicle_id_vehicle", "vehicle_id", "vehicle"),
    ("vehicle_current", "fk_vehicle_current_feed_id_feed", "feed_id", "feed"),
    ("vehicle_current", "fk_vehicle_current_operator_id_operator", "operator_id", "operator"),
    ("dwell", "fk_dwell_feed_id_feed", "feed_id", "feed"),
]

_ID_TABLES = ("vehicle_current", "vehicle_alias", "dwell")

_CASCADE_FUNCTION = """
CREATE FUNCTION feed_history_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM vehicle_current WHERE feed_id IN (SELECT id FROM deleted_feed);
  DELETE FROM dwell WHERE feed_id IN (SELECT id FROM deleted_feed);
  DELETE FROM vehicle_alias WHERE feed_id IN (SELECT id FROM deleted_feed);
  DELETE FROM vehicle WHERE feed_id IN (SELECT id FROM deleted_feed);
  RETURN NULL;
END
$$
"""


def upgrade() -> None:
    for table, name, _column, _ref in _FKS:
        op.drop_constraint(name, table, type_="foreignkey")
    # GBFS ids are opaque: compare them as bytes. Under a libc locale (C.UTF-8,
    # en_US.UTF-8...) every index probe on them calls strcoll; a poll probes the
    # (feed_id, gbfs_id) indexes thousands of times.
    for table in _ID_TABLES:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN gbfs_id TYPE text COLLATE "C"')
    op.execute(_CASCADE_FUNCTION)
    op.execute(
        "CREATE TRIGGER feed_history_cascade AFTER DELETE ON feed"
        " REFERENCING OLD TABLE AS deleted_feed"
        " FOR EACH STATEMENT EXECUTE FUNCTION feed_history_cascade()"
    )


def downgrade() -> None:
    for table in _ID_TABLES:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN gbfs_id TYPE text COLLATE "default"')
    op.execute("DROP TRIGGER IF EXISTS feed_history_cascade ON feed")
    op.execute("DROP FUNCTION IF EXISTS feed_history_cascade()")
    for table, name, column, ref in _FKS:
        op.create_foreign_key(name, table, ref, [column], ["id"], ondelete="CASCADE")
