"""Proxies: endpoint, encrypted credentials, geography and health.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proxies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scheme", sa.String(8), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("username", sa.String(255), nullable=False, server_default=""),
        sa.Column("password_enc", sa.Text),
        sa.Column("country", sa.String(2)),
        sa.Column("city", sa.String(128)),
        sa.Column("isp", sa.String(128)),
        sa.Column("latency_ms", sa.Float),
        sa.Column("success_rate", sa.Float),
        sa.Column("checks", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_check_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.Column("status", sa.String(16), nullable=False, server_default="CHECKING"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("scheme", "host", "port", "username", name="uq_proxies_endpoint"),
    )
    op.create_index("ix_proxies_country", "proxies", ["country"])
    op.create_index("ix_proxies_status", "proxies", ["status"])


def downgrade() -> None:
    op.drop_table("proxies")
