"""What a task asks for (:class:`Resources`) and what the machine has (:func:`machine`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from ..core import InvalidInput

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "ki": 1024,
    "kib": 1024,
    "mi": 1024**2,
    "mib": 1024**2,
    "gi": 1024**3,
    "gib": 1024**3,
    "ti": 1024**4,
    "tib": 1024**4,
}
_MEM_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")


def parse_memory(value: str | int | float | None) -> int:
    """``"2GiB"`` → bytes. Integers are bytes. Raise InvalidInput on anything else."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise InvalidInput(f"invalid memory {value!r}: use bytes or a size such as '2GiB'")
    if isinstance(value, int | float):
        if value < 0:
            raise InvalidInput(f"invalid memory {value!r}: must be >= 0")
        return int(value)
    m = _MEM_RE.match(str(value))
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _UNITS:
        raise InvalidInput(
            f"invalid memory {value!r}: write a size such as '512MiB', '2GiB' or '4GB'",
            details={"memory": value},
        )
    return int(float(m.group(1)) * _UNITS[unit])


def format_memory(n: int) -> str:
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n}B"


@dataclass(frozen=True)
class Resources:
    """What one task needs: CPUs (may be fractional), whole GPUs, memory.

    ``Resources(cpus=2, gpus=1, memory="8GiB")``. Executors never run tasks whose
    declared needs together exceed the machine (``local``) or cluster (``ray``).
    """

    cpus: float = 1
    gpus: int = 0
    memory: str | int = "2GiB"

    def __post_init__(self) -> None:
        if isinstance(self.cpus, bool) or not isinstance(self.cpus, int | float) or self.cpus < 0:
            raise InvalidInput(f"invalid Resources.cpus {self.cpus!r}: a number >= 0")
        if isinstance(self.gpus, bool) or not isinstance(self.gpus, int) or self.gpus < 0:
            raise InvalidInput(f"invalid Resources.gpus {self.gpus!r}: a whole number >= 0")
        parse_memory(self.memory)

    @cached_property
    def memory_bytes(self) -> int:
        return parse_memory(self.memory)

    def to_dict(self) -> dict[str, Any]:
        return {"cpus": self.cpus, "gpus": self.gpus, "memory": self.memory}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Resources:
        return cls(**(data or {}))

    def __str__(self) -> str:
        gpus = f", {self.gpus} GPU" if self.gpus else ""
        return f"{self.cpus:g} CPU{gpus}, {format_memory(self.memory_bytes)}"


@dataclass(frozen=True)
class Machine:
    """What this machine offers: CPUs, GPU indices and memory in bytes."""

    cpus: int
    gpus: tuple[int, ...]
    memory: int


@cache
def machine() -> Machine:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        memory = 8 * 1024**3
    return Machine(cpus=cpus or 1, gpus=_gpu_indices(), memory=int(memory))


def _gpu_indices() -> tuple[int, ...]:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        items = [v.strip() for v in visible.split(",") if v.strip()]
        return tuple(int(v) for v in items if v.isdigit() and int(v) >= 0)
    smi = shutil.which("nvidia-smi")
    if not smi:
        return ()
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(range(sum(1 for line in out.splitlines() if line.startswith("GPU "))))
