"""The README's links into the documentation site resolve, and the generated references cover the code.

`make docs` (mkdocs build --strict) checks the site's own links; the README is outside the site, so its
relative links are checked here.
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
