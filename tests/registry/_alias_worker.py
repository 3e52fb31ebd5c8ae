"""A light module for spawned processes (imports only shipyard, not the test models)."""

from __future__ import annotations


def move_aliases(home: str, db: str | None, worker: int, moves: int) -> None:
    import shipyard as sy

    ws = sy.Workspace(home, db=db) if db else sy.Workspace(home)
    for i in range(moves):
        ws.models.set_alias("m", "champion", version=1 + (worker + i) % 3, reason=f"w{worker}-{i}")
    ws.close()
