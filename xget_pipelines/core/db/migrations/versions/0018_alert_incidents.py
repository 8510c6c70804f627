"""Alert incidents (issue 18): what a person is told about by email, once per incident.

``alert_incidents``: one row per incident key (``pool:accounts_usable_low``, ``proxy:<id>:inactive``,
``run_failures:<job>``, ``account:<name>:out``), unique, so two sensor processes cannot open the same
incident twice; ``status`` (open, resolved), what is wrong (``title``, ``detail``) and what to do
(``remedy``); ``pending``, the message owed (opened, reminder, recovered) until it is sent, with the
sender's ``claim``; ``notified_at`` and ``reminders`` pace the reminders.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_incidents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("remedy", sa.Text, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("pending", sa.String(16)),
        sa.Column("notified_at", sa.DateTime(timezone=True)),
        sa.Column("reminders", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claim", sa.String(32)),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("key", name="uq_alert_incidents_key"),
    )
    op.create_index("ix_alert_incidents_source", "alert_incidents", ["source"])
    op.create_index("ix_alert_incidents_status", "alert_incidents", ["status"])
    op.create_index("ix_alert_incidents_pending", "alert_incidents", ["pending"])


def downgrade() -> None:
    op.drop_table("alert_incidents")
