"""Knowledge distillation: train a small student on a registered teacher's soft labels.

PyTorch students minimise ``alpha·T²·KL(softmax(s/T) ‖ softmax(t/T)) + (1-alpha)·CE(s, y)``
(Hinton et al.); the teacher's logits are recovered from its probabilities
(``log p`` equals the logits up to a per-row constant), so any classifier flavor can
teach. scikit-learn students learn the same mixed target distribution through sample
weights (each row repeated once per class, weighted by its target probability) when
``fit`` takes ``sample_weight``, else from its arg-max (hard labels).
"""

from __future__ import annotations

import inspect
import time
from typing import Any

import numpy as np

from ..core import InvalidInput
from ..registry import ModelVersion, Signature
from ._data import Rows, load_rows
from ._errors import DistillationRefused
from ._measure import Runner, agreement, latencies
from ._service import Exports, _jsonable


def distill(
    svc: Exports,
    teacher: Any,
    student: Any,
    dataset: Any,
    *,
    temperature: float = 4.0,
    alpha: float = 0.7,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    holdout: Any = None,
    target: str | None = None,
    name: str | None = None,
    tolerance: float | None = None,
    sklearn_targets: str = "soft",
    experiment: str = "distillation",
    seed: int = 0,
    benchmark: bool = True,
) -> ModelVersion:
    ws = svc.ws
    if temperature <= 0:
        raise InvalidInput(
            f"temperature must be > 0, got {temperature}", details={"temperature": temperature}
        )
    if not 0.0 <= alpha <= 1.0:
        raise InvalidInput(f"alpha must be in [0, 1], got {alpha}", details={"alpha": alpha})
    if epochs < 1:
        raise InvalidInput(f"epochs must be >= 1, got {epochs}", details={"epochs": epochs})
    if sklearn_targets not in ("soft", "hard"):
        raise InvalidInput(
            "sklearn_targets must be 'soft' or 'hard'", details={"sklearn_targets": sklearn_targets}
        )
    tv = ws.models.get(teacher)
    tpred = ws.models.load(tv)
    t_runner = Runner.of_predictor(tpred)
    if not t_runner.is_classifier:
        raise InvalidInput(
            f"cannot distill {tv.ref}: it gives no class probabilities; the teacher must be a "
            "classifier (for PyTorch register it with flavor_options={'output': 'logits'})",
            details={"ref": tv.ref},
        )
    kind = _student_kind(student)
    rows = load_rows(
        ws,
        dataset,
        tv.signature,
        target=target,
        what="the transfer data",
        needed_for=f" to distill {tv.ref}",
    )
    if holdout is not None:
        test = load_rows(ws, holdout, tv.signature, target=target, what="the holdout")
        train = rows
    else:
        idx = np.random.default_rng(seed).permutation(len(rows))
        cut = max(1, int(len(rows) * 0.8))
        train, test = rows.take(np.sort(idx[:cut])), rows.take(np.sort(idx[cut:]))
    probs = _batched(t_runner.predict_proba, train.X)
    classes = _classes(tpred, tv, probs.shape[1], train.y)
    y_idx = _indices(train.y, classes, train.label) if train.y is not None else None
    if y_idx is None and alpha < 1.0:
        alpha = 1.0  # no labels: learn from the teacher alone
    soft = _soften(probs, temperature)
    params = {
        "teacher": tv.ref,
        "student": type(student).__qualname__,
        "temperature": temperature,
        "alpha": alpha,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "train_rows": len(train),
        "holdout_rows": len(test),
    }
    started = time.perf_counter()
    with ws.start_run(experiment=experiment, name=f"distill {tv.ref}", params=params) as run:
        run.log_input(tv)
        if rows.node is not None:
            run.log_input(rows.node)
        if kind == "torch":
            model_in = _train_torch(
                student,
                _matrix(t_runner, train.X),
                soft,
                y_idx,
                temperature,
                alpha,
                epochs,
                batch_size,
                lr,
                seed,
                run,
            )
            flavor_options: dict[str, Any] = {"output": "logits", "classes": classes}
            example = _matrix(t_runner, test.head(3).X)
            signature: Any = Signature(tv.signature.inputs) if tv.signature else None
        else:
            model_in = _fit_sklearn(
                student, _flat(t_runner, train.X), soft, y_idx, alpha, classes, sklearn_targets
            )
            flavor_options = {}
            example = _flat(t_runner, test.head(3).X)
            signature = None
        s_elapsed = time.perf_counter() - started
        s_predict = _student_runner(model_in, kind, t_runner, classes)
        t_acc = _accuracy(t_runner.predict(test.X), test, tpred.predict(test.X))
        s_pred = s_predict(test.X)
        s_acc = _accuracy(s_pred, test, t_runner.predict(test.X))
        run.log_metrics(
            {"teacher_accuracy": t_acc, "student_accuracy": s_acc, "train_seconds": s_elapsed}
        )
        report: dict[str, Any] = {
            "operation": "distill",
            "source": tv.ref,
            "student": f"{type(student).__module__}.{type(student).__qualname__}",
            "run_id": run.id,
            "settings": params,
            "metric": {
                "name": "accuracy" if test.y is not None else "agreement",
                "data": test.label if holdout is not None else f"20% held out of {rows.label}",
                "before": t_acc,
                "after": s_acc,
            },
            "parameters": {"teacher": count_params(tpred.raw), "student": count_params(model_in)},
            "training_seconds": round(s_elapsed, 3),
        }
        tp, sp = report["parameters"]["teacher"], report["parameters"]["student"]
        report["parameters"]["ratio"] = round(tp / sp, 3) if tp and sp else None
        drop = t_acc - s_acc
        if tolerance is not None and drop > tolerance:
            msg = (
                f"the student distilled from {tv.ref} was not registered: accuracy "
                f"{s_acc:.4f} vs the teacher's {t_acc:.4f} ({drop * 100:.1f} points lower), more "
                f"than the tolerance of {tolerance * 100:g} point(s); train longer (epochs=), "
                "use a larger student or raise tolerance="
            )
            report["refused"] = msg
            run.set_tag("distillation", "refused")
            svc._store("distill", "refused", tv, None, report)
            raise DistillationRefused(msg, _jsonable(report))
        new = ws.models.register(
            name or f"{tv.name}-student",
            model_in,
            run=run,
            signature=signature,
            input_example=example,
            metrics={"accuracy": s_acc, "teacher_accuracy": t_acc},
            description=f"student distilled from {tv.ref} (T={temperature:g}, alpha={alpha:g})",
            tags={"distilled_from": tv.ref, "format": kind},
            flavor_options=flavor_options or None,
        )
    ws.lineage.record(tv.lineage_node, new.lineage_node, "distilled_from")
    s_runner = Runner.of_predictor(ws.models.load(new))
    report["size"] = {
        "before": tv.size_bytes,
        "after": new.size_bytes,
        "ratio": round(tv.size_bytes / max(new.size_bytes, 1), 3),
    }
    if benchmark:
        s_rows = Rows(example if kind == "torch" else _flat(t_runner, test.X), None, test.label)
        report["latency"] = {
            "before": latencies(t_runner, test),
            "after": latencies(s_runner, s_rows),
            "runtime": "in-process, CPU",
        }
    report["result"] = new.ref
    svc._store("distill", "registered", tv, new, report)
    return new


