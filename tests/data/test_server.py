"""REST API and UI pages of datasets, against a real uvicorn server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shipyard.data.synthetic import churn_schema, make_churn
from tests._support import run_uvicorn

MODULES = [
    "shipyard.server.api.core",
    "shipyard.server.ui.home",
    "shipyard.server.api.data",
    "shipyard.server.ui.datasets",
]


@pytest.fixture
def server(sqlite_ws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from shipyard.server import _app

    monkeypatch.setattr(_app, "ROUTE_MODULES", MODULES)  # just this area's routes
    sqlite_ws.datasets.set_schema("churn", churn_schema())
    sqlite_ws.datasets.commit("churn", make_churn(300, 1), message="period 1")
    bad = make_churn(300, 2)
    bad.loc[:3, "contract"] = "lifetime"
    sqlite_ws.datasets.commit("churn", bad, message="period 2", allow_invalid=True)
    with run_uvicorn(_app.create_app(sqlite_ws)) as url:
        yield url


def test_rest(server: str) -> None:
    assert httpx.get(f"{server}/api/v1/datasets").json()[0]["latest_version"] == 2
    ds = httpx.get(f"{server}/api/v1/datasets/churn").json()
    assert ds["schema"]["columns"]["contract"]["isin"]
    log = httpx.get(f"{server}/api/v1/datasets/churn/versions").json()
    assert [v["version"] for v in log] == [2, 1] and log[0]["valid"] is False
    v = httpx.get(f"{server}/api/v1/dataset-versions/churn@1").json()
    assert v["row_count"] == 300 and v["profile"]["columns"]["churned"]["kind"] == "numeric"
    stats = httpx.get(f"{server}/api/v1/dataset-versions/churn@2/stats").json()
    assert stats["row_count"] == 300
    files = httpx.get(f"{server}/api/v1/dataset-versions/churn@1/files").json()
    assert files["total"] == 1 and files["files"][0]["path"] == "data.parquet"
    r = httpx.get(f"{server}/api/v1/dataset-versions/churn@1/files/data.parquet")
    assert r.status_code == 200 and r.content[:4] == b"PAR1"
    assert r.headers["content-length"] == str(files["files"][0]["size"])
    d = httpx.get(f"{server}/api/v1/datasets/diff", params={"a": "churn@1", "b": "churn@2"}).json()
    assert d["rows"] == {"a": 300, "b": 300} and d["shifts"]
    rep = httpx.post(f"{server}/api/v1/dataset-versions/churn@2/validate").json()
    assert rep["valid"] is False and rep["failures"][0]["column"] == "contract"
    up = httpx.post(
        f"{server}/api/v1/datasets/uploads/versions",
        files=[("files", ("a/x.txt", b"hello")), ("files", ("y.txt", b"yo"))],
        data={"message": "uploaded", "tags": '{"via": "rest"}'},
    )
    assert up.status_code == 201 and up.json()["ref"] == "uploads@1"
    assert up.json()["tags"] == {"via": "rest"} and up.json()["file_count"] == 2
    err = httpx.get(f"{server}/api/v1/dataset-versions/churn@7")
    assert err.status_code == 404 and err.json()["error"]["type"] == "NotFound"
    err = httpx.get(f"{server}/api/v1/dataset-versions/churn@1/files/nope.txt")
    assert err.status_code == 404 and "no file 'nope.txt'" in err.json()["error"]["message"]


def test_ui_pages(server: str, sqlite_ws: Any) -> None:
    page = httpx.get(f"{server}/datasets")
    assert page.status_code == 200 and 'href="/datasets/churn"' in page.text
    page = httpx.get(f"{server}/datasets/churn")
    assert "churn@2" in page.text and "invalid" in page.text and "Compare selected" in page.text
    ds_id = sqlite_ws.datasets.dataset("churn").id
    assert httpx.get(f"{server}/datasets/{ds_id}").status_code == 200  # lineage links use ids
    v1 = sqlite_ws.datasets.get("churn@1")
    page = httpx.get(f"{server}/datasets/versions/{v1.id}")
    assert page.status_code == 200
    assert 'id="stats"' in page.text and "monthly_charges" in page.text
    assert 'class="plot hist"' in page.text and "data.parquet" in page.text
    page = httpx.get(f"{server}/datasets/versions/churn@2")
    assert 'id="validation"' in page.text and "lifetime" in page.text
    page = httpx.get(f"{server}/datasets/diff", params={"a": "churn@1", "b": "churn@2"})
    assert page.status_code == 200 and 'id="shifts"' in page.text and "monthly_charges" in page.text
    page = httpx.get(f"{server}/datasets/versions/nope@1", headers={"accept": "text/html"})
    assert page.status_code == 404 and "no dataset" in page.text


@pytest.mark.browser
def test_version_page_draws_histograms_in_a_browser(server: str, page: Any) -> None:
    page.goto(f"{server}/datasets/versions/churn@1")
    page.wait_for_selector(".hist .main-svg")
    drawn = page.locator(".hist .main-svg").count()
    assert drawn >= 10  # one chart per numeric/categorical column
    assert page.locator("#histograms .bars path").count() > 0  # bars, not empty axes
    page.goto(f"{server}/datasets/churn")
    page.click("text=Compare selected")
    page.wait_for_selector("#shifts")
    assert "churn@1 → churn@2" in page.inner_text("h1")
    assert page.console_errors == []


def _link(html: str, link_id: str) -> str | None:
    import re

    m = re.search(rf'id="{link_id}" href="([^"]+)"', html)
    return m.group(1).replace("&amp;", "&") if m else None


def test_dataset_history_is_paginated_server_side(sqlite_ws: Any, server: str) -> None:
    import pandas as pd

    from shipyard.server._paging import PER_PAGE

    n = PER_PAGE + 3
    for i in range(n):
        sqlite_ws.datasets.commit("many", pd.DataFrame({"x": [i]}), message=f"batch {i}")
    first = httpx.get(f"{server}/datasets/many")
    assert first.status_code == 200
    assert f">many@{n}<" in first.text and f">many@{n - PER_PAGE + 1}<" in first.text
    assert f">many@{n - PER_PAGE}<" not in first.text  # one page, not the whole history
    assert f"1 to {PER_PAGE} of {n} versions" in first.text
    assert _link(first.text, "prev-page") is None
    nxt = _link(first.text, "next-page")
    assert nxt == "/datasets/many?page=2"
    second = httpx.get(f"{server}{nxt}")
    assert [f">many@{v}<" in second.text for v in (3, 2, 1)] == [True] * 3
    assert f">many@{n}<" not in second.text and _link(second.text, "next-page") is None
    assert _link(second.text, "prev-page") == "/datasets/many?page=1"
    small = httpx.get(f"{server}/datasets/many", params={"per_page": 2, "page": 3})
    assert ">many@49<" in small.text and ">many@48<" in small.text and ">many@50<" not in small.text
    assert _link(small.text, "next-page") == "/datasets/many?page=4&per_page=2"
    for bad in ({"page": 0}, {"per_page": 0}, {"per_page": 100_000}):
        r = httpx.get(f"{server}/datasets/many", params=bad, headers={"accept": "text/html"})
        assert r.status_code == 422, bad
    past = httpx.get(f"{server}/datasets/many?page=3", headers={"accept": "text/html"})
    assert past.status_code == 404 and "past the last page (2)" in past.text


def test_dataset_list_is_paginated_server_side(sqlite_ws: Any, server: str) -> None:
    import pandas as pd

    for name in ("alpha", "beta", "gamma", "delta"):
        sqlite_ws.datasets.commit(name, pd.DataFrame({"x": [1]}))
    names = sorted(["alpha", "beta", "gamma", "delta", "churn"])  # churn from the fixture
    first = httpx.get(f"{server}/datasets", params={"per_page": 2})
    shown = [n for n in names if f'href="/datasets/{n}"' in first.text]
    assert shown == names[:2] and "1 to 2 of 5 datasets" in first.text
    last = httpx.get(f"{server}{_link(first.text, 'next-page')}")
    last = httpx.get(f"{server}{_link(last.text, 'next-page')}")
    assert [n for n in names if f'href="/datasets/{n}"' in last.text] == names[4:]
    assert _link(last.text, "next-page") is None and "page 3 of 3" in last.text
    assert sqlite_ws.datasets.list(limit=2, offset=3) == sqlite_ws.datasets.list()[3:]
    assert sqlite_ws.datasets.count() == 5
