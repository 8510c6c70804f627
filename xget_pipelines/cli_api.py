"""``xget api`` (serve the REST/GraphQL API) and ``xget users`` (create the first admin, list users, keys,
unlock a user locked out by failed logins)."""

from __future__ import annotations

import typer

from xget_pipelines import cli_context
from xget_pipelines.cli_output import OutputFormat, console, err, fail, print_rows

users_app = typer.Typer(help="Users of the serving API.", no_args_is_help=True)


def api(
    host: str = typer.Option(None, help="Address to bind (default XGET_API_HOST, 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default XGET_API_PORT, 8000)."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    forwarded_allow_ips: str = typer.Option(
        None,
        help="Comma-separated addresses or networks of the reverse proxies whose X-Forwarded-For is "
        "believed (default XGET_API_FORWARDED_ALLOW_IPS, none: the client is the TCP peer).",
    ),
) -> None:
    """Serve the REST API (/v1, OpenAPI page at /docs) and GraphQL (/v1/graphql) until Ctrl-C."""
    from xget_pipelines.serving.app import serve
    from xget_pipelines.settings import Settings

    if forwarded_allow_ips is not None:
        try:
            forwarded_allow_ips = Settings.check_addresses(forwarded_allow_ips)
        except ValueError as exc:
            fail(f"--forwarded-allow-ips: {exc}")
    serve(host, port, workers, forwarded_allow_ips)


@users_app.command("create-admin")
def create_admin(
    username: str = typer.Argument(..., help="Name of the admin."),
    password: str | None = typer.Option(
        None,
        envvar="XGET_ADMIN_PASSWORD",
        show_envvar=False,
        help="Password (default: asked, hidden; or XGET_ADMIN_PASSWORD).",
    ),
    email: str | None = typer.Option(None),
) -> None:
    """Create an admin user (the first one especially: admins create everyone else)."""
    from xget_pipelines.core.auth.users import UserError, create_user

    password = password or typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(cli_context.engine(), username, password, "admin", email=email)
    except UserError as exc:
        fail(str(exc))
    console.print(f"admin {user.username} created (id {user.id}); get a token with POST /v1/auth/token")


@users_app.command("list")
def list_users() -> None:
    """Users with their role and status, and any lockout after failed logins."""
    from xget_pipelines.core.auth.users import list_users as all_users

    rows = [
        (
            u.id,
            u.username,
            u.role,
            u.status,
            u.email or "",
            u.failed_logins,
            u.locked_until.strftime("%Y-%m-%d %H:%M:%S UTC") if u.locked_until else "",
        )
        for u in all_users(cli_context.engine())
    ]
    columns = ["id", "username", "role", "status", "email", "failed logins", "locked until"]
    print_rows(columns, rows, OutputFormat.table)


@users_app.command("unlock")
def unlock(username: str = typer.Argument(..., help="The user whose logins are locked.")) -> None:
    """Clear a user's failed logins and lockout: their password logins work again at once."""
    from sqlalchemy import func, select

    from xget_pipelines.core.auth.users import unlock_user
    from xget_pipelines.core.db.models import User

    engine = cli_context.engine()
    with engine.connect() as conn:
        user_id = conn.execute(
            select(User.id).where(func.lower(User.username) == username.lower())
        ).scalar_one_or_none()
    if user_id is None:
        fail(f"no user {username!r} (see `xget users list`)")
    user = unlock_user(engine, user_id, actor=None)
    console.print(f"{user.username}: failed logins cleared, password logins work again")


@users_app.command("create-key")
def create_key(
    username: str = typer.Argument(..., help="The user the key acts as."),
    name: str = typer.Option(..., help="What uses the key."),
    role: str | None = typer.Option(None, help="A narrower role for the key (viewer, analyst, operator)."),
    expires_in_days: int | None = typer.Option(None, min=1),
) -> None:
    """Create an API key for a user and print it (once: it is stored hashed)."""
    from sqlalchemy import select

    from xget_pipelines.core.auth.keys import create_key as new_key
    from xget_pipelines.core.auth.users import UserError
    from xget_pipelines.core.db.models import User

    engine = cli_context.engine()
    with engine.connect() as conn:
        user_id = conn.execute(select(User.id).where(User.username == username)).scalar_one_or_none()
    if user_id is None:
        fail(f"no user {username!r} (see `xget users list`)")
    try:
        most = cli_context.settings().api_max_keys_per_user
        record, key = new_key(engine, user_id, name, role, expires_in_days, max_active=most)
    except (UserError, ValueError) as exc:
        fail(str(exc))
    err.print(f"key {record.key_id} for {username}; store it now, it is not shown again:")
    print(key)
