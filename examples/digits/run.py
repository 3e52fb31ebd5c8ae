"""Digits, end to end: dataset → augmentation → CNN (tracked) → registry → ONNX →
static int8 (gated) → distilled student → .ort for mobile.

Uses scikit-learn's bundled 8x8 digits (no download) and runs on a CPU in a few
minutes::

    python examples/digits/run.py            # a temporary workspace
    python examples/digits/run.py --home .shipyard-digits   # keep it; then `shipyard server`
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def run(ws: Any, console: Any, epochs: int = 12) -> dict[str, Any]:
    import torch
    from digits_models import DigitsMLP, parameters, train_cnn
    from sklearn.datasets import load_digits

    import shipyard as sy
    from shipyard.data import augment as A

    torch.manual_seed(0)
    # 1. the images as a dataset version, split by row hash, the training split augmented
    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)
    full = ws.datasets.commit(
        "digits",
        {"X": images, "y": d.target.astype(np.int64)},
        message="scikit-learn digits, scaled to [0, 1]",
    )
    splits = full.split({"train": 0.8, "test": 0.2}, seed=0)
    train_v, test_v = splits["train"], splits["test"]
    aug = ws.datasets.augment(
        train_v,
        A.Rotate(12) | A.Shift(1),
        copies=1,
        column="X",
        image_shape=(8, 8),
        seed=0,
        name="digits-train-aug",
    )
    console.print(
        f"datasets: {full.ref} → {train_v.ref} ({train_v.row_count} rows) → "
        f"{aug.ref} ({aug.row_count} rows, augmented); holdout {test_v.ref}"
    )

    train = aug.to_numpy()
    test = test_v.to_numpy()
    Xtr, ytr = train["X"].reshape(-1, 1, 8, 8).astype(np.float32), train["y"]
    Xte, yte = test["X"].reshape(-1, 1, 8, 8).astype(np.float32), test["y"]

    # 2. the CNN, trained as a tracked run, registered with its data
    with ws.start_run("digits", name="cnn", params={"epochs": epochs, "lr": 2e-3}) as run:
        run.log_input(aug)
        cnn = train_cnn(Xtr, ytr, epochs=epochs, run=run)
        with torch.no_grad():
            acc = float((cnn(torch.from_numpy(Xte)).argmax(1).numpy() == yte).mean())
        run.log_metric("test_accuracy", acc)
        teacher = ws.models.register(
            "digits-cnn",
            cnn,
            run=run,
            input_example=Xte[:4],
            metrics={"accuracy": acc},
            flavor_options={"output": "logits", "classes": list(range(10))},
            description="8x8 digit classifier (2 conv layers, 1 hidden dense layer)",
        )
    console.print(f"trained {teacher.ref}: {parameters(cnn):,} parameters, accuracy {acc:.4f}")

    # 3. ONNX (parity-checked), then static int8 calibrated on training rows, gated on test
    onnx_v = sy.export.to_onnx(teacher, dataset=test_v, ws=ws)
    q = sy.export.quantize(onnx_v, "auto", dataset=train_v, holdout=test_v, ws=ws)
    qr = sy.export.report(q, ws=ws).report
    console.print(
        f"{onnx_v.ref} ONNX → {q.ref} {qr['method']} int8: {qr['size']['before']:,} → "
        f"{qr['size']['after']:,} bytes ({qr['size']['ratio']}x smaller); accuracy "
        f"{qr['gate']['before']:.4f} → {qr['gate']['after']:.4f}"
    )

    # 4. a 15x smaller student learns from the teacher's soft labels
    student = sy.export.distill(
        teacher=teacher,
        student=DigitsMLP(128),
        dataset=aug,
        holdout=test_v,
        temperature=4.0,
        alpha=0.7,
        epochs=30,
        lr=2e-3,
        ws=ws,
    )
    sr = sy.export.report(student, ws=ws).report
    console.print(
        f"distilled {student.ref}: {sr['parameters']['student']:,} vs "
        f"{sr['parameters']['teacher']:,} parameters ({sr['parameters']['ratio']}x fewer); "
        f"accuracy {sr['metric']['after']:.4f} vs {sr['metric']['before']:.4f}"
    )

    # 5. the quantized model in ONNX Runtime Mobile's format
    mobile = sy.export.to_ort(q, dataset=test_v, ws=ws)
    console.print(f"mobile: {mobile.ref} ({mobile.size_bytes:,} bytes, .ort)")
    lineage = ws.lineage.downstream(teacher.lineage_node)
    console.print(
        "made from the CNN: "
        + ", ".join(
            f"{lineage.nodes[e.dst].label} ({e.relation})"
            for e in lineage.edges
            if e.relation in ("exported_from", "quantized_from", "distilled_from", "converted_from")
        )
    )
    return {
        "teacher": teacher.ref,
        "teacher_accuracy": acc,
        "onnx": onnx_v.ref,
        "int8": q.ref,
        "int8_size_ratio": qr["size"]["ratio"],
        "int8_accuracy": qr["gate"]["after"],
        "int8_latency": qr["latency"],
        "student": student.ref,
        "student_accuracy": sr["metric"]["after"],
        "param_ratio": sr["parameters"]["ratio"],
        "mobile": mobile.ref,
    }


def main() -> None:
    from rich.console import Console

    import shipyard as sy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="workspace folder (default: a temporary one)")
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args()
    console = Console()
    if args.home:
        with sy.Workspace(args.home) as ws:
            console.print(run(ws, console, args.epochs))
        return
    with tempfile.TemporaryDirectory() as tmp, sy.Workspace(tmp) as ws:
        console.print(run(ws, console, args.epochs))


if __name__ == "__main__":
    main()
