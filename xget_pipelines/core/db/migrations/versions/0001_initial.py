"""Accounts with per-operation rate-limit state, watchlist, scrape sessions.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("cookies", sa.JSON, nullable=False),
        sa.Column("user_agent", sa.String(512)),
        sa.Column("proxy_url", sa.String(512)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("error_msg", sa.Text),
        sa.Column("last_used", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "account_operations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("window_limit", sa.Integer),
        sa.Column("remaining", sa.Integer),
        sa.Column("reset_at", sa.Float),
        sa.Column("leased_until", sa.Float),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("last_used", sa.Float),
        sa.UniqueConstraint("account_id", "operation"),
    )
    op.create_index("ix_account_operations_account_id", "account_operations", ["account_id"])
    op.create_table(
        "watchlist",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(256), nullable=False, unique=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "scrape_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("partition_key", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_scrape_sessions_partition_key", "scrape_sessions", ["partition_key"])


def downgrade() -> None:
    op.drop_table("scrape_sessions")
    op.drop_table("watchlist")
    op.drop_table("account_operations")
    op.drop_table("accounts")
