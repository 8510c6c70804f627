"""Follower and following snapshots (``followers:@handle`` / ``following:@handle`` keys): one row per snapshot
with where its crawl stands, and one per scrape session that fetched pages of it.

Kept in the control plane rather than derived from ``raw/x_pages``: a snapshot of millions of followers spans
many partitions (one per day it took) and sessions, and only this table can say which pages belong to which
snapshot without reading every page the key ever stored.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "follow_snapshots",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("watch_key", sa.String(256), nullable=False, index=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("expected", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cursor", sa.Text),
        sa.Column("pages", sa.Integer, nullable=False, server_default="0"),
        sa.Column("users", sa.Integer, nullable=False, server_default="0"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("watch_key", "number"),
    )
    op.create_table(
        "follow_snapshot_sessions",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column(
            "snapshot_id", sa.String(32), sa.ForeignKey("follow_snapshots.id"), nullable=False, index=True
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("cursor_before", sa.Text),
        sa.Column("pages_before", sa.Integer, nullable=False, server_default="0"),
        sa.Column("users_before", sa.Integer, nullable=False, server_default="0"),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("follow_snapshot_sessions")
    op.drop_table("follow_snapshots")
