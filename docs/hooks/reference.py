"""MkDocs hook: the settings and CLI references, generated from the code at every build.

``reference/settings.md`` is made from the ``Settings`` class (``xget_pipelines/settings.py``),
``reference/cli.md`` from the Typer app (``xget_pipelines.cli:app``, walked as the Click command tree it
builds) and ``reference/api/routes.md`` from the API's routes and OpenAPI document (``create_app`` over a
throwaway home). Both are added to the build as generated files, never written into ``docs/``: they cannot be
committed, and so cannot go stale. A setting without a description, or a command without help, is a
warning, which ``mkdocs build --strict`` (``make docs``) turns into a failed build.

Run it directly to print a page: ``python docs/hooks/reference.py settings|cli|routes``.
"""

from __future__ import annotations

import enum
import logging
import sys
import types
import typing
from pathlib import Path

import typer

log = logging.getLogger("mkdocs.hooks.reference")

SETTINGS_PAGE = "reference/settings.md"
CLI_PAGE = "reference/cli.md"
ROUTES_PAGE = "reference/api/routes.md"

# Sections of the settings page, by the field name's prefix (the first that matches); any other field
# lands in "General", so a new setting is never left out.
SECTIONS = [
    ("x_", "X requests and logins"),
    ("chromium_", "X requests and logins"),
    ("google_", "X requests and logins"),
    ("imap_", "Emailed login codes (IMAP)"),
    ("pool_", "Account pool"),
    ("soft_ban_", "Account pool"),
    ("quarantine_", "Account pool"),
    ("alert_", "Alerts"),
    ("account_", "Account pool"),
    ("proxy_", "Proxy pool"),
    ("watch_", "Orchestration"),
    ("partitions_", "Orchestration"),
    ("sentiment_", "Analytics"),
    ("trend_", "Analytics"),
    ("dbt_", "Analytics"),
    ("api_", "API"),
    ("jwt_", "API"),
    ("redis_", "API"),
    ("oidc_", "API: OpenID Connect"),
    ("otlp_", "API"),
    ("media_", "Media downloads"),
    ("search_", "Sink: search index"),
    ("archive_", "Sink: raw-page archive"),
    ("events_", "Sink: lake events"),
    ("lake_vacuum", "Lake upkeep"),
    ("lake_maintenance", "Lake upkeep"),
    ("emulator_", "Emulator"),
    ("demo_", "Demo"),
]


# -- settings ----------------------------------------------------------------------------------------------


def _type_name(annotation: object) -> str:
    """A reader's name for a field's type: ``int``, ``text (optional)``, ``one of `lru`, `health```."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        optional = " (optional)" if type(None) in args else ""
        return " or ".join(names) + optional
    if origin is dict:
        return "JSON object"
    if origin in (list, tuple, set):
        return "JSON list"
    name = getattr(annotation, "__name__", str(annotation))
    return {"SecretStr": "secret", "Path": "path", "str": "text", "bool": "true/false"}.get(name, name)


def _default(field) -> str:
    from pydantic_core import PydanticUndefined

    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None or value == "":
        return "unset"
    if isinstance(value, dict) and not value:
        return "`{}`"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        value = str(value).lower()
    return f"`{value}`"


def _env_names(settings_cls, name: str, field) -> list[str]:
    """The environment variables pydantic-settings reads a field from: an alias if it has one, else the
    model's ``env_prefix`` and the field name (matched case-insensitively unless ``case_sensitive``)."""
    config = settings_cls.model_config
    alias = field.validation_alias or field.alias
    if isinstance(alias, str):
        names = [alias]
    elif alias is not None and hasattr(alias, "choices"):
        names = [c for c in alias.choices if isinstance(c, str)]
    else:
        names = [f"{config.get('env_prefix', '')}{name}"]
    return names if config.get("case_sensitive") else [n.upper() for n in names]


def _code(text: str) -> str:
    """Text for a code span in a table cell: one line (a pipe inside a code span does not split the cell)."""
    return " ".join(text.split())


def _cell(text: str) -> str:
    """Text for one Markdown table cell: one line, pipes escaped, and ``<``/``>`` outside code spans
    escaped so a placeholder such as <home> is shown, not taken for an HTML tag."""
    parts = " ".join(text.split()).split("`")
    for i in range(0, len(parts), 2):  # outside code spans (a pipe inside one does not split the cell)
        parts[i] = (
            parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
        )
    return "`".join(parts)


