"""The networks of the digits example: a small CNN teacher and an MLP student."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn


class DigitsCNN(nn.Module):
    """8x8 grey images → 10 digit logits (about 150k parameters)."""

    def __init__(self, channels: int = 32, hidden: int = 128) -> None:
        super().__init__()
        self.init_kwargs = {"channels": channels, "hidden": hidden}
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * channels * 16, hidden), nn.ReLU(), nn.Linear(hidden, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class DigitsMLP(nn.Module):
    """The student: one hidden layer over the 64 pixels."""

    def __init__(self, hidden: int = 128) -> None:
        super().__init__()
        self.init_kwargs = {"hidden": hidden}
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def parameters(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def train_cnn(
    X: np.ndarray,
    y: np.ndarray,
    epochs: int = 12,
    lr: float = 2e-3,
    seed: int = 0,
    run: Any = None,
) -> DigitsCNN:
    """Train the CNN with Adam and a cosine schedule; log loss and accuracy to *run*."""
    torch.manual_seed(seed)
    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xt))
        total = correct = 0.0
        for i in range(0, len(perm), 64):
            idx = perm[i : i + 64]
            logits = model(xt[idx])
            loss = nn.functional.cross_entropy(logits, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            correct += float((logits.argmax(1) == yt[idx]).sum())
        sched.step()
        if run is not None:
            run.log_metrics(
                {"loss": total / len(xt), "train_accuracy": correct / len(xt)}, step=epoch
            )
    return model.eval()
