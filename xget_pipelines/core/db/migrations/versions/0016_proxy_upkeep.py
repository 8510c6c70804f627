"""Proxy upkeep (issue 18): what each check saw and when the next one is due, and an account's wanted country.

``proxies``: ``exit_ip`` (the address the check target saw; unknown when the target does not say),
``exit_country`` (looked up offline, ``core/pools/geo.py``), ``failed_checks`` (checks in a row without a
successful attempt: the exponent of an INACTIVE proxy's backoff) and ``next_check_at`` (when the upkeep
sensor checks it again). ``accounts.wanted_country``: binding gives the account only proxies of it.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("proxies") as batch:
        batch.add_column(sa.Column("exit_ip", sa.String(45)))
        batch.add_column(sa.Column("exit_country", sa.String(2)))
        batch.add_column(sa.Column("failed_checks", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_check_at", sa.DateTime(timezone=True)))
        batch.create_index("ix_proxies_next_check_at", ["next_check_at"])
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("wanted_country", sa.String(2)))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("wanted_country")
    with op.batch_alter_table("proxies") as batch:
        batch.drop_index("ix_proxies_next_check_at")
        batch.drop_column("next_check_at")
        batch.drop_column("failed_checks")
        batch.drop_column("exit_country")
        batch.drop_column("exit_ip")
