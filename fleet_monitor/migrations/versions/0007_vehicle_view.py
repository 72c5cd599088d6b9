"""``vehicle`` becomes a view over the first alias of each physical vehicle.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 23:50:00

Why: a new physical vehicle was written twice, as a ``vehicle`` row and as its
first ``vehicle_alias`` row (``linked_from`` NULL), with the same facts (feed,
first GBFS id, first seen). At 5,000 new vehicles a poll (100,000 vehicles, 5 %
moving) the extra row and its two indexes cost ~15 ms of the poll. The view
gives readers the same columns; ids still come from ``vehicle_id_seq``.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VIEW = """
CREATE VIEW vehicle AS
SELECT a.vehicle_id AS id, f.operator_id, a.feed_id, a.first_seen_at, a.gbfs_id AS first_gbfs_id
FROM vehicle_alias a JOIN feed f ON f.id = a.feed_id
WHERE a.linked_from IS NULL
"""

_CASCADE_FUNCTION = """
CREATE OR REPLACE FUNCTION feed_history_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM vehicle_current WHERE feed_id IN (SELECT id FROM deleted_feed);
  DELETE FROM dwell WHERE feed_id IN (SELECT id FROM deleted_feed);
  DELETE FROM vehicle_alias WHERE feed_id IN (SELECT id FROM deleted_feed);
  RETURN NULL;
END
$$
"""


def upgrade() -> None:
    # every vehicle row has its first alias (both were written together); keep any
    # that would not, so the view loses nothing
    op.execute(
        "INSERT INTO vehicle_alias (vehicle_id, feed_id, gbfs_id, first_seen_at)"
        " SELECT v.id, v.feed_id, v.first_gbfs_id, v.first_seen_at FROM vehicle v"
        " WHERE NOT EXISTS (SELECT 1 FROM vehicle_alias a"
        "  WHERE a.vehicle_id = v.id AND a.linked_from IS NULL)"
    )
    op.execute("ALTER SEQUENCE vehicle_id_seq OWNED BY NONE")
    op.execute("DROP TABLE vehicle")
    op.execute(_VIEW)
    op.execute(_CASCADE_FUNCTION)


def downgrade() -> None:
    op.execute("DROP VIEW vehicle")
    op.execute(
        "CREATE TABLE vehicle (id bigint PRIMARY KEY DEFAULT nextval('vehicle_id_seq'),"
        " operator_id integer NOT NULL, feed_id integer NOT NULL,"
        " first_seen_at timestamptz NOT NULL, first_gbfs_id text NOT NULL)"
    )
    op.execute("CREATE INDEX ix_vehicle_feed_id ON vehicle (feed_id)")
    op.execute("ALTER SEQUENCE vehicle_id_seq OWNED BY vehicle.id")
    op.execute(
        "INSERT INTO vehicle SELECT a.vehicle_id, f.operator_id, a.feed_id, a.first_seen_at,"
        " a.gbfs_id FROM vehicle_alias a JOIN feed f ON f.id = a.feed_id"
        " WHERE a.linked_from IS NULL"
    )
    op.execute(
        _CASCADE_FUNCTION.replace(
            "  RETURN NULL;",
            "  DELETE FROM vehicle WHERE feed_id IN (SELECT id FROM deleted_feed);\n  RETURN NULL;",
        )
    )
