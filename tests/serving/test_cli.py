"""`shipyard serve --workers 2` (metrics summed across workers) and `models package`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._support import free_port


def _cli(ws: Any) -> list[str]:
    s = ws.settings
    return [
        sys.executable, "-m", "shipyard", "--home", str(s.home), "--db", s.db_url,
        "--blobs", s.blob_url,
    ]  # fmt: skip


def test_serve_two_workers_metrics_add_up(workspace: Any, tabular: Any, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}
    (tmp_path / "prom").mkdir()
    proc = subprocess.Popen(
        [
            *_cli(workspace),
            "serve",
            "churn@1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--watch-interval",
            "0",
            "--deployment",
            "cli-test",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            try:
                if httpx.get(url + "/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)
        time.sleep(1.0)  # let the second worker finish its warm-up too
        n = 40
        for i in range(n):  # a new connection each time: the kernel spreads them
            r = httpx.post(url + "/v1/models/churn/predict", json=[{"a": i, "b": 1.0, "n": 1}])
            assert r.status_code == 200, r.text
        time.sleep(0.3)  # each worker adds its tally to the shared files within 50 ms
        totals = []
        for _ in range(4):
            text = httpx.get(url + "/metrics").text
            m = re.search(
                r'shipyard_requests_total\{code="200",model="churn",protocol="records",'
                r'version="1"\} (\S+)',
                text,
            )
            assert m, text[:2000]
            totals.append(float(m.group(1)))
        assert totals == [float(n)] * 4  # whichever worker answers, the sum is the same
        files = {f.name for f in (tmp_path / "prom").iterdir()}
        assert len({re.sub(r"_\d+\.db$", "", f) for f in files}) >= 1
        assert (
            len(
                {
                    re.search(r"_(\d+)\.db$", f).group(1)
                    for f in files
                    if re.search(r"_(\d+)\.db$", f)
                }
            )
            >= 2
        )  # type: ignore[union-attr]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    deps = [d for d in workspace.deployments.list() if d.name.startswith("cli-test")]
    assert deps and all(d.version == 1 for d in deps)


def test_package_dir_consistent(workspace: Any, tabular: Any, tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    r = subprocess.run(
        [*_cli(workspace), "models", "package", "churn@1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    docker = (out / "Dockerfile").read_text()
    reqs = (out / "requirements.txt").read_text().split()
    meta = json.loads((out / "shipyard-package.json").read_text())
    # every requirement is pinned, and to the version installed here
    from importlib.metadata import version

    for line in reqs:
        name, _, pin = line.partition("==")
        assert pin, line
        assert version(name).split("+")[0] == pin
    assert any(r.startswith("scikit-learn==") for r in reqs)
    assert any(r.startswith("onnxruntime==") for r in reqs)
    # the Dockerfile installs those requirements, copies what exists, serves what is there
    copies = re.findall(r"^COPY (\S+) ", docker, re.M)
    assert "requirements.txt" in copies
    for src in copies:
        assert (out / src).exists(), src
    assert "pip install --no-cache-dir -r /srv/requirements.txt" in docker
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", docker, re.M).group(1))  # type: ignore[union-attr]
    assert cmd[:3] == ["shipyard", "serve", meta["serves"]]
    port = cmd[cmd.index("--port") + 1]
    assert f"EXPOSE {port}" in docker and "HEALTHCHECK" in docker
    assert f"127.0.0.1:{port}/v2/health/ready" in (out / "healthcheck.py").read_text()
    assert 'CMD ["python", "/srv/healthcheck.py"]' in docker
    assert "ENV SHIPYARD_HOME=/srv/workspace" in docker
    assert list((out / "model").glob("churn-v1.*"))
    # the embedded workspace serves that reference
    import shipyard as sy

    with sy.Workspace(
        out / "workspace",
        db=f"sqlite:///{out / 'workspace' / 'shipyard.db'}",
        blobs=str(out / "workspace" / "blobs"),
    ) as pws:
        p = pws.models.load(meta["serves"])
        assert list(p.predict([{"a": 3.0, "b": 1.0, "n": 0}])) == [1]


def test_serve_options_reach_the_server(
    workspace: Any, tabular: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``shipyard serve`` hands to ``serve()``, without starting uvicorn."""
    from typer.testing import CliRunner

    import shipyard.serving as serving
    from shipyard.cli import app as cli
    from shipyard.cli._common import reset_state

    seen: dict[str, Any] = {}
    monkeypatch.setattr(serving, "serve", lambda refs, *a, **kw: seen.update(refs=refs, **kw))
    home = str(workspace.settings.home)
    reset_state()
    r = CliRunner().invoke(cli, ["--home", home, "serve", "churn@1", "--no-prediction-log"])
    assert r.exit_code == 0, r.output
    assert seen["refs"] == ["churn@1"] and seen["prediction_log"] is False
    reset_state()
    r = CliRunner().invoke(cli, ["--home", home, "serve", "churn@1", "--max-batch-size", "8"])
    assert r.exit_code == 0, r.output
    assert seen["prediction_log"] is True and seen["batching"].max_batch_size == 8
