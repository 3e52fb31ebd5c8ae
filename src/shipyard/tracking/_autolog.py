"""``sy.autolog()``: scikit-learn ``fit`` records params, score, fit time and the model.

Every scikit-learn estimator class's ``fit`` is wrapped. Only the outermost ``fit``
logs (a Pipeline or a GridSearchCV fitting inner estimators logs once). It logs to the
active run (``with ws.start_run(...)``) or, when there is none, to a new run in
``experiment`` of the given workspace, ended when ``fit`` returns.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import tempfile
import threading
import time
import warnings
from typing import Any

from ..core import ShipyardWarning

_state = threading.local()
_config: dict[str, Any] = {"enabled": False, "workspace": None, "experiment": "default"}
_patched: list[tuple[type, Any]] = []


def autolog(
    workspace: Any = None,
    experiment: str = "default",
    log_models: bool = True,
    disable: bool = False,
) -> None:
    """Turn scikit-learn autologging on (or off with ``disable=True``)."""
    if disable:
        _config["enabled"] = False
        for cls, original in _patched:
            cls.fit = original  # type: ignore[attr-defined]
        _patched.clear()
        return
    _config.update(enabled=True, workspace=workspace, experiment=experiment, log_models=log_models)
    if _patched:
        return
    from sklearn.utils import all_estimators

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimators = all_estimators()
    owners: dict[type, Any] = {}
    for _, cls in estimators:
        for klass in cls.__mro__:  # patch the class that defines fit (e.g. BaseForest)
            if "fit" in klass.__dict__:
                if klass.__module__.startswith("sklearn."):
                    owners.setdefault(klass, klass.__dict__["fit"])
                break
    for klass, original in owners.items():
        if getattr(original, "_shipyard_original", None) is not None:
            continue
        klass.fit = _wrap(original)  # type: ignore[attr-defined]
        _patched.append((klass, original))


def _wrap(original: Any) -> Any:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not _config["enabled"] or getattr(_state, "depth", 0) > 0:
            return original(self, *args, **kwargs)
        _state.depth = 1
        t0 = time.perf_counter()
        try:
            result = original(self, *args, **kwargs)
        finally:
            _state.depth = 0
        elapsed = time.perf_counter() - t0
        X = args[0] if args else kwargs.get("X")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        try:
            _log_fit(self, X, y, elapsed)
        except Exception as exc:  # never break the user's training
            warnings.warn(
                f"autolog could not record {type(self).__name__}.fit: {exc}",
                ShipyardWarning,
                stacklevel=2,
            )
        return result

    fit._shipyard_original = original  # type: ignore[attr-defined]
    return fit


def _log_fit(estimator: Any, X: Any, y: Any, elapsed: float) -> None:
    from ._service import active_run

    run = active_run()
    own = False
    if run is None:
        ws = _config["workspace"]
        if ws is None:
            from .._workspace import Workspace

            ws = _config["workspace"] = Workspace()
        run = ws.start_run(experiment=_config["experiment"], name=type(estimator).__name__)
        own = True
    try:
        _record(run, estimator, X, y, elapsed)
    finally:
        if own:
            run.end("finished")


def _record(run: Any, estimator: Any, X: Any, y: Any, elapsed: float) -> None:
    import sklearn

    existing = run.params
    params = {}
    for k, v in estimator.get_params(deep=False).items():
        value = v if isinstance(v, str | int | float | bool) or v is None else repr(v)
        if k not in existing:
            params[k] = value
    if params:
        run.log_params(params)
    metrics: dict[str, float] = {"fit_time_s": elapsed}
    if y is not None and hasattr(estimator, "score"):
        try:
            metrics["training_score"] = float(estimator.score(X, y))
        except Exception:
            pass
    run.log_metrics(metrics)
    run.set_tags({"estimator_class": f"{type(estimator).__module__}.{type(estimator).__name__}"})
    if _config.get("log_models", True):
        import joblib

        with tempfile.TemporaryDirectory() as tmp:
            folder = os.path.join(tmp, "model")
            os.makedirs(folder)
            joblib.dump(estimator, os.path.join(folder, "model.pkl"))
            with open(os.path.join(folder, "meta.json"), "w") as f:
                json.dump(
                    {
                        "flavor": "sklearn",
                        "class": f"{type(estimator).__module__}.{type(estimator).__name__}",
                        "file": "model.pkl",
                        "serialization": "joblib",
                        "sklearn_version": sklearn.__version__,
                        "python_version": platform.python_version(),
                    },
                    f,
                    indent=2,
                )
            run.log_artifact(folder, "model")
