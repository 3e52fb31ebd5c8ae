"""What a run records about where it ran, and optional system metrics sampling."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from importlib import metadata as importlib_metadata
from typing import Any

KEY_PACKAGES = (
    "shipyard",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "scipy",
    "torch",
    "onnx",
    "onnxruntime",
    "optuna",
    "xgboost",
    "lightgbm",
)
MAX_DIFF_BYTES = 5 * 1024 * 1024


def _git(args: list[str], cwd: str) -> str | None:
    if shutil.which("git") is None:
        return None
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.decode("utf-8", "replace")


def capture_environment(cwd: str | None = None) -> tuple[dict[str, Any], str | None]:
    """The run's environment as a JSON-able dict, plus the uncommitted diff (if any)."""
    cwd = cwd or os.getcwd()
    packages: dict[str, str] = {}
    for name in KEY_PACKAGES:
        try:
            packages[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "user": os.environ.get("USER") or os.environ.get("USERNAME") or "",
        "pid": os.getpid(),
        "cwd": cwd,
        "command": [sys.executable, *sys.argv],
        "packages": packages,
    }
    diff: str | None = None
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit:
        status = _git(["status", "--porcelain", "--untracked-files=no"], cwd) or ""
        dirty = bool(status.strip())
        branch = (_git(["rev-parse", "--abbrev-ref", "HEAD"], cwd) or "").strip()
        env["git"] = {"commit": commit.strip(), "branch": branch, "dirty": dirty}
        if dirty:
            diff = _git(["diff", "HEAD"], cwd)
            if diff is not None and len(diff) > MAX_DIFF_BYTES:
                diff = diff[:MAX_DIFF_BYTES] + "\n# diff truncated\n"
    return env, diff


# ---------------------------------------------------------------------- system metrics
def _read_proc_cpu() -> tuple[float, float] | None:
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()[1:]
    except OSError:
        return None
    values = [float(x) for x in parts]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)
    return sum(values), idle


def _rss_mb() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    except Exception:  # pragma: no cover
        return None


def _gpu() -> dict[str, float]:
    if shutil.which("nvidia-smi") is None:
        return {}
    try:
        out = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=utilization.gpu,memory.used",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    metrics: dict[str, float] = {}
    for i, line in enumerate(out.stdout.decode().strip().splitlines()):
        try:
            util, mem = (float(x) for x in line.split(","))
        except ValueError:
            continue
        metrics[f"system/gpu{i}_utilization_percent"] = util
        metrics[f"system/gpu{i}_memory_mb"] = mem
    return metrics


class SystemSampler:
    """Every *interval* seconds, log CPU %, process RSS and GPU use (if nvidia-smi exists)."""

    def __init__(self, log: Callable[[dict[str, float], int], None], interval: float) -> None:
        self._log = log
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shipyard-sysmetrics", daemon=True)
        self._step = 0

    def start(self) -> None:
        self._thread.start()

    def sample(self, prev: tuple[float, float] | None) -> tuple[dict[str, float], Any]:
        metrics: dict[str, float] = {}
        cur = _read_proc_cpu()
        if prev is not None and cur is not None and cur[0] > prev[0]:
            busy = 1.0 - (cur[1] - prev[1]) / (cur[0] - prev[0])
            metrics["system/cpu_percent"] = round(100.0 * busy, 2)
        rss = _rss_mb()
        if rss is not None:
            metrics["system/rss_mb"] = round(rss, 2)
        metrics.update(_gpu())
        return metrics, cur

    def _run(self) -> None:
        prev = _read_proc_cpu()
        while not self._stop.wait(self.interval):
            metrics, prev = self.sample(prev)
            if metrics:
                try:
                    self._log(metrics, self._step)
                except Exception:
                    return  # the run ended
                self._step += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=max(1.0, self.interval))


def now_ms() -> int:
    return time.time_ns() // 1_000_000
