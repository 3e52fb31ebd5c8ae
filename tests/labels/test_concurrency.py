"""Assignment invariants under 8 concurrent annotators, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import sqlalchemy as sa

from shipyard.labels.tables import label_annotations, label_tasks


def test_eight_concurrent_annotators_never_over_assign(ws: Any) -> None:
    n_tasks, overlap, workers = 120, 3, 8
    df = pd.DataFrame({"text": [f"t{i}" for i in range(n_tasks)], "gold": ["a"] * n_tasks})
    p = ws.labels.create_project(
        "race", df, classes=["a", "b"], overlap=overlap, gold_fraction=0.05, gold_column="gold"
    )
    names = [f"w{i}" for i in range(workers)]
    for n in names:
        ws.labels.add_annotator(n)
    errors: list[BaseException] = []
    done: dict[str, list[int]] = {n: [] for n in names}
    barrier = threading.Barrier(workers)

    def work(name: str) -> None:
        try:
            barrier.wait()
            while True:
                task = ws.labels.next_task(p, name)
                if task is None:
                    return
                ws.labels.submit(p, task.row, name, "a" if task.row % 2 else "b")
                done[name].append(task.row)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for rows in done.values():
        assert len(rows) == len(set(rows)), "an annotator got the same task twice"
    with ws.db.read() as conn:
        tasks = pd.DataFrame(
            conn.execute(
                sa.select(
                    label_tasks.c.row,
                    label_tasks.c.is_gold,
                    label_tasks.c.n_assigned,
                    label_tasks.c.n_done,
                ).where(label_tasks.c.project_id == p.id)
            ).all(),
            columns=["row", "is_gold", "n_assigned", "n_done"],
        )
        per_row = dict(
            conn.execute(
                sa.select(label_annotations.c.row, sa.func.count())
                .where(label_annotations.c.project_id == p.id)
                .group_by(label_annotations.c.row)
            ).all()
        )
    regular = tasks[~tasks["is_gold"]]
    gold = tasks[tasks["is_gold"]]
    assert (regular["n_done"] == overlap).all() and (regular["n_assigned"] == overlap).all()
    assert all(per_row[r] == overlap for r in regular["row"])  # never over-assigned
    assert all(per_row[r] == workers for r in gold["row"])  # every annotator saw every gold task
    total = sum(len(v) for v in done.values())
    assert total == len(regular) * overlap + len(gold) * workers
    status = ws.labels.project(p)
    assert status.n_complete == len(regular) and status.n_annotations == total