def settings_page() -> str:
    from xget_pipelines.settings import Settings

    config = Settings.model_config
    prefix = config.get("env_prefix", "")
    env_file = config.get("env_file")
    out = [
        "# Settings reference",
        "",
        "<!-- Generated by docs/hooks/reference.py from xget_pipelines/settings.py: edit it there. -->",
        "",
        f"Every setting is an environment variable named `{prefix}` and the field's name in capitals"
        + (f", or a line `NAME=value` in a `{env_file}` file in the working directory" if env_file else "")
        + ". An environment variable wins over the file. JSON objects are written as JSON "
        '(`XGET_LAKE_STORAGE_OPTIONS=\'{"AWS_REGION": "eu-west-1"}\'`); secrets are never logged or printed. '
        "This page is generated from the `Settings` class in `xget_pipelines/settings.py` at every build.",
        "",
    ]
    sections: dict[str, list[str]] = {}
    missing = []
    for name, field in Settings.model_fields.items():
        section = next((title for start, title in SECTIONS if name.startswith(start)), "General")
        description = field.description or ""
        if not description:
            missing.append(name)
        env = ", ".join(f"`{n}`" for n in _env_names(Settings, name, field))
        row = f"| {env} | {_type_name(field.annotation)} | {_default(field)} | {_cell(description)} |"
        sections.setdefault(section, []).append(row)
    order = ["General"] + list(dict.fromkeys(title for _, title in SECTIONS))
    out.append("On this page: " + ", ".join(f"[{t}](#{_anchor(t)})" for t in order if t in sections) + ".")
    out.append("")
    for title in order:
        if title not in sections:
            continue
        out += [f"## {title}", "", "| variable | type | default | meaning |", "|---|---|---|---|"]
        out += sections[title]
        out.append("")
    if missing:
        log.warning(
            "Settings without a description (add Field(description=...) in xget_pipelines/settings.py): "
            + ", ".join(missing)
        )
    return "\n".join(out)


def _anchor(title: str) -> str:
    """The id MkDocs' toc extension gives a heading (its default slugify)."""
    import re
    import unicodedata

    value = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


# -- CLI ---------------------------------------------------------------------------------------------------


def _param_row(param, ctx) -> str:
    record = param.get_help_record(ctx)
    names, help_text = record if record else ("/".join(param.opts), "")
    return f"| `{_code(names)}` | {_cell(help_text)} |"


def _command_section(command, path: list[str], ctx, depth: int) -> list[str]:
    """The Markdown of one command and, for a group, of its subcommands. Typer 0.29 carries its own copy of
    Click, so the tree is walked by what its objects do (``list_commands``, ``param_type_name``)."""
    name = " ".join(path)
    out = [f"{'#' * depth} `{name}`", ""]
    if command.help:
        out += [_escape(_cell_paragraphs(command.help)), ""]
    elif len(path) > 1:
        log.warning(f"The command `{name}` has no help text: give it a docstring (xget_pipelines/cli*.py).")
    usage = " ".join(command.collect_usage_pieces(ctx))
    out += ["```console", f"$ {name} {usage}".rstrip(), "```", ""]
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False) and p.name not in _HIDDEN]
    for kind in ("argument", "option"):
        rows = [_param_row(p, ctx) for p in params if p.param_type_name == kind]
        if rows:
            out += [f"| {kind} | meaning |", "|---|---|", *rows, ""]
    if hasattr(command, "list_commands"):
        subcommands = [(n, command.get_command(ctx, n)) for n in command.list_commands(ctx)]
        out += ["| command | what it does |", "|---|---|"]
        for sub_name, sub in subcommands:
            anchor = _anchor(" ".join([*path, sub_name]))
            out.append(f"| [`{sub_name}`](#{anchor}) | {_cell(sub.get_short_help_str(limit=200))} |")
        out.append("")
        for sub_name, sub in subcommands:
            sub_ctx = typer.Context(sub, info_name=sub_name, parent=ctx)
            out += _command_section(sub, [*path, sub_name], sub_ctx, depth + 1)
    return out


# Typer's shell-completion installers and --help are on every command; they are not XGet's to document.
_HIDDEN = {"install_completion", "show_completion", "help"}


def _escape(text: str) -> str:
    return "\n\n".join(_cell(p) for p in text.split("\n\n"))


def _cell_paragraphs(text: str) -> str:
    """A docstring's paragraphs as Markdown paragraphs (Click keeps them; \\b blocks are verbatim)."""
    import inspect

    return "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(text).split("\n\n") if p.strip())


