"""Dataset benchmarks: each figure next to its baseline, measured in the same run.

    python benchmarks/bench_data.py                 # everything
    python benchmarks/bench_data.py --skip-100k --big-mib 256

Targets (local blob store):
  10,000 files x 4 KiB   first commit <= 1.5 s, re-commit with one file changed <= 0.3 s
                         baseline: `cp -r` of the folder + `sha256sum` of every file
  100,000 files x 4 KiB  first commit <= 15 s (same baseline)
  one 1 GiB file         commit <= 1.5 x (`cp` and `sha256sum` of it run in parallel)
  statistics, 1,000,000 rows x 20 columns <= 3 s  (baseline: pandas describe())
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

import shipyard as sy
from shipyard.data import profile_table


def _row(
    what: str, value: float, baseline: float, target: str, base_label: str, cpu: float | None = None
) -> None:
    """One figure; *cpu* is the process CPU time of ours (less sensitive to a busy machine)."""
    ratio = value / baseline if baseline else float("nan")
    cpu_text = f"   (cpu {cpu:.3f} s)" if cpu is not None else ""
    print(
        f"{what:<44} {value:8.3f} s   {base_label}: {baseline:8.3f} s   "
        f"ratio {ratio:5.2f}   target {target}{cpu_text}",
        flush=True,
    )


class _Timer:
    def __enter__(self) -> _Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def _make_files(root: Path, n: int, size: int = 4096) -> None:
    for i in range(n):
        d = root / f"d{i % 100:02d}"
        if i < 100:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:06d}.bin").write_bytes(os.urandom(size))


def _cp_and_sha(src: Path, dst: Path) -> float:
    t = time.perf_counter()
    subprocess.run(["cp", "-r", str(src), str(dst)], check=True)
    subprocess.run(
        f"find {src} -type f -print0 | xargs -0 -P1 sha256sum > /dev/null", shell=True, check=True
    )
    return time.perf_counter() - t


def bench_small_files(tmp: Path, n: int, recommit: bool) -> None:
    src = tmp / f"files{n}"
    _make_files(src, n)
    base = _cp_and_sha(src, tmp / f"copy{n}")
    os.sync()  # the baseline's dirty pages must not be flushed on our clock
    with sy.Workspace(tmp / f"ws{n}") as ws:
        with _Timer() as t:
            v = ws.datasets.commit(f"files{n}", src)
        assert v.file_count == n
        target = "<= 1.5 s" if n == 10_000 else "<= 15 s"
        _row(f"{n:,} x 4 KiB first commit", t.wall, base, target, "cp -r + sha256sum", t.cpu)
        if recommit:
            time.sleep(0.01)
            (src / "d00" / "f000000.bin").write_bytes(os.urandom(4096))
            with _Timer() as t:
                v2 = ws.datasets.commit(f"files{n}", src)
            assert v2.version == 2
            _row(
                f"{n:,} x 4 KiB re-commit, 1 file changed",
                t.wall,
                base,
                "<= 0.3 s",
                "cp -r + sha256sum",
                t.cpu,
            )
    shutil.rmtree(src)
    shutil.rmtree(tmp / f"copy{n}")


def bench_big_file(tmp: Path, mib: int) -> None:
    big = tmp / "big.bin"
    block = os.urandom(1 << 20)
    with open(big, "wb") as f:
        for i in range(mib):
            f.write(block[i % 7 :] + block[: i % 7])
    os.sync()
    t = time.perf_counter()
    cp = subprocess.Popen(["cp", str(big), str(tmp / "big.copy")])
    sha = subprocess.Popen(["sha256sum", str(big)], stdout=subprocess.DEVNULL)
    cp.wait()
    sha.wait()
    base = time.perf_counter() - t
    os.unlink(tmp / "big.copy")
    os.sync()
    ws = sy.Workspace(tmp / "wsbig")
    try:
        with _Timer() as t:
            ws.datasets.commit("big", big)
    finally:
        ws.close()
    _row(f"one {mib} MiB file commit", t.wall, base, "<= 1.5 x baseline", "cp || sha256sum", t.cpu)
    os.unlink(big)


def bench_stats(rows: int) -> None:
    rng = np.random.default_rng(0)
    cols: dict[str, object] = {}
    for i in range(15):
        x = rng.normal(i, 1 + i, rows)
        x[rng.random(rows) < 0.01] = np.nan
        cols[f"num_{i}"] = x
    for i in range(5):
        levels = np.array([f"level_{j}" for j in range(5 + 10 * i)], dtype=object)
        cols[f"cat_{i}"] = levels[rng.integers(0, len(levels), rows)]
    df = pd.DataFrame(cols)
    table = pa.Table.from_pandas(df, preserve_index=False)
    with _Timer() as t:
        p = profile_table(table)
    took = t.wall
    assert p.row_count == rows
    with _Timer() as b:
        df.describe(include="all")
    _row(f"statistics {rows:,} x 20", took, b.wall, "<= 3 s", "pandas describe()", t.cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--skip-100k", action="store_true", help="skip the 100,000-file commit")
    ap.add_argument("--big-mib", type=int, default=1024, help="size of the big file (MiB)")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows for the statistics")
    ap.add_argument("--dir", default=None, help="scratch folder (default: a temp folder)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="shipyard-bench-", dir=args.dir))
    print(f"scratch {tmp}; {os.cpu_count()} CPUs; python {sys.version.split()[0]}", flush=True)
    try:
        bench_small_files(tmp, 10_000, recommit=True)
        if not args.skip_100k:
            bench_small_files(tmp, 100_000, recommit=False)
        if args.big_mib:
            bench_big_file(tmp, args.big_mib)
        bench_stats(args.rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
