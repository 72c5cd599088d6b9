"""The national address base (BAN): one geography point per address.

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-04 23:30:00

A GiST index on the geography serves both the nearest-neighbour order
(``geog <-> point``) and ``ST_DWithin`` in metres.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE address (
            ban_id varchar(64) PRIMARY KEY,
            number integer,
            suffix varchar(16) NOT NULL DEFAULT '',
            street text NOT NULL,
            postcode varchar(5) NOT NULL,
            insee_code varchar(5) NOT NULL,
            commune_name text NOT NULL,
            former_insee_code varchar(5) NOT NULL DEFAULT '',
            former_commune_name text NOT NULL DEFAULT '',
            geog geography(Point, 4326) NOT NULL,
            imported_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX idx_address_geog ON address USING gist (geog)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS address")
