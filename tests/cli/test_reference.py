from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

import typer

from shipyard.cli._app import SUBCOMMANDS
from shipyard.cli._reference import REGENERATE, render

DOCS_CLI = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_docs_cli_md_is_up_to_date() -> None:
    expected = render()
    actual = DOCS_CLI.read_text(encoding="utf-8") if DOCS_CLI.exists() else ""
    if actual != expected:
        diff = "".join(
            list(
                difflib.unified_diff(
                    actual.splitlines(keepends=True),
                    expected.splitlines(keepends=True),
                    "docs/cli.md",
                    "generated",
                )
            )[:40]
        )
        raise AssertionError(
            f"docs/cli.md is out of date with the CLI; regenerate it with `{REGENERATE}` "
            f"(python -m shipyard.cli._reference > docs/cli.md)\n{diff}"
        )


def test_every_command_group_has_a_section() -> None:
    text = render()
    names = [name for _, name in SUBCOMMANDS] + ["init", "info", "server", "serve", "scheduler"]
    for name in names:
        assert f"\n### shipyard {name}\n" in text, name
    assert "\n#### shipyard pipelines schedule add\n" in text  # a group inside a group
    assert "\n## shipyard\n" in text


def _toy_app() -> typer.Typer:
    app = typer.Typer(help="Toy tool.")
    sub = typer.Typer(help="Things.")
    app.add_typer(sub, name="things")

    @app.callback()
    def root(home: str = typer.Option(None, "--home", envvar="TOY_HOME", help="Home.")) -> None:
        """Toy tool."""

    @sub.command("add")
    def add(
        name: str = typer.Argument(..., help="Thing name."),
        size: int = typer.Option(3, "--size", "-s", help="How big | how wide."),
        tag: list[str] = typer.Option(None, "--tag", help="A tag."),
        force: bool = typer.Option(False, "--force/--no-force", help="Overwrite."),
        secret: str = typer.Option("x", "--secret", hidden=True),
    ) -> None:
        """Add a thing.

        Longer explanation of adding.
        """

    @sub.command("old", hidden=True)
    def old() -> None:
        """Hidden."""

    return app


def test_render_lists_arguments_options_defaults_and_help() -> None:
    text = render(_toy_app(), name="toy")
    assert "\n## toy\n\nToy tool.\n" in text
    assert "| `--home <str>` | Home. Environment: `TOY_HOME`. |  |" in text
    assert "- [`toy things add`](#toy-things-add)" in text
    assert "| [`add`](#toy-things-add) | Add a thing. |" in text
    section = text.split("\n#### toy things add\n", 1)[1]
    assert section.startswith("\nAdd a thing.\n\nLonger explanation of adding.\n")
    assert "Usage: `toy things add [OPTIONS] {name}`" in section
    assert "| `name <str>` | Thing name. Required. |  |" in section
    assert "| `-s, --size <int>` | How big \\| how wide. | `3` |" in section
    assert "| `--tag <list[str]>` | A tag. Repeatable. |  |" in section
    assert "| `--force / --no-force` | Overwrite. | `--no-force` |" in section
    assert "--secret" not in text
    assert "things old" not in text


def test_module_writes_utf8_whatever_the_locale() -> None:
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii"}
    proc = subprocess.run(
        [sys.executable, "-m", "shipyard.cli._reference"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode("utf-8") == render()
