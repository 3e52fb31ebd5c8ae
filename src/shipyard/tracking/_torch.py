"""A small helper for plain PyTorch training loops (no torch import until used)."""

from __future__ import annotations

from typing import Any

from ._run import Run


def _number(value: Any) -> float:
    item = getattr(value, "item", None)
    return float(item() if callable(item) else value)


class TorchLogger:
    """Log a PyTorch loop: loss and learning rate per step, metrics per epoch.

    >>> log = TorchLogger(run, optimizer=opt, log_every=10)
    >>> for epoch in range(3):
    ...     for x, y in loader:
    ...         loss = step(x, y)
    ...         log.step(loss)                 # loss (and lr) every 10 steps
    ...     log.epoch(val_loss=vl, val_acc=va)  # epoch metrics, step = epoch
    """

    def __init__(
        self, run: Run, optimizer: Any = None, log_every: int = 1, prefix: str = "train/"
    ) -> None:
        if log_every < 1:
            from ..core import InvalidInput

            raise InvalidInput(f"log_every must be >= 1, got {log_every}")
        self.run = run
        self.optimizer = optimizer
        self.log_every = log_every
        self.prefix = prefix
        self.global_step = 0
        self.epoch_index = 0
        self._loss_sum = 0.0
        self._loss_n = 0

    def step(self, loss: Any = None, **metrics: Any) -> None:
        """Call once per optimisation step; *loss* may be a tensor."""
        values: dict[str, float] = {}
        if loss is not None:
            lv = _number(loss)
            self._loss_sum += lv
            self._loss_n += 1
            values[f"{self.prefix}loss"] = lv
        for k, v in metrics.items():
            values[f"{self.prefix}{k}"] = _number(v)
        if self.optimizer is not None:
            for i, group in enumerate(self.optimizer.param_groups):
                values[f"{self.prefix}lr" if i == 0 else f"{self.prefix}lr_{i}"] = float(
                    group["lr"]
                )
        if self.global_step % self.log_every == 0 and values:
            self.run.log_metrics(values, step=self.global_step)
        self.global_step += 1

    def epoch(self, **metrics: Any) -> None:
        """Call at the end of an epoch: logs the mean training loss and *metrics*."""
        values = {k: _number(v) for k, v in metrics.items()}
        if self._loss_n:
            values["epoch/train_loss"] = self._loss_sum / self._loss_n
        values["epoch"] = float(self.epoch_index)
        self.run.log_metrics(values, step=self.epoch_index)
        self.epoch_index += 1
        self._loss_sum, self._loss_n = 0.0, 0
