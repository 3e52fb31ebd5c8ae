"""``ws.jobs``: run a command under an executor, record it, keep its output.

Output is captured while the command runs and appended to the blob store in chunks
(one blob and one ``compute_job_logs`` row per chunk, about every second), so
``jobs logs -f`` in another process or on another machine streams it while it runs.
``cancel`` from anywhere sets a flag in the database; the process supervising the job
sees it within a second and kills the command.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ..core import Conflict, InvalidInput, NotFound, new_id
from ._base import Executor
from ._registry import get_executor
from ._resources import Resources
from .tables import compute_job_logs, compute_jobs

TERMINAL = ("succeeded", "failed", "cancelled")
_FLUSH_S = 1.0


@dataclass
class Job:
    id: str
    name: str
    command: list[str]
    cwd: str | None
    executor: str
    resources: dict[str, Any]
    status: str
    exit_code: int | None
    error: str | None
    cancel_requested: bool
    host: str | None
    pid: int | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.ended_at:
            return (self.ended_at - self.started_at).total_seconds()
        return None

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        for k in ("created_at", "started_at", "ended_at"):
            d[k] = d[k].isoformat() if d[k] else None
        d["duration_s"] = self.duration_s
        return d


def _now() -> datetime:
    return datetime.now(UTC)


class Jobs:
    def __init__(self, ws: Any) -> None:
        self._ws = ws

    # ---------------------------------------------------------------- create & run
    def create(
        self,
        command: Sequence[str],
        *,
        resources: Resources | None = None,
        executor: str = "local",
        name: str | None = None,
        cwd: str | None = None,
    ) -> Job:
        """Record a queued job (``run`` executes it)."""
        if not command:
            raise InvalidInput("empty command: give the program to run, e.g. -- python train.py")
        resources = resources or Resources()
        get_executor_name_check(executor)
        job_id = new_id()
        with self._ws.db.write() as conn:
            conn.execute(
                compute_jobs.insert().values(
                    id=job_id,
                    name=(name or os.path.basename(command[0]))[:256],
                    command=list(command),
                    cwd=cwd or os.getcwd(),
                    executor=executor,
                    resources=resources.to_dict(),
                    status="queued",
                    cancel_requested=False,
                    created_at=_now(),
                )
            )
        return self.get(job_id)

    def submit(
        self,
        command: Sequence[str],
        *,
        resources: Resources | None = None,
        executor: str | Executor = "local",
        name: str | None = None,
        cwd: str | None = None,
        wait: bool = True,
        on_output: Callable[[str], None] | None = None,
    ) -> Job:
        """Run *command* under *executor*; with ``wait=False`` in a detached process."""
        ex_name = executor if isinstance(executor, str) else executor.name
        job = self.create(command, resources=resources, executor=ex_name, name=name, cwd=cwd)
        if not wait:
            subprocess.Popen(
                [sys.executable, "-m", "shipyard.compute._jobrun", job.id],
                env={**os.environ, **_settings_env(self._ws)},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            return job
        return self.run(job.id, executor=executor, on_output=on_output)

    def run(
        self,
        job_id: str,
        *,
        executor: str | Executor | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> Job:
        """Execute a queued job here, supervising it until it ends."""
        job = self.get(job_id)
        if job.status != "queued":
            raise Conflict(f"job {job.id} is {job.status}, not queued; it cannot run again")
        ex = executor if isinstance(executor, Executor) else get_executor(executor or job.executor)
        own = not isinstance(executor, Executor)
        resources = Resources.from_dict(job.resources)
        try:
            handle = ex.submit_command(job.command, resources=resources, cwd=job.cwd, name=job.name)
        except Exception as exc:
            self._update(job.id, status="failed", error=str(exc), ended_at=_now())
            raise
        self._update(
            job.id, status="running", started_at=_now(), host=socket.gethostname(), pid=os.getpid()
        )
        offset = 0
        seq = 0
        last_check = 0.0
        try:
            while True:
                finished = _wait(handle, _FLUSH_S)
                text = handle.logs()
                if len(text) > offset:
                    chunk = text[offset:]
                    offset = len(text)
                    self._append_log(job.id, seq, chunk)
                    seq += 1
                    if on_output is not None:
                        on_output(chunk)
                if finished:
                    break
                if time.monotonic() - last_check >= _FLUSH_S:
                    last_check = time.monotonic()
                    if self.get(job.id).cancel_requested:
                        handle.cancel("cancelled by request")
        except BaseException:
            handle.cancel("the supervising process was interrupted")
            self._update(job.id, status="cancelled", ended_at=_now(), error="interrupted")
            raise
        finally:
            if own:
                ex.shutdown(wait=False)
        if handle.status == "succeeded":
            code = int(handle.result())
            self._update(
                job.id,
                status="succeeded" if code == 0 else "failed",
                exit_code=code,
                error=None if code == 0 else f"exit code {code}",
                ended_at=_now(),
            )
        elif handle.status == "cancelled":
            self._update(job.id, status="cancelled", ended_at=_now(), error="cancelled")
        else:
            failure = handle.exception()
            self._update(job.id, status="failed", ended_at=_now(), error=str(failure))
        return self.get(job.id)

    def _append_log(self, job_id: str, seq: int, chunk: str) -> None:
        data = chunk.encode()
        digest = self._ws.blobs.put_bytes(data)
        with self._ws.db.write() as conn:
            conn.execute(
                compute_job_logs.insert().values(
                    job_id=job_id, seq=seq, digest=digest, size=len(data), created_at=_now()
                )
            )

    def _update(self, job_id: str, **values: Any) -> None:
        with self._ws.db.write() as conn:
            conn.execute(compute_jobs.update().where(compute_jobs.c.id == job_id).values(**values))

    # ---------------------------------------------------------------- queries
    def get(self, job_id: str) -> Job:
        with self._ws.db.read() as conn:
            row = conn.execute(sa.select(compute_jobs).where(compute_jobs.c.id == job_id)).first()
            if row is None and len(job_id) >= 6:
                rows = conn.execute(
                    sa.select(compute_jobs).where(compute_jobs.c.id.like(f"{job_id.upper()}%"))
                ).all()
                row = rows[0] if len(rows) == 1 else None
        if row is None:
            raise NotFound(
                f"no job {job_id!r} in workspace {self._ws.home}; list jobs with: shipyard jobs ls",
                details={"job": job_id},
            )
        return Job(**dict(row._mapping))

    def list(self, *, status: str | None = None, limit: int = 50) -> list[Job]:
        q = sa.select(compute_jobs).order_by(compute_jobs.c.id.desc()).limit(limit)
        if status:
            q = q.where(compute_jobs.c.status == status)
        with self._ws.db.read() as conn:
            return [Job(**dict(r._mapping)) for r in conn.execute(q)]

    def logs(self, job_id: str, since: int = 0) -> tuple[str, int]:
        """Output chunks from number *since* on: ``(text, next since)``."""
        job = self.get(job_id)
        with self._ws.db.read() as conn:
            rows = conn.execute(
                sa.select(compute_job_logs.c.seq, compute_job_logs.c.digest)
                .where(compute_job_logs.c.job_id == job.id)
                .where(compute_job_logs.c.seq >= since)
                .order_by(compute_job_logs.c.seq)
            ).all()
        text = "".join(self._ws.blobs.get_bytes(d).decode("utf-8", "replace") for _, d in rows)
        return text, (rows[-1][0] + 1 if rows else since)

    def follow(self, job_id: str, poll: float = 0.5) -> Iterator[str]:
        """Yield output as it arrives until the job ends."""
        since = 0
        while True:
            job = self.get(job_id)
            text, since = self.logs(job.id, since)
            if text:
                yield text
            if job.status in TERMINAL:
                text, since = self.logs(job.id, since)
                if text:
                    yield text
                return
            time.sleep(poll)

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.status in TERMINAL:
            raise Conflict(f"job {job.id} has {job.status} already; nothing to cancel")
        if job.status == "queued" and job.pid is None:
            self._update(job.id, status="cancelled", cancel_requested=True, ended_at=_now())
        else:
            self._update(job.id, cancel_requested=True)
        return self.get(job.id)


def _wait(handle: Any, timeout: float) -> bool:
    try:
        handle.result(timeout)
    except TimeoutError:
        return False
    except Exception:
        return True
    return True


def get_executor_name_check(name: str) -> None:
    from ._registry import EXECUTORS, UnknownExecutor

    if name not in EXECUTORS:
        from ..core import did_you_mean

        raise UnknownExecutor(f"unknown executor {name!r}: {did_you_mean(list(EXECUTORS))}")


def _settings_env(ws: Any) -> dict[str, str]:
    s = ws.settings
    env = {
        "SHIPYARD_HOME": str(s.home),
        "SHIPYARD_DB_URL": s.db_url,
        "SHIPYARD_BLOB_URL": s.blob_url,
    }
    if s.s3_endpoint_url:
        env["SHIPYARD_S3_ENDPOINT_URL"] = s.s3_endpoint_url
    return env
