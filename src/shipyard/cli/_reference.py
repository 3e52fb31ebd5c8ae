"""The CLI reference page (``docs/cli.md``), generated from the Typer app.

    python -m shipyard.cli._reference > docs/cli.md      # or: make docs

It walks the command tree that Typer builds from ``shipyard.cli.app`` (every group,
command, argument and option, with its help, default, environment variable and
whether it is required), so the page says what ``shipyard … --help`` says.
``tests/cli/test_reference.py`` regenerates the page and fails when the file differs.
"""

from __future__ import annotations

import enum
import inspect
import os
import sys
from typing import Any

import typer
import typer.main

REGENERATE = "make docs"  # python -m shipyard.cli._reference > docs/cli.md
"""The command that rewrites ``docs/cli.md``."""


def render(app: typer.Typer | None = None, name: str = "shipyard") -> str:
    """The Markdown reference of *app* (default: the ``shipyard`` command)."""
    if app is None:
        from ._app import app as shipyard_app

        app = shipyard_app
    root = typer.main.get_command(app)
    ctx = root.context_class(root, info_name=name)
    out = [
        "# CLI reference",
        "",
        "<!-- Generated from the Typer app by `python -m shipyard.cli._reference > docs/cli.md`",
        f"     (`{REGENERATE}`); do not edit by hand. -->",
        "",
        "Every command also takes `--help`, which prints its usage, arguments and options as",
        f"below. The options of `{name}` itself (the workspace, `--debug`) go before the",
        f"command: `{name} --home ./ws info`.",
        "",
    ]
    commands = list(_walk(root, ctx))
    if len(commands) > 1:
        out += ["Commands:", ""]
        for _, c in commands[1:]:
            indent = "  " * (len(c.command_path.split()) - 2)
            out.append(f"{indent}- [`{c.command_path}`](#{_anchor(c.command_path)})")
        out.append("")
    for cmd, c in commands:
        out += _section(cmd, c)
    return "\n".join(out).rstrip() + "\n"


def _walk(cmd: Any, ctx: Any) -> Any:
    """(command, context) for *cmd* and every visible command below it, depth first."""
    yield cmd, ctx
    if not hasattr(cmd, "list_commands"):
        return
    for sub_name in cmd.list_commands(ctx):
        sub = cmd.get_command(ctx, sub_name)
        if sub is None or getattr(sub, "hidden", False):
            continue
        yield from _walk(sub, sub.context_class(sub, info_name=sub_name, parent=ctx))


def _section(cmd: Any, ctx: Any) -> list[str]:
    depth = len(ctx.command_path.split())
    out = [f"{'#' * min(depth + 1, 4)} {ctx.command_path}", ""]
    if getattr(cmd, "deprecated", False):
        out += ["*Deprecated.*", ""]
    text = inspect.cleandoc(cmd.help or "")
    if text:
        out += [_paragraphs(text), ""]
    pieces = cmd.collect_usage_pieces(ctx)
    if hasattr(cmd, "list_commands") and not cmd.list_commands(ctx):
        # a group that only has a callback (``shipyard gc``) takes no command
        pieces = [p for p in pieces if p != cmd.subcommand_metavar]
    usage = " ".join([ctx.command_path, *pieces])
    out += [f"Usage: `{usage}`", ""]
    rows = [r for p in cmd.params if (r := _param_row(p, ctx)) is not None]
    if rows:
        out += ["| argument / option | description | default |", "| --- | --- | --- |"]
        out += [f"| {' | '.join(_cell(v) for v in r)} |" for r in rows]
        out.append("")
    if hasattr(cmd, "list_commands"):
        subs = [(n, cmd.get_command(ctx, n)) for n in cmd.list_commands(ctx)]
        subs = [(n, s) for n, s in subs if s is not None and not getattr(s, "hidden", False)]
        if subs:
            out += ["| command | description |", "| --- | --- |"]
            for n, s in subs:
                path = f"{ctx.command_path} {n}"
                summary = s.get_short_help_str(limit=300)
                out.append(f"| [`{n}`](#{_anchor(path)}) | {_cell(summary)} |")
            out.append("")
    return out


def _param_row(param: Any, ctx: Any) -> tuple[str, str, str] | None:
    record = param.get_help_record(ctx)
    if record is None:
        return None
    names = record[0]
    notes = []
    if param.help:
        notes.append(inspect.cleandoc(param.help))
    if param.multiple and "repeatable" not in (param.help or "").lower():
        notes.append("Repeatable.")
    envvar = param.envvar
    if envvar and getattr(param, "show_envvar", True):
        envvars = [envvar] if isinstance(envvar, str) else list(envvar)
        notes.append("Environment: " + ", ".join(f"`{e}`" for e in envvars) + ".")
    if param.required:
        notes.append("Required.")
    return f"`{names}`", " ".join(notes), _default(param)


def _default(param: Any) -> str:
    show = getattr(param, "show_default", True)
    if param.required or show is False:
        return ""
    if isinstance(show, str):
        return show
    value = param.default
    if value is None or callable(value) or value in ("", (), []):
        return ""
    if getattr(param, "is_flag", False):
        if param.secondary_opts:  # --x / --no-x: name the one that applies
            return f"`{(param.opts if value else param.secondary_opts)[-1]}`"
        return "on" if value else ""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, list | tuple):
        return ", ".join(f"`{v}`" for v in value)
    return f"`{os.fspath(value) if isinstance(value, os.PathLike) else value}`"


def _paragraphs(text: str) -> str:
    """Help text as Markdown: Click's ``\\b`` (no rewrap) blocks become literal blocks."""
    blocks = []
    for block in text.split("\n\n"):
        if block.startswith("\b\n"):
            blocks.append("```text\n" + block[2:] + "\n```")
        else:
            blocks.append(block)
    return "\n\n".join(blocks)


def _cell(text: str) -> str:
    """One Markdown table cell: a single line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _anchor(heading: str) -> str:
    """The anchor GitHub derives from a heading."""
    kept = "".join(ch for ch in heading.lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def main() -> None:
    sys.stdout.buffer.write(render().encode("utf-8"))


if __name__ == "__main__":
    main()
