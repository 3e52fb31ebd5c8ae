"""Pipeline overhead, cached re-runs and parallel speed-up, each next to its baseline.

    python benchmarks/bench_pipelines.py [--steps 1000]

Figures (the targets in parentheses):
* per-step overhead of 1,000 trivial steps, as a chain and as a 1,000-wide fan-out +
  join, on ``inline`` (<= 0.5 ms) and ``local`` (<= 3 ms amortized), against calling
  the same functions directly;
* a fully cached re-run of the 1,000-step pipeline (<= 1 s);
* 8 independent ~1 s CPU-bound steps on ``local`` with 2 CPUs (<= 4.6 s), against
  running them one after another.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import shipyard as sy
from shipyard.compute import Resources, get_executor


def _inc(x: int) -> int:
    return x + 1


def _total(*xs: int) -> int:
    return sum(xs)


def _burn(seconds: float, seed: int) -> int:
    deadline = time.process_time() + seconds
    x = seed
    while time.process_time() < deadline:
        for _ in range(10_000):
            x = (x * 1103515245 + 12345) % 2**31
    return x


inc = sy.step(_inc)
total = sy.step(_total)
burn = sy.step(cache=False, resources=Resources(cpus=1, memory="256MiB"))(_burn)


@sy.pipeline
def chain(n: int = 1000, salt: int = 0):
    x = salt
    for _ in range(n):
        x = inc(x)
    return x


@sy.pipeline
def fan(n: int = 1000, salt: int = 0):
    return total(*[inc(salt + i) for i in range(n)])


@sy.pipeline
def parallel(k: int = 8, seconds: float = 1.0):
    return [burn(seconds, i) for i in range(k)]


def direct_chain(n: int, salt: int) -> int:
    x = salt
    for _ in range(n):
        x = _inc(x)
    return x


def direct_fan(n: int, salt: int) -> int:
    return _total(*[_inc(salt + i) for i in range(n)])


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def timed_cpu(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Wall time and this process's CPU time (all its threads)."""
    c = time.process_time()
    out, wall = timed(fn, *args, **kwargs)
    return out, wall, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--burn", type=float, default=1.0)
    args = ap.parse_args()
    n = args.steps
    ws = sy.Workspace(tempfile.mkdtemp(prefix="shipyard-bench-"))
    local = get_executor("local", cpus=2)
    # warm the pool (worker start is a one-off cost, not per step)
    parallel.run(params={"k": 2, "seconds": 0.01}, executor=local, ws=ws)
    print(
        "Wall-clock figures depend on the machine's load; the CPU column is the\n"
        "orchestrating process's own CPU time per step (inline: everything; local: the\n"
        "driver only), which other processes on the machine do not inflate.\n"
    )
    print(f"{'figure':58} {'value':>12} {'baseline':>12}  target")
    salt = int(time.time())
    for shape, pipe, direct in (("chain", chain, direct_chain), ("fan-out+join", fan, direct_fan)):
        n_steps = n if shape == "chain" else n + 1
        for ex_name, ex, target in (("inline", "inline", 0.5), ("local", local, 3.0)):
            salt += 10_000
            base_value, base = timed(direct, n, salt)
            run, t, cpu = timed_cpu(pipe.run, params={"n": n, "salt": salt}, executor=ex, ws=ws)
            assert run.status == "succeeded" and run.result == base_value, run.error
            per_step = (t - base) / n_steps * 1000
            print(
                f"{shape + ' ' + str(n_steps) + ' steps, ' + ex_name + ': overhead ms/step':58} "
                f"{per_step:12.3f} {base / n_steps * 1000:12.4f}  <= {target} ms"
                f"  (CPU {cpu / n_steps * 1000:.3f} ms/step)"
            )
            if ex_name == "inline":
                cached, tc = timed(pipe.run, params={"n": n, "salt": salt}, executor=ex, ws=ws)
                assert cached.cached_steps == n_steps
                print(
                    f"{shape + ' fully cached re-run, s':58} {tc:12.3f} {t:12.3f}  <= 1 s"
                    "  (baseline: the uncached run)"
                )
    serial_t = 0.0
    for i in range(8):
        serial_t += timed(_burn, args.burn, i)[1]
    run, t = timed(parallel.run, params={"k": 8, "seconds": args.burn}, executor=local, ws=ws)
    assert run.status == "succeeded", run.error
    print(
        f"{'8 x ' + format(args.burn, 'g') + ' s CPU-bound steps, local, 2 CPUs: s':58} {t:12.3f} "
        f"{serial_t:12.3f}  <= 4.6 s  (baseline: one after another)"
    )
    local.shutdown()


if __name__ == "__main__":
    main()
