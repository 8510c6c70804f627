"""The README's links into the documentation site resolve, the pages name modules that exist, and the
generated references cover the code.

`make docs` (mkdocs build --strict) checks the site's own links and anchors; the README is outside the
site, and a module named in text (`core/trends.py`) is no link, so both are checked here: a rename that
leaves the documentation behind fails.
"""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _hook():
    spec = importlib.util.spec_from_file_location("docs_reference_hook", ROOT / "docs/hooks/reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_relative_links_point_at_files():
    readme = (ROOT / "README.md").read_text()
    targets = [t for t in re.findall(r"\]\(([^)\s]+)\)", readme) if "://" not in t]
    assert targets, "the README links into docs/"
    missing = [t for t in targets if not (ROOT / t.split("#")[0]).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


# Python files the pages name that are not XGet's: PyPI packages whose names end in .py.
NOT_OURS = {"proxy.py"}


def test_pages_name_python_files_that_exist():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    known = {
        p.name
        for d in ("xget_pipelines", "tests", "bench", "examples", "docs")
        for p in (ROOT / d).rglob("*.py")
    }
    stale = []
    for page in pages:
        for name in re.findall(r"(?<![\w./*-])([\w-]+(?:/[\w-]+)*\.py)\b", page.read_text()):
            if name in NOT_OURS or (ROOT / name).exists() or (ROOT / "xget_pipelines" / name).exists():
                continue
            if "/" not in name and name in known:
                continue
            stale.append(f"{page.relative_to(ROOT)}: {name}")
    assert not stale, f"pages name Python files that do not exist (renamed or removed?): {stale}"


def test_settings_reference_names_every_setting_with_a_description():
    from xget_pipelines.settings import Settings

    page = _hook().settings_page()
    for name, field in Settings.model_fields.items():
        assert f"`XGET_{name.upper()}`" in page
        assert field.description, f"Settings.{name} has no description (the settings reference shows it)"


def test_cli_reference_documents_every_command():
    import typer

    from xget_pipelines.cli import app

    page = _hook().cli_page()
    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name="xget")
    for name in group.list_commands(ctx):
        assert f"### `xget {name}`" in page
        command = group.get_command(ctx, name)
        for sub in getattr(command, "list_commands", lambda _ctx: [])(ctx):
            assert f"#### `xget {name} {sub}`" in page
