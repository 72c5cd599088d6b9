"""Published MDS 2.0 policies and geographies, stored byte for byte and immutable.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-04 23:30:00

``mds_publication``, ``mds_policy``, ``mds_geography``: see
``fleet_monitor/models/mds.py``. Published documents are immutable (MDS: a
change is a new policy listing the old one in ``prev_policies``): a trigger
refuses every UPDATE and DELETE of a published policy or geography.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
TABLES = ("mds_policy", "mds_geography")


def upgrade() -> None:
    op.create_table(
        "mds_publication",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("start_at", TS, nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("policies", sa.Integer(), nullable=False),
        sa.Column("geographies", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mds_publication")),
    )
    op.create_table(
        "mds_policy",
        sa.Column("policy_id", sa.String(length=36), nullable=False),
        sa.Column("publication_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("permit_version", sa.Integer(), nullable=False),
        sa.Column("facet", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("start_date", TS, nullable=False),
        sa.Column("end_date", TS, nullable=True),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["mds_publication.id"],
            name=op.f("fk_mds_policy_publication_id_mds_publication"),
        ),
        sa.PrimaryKeyConstraint("policy_id", name=op.f("pk_mds_policy")),
    )
    op.create_index(
        "ix_mds_policy_publication", "mds_policy", ["publication_id", "position"], unique=False
    )
    op.create_index(
        "ix_mds_policy_lineage", "mds_policy", ["operator", "facet", "permit_version"], unique=False
    )
    op.create_table(
        "mds_geography",
        sa.Column("geography_id", sa.String(length=36), nullable=False),
        sa.Column("publication_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("lineage", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=True),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["mds_publication.id"],
            name=op.f("fk_mds_geography_publication_id_mds_publication"),
        ),
        sa.PrimaryKeyConstraint("geography_id", name=op.f("pk_mds_geography")),
    )
    op.create_index(
        "ix_mds_geography_publication",
        "mds_geography",
        ["publication_id", "position"],
        unique=False,
    )
    op.execute(
        """
        CREATE FUNCTION mds_published_is_immutable() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'published MDS documents are immutable (% on %)', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'integrity_constraint_violation';
        END $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION mds_published_is_immutable()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
    op.execute("DROP FUNCTION IF EXISTS mds_published_is_immutable()")
    op.drop_index("ix_mds_geography_publication", table_name="mds_geography")
    op.drop_table("mds_geography")
    op.drop_index("ix_mds_policy_lineage", table_name="mds_policy")
    op.drop_index("ix_mds_policy_publication", table_name="mds_policy")
    op.drop_table("mds_policy")
    op.drop_table("mds_publication")
