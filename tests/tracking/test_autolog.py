"""scikit-learn autologging and the PyTorch loop helper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import shipyard as sy


@pytest.fixture
def autologged(sqlite_ws: Any) -> Iterator[Any]:
    sy.autolog(workspace=sqlite_ws, experiment="auto")
    try:
        yield sqlite_ws
    finally:
        sy.autolog(disable=True)


def test_sklearn_fit_logs_params_score_time_and_model(autologged: Any, tmp_path: Path) -> None:
    import joblib
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(n_samples=200, random_state=0)
    model = RandomForestClassifier(n_estimators=10, max_depth=3, random_state=0).fit(X, y)
    [run] = autologged.runs.search(experiments=["auto"])
    assert run.name == "RandomForestClassifier" and run.status == "finished"
    assert run.params["n_estimators"] == 10 and run.params["max_depth"] == 3
    assert run.metrics["training_score"] == pytest.approx(model.score(X, y))
    assert run.metrics["fit_time_s"] > 0
    assert run.tags["estimator_class"].endswith("RandomForestClassifier")
    local = run.download_artifacts("model", tmp_path)
    loaded = joblib.load(local / "model.pkl")
    assert (loaded.predict(X) == model.predict(X)).all()
    assert (local / "meta.json").exists()


def test_autolog_uses_the_active_run_and_logs_only_the_outer_fit(autologged: Any) -> None:
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(n_samples=100, random_state=1)
    with autologged.start_run(experiment="manual", capture_env=False) as run:
        make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    assert [e.name for e in autologged.experiments.list()] == ["manual"]  # no extra runs
    got = autologged.runs.get(run.id)
    assert "steps" in got.params and "C" not in got.params  # outer Pipeline only
    assert got.metrics["training_score"] > 0.5
    assert [a.path for a in got.artifacts()] == ["model/meta.json", "model/model.pkl"]


def test_autolog_disable_restores_fit(sqlite_ws: Any) -> None:
    from sklearn.linear_model import LinearRegression

    sy.autolog(workspace=sqlite_ws, experiment="auto")
    sy.autolog(disable=True)
    LinearRegression().fit([[0], [1]], [0, 1])
    assert sqlite_ws.runs.search() == []
    assert not hasattr(LinearRegression.fit, "_shipyard_original")


def test_torch_logger(sqlite_ws: Any) -> None:
    torch = pytest.importorskip("torch")
    from shipyard.tracking import TorchLogger

    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(32, 3), torch.randn(32, 1)
    with sqlite_ws.start_run(experiment="torch", capture_env=False) as run:
        log = TorchLogger(run, optimizer=opt, log_every=2)
        for _ in range(2):
            for _ in range(5):
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(model(x), y)
                loss.backward()
                opt.step()
                log.step(loss)
            log.epoch(val_loss=loss.detach())
    s = sqlite_ws.runs.get(run.id).metric_summaries()
    assert s["train/loss"]["count"] == 5  # steps 0, 2, 4, 6, 8
    assert s["train/lr"]["last"] == pytest.approx(0.05)
    assert s["epoch/train_loss"]["count"] == 2 and s["val_loss"]["last_step"] == 1
