"""The command line: ``shipyard …``."""

from ._app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
