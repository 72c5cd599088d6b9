"""Two-factor sign-in, recovery codes, password reset tokens, request rate limits,
and an expiry for operators' API tokens.

Revision ID: 0011
Revises: 0003
Create Date: 2026-12-04 10:00:00

On the accounts chain (0003). It also alters ``operator_api_token`` (made by
0004, the notices chain), hence ``depends_on``. Tokens that existed before get
90 days from the upgrade: none is left without an expiry.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0004"

TS = sa.DateTime(timezone=True)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"],
        ["user_account.id"],
        name=op.f(f"fk_{table}_user_id_user_account"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "user_totp",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("confirmed_at", TS, nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        _user_fk("user_totp"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_totp")),
    )
    op.create_table(
        "user_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("used_at", TS, nullable=True),
        _user_fk("user_recovery_code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_recovery_code")),
    )
    op.create_index(
        op.f("ix_user_recovery_code_user_id"), "user_recovery_code", ["user_id"], unique=False
    )
    op.create_table(
        "password_reset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        _user_fk("password_reset"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_reset_token_hash")),
    )
    op.create_index(op.f("ix_password_reset_user_id"), "password_reset", ["user_id"], unique=False)
    op.create_table(
        "rate_limit",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit")),
    )
    op.create_index(op.f("ix_rate_limit_window_start"), "rate_limit", ["window_start"])
    op.add_column("operator_api_token", sa.Column("expires_at", TS, nullable=True))
    op.execute("UPDATE operator_api_token SET expires_at = now() + interval '90 days'")
    op.alter_column("operator_api_token", "expires_at", nullable=False)


def downgrade() -> None:
    op.drop_column("operator_api_token", "expires_at")
    op.drop_table("rate_limit")
    op.drop_table("password_reset")
    op.drop_table("user_recovery_code")
    op.drop_table("user_totp")