# ---------------------------------------------------------------------- pieces
def _student_kind(student: Any) -> str:
    try:
        import torch

        if isinstance(student, torch.nn.Module):
            return "torch"
    except ImportError:
        pass
    if callable(getattr(student, "fit", None)) and callable(getattr(student, "predict", None)):
        return "sklearn"
    raise InvalidInput(
        f"cannot distill into a {type(student).__name__}: the student must be a torch.nn.Module "
        "or a scikit-learn estimator (with fit and predict)",
        details={"student": type(student).__name__},
    )


def _batched(fn: Any, X: Any, size: int = 2048) -> np.ndarray:
    parts = []
    for i in range(0, len(X), size):
        chunk = X.iloc[i : i + size] if hasattr(X, "iloc") else X[i : i + size]
        parts.append(np.asarray(fn(chunk), dtype=np.float64))
    return np.concatenate(parts)


def _soften(probs: np.ndarray, temperature: float) -> np.ndarray:
    logits = np.log(np.clip(probs, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def _classes(pred: Any, v: ModelVersion, k: int, y: np.ndarray | None) -> list[Any]:
    classes = pred.classes or v.flavor_meta.get("classes")
    if classes and len(classes) == k:
        return list(classes)
    if y is not None:
        uniq = np.unique(y)
        if len(uniq) == k:
            return [u.item() if isinstance(u, np.generic) else u for u in uniq]
    return list(range(k))


def _indices(y: np.ndarray, classes: list[Any], label: str) -> np.ndarray:
    lookup = {str(c): i for i, c in enumerate(classes)}
    try:
        return np.asarray([lookup[str(v)] for v in y], dtype=np.int64)
    except KeyError as exc:
        raise InvalidInput(
            f"label {exc.args[0]!r} in {label} is not one of the teacher's classes "
            f"({', '.join(map(str, classes[:20]))})",
            details={"label": exc.args[0]},
        ) from None


def _matrix(runner: Runner, X: Any) -> np.ndarray:
    prepared = runner.prepare(X)
    if isinstance(prepared, dict):
        return np.column_stack([np.asarray(c, dtype=np.float32) for c in prepared.values()])
    return np.asarray(prepared, dtype=np.float32)


def _flat(runner: Runner, X: Any) -> np.ndarray:
    m = _matrix(runner, X)
    return m.reshape(len(m), -1)


def _train_torch(
    student: Any,
    X: np.ndarray,
    soft: np.ndarray,
    y: np.ndarray | None,
    temperature: float,
    alpha: float,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    run: Any,
) -> Any:
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    xt, st = torch.from_numpy(X), torch.from_numpy(soft.astype(np.float32))
    yt = torch.from_numpy(y) if y is not None else None
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    student.train()
    for epoch in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        total, n = 0.0, 0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            logits = student(xt[idx])
            kd = (
                F.kl_div(F.log_softmax(logits / temperature, dim=1), st[idx], reduction="batchmean")
                * temperature**2
            )
            loss = alpha * kd
            if yt is not None and alpha < 1.0:
                loss = loss + (1.0 - alpha) * F.cross_entropy(logits, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            n += len(idx)
        run.log_metric("distill_loss", total / max(n, 1), step=epoch)
    student.eval()
    return student


def _fit_sklearn(
    student: Any,
    X: np.ndarray,
    soft: np.ndarray,
    y: np.ndarray | None,
    alpha: float,
    classes: list[Any],
    mode: str,
) -> Any:
    k = soft.shape[1]
    mixed = soft if y is None else alpha * soft + (1.0 - alpha) * np.eye(k)[y]
    takes_weight = "sample_weight" in inspect.signature(student.fit).parameters
    typed = np.asarray(classes)
    if mode == "soft" and takes_weight:
        rep_x = np.repeat(X, k, axis=0)
        rep_y = np.tile(np.arange(k), len(X))
        w = mixed.reshape(-1)
        keep = w > 1e-3
        student.fit(rep_x[keep], typed[rep_y[keep]], sample_weight=w[keep])
    else:
        student.fit(X, typed[mixed.argmax(axis=1)])
    return student


def _student_runner(model: Any, kind: str, teacher: Runner, classes: list[Any]) -> Any:
    if kind == "torch":
        import torch

        def predict(X: Any) -> np.ndarray:
            with torch.inference_mode():
                idx = model(torch.from_numpy(_matrix(teacher, X))).argmax(dim=1).numpy()
            return np.asarray(classes)[idx]

        return predict
    return lambda X: np.asarray(model.predict(_flat(teacher, X)))


def _accuracy(pred: Any, rows: Rows, teacher_pred: Any) -> float:
    return agreement(rows.y, pred) if rows.y is not None else agreement(teacher_pred, pred)


def count_params(model: Any) -> int | None:
    """Trainable parameters (torch), or stored numbers of a scikit-learn model."""
    if hasattr(model, "parameters") and hasattr(model, "state_dict"):
        return int(sum(p.numel() for p in model.parameters()))
    total = 0
    found = False
    for attr in (
        "coef_",
        "intercept_",
        "coefs_",
        "intercepts_",
        "support_vectors_",
        "dual_coef_",
        "theta_",
        "var_",
        "cluster_centers_",
    ):
        val = getattr(model, attr, None)
        if val is None:
            continue
        found = True
        arrays = val if isinstance(val, list) else [val]
        total += int(sum(np.asarray(a).size for a in arrays))
    tree = getattr(model, "tree_", None)
    if tree is not None:
        found = True
        total += int(tree.node_count) * 3  # feature, threshold, value per node
    for sub in np.ravel(getattr(model, "estimators_", None) or []):
        n = count_params(sub)
        if n is not None:
            found = True
            total += n
    for _, step in getattr(model, "steps", None) or []:
        n = count_params(step) if not isinstance(step, str) else None
        if n is not None:
            found = True
            total += n
    return total if found else None
