"""``package(ws, ref, out)``: a self-contained directory to run a model server in a container.

The directory holds the model file(s), a small embedded workspace with that one version
registered (so that ``shipyard serve`` finds it by name), requirements pinned to the
versions installed here, a Dockerfile running ``shipyard serve`` with a health check,
and ``shipyard-package.json`` describing it all.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from ..core import Conflict

PORT = 8080

# distributions a served model needs beyond Shipyard's own, by flavor
_FLAVOR_EXTRAS = {
    "pytorch": ["torch"],
    "lightgbm": ["lightgbm"],
    "xgboost": ["xgboost"],
}


def _installed(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def pinned_requirements(flavor: str) -> list[str]:
    """Shipyard and its runtime dependencies, pinned to the versions installed here."""
    names: list[str] = []
    try:
        for req in md.requires("shipyard") or []:
            if "extra ==" in req:
                continue
            names.append(re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0])
    except md.PackageNotFoundError:
        names = ["numpy", "onnxruntime", "scikit-learn", "uvicorn", "starlette", "orjson"]
    names += _FLAVOR_EXTRAS.get(flavor, [])
    lines = []
    ver = _installed("shipyard")
    if ver:
        lines.append(f"shipyard=={ver}")
    for n in dict.fromkeys(names):
        v = _installed(n)
        if v:
            lines.append(f"{n}=={v.split('+')[0]}")
    return lines


def dockerfile(ref: str, workers: int, requirements: list[str]) -> str:
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    torch_index = ""
    if any(r.startswith("torch==") for r in requirements):
        torch_index = " --extra-index-url https://download.pytorch.org/whl/cpu"
    args = ["serve", ref, "--host", "0.0.0.0", "--port", str(PORT), "--workers", str(workers)]
    cmd = json.dumps(["shipyard", *args])
    return f"""# Model server for {ref}, built by `shipyard models package`.
FROM python:{py}-slim
WORKDIR /srv
COPY requirements.txt /srv/requirements.txt
RUN pip install --no-cache-dir{torch_index} -r /srv/requirements.txt
COPY workspace/ /srv/workspace/
COPY model/ /srv/model/
COPY healthcheck.py /srv/healthcheck.py
ENV SHIPYARD_HOME=/srv/workspace \\
    PYTHONUNBUFFERED=1
EXPOSE {PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \\
  CMD ["python", "/srv/healthcheck.py"]
CMD {cmd}
"""


def healthcheck() -> str:
    return f"""\"\"\"Container health check: exit 0 when the server is ready to serve.\"\"\"
import sys
import urllib.request

try:
    with urllib.request.urlopen("http://127.0.0.1:{PORT}/v2/health/ready", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
"""


def package(ws: Any, ref: Any, out: str | Path, *, workers: int = 2, force: bool = False) -> Path:
    """Write the package directory of version *ref* to *out*; returns the path."""
    from .._workspace import Workspace

    mv = ws.models.get(ref)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not force:
            raise Conflict(f"{out} is not empty; pass force=True (--force) to overwrite")
        shutil.rmtree(out)
    (out / "model").mkdir(parents=True, exist_ok=True)
    data = ws.models.model_bytes(mv.ref)
    ext = {"onnx": "onnx", "pytorch": "pt"}.get(mv.flavor, "bin")
    (out / "model" / f"{mv.name}-v{mv.version}.{ext}").write_bytes(data)
    (out / "model" / "version.json").write_text(json.dumps(mv.to_dict(), indent=2, default=str))

    # an embedded workspace holding just this version, as version 1 of the same name
    home = (out / "workspace").resolve()
    with Workspace(
        home, db=f"sqlite:///{home / 'shipyard.db'}", blobs=str(home / "blobs")
    ) as target:
        if mv.flavor == "onnx":
            target.models.register(
                mv.name, data, flavor="onnx", signature=mv.signature,
                input_example=mv.input_example, description=mv.description, tags=mv.tags,
            )  # fmt: skip
        else:
            raw = ws.models.load(mv.ref).raw
            target.models.register(
                mv.name, raw, flavor=mv.flavor, signature=mv.signature,
                input_example=mv.input_example, description=mv.description, tags=mv.tags,
            )  # fmt: skip
    served = f"{mv.name}@1"
    reqs = pinned_requirements(mv.flavor)
    (out / "requirements.txt").write_text("\n".join(reqs) + "\n")
    (out / "Dockerfile").write_text(dockerfile(served, workers, reqs))
    (out / "healthcheck.py").write_text(healthcheck())
    (out / ".dockerignore").write_text("**/__pycache__\n*.pyc\n")
    (out / "shipyard-package.json").write_text(
        json.dumps(
            {
                "source": mv.ref,
                "source_id": mv.id,
                "serves": served,
                "flavor": mv.flavor,
                "port": PORT,
                "health": {"live": "/v2/health/live", "ready": "/v2/health/ready"},
                "metrics": "/metrics",
                "requirements": reqs,
            },
            indent=2,
        )
    )
    return out
