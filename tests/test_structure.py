"""The package's seams, read from its source with `ast` (issue 15).

- No import cycle between XGet's own modules, counting imports inside functions: a cycle broken by a
  function-level import is still a cycle a reader has to hold in their head.
- No `_private` name imported from another module: what crosses a module boundary is public.
- Settings and the environment are read only at entry points (the settings module itself, the CLI,
  the demo, the API app, the Dagster definitions and their resources), never by the core.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "xget_pipelines"
ROOT = PACKAGE.parent

# Where reading settings or the environment is the job, and why.
ENTRY_POINTS = {
    "xget_pipelines/settings.py": "the one reader of XGET_* variables and .env",
    "xget_pipelines/cli.py": "the CLI's entry point",
    "xget_pipelines/cli_context.py": "the settings of one CLI invocation, read once",
    "xget_pipelines/demo.py": "the demo's entry point: it configures the Dagster processes it starts",
    "xget_pipelines/definitions.py": "the Dagster code location's entry point: builds the resources",
    "xget_pipelines/serving/app.py": "the API's entry point",
    "xget_pipelines/__init__.py": "twscrape's telemetry and Hugging Face's hub off before anything imports "
    "them",
    "xget_pipelines/partitions.py": "the start of the daily partitions: needed when the asset modules are "
    "imported, before definitions.py builds anything (one read of one setting)",
    "xget_pipelines/core/db/migrations/versions/0003_account_secrets.py": "a data migration that encrypts "
    "cookies stored in clear before 0003: it needs the installation key, and migrations get only a URL",
    "xget_pipelines/core/db/dump.py": "passes the environment on to pg_dump/psql with PGPASSWORD added",
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(modules: dict[str, Path]) -> dict[str, list[tuple[str, str, int]]]:
    """Module -> [(imported module, imported name or '', line)] for XGet's own modules."""
    edges: dict[str, list[tuple[str, str, int]]] = {}
    for module, path in modules.items():
        out = edges.setdefault(module, [])
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                out += [
                    (alias.name, "", node.lineno)
                    for alias in node.names
                    if alias.name.startswith("xget_pipelines")
                ]
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, path, node)
                if not target.startswith("xget_pipelines"):
                    continue
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    if submodule in modules:
                        out.append((submodule, "", node.lineno))
                    else:
                        out.append((target, alias.name, node.lineno))
    return edges


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_modules():
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, targets in _imports(modules).items():
        for target, _name, _line in targets:
            # A package's __init__ importing its own submodules is how a package shows its face, not a cycle.
            if target in modules and target != module and not target.startswith(module + "."):
                graph.setdefault(module, set()).add(target)
    assert _cycles(graph) == []


def test_no_private_name_imported_from_another_module():
    modules = _modules()
    crossings = [
        f"{modules[module].relative_to(ROOT)}:{line} imports {name} from {target}"
        for module, targets in _imports(modules).items()
        for target, name, line in targets
        if name.startswith("_") and not name.startswith("__") and target != module
    ]
    private_modules = [
        f"{modules[module].relative_to(ROOT)}:{line} imports {target}"
        for module, targets in _imports(modules).items()
        for target, _name, line in targets
        if target.rsplit(".", 1)[-1].startswith("_")
        and not target.endswith("__init__")
        and target.rsplit(".", 1)[0] != module.rsplit(".", 1)[0]
    ]
    assert crossings + private_modules + _private_attributes_of_imported_modules(modules) == []


def _private_attributes_of_imported_modules(modules: dict[str, Path]) -> list[str]:
    """``cli._fail`` after ``from xget_pipelines import cli``: a private name reached through a module."""
    found = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and _resolve(module, path, node).startswith("xget_pipelines"):
                for alias in node.names:
                    if f"{_resolve(module, path, node)}.{alias.name}" in modules:
                        aliases[alias.asname or alias.name] = f"{_resolve(module, path, node)}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname and alias.name in modules:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append(
                    f"{path.relative_to(ROOT)}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}"
                )
    return found


def test_settings_and_environment_read_only_at_entry_points():
    readers = []
    for path in _modules().values():
        rel = str(path.relative_to(ROOT))
        if rel in ENTRY_POINTS:
            continue
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
                if isinstance(node.value, ast.Name) and node.value.id == "os":
                    readers.append(f"{rel}:{node.lineno} os.{node.attr}")
            elif isinstance(node, ast.Name) and node.id == "get_settings":
                readers.append(f"{rel}:{node.lineno} get_settings")
    assert readers == []
