"""UI page-load benchmark: every page on a large workspace next to a small one.

    python benchmarks/bench_ui.py --large /tmp/large-ws        # reuse (or fill) it
    python benchmarks/bench_ui.py --loads 20 --browser

Target: every page answers in <= 500 ms (median server response time) on a workspace
with 10,000 runs, 1,000 dataset versions and 1,000,000 prediction-log rows.
    baseline: the same pages on a small workspace with the same kinds of objects
    (20 runs, 5 dataset versions, 1,000 prediction-log rows), measured in the same run.

Both workspaces are filled with ``benchmarks/fill_large_workspace.py`` (``--large`` /
``--small`` reuse a filled home; a missing one is filled first, which takes minutes for
the large one). Each workspace is served by the real UI server in its own process
(``python -m shipyard --home DIR server``); every page is loaded with httpx ``--loads``
times after two warm-up loads, alternating between the two servers, and the median and
p95 of the full response time (request sent to body read) are printed. Rows marked
"data" are the JSON a page fetches to draw its charts. ``--browser`` adds the full
browser load of a few pages (Playwright with Debian Chromium, until Plotly has drawn
every chart).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fill_large_workspace import MARKER, fill

TARGET_MS = 500.0
SMALL = {"runs": 20, "dataset_versions": 5, "prediction_rows": 1_000}
LARGE = {"runs": 10_000, "dataset_versions": 1_000, "prediction_rows": 1_000_000}
CHROMIUM = "/usr/bin/chromium"


def pages(ids: dict[str, Any], dataset: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(label, path, is_page) of everything measured, from a workspace's fill.json and
    its biggest dataset (as the REST API describes it)."""
    cmp = "&".join(f"runs={r}" for r in ids["compare_runs"][:5])
    last_page = max(1, -(-dataset["latest_version"] // 50))
    return [
        ("home", "/", True),
        ("datasets", "/datasets", True),
        ("dataset", f"/datasets/{ids['dataset']}", True),
        ("dataset, last page", f"/datasets/{ids['dataset']}?page={last_page}", True),
        ("dataset version", f"/datasets/versions/{ids['dataset_version']}", True),
        ("experiments", "/experiments", True),
        ("experiment runs table", f"/experiments/{ids['experiment']}", True),
        ("run (100k-point series)", f"/experiments/runs/{ids['long_run']}", True),
        (
            "  data: run series",
            f"/api/v1/runs/{ids['long_run']}/metrics/loss?max_points=1500",
            False,
        ),
        (f"compare {len(ids['compare_runs'][:5])} runs", f"/experiments/compare?{cmp}", True),
        ("tuning", "/tuning", True),
        ("study", f"/tuning/{ids['study']}", True),
        ("  data: study history", f"/api/v1/studies/{ids['study']}/plots/history", False),
        ("models", "/models", True),
        ("model", f"/models/{ids['model']}", True),
        ("model version", f"/models/versions/{ids['model_version']}", True),
        ("deployments", "/deployments", True),
        ("monitoring", "/monitoring", True),
        ("monitor dashboard", f"/monitoring/{ids['monitor']}", True),
        ("  data: monitor figures", f"/api/v1/monitors/{ids['monitor']}/figures", False),
        ("search", "/search?q=run-0004", True),
        ("lineage (dataset version)", f"/lineage/dataset_version:{ids['dataset_version']}", True),
        ("lineage (whole dataset)", f"/lineage/dataset:{dataset['id']}", True),
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(home: Path) -> Iterator[str]:
    """The real UI server over *home* in a subprocess; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipyard",
            "--home",
            str(home),
            "server",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"the server over {home} exited: {err[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server over {home} did not start in 60 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def ensure(home: Path | None, sizes: dict[str, int], tmp: str, label: str) -> Path:
    if home is None:
        home = Path(tmp) / label
    if not (home / MARKER).exists():
        t = time.perf_counter()
        print(f"filling the {label} workspace at {home} ({sizes}) ...", file=sys.stderr)
        fill(home, **sizes)
        print(f"  filled in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return home


def time_get(client: httpx.Client, path: str) -> float:
    t = time.perf_counter()
    r = client.get(path)
    elapsed = time.perf_counter() - t
    if r.status_code != 200:
        raise RuntimeError(f"GET {path} answered {r.status_code}: {r.text[:300]}")
    return elapsed * 1000


def p95(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def measure(
    urls: dict[str, str], paths: dict[str, list[tuple[str, str, bool]]], loads: int
) -> list[dict[str, Any]]:
    clients = {k: httpx.Client(base_url=u, timeout=120) for k, u in urls.items()}
    rows = []
    try:
        for i, (label, _, is_page) in enumerate(paths["large"]):
            times: dict[str, list[float]] = {k: [] for k in urls}
            for k in urls:
                for _ in range(2):
                    time_get(clients[k], paths[k][i][1])
            for _ in range(loads):
                for k in urls:
                    times[k].append(time_get(clients[k], paths[k][i][1]))
            rows.append(
                {
                    "page": label,
                    "is_page": is_page,
                    **{
                        f"{k}_{stat}": f(times[k])
                        for k in urls
                        for stat, f in (("median", statistics.median), ("p95", p95))
                    },
                }
            )
    finally:
        for c in clients.values():
            c.close()
    return rows


def browser_loads(
    urls: dict[str, str],
    paths: dict[str, list[tuple[str, str, bool]]],
    which: list[str],
    loads: int,
) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    drawn = """() => [...document.querySelectorAll('.plot, .monitor-chart')]
        .every(e => !e.isConnected || e.querySelector('.main-svg'))"""
    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for label in which:
                row: dict[str, Any] = {"page": label}
                for k, base in urls.items():
                    path = next(p for lab, p, _ in paths[k] if lab == label)
                    times = []
                    for n in range(loads + 1):
                        t = time.perf_counter()
                        page.goto(base + path, wait_until="load")
                        page.wait_for_function(drawn, timeout=60_000)
                        if n:  # the first load warms the browser cache (plotly.js)
                            times.append((time.perf_counter() - t) * 1000)
                    row[f"{k}_median"] = statistics.median(times)
                out.append(row)
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--large", type=Path, help="a filled large workspace (filled if missing)")
    ap.add_argument("--small", type=Path, help="a filled small workspace (filled if missing)")
    ap.add_argument("--loads", type=int, default=20, help="timed loads per page")
    ap.add_argument("--browser", action="store_true", help="also time full browser loads")
    args = ap.parse_args(argv)
    if args.loads < 1:
        ap.error("--loads must be at least 1")
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        homes = {
            "small": ensure(args.small, SMALL, tmp, "small"),
            "large": ensure(args.large, LARGE, tmp, "large"),
        }
        info = {k: json.loads((h / MARKER).read_text()) for k, h in homes.items()}
        with serve(homes["small"]) as small_url, serve(homes["large"]) as large_url:
            urls = {"small": small_url, "large": large_url}
            paths = {
                k: pages(
                    info[k]["ids"],
                    httpx.get(f"{urls[k]}/api/v1/datasets/{info[k]['ids']['dataset']}").json(),
                )
                for k in homes
            }
            rows = measure(urls, paths, args.loads)
            brows = (
                browser_loads(
                    urls,
                    paths,
                    ["home", "run (100k-point series)", "monitor dashboard", "study"],
                    max(3, args.loads // 4),
                )
                if args.browser
                else []
            )
    sizes = {k: info[k]["sizes"] for k in homes}
    print(
        "UI server response time, ms (median / p95 of "
        f"{args.loads} loads; large = {sizes['large']['runs']:,} runs, "
        f"{sizes['large']['dataset_versions']:,} dataset versions, "
        f"{sizes['large']['prediction_rows']:,} log rows; "
        f"small = {sizes['small']['runs']} runs, {sizes['small']['dataset_versions']} versions, "
        f"{sizes['small']['prediction_rows']:,} rows)"
    )
    print(
        f"{'page':<28} {'small med':>9} {'p95':>7} {'large med':>9} {'p95':>7} {'ratio':>6}  target"
    )
    misses = []
    for r in rows:
        ratio = r["large_median"] / r["small_median"] if r["small_median"] else float("nan")
        ok = r["large_median"] <= TARGET_MS
        if not ok:
            misses.append(r["page"])
        print(
            f"{r['page']:<28} {r['small_median']:9.1f} {r['small_p95']:7.1f} "
            f"{r['large_median']:9.1f} {r['large_p95']:7.1f} {ratio:6.2f}  "
            f"{'PASS' if ok else 'MISS'}"
        )
    for k in homes:
        fill_s = info[k].get("seconds", {}).get("total")
        if fill_s is not None:
            print(f"fill time of the {k} workspace: {fill_s:.1f} s")
    if brows:
        print("\nfull browser load until every Plotly chart is drawn, ms (median)")
        for r in brows:
            print(
                f"{r['page']:<28} small {r['small_median']:8.1f}   large {r['large_median']:8.1f}"
            )
    worst = max(rows, key=lambda r: r["large_median"])
    print(
        f"\nslowest page on the large workspace: {worst['page']} "
        f"{worst['large_median']:.1f} ms median (target <= {TARGET_MS:.0f} ms): "
        + ("PASS" if not misses else f"MISS ({', '.join(misses)})")
    )
    return 0 if not misses else 1


if __name__ == "__main__":
    sys.exit(main())
