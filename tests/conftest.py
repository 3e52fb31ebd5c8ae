"""Fixtures with real components: SQLite and PostgreSQL, an S3 server (moto), Redis.

Without PostgreSQL or Redis, tests that need them are skipped and the summary says so;
with SHIPYARD_TEST_REQUIRE_SERVICES=1 (as .ci/run sets) they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests._support import (
    PG_URL,
    REDIS_URL,
    REQUIRE_SERVICES,
    free_port,
    postgres_available,
    redis_available,
)

_unavailable: dict[str, str] = {}


def _need(service: str, probe: Any) -> None:
    if service in _unavailable:
        reason = _unavailable[service]
    else:
        reason = probe()
        if reason is None:
            return
        _unavailable[service] = reason
    message = f"{service} unavailable ({reason})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and SHIPYARD_TEST_REQUIRE_SERVICES is set", pytrace=False)
    pytest.skip(message)


_artifacts: dict[str, Path] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _unavailable:
        terminalreporter.section("services")
        for service, reason in _unavailable.items():
            terminalreporter.write_line(
                f"{service} was unavailable, so the tests that need it were SKIPPED: {reason}."
                " CI sets SHIPYARD_TEST_REQUIRE_SERVICES=1 to fail instead."
            )
    if _artifacts:
        terminalreporter.section("test artifacts")
        for name, path in _artifacts.items():
            files = sum(1 for f in path.iterdir() if f.is_file()) if path.is_dir() else 0
            terminalreporter.write_line(f"{name}: {files} file(s) in {path}")


@pytest.fixture(scope="session")
def artifact_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``artifact_dir(name)``: a folder for files a test leaves behind (screenshots).

    ``$SHIPYARD_TEST_ARTIFACTS/<name>`` when that variable is set (CI keeps it), else a
    pytest temporary folder; the terminal summary prints where each one is.
    """

    def make(name: str) -> Path:
        if name not in _artifacts:
            base = os.environ.get("SHIPYARD_TEST_ARTIFACTS", "")
            path = Path(base) / name if base else tmp_path_factory.mktemp(name, numbered=False)
            path.mkdir(parents=True, exist_ok=True)
            _artifacts[name] = path.resolve()
        return _artifacts[name]

    return make


# --------------------------------------------------------------------------- quickstart
@dataclass(frozen=True)
class Quickstart:
    home: Path  # the workspace folder the quickstart filled
    stdout: str


@pytest.fixture(scope="session")
def quickstart_home(tmp_path_factory: pytest.TempPathFactory) -> Quickstart:
    """``examples/quickstart.py --home <tmp> --no-serve``, run once per test session.

    Tests read the workspace it leaves (or copy it before changing it: it is shared).
    """
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    base = tmp_path_factory.mktemp("quickstart")
    home = base / "demo"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SHIPYARD_") or k.startswith("SHIPYARD_TEST_")
    }
    env["SHIPYARD_HOME"] = str(base / "default-home")
    proc = subprocess.run(
        [
            sys.executable,
            str(root / "examples" / "quickstart.py"),
            "--home",
            str(home),
            "--no-serve",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=base,
        env=env,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"examples/quickstart.py exited with {proc.returncode}:\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}",
            pytrace=False,
        )
    return Quickstart(home=home, stdout=proc.stdout)


# --------------------------------------------------------------------------- postgres
@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    _need("PostgreSQL", postgres_available)
    import psycopg

    from shipyard.core import new_id

    schema = f"t_{new_id().lower()}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database() "
                "AND query LIKE %s",
                (f"%{schema}%",),
            )
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# --------------------------------------------------------------------------- redis
@pytest.fixture
def redis_url() -> str:
    _need("Redis", redis_available)
    return REDIS_URL


# --------------------------------------------------------------------------- s3 (moto)
@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 HTTP server (moto's server mode) on a free loopback port."""
    import subprocess
    import sys

    from tests._support import wait_for_port

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A fresh bucket on the S3 server; returns its name."""
    import boto3

    from shipyard.core import new_id

    name = f"sy-{new_id().lower()}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_blob_url(s3_bucket: str) -> str:
    return f"s3://{s3_bucket}/blobs"


# --------------------------------------------------------------------------- workspaces
@pytest.fixture
def sqlite_ws(tmp_path: Path) -> Iterator[Any]:
    """A workspace on the embedded default (SQLite + local blobs)."""
    import shipyard as sy

    with sy.Workspace(tmp_path / "ws") as ws:
        yield ws


@pytest.fixture(params=["sqlite-local", "postgres-s3"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A workspace on each backend pair: SQLite + local blobs, PostgreSQL + S3 (moto)."""
    import shipyard as sy

    if request.param == "sqlite-local":
        with sy.Workspace(tmp_path / "ws") as w:
            yield w
        return
    url = request.getfixturevalue("pg_url")
    blob_url = request.getfixturevalue("s3_blob_url")
    endpoint = request.getfixturevalue("s3_endpoint")
    with sy.Workspace(tmp_path / "ws", db=url, blobs=blob_url, s3_endpoint_url=endpoint) as w:
        yield w


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A metadata DB URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's SHIPYARD_* settings or write to ./.shipyard."""
    for key in list(os.environ):
        if key.startswith("SHIPYARD_") and not key.startswith("SHIPYARD_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "default-home"))


# --------------------------------------------------------------------------- browser
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (session-wide)."""
    if not Path(CHROMIUM).exists():
        reason = f"Chromium not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("SHIPYARD_TEST_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(f"{reason} and SHIPYARD_TEST_REQUIRE_BROWSER is set", pytrace=False)
        _unavailable.setdefault("Chromium", reason)
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        reason = f"Playwright not installed ({exc}; pip install playwright)"
        if os.environ.get("SHIPYARD_TEST_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(f"{reason} and SHIPYARD_TEST_REQUIRE_BROWSER is set", pytrace=False)
        _unavailable.setdefault("Playwright", reason)
        pytest.skip(reason)

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page; console errors are collected in ``page.console_errors``."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.console_errors = errors
    try:
        yield pg
    finally:
        context.close()
