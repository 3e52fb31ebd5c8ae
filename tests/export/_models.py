"""Small PyTorch models for the export tests (importable, so the registry stores weights)."""

from __future__ import annotations

import torch
from torch import nn


class TinyCNN(nn.Module):
    """8x8 single-channel images → 10 classes."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        self.init_kwargs = {"channels": channels}
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * channels * 16, 64), nn.ReLU(), nn.Linear(64, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class TinyMLP(nn.Module):
    def __init__(self, n_in: int = 64, hidden: int = 16, n_out: int = 10) -> None:
        super().__init__()
        self.init_kwargs = {"n_in": n_in, "hidden": hidden, "n_out": n_out}
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def train(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int = 5, lr: float = 3e-3
) -> nn.Module:
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        perm = torch.randperm(len(X))
        for i in range(0, len(X), 64):
            idx = perm[i : i + 64]
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


# ---------------------------------------------------------------- scikit-learn oddities
from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402


class SharpLogisticRegression(LogisticRegression):
    """Predicts from its coefficients x5 in Python, but converts like a plain one."""

    def decision_function(self, X):  # type: ignore[no-untyped-def]
        return super().decision_function(X) * 5.0

    def predict_proba(self, X):  # type: ignore[no-untyped-def]
        import numpy as np

        d = self.decision_function(X)
        p = 1.0 / (1.0 + np.exp(-d))
        return np.column_stack([1 - p, p])


class MedianClassifier(ClassifierMixin, BaseEstimator):
    """A classifier skl2onnx knows nothing about."""

    def fit(self, X, y):  # type: ignore[no-untyped-def]
        import numpy as np

        self.classes_ = np.unique(y)
        self.median_ = np.median(X[:, 0])
        return self

    def predict(self, X):  # type: ignore[no-untyped-def]
        return (X[:, 0] > self.median_).astype(int)