def cli_page() -> str:
    from xget_pipelines.cli import app

    command = typer.main.get_command(app)
    ctx = typer.Context(command, info_name="xget")
    intro = [
        "# CLI reference",
        "",
        "<!-- Generated by docs/hooks/reference.py from xget_pipelines.cli:app: edit the command there. -->",
        "",
        "Every command of `xget` (installed into `.venv/bin/` by `make install`), generated from the Typer "
        "app `xget_pipelines.cli:app` at every build. Every command also takes `--help`. Options that "
        "default to a setting name it (see the [settings reference](settings.md)).",
        "",
    ]
    body = _command_section(command, ["xget"], ctx, 2)
    return "\n".join(intro + body)


# -- REST routes -------------------------------------------------------------------------------------------


def _permissions(dependant) -> list[str]:
    """The permissions a route's dependencies require: ``serving/deps.py``'s ``require(permission)``
    returns a check that closes over the permission."""
    from xget_pipelines.core.auth.permissions import Permission

    found = []
    for dep in dependant.dependencies:
        for cell in getattr(dep.call, "__closure__", None) or ():
            if isinstance(cell.cell_contents, Permission):
                found.append(cell.cell_contents.value)
        found += _permissions(dep)
    return list(dict.fromkeys(found))


def routes_page() -> str:
    import tempfile

    from fastapi import routing

    from xget_pipelines.serving.app import create_app
    from xget_pipelines.settings import Settings

    with tempfile.TemporaryDirectory(prefix="xget-docs-") as home:
        # model_construct: the defaults only, never this machine's XGET_* variables or .env (no Redis, no
        # search server, no PostgreSQL is reached while the docs build)
        settings = Settings.model_construct(
            home=Path(home), lake_uri=f"{home}/lake", database_url=f"sqlite:///{home}/xget.db"
        )
        app = create_app(settings)
        spec = app.openapi()
    tags = {t["name"]: t.get("description", "") for t in spec.get("tags", [])}
    rows: dict[str, list[str]] = {}
    # FastAPI 0.165 includes routers lazily: iter_route_contexts walks them with their prefixes, as
    # FastAPI's own OpenAPI generation does.
    for route in routing.iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None or not route.include_in_schema:
            continue
        permissions = ", ".join(f"`{p}`" for p in _permissions(dependant))
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            operation = spec["paths"].get(route.path_format, {}).get(method.lower(), {})
            needs = permissions or ("any credential" if operation.get("security") else "nothing (public)")
            summary = operation.get("summary", "")
            if route.path_format.endswith("/graphql"):  # the GraphQL library's handler names itself
                summary = "GraphQL queries ([GraphQL](graphql.md)); in a browser, GET opens GraphiQL"
            if not summary:
                log.warning(f"The route {method} {route.path} has no summary: give its function a docstring.")
            tag = (operation.get("tags") or ["other"])[0]
            rows.setdefault(tag, []).append(f"| `{method}` | `{route.path}` | {needs} | {_cell(summary)} |")
    out = [
        "# REST routes",
        "",
        "<!-- Generated by docs/hooks/reference.py from the API's routes (xget_pipelines/serving). -->",
        "",
        f"Every route of the API ({spec['info']['title']} {spec['info']['version']}), generated from the "
        "application at every build: its method, path, the permission a credential needs (which roles "
        "grant it: [roles](auth.md#roles)) and what it does. Request and response schemas are in the "
        "OpenAPI document the API serves at `/openapi.json` (browse it at `/docs`); examples are in "
        "[REST](rest.md).",
        "",
    ]
    for tag in [*tags, *sorted(set(rows) - set(tags))]:
        if tag not in rows:
            continue
        out += [f"## {tag}", ""]
        if tags.get(tag):
            out += [_cell(tags[tag]), ""]
        out += ["| method | path | needs | what it does |", "|---|---|---|---|", *rows[tag], ""]
    return "\n".join(out)


# -- MkDocs events -----------------------------------------------------------------------------------------


def on_files(files, config):
    from mkdocs.structure.files import File

    root = str(Path(config["config_file_path"]).parent)
    if root not in sys.path:
        sys.path.insert(0, root)  # the package of this checkout, even when another one is installed
    for uri, make in ((SETTINGS_PAGE, settings_page), (CLI_PAGE, cli_page), (ROUTES_PAGE, routes_page)):
        if files.get_file_from_path(uri) is not None:
            log.warning(
                f"docs/{uri} exists, but it is generated: delete it (it would hide the generated page)"
            )
            files.remove(files.get_file_from_path(uri))
        files.append(File.generated(config, uri, content=make()))
    return files


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    print({"settings": settings_page, "cli": cli_page, "routes": routes_page}[sys.argv[1]]())
