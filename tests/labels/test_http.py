"""The labeling flow over HTTP (a real uvicorn server) and the UI pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shipyard.server import create_app
from tests._support import run_uvicorn

ROWS = [{"text": f"review {i}", "truth": ["neg", "pos"][i % 2]} for i in range(12)]


@pytest.fixture
def client(sqlite_ws: Any) -> Iterator[httpx.Client]:
    with run_uvicorn(create_app(sqlite_ws)) as base, httpx.Client(base_url=base, timeout=30) as c:
        yield c


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def test_labeling_flow_over_http(client: httpx.Client) -> None:
    for name in ("ann-1", "ann-2"):
        _ok(client.post("/api/v1/labels/annotators", json={"name": name}), 201)
    _ok(client.post("/api/v1/labels/annotators", json={"name": "boss", "role": "manager"}), 201)
    p = _ok(
        client.post(
            "/api/v1/labels/projects",
            json={
                "name": "web",
                "rows": ROWS,
                "classes": ["neg", "pos"],
                "overlap": 2,
                "gold_fraction": 0.2,
                "gold_column": "truth",
                "instructions": "Sentiment.",
            },
        ),
        201,
    )
    assert p["n_tasks"] == 12 and p["n_gold"] == 2
    pid = p["id"]
    submitted = 0
    for _ in range(40):
        progressed = False
        for who in ("ann-1", "ann-2"):
            nxt = _ok(client.post("/api/v1/labels/projects/web/next", json={"annotator": who}))
            if nxt["task"] is None:
                continue
            t = nxt["task"]
            assert "is_gold" not in t and t["payload"]["text"].startswith("review")
            truth = t["payload"]["truth"]
            label = truth if who == "ann-1" else {"neg": "pos", "pos": "neg"}[truth]
            _ok(
                client.post(
                    f"/api/v1/labels/projects/{pid}/tasks/{t['row']}/annotations",
                    json={"annotator": who, "label": label},
                ),
                201,
            )
            submitted += 1
            progressed = True
        if not progressed:
            break
    assert submitted == 10 * 2 + 2 * 2
    status = _ok(client.get("/api/v1/labels/projects/web"))
    assert status["progress"] == 1.0 and status["n_annotations"] == submitted
    agreement = _ok(client.get("/api/v1/labels/projects/web/agreement"))
    assert agreement["n_items"] == 10 and -1 <= agreement["krippendorff_alpha"] <= 1
    assert {r["annotator_a"] for r in agreement["pairs"]} == {"ann-1"}
    people = {
        a["annotator"]: a
        for a in _ok(client.get("/api/v1/labels/projects/web/annotators"))["annotators"]
    }
    assert people["ann-1"]["gold_accuracy"] == 1.0 and people["ann-2"]["gold_accuracy"] == 0.0
    labels = _ok(
        client.get("/api/v1/labels/projects/web/labels", params={"method": "majority", "limit": 5})
    )
    assert labels["total"] == 12 and len(labels["labels"]) == 5
    # review: send, list, correct
    _ok(client.post("/api/v1/labels/projects/web/review", json={"rows": [0], "note": "check"}))
    queue = _ok(client.get("/api/v1/labels/projects/web/review"))["tasks"]
    assert queue[0]["row"] == 0 and len(queue[0]["annotations"]) >= 2
    done = _ok(
        client.post(
            "/api/v1/labels/projects/web/tasks/0/review", json={"reviewer": "boss", "label": "neg"}
        )
    )
    assert done["status"] == "corrected"
    ls = _ok(client.get("/api/v1/labels/projects/web/label-studio"))
    assert len(ls) == 12 and ls[0]["data"]["text"] == "review 0"
    copy = _ok(
        client.post("/api/v1/labels/label-studio", json={"name": "web-copy", "tasks": ls}), 201
    )
    assert copy["n_annotations"] == submitted
    out = _ok(client.post("/api/v1/labels/projects/web/export", json={"method": "dawid_skene"}))
    assert out["rows"] == 12 and out["digest"].startswith("sha256:")


def test_http_errors_are_clear(client: httpx.Client) -> None:
    client.post("/api/v1/labels/annotators", json={"name": "a"})
    client.post("/api/v1/labels/annotators", json={"name": "b"})
    client.post(
        "/api/v1/labels/projects",
        json={"name": "err", "rows": ROWS, "classes": ["neg", "pos"], "overlap": 1},
    )
    t = client.post("/api/v1/labels/projects/err/next", json={"annotator": "a"}).json()["task"]
    url = f"/api/v1/labels/projects/err/tasks/{t['row']}/annotations"
    r = client.post(url, json={"annotator": "a", "label": "meh"})
    assert r.status_code == 422 and r.json()["error"]["type"] == "LabelNotInClasses"
    assert "use one of: neg, pos" in r.json()["error"]["message"]
    r = client.post(url, json={"annotator": "b", "label": "neg"})
    assert r.status_code == 409 and r.json()["error"]["type"] == "TaskNotAssigned"
    assert client.post(url, json={"annotator": "a", "label": "neg"}).status_code == 201
    r = client.post(url, json={"annotator": "a", "label": "neg"})
    assert r.status_code == 409 and r.json()["error"]["type"] == "DuplicateAnnotation"
    r = client.get("/api/v1/labels/projects/nope")
    assert r.status_code == 404 and "no labeling project 'nope'" in r.json()["error"]["message"]
    r = client.post("/api/v1/labels/projects", json={"name": "x", "classes": ["a", "b"]})
    assert r.status_code == 422 and "exactly one of 'dataset'" in r.json()["error"]["message"]
    r = client.post("/api/v1/labels/projects/err/next", json={"annotator": "ghost"})
    assert r.status_code == 404 and "add_annotator('ghost')" in r.json()["error"]["message"]
    assert client.get("/api/v1/labels/projects/err").json()["n_annotations"] == 1


def test_ui_pages(client: httpx.Client) -> None:
    client.post(
        "/api/v1/labels/projects",
        json={"name": "ui", "rows": ROWS, "classes": ["neg", "pos"], "overlap": 2},
    )
    for who in ("u1", "u2"):
        client.post("/api/v1/labels/annotators", json={"name": who})
        for _ in range(3):
            t = client.post("/api/v1/labels/projects/ui/next", json={"annotator": who}).json()[
                "task"
            ]
            client.post(
                f"/api/v1/labels/projects/ui/tasks/{t['row']}/annotations",
                json={"annotator": who, "label": "pos"},
            )
    html = {"Accept": "text/html"}
    page = client.get("/labeling", headers=html)
    assert page.status_code == 200 and "ui" in page.text and 'class="active"' in page.text
    pid = client.get("/api/v1/labels/projects/ui").json()["id"]
    dash = client.get(f"/labeling/{pid}", headers=html)
    assert dash.status_code == 200
    for fragment in ("Agreement over time", "Confusion between annotators", "u1", "Progress"):
        assert fragment in dash.text
    view = client.get("/labeling/ui/annotate?annotator=u3", headers=html)
    assert view.status_code == 200 and "startLabeling" in view.text and "Instructions" in view.text
    assert (
        client.get("/labeling/ui/annotate", headers=html).text.count("<option>") == 3
    )  # u3 joined above
    client.post("/api/v1/labels/projects/ui/review", json={"rows": [0, 1]})
    rev = client.get("/labeling/ui/review?reviewer=boss", headers=html)
    assert rev.status_code == 200 and "reviewAction" in rev.text and "task 0" in rev.text
    assert client.get("/static/labeling.js").status_code == 200
    missing = client.get("/labeling/nope", headers=html)
    assert missing.status_code == 404
