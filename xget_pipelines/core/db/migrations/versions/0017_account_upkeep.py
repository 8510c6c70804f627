"""Account upkeep (issue 18): when each account was checked and is due again, why it is out, its logins.

``accounts``: ``out_cause`` (why an inactive account is out, as upkeep reads it: ``session`` for a session X
no longer knows, ``suspended``, ``locked``, ``refused`` for a 403 without a known code, ``login`` for a
failed automatic login; NULL: out by hand, which upkeep leaves alone), ``last_check_at`` / ``last_check``
(the last cheap request and what it said), ``next_check_at`` (when the account upkeep sensor looks again),
``last_login_at``, ``login_failures`` (failed automatic logins in a row: the backoff exponent),
``logins_day`` / ``logins_on_day`` (automatic logins on that UTC day: the daily cap) and ``login_reason``
(why the last automatic login was made, and how it ended).

Accounts already out for a refused session get their cause from the reason X's refusal left, so upkeep
renews them too.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# The reasons the X client recorded before causes existed (core/x/client.py), and the cause each means.
CAUSES = {
    "session": ("%(X code 32)%", "%(X code 353)%", "refused with HTTP 401%"),
    "suspended": ("%(X code 64)%",),
    "locked": ("%(X code 326)%",),
    "refused": ("refused with HTTP 403%",),
}


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("out_cause", sa.String(16)))
        batch.add_column(sa.Column("last_check_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("last_check", sa.Text))
        batch.add_column(sa.Column("next_check_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("last_login_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("login_failures", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("logins_day", sa.String(10)))
        batch.add_column(sa.Column("logins_on_day", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("login_reason", sa.Text))
        batch.create_index("ix_accounts_next_check_at", ["next_check_at"])
    accounts = sa.table(
        "accounts", sa.column("active", sa.Boolean), sa.column("error_msg", sa.Text), sa.column("out_cause")
    )
    for cause, patterns in CAUSES.items():
        op.execute(
            accounts.update()
            .where(
                accounts.c.active.is_(False),
                accounts.c.out_cause.is_(None),
                sa.or_(*(accounts.c.error_msg.like(p) for p in patterns)),
            )
            .values(out_cause=cause)
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_next_check_at")
        for name in (
            "login_reason",
            "logins_on_day",
            "logins_day",
            "login_failures",
            "last_login_at",
            "next_check_at",
            "last_check",
            "last_check_at",
            "out_cause",
        ):
            batch.drop_column(name)
