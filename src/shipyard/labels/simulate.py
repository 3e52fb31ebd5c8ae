"""Simulated crowds with known truth, for tests, demos and comparing methods.

>>> crowd = Crowd.make(5, accuracy=0.8, spammers=1, seed=0)
>>> item, rater, label = crowd.label(truth, n_classes=3, overlap=3)     # arrays only
>>> crowd.work(ws, project, truth)                                     # through ws.labels

Annotator models:

* ``accuracy``: the probability of giving the true class; otherwise a wrong class,
  drawn from ``bias`` (a preference over classes) or uniformly.
* ``spammer``: ignores the item and answers from ``bias`` (or uniformly).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import InvalidInput


@dataclass(frozen=True)
class SimulatedAnnotator:
    name: str
    accuracy: float = 0.8
    spammer: bool = False
    bias: tuple[float, ...] | None = None

    def answer(
        self, truth: np.ndarray[Any, Any], n_classes: int, rng: np.random.Generator
    ) -> np.ndarray[Any, Any]:
        """One simulated answer per true class in *truth*."""
        n = len(truth)
        pref = (
            np.full(n_classes, 1.0 / n_classes)
            if self.bias is None
            else np.asarray(self.bias, float)
        )
        if len(pref) != n_classes or pref.min() < 0 or pref.sum() <= 0:
            raise InvalidInput(
                f"bias of simulated annotator {self.name!r} needs {n_classes} non-negative weights"
            )
        pref = pref / pref.sum()
        random_pick = rng.choice(n_classes, size=n, p=pref)
        if self.spammer:
            return random_pick.astype(np.int64)
        # a wrong class drawn from the preference with the true class removed
        wrong = rng.random((n, n_classes)) * pref[None, :]
        wrong[np.arange(n), truth] = -1.0
        wrong_pick = np.argmax(wrong, axis=1)
        if n_classes == 1:
            wrong_pick = truth
        correct = rng.random(n) < self.accuracy
        return np.where(correct, truth, wrong_pick).astype(np.int64)


@dataclass
class Crowd:
    annotators: list[SimulatedAnnotator]
    seed: int = 0
    _rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.annotators:
            raise InvalidInput("a simulated crowd needs at least one annotator")
        self._rng = np.random.default_rng(self.seed)

    @classmethod
    def make(
        cls,
        n: int = 5,
        *,
        accuracy: float | list[float] = 0.8,
        spammers: int = 0,
        prefix: str = "sim",
        seed: int = 0,
    ) -> Crowd:
        """*n* annotators named ``sim-1…``; the last *spammers* of them answer at random."""
        accs = [accuracy] * n if isinstance(accuracy, int | float) else list(accuracy)
        if len(accs) != n:
            raise InvalidInput(f"need {n} accuracies, got {len(accs)}")
        people = [
            SimulatedAnnotator(f"{prefix}-{i + 1}", float(accs[i]), spammer=i >= n - spammers)
            for i in range(n)
        ]
        return cls(people, seed)

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.annotators]

    def label(
        self, truth: Any, n_classes: int, overlap: int = 3
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Long-format ratings: each item labeled by *overlap* distinct random annotators."""
        truth = np.asarray(truth, dtype=np.int64)
        n, r = len(truth), len(self.annotators)
        if not 1 <= overlap <= r:
            raise InvalidInput(f"overlap must be between 1 and the crowd size {r}, got {overlap}")
        # overlap distinct annotators per item: the first columns of a random permutation
        who = np.argsort(self._rng.random((n, r)), axis=1)[:, :overlap]
        item = np.repeat(np.arange(n), overlap)
        rater = who.ravel()
        label = np.empty(n * overlap, dtype=np.int64)
        for j, person in enumerate(self.annotators):
            sel = rater == j
            label[sel] = person.answer(truth[item[sel]], n_classes, self._rng)
        return item, rater.astype(np.int64), label

    def work(self, ws: Any, project: Any, truth: Any, *, max_tasks: int | None = None) -> int:
        """Let the crowd label *project* through ``next_task``/``submit`` (round robin).

        *truth* holds each task's true class (name or index). Returns the number of
        annotations submitted.
        """
        labels = ws.labels
        p = labels.project(project)
        classes = list(p.classes)
        t = np.asarray([classes.index(v) if isinstance(v, str) else int(v) for v in truth])
        for a in self.annotators:
            labels.ensure_annotator(a.name)
        active = list(self.annotators)
        done = 0
        while active and (max_tasks is None or done < max_tasks):
            for a in list(active):
                task = labels.next_task(p, a.name)
                if task is None:
                    active.remove(a)
                    continue
                answer = int(a.answer(t[[task.row]], len(classes), self._rng)[0])
                labels.submit(p, task.row, a.name, classes[answer])
                done += 1
                if max_tasks is not None and done >= max_tasks:
                    break
        return done
