"""The filter grammar and search over summaries, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import shipyard as sy
from shipyard.core import InvalidInput, NotFound
from shipyard.tracking import parse_filter


def _make(ws: Any) -> dict[str, Any]:
    specs = [
        ("a", "rf", 0.91, "risk", "finished", 0.1),
        ("b", "gbm", 0.85, "growth", "finished", 0.01),
        ("c", "lr", 0.95, "risk", "failed", 0.5),
        ("d", "svm", 0.70, "core", "finished", 1.0),
        ("e", "rf", 0.60, "core", "finished", 0.2),
    ]
    runs = {}
    for name, model, auc, team, status, lr in specs:
        run = ws.start_run(
            experiment="s",
            name=name,
            params={"model": model, "lr": lr},
            tags={"team": team},
            capture_env=False,
        )
        run.log_metrics({"auc": auc, "val/loss": 1 - auc})
        run.end("failed" if status == "failed" else "finished")
        runs[name] = run
    other = ws.start_run(experiment="other", name="z", params={"model": "rf"}, capture_env=False)
    other.log_metric("auc", 0.99)
    other.end()
    return runs


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One seeded SQLite workspace shared by the read-only filter cases."""
    with sy.Workspace(tmp_path_factory.mktemp("seeded") / "ws") as ws:
        _make(ws)
        yield ws


def _names(page: Any) -> list[str]:
    return [r.name for r in page]


def test_issue_example_filter(ws: Any) -> None:
    _make(ws)
    page = ws.runs.search(
        experiments=["s"],
        filter="metrics.auc > 0.8 and (params.model in ('rf','gbm') or tags.team = 'risk') "
        "and attributes.status = 'finished'",
        order_by=["metrics.auc desc"],
    )
    assert _names(page) == ["a", "b"]
    df = page.to_pandas()
    assert list(df["name"]) == ["a", "b"] and "metrics.auc" in df and "params.model" in df


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("metrics.auc >= 0.85", {"a", "b", "c"}),
        ("metrics.auc < 0.7", {"e"}),
        ("metrics.`val/loss` < 0.1", {"a", "c"}),
        ("params.model = 'rf'", {"a", "e"}),
        ("params.model != 'rf'", {"b", "c", "d"}),
        ("params.model not in ('rf', 'gbm')", {"c", "d"}),
        ("params.model like 'g%'", {"b"}),
        ("params.model ilike 'RF'", {"a", "e"}),
        ("params.lr > 0.15", {"c", "d", "e"}),
        ("params.lr in (0.1, 1)", {"a", "d"}),
        ("not params.model = 'rf'", {"b", "c", "d"}),
        ("not (tags.team = 'risk' or tags.team = 'core')", {"b"}),
        ("tags.team = 'risk' and not status = 'failed'", {"a"}),
        ("params.missing is null", {"a", "b", "c", "d", "e"}),
        ("params.model is not null and metrics.nope > 1", set()),
        ("attributes.name in ('a', 'd') or metrics.auc > 0.94", {"a", "c", "d"}),
        ("attributes.status = 'failed'", {"c"}),
        ("attributes.experiment = 's' and run.name = 'e'", {"e"}),
        ("attributes.start_time > '2000-01-01'", {"a", "b", "c", "d", "e"}),
        ("", {"a", "b", "c", "d", "e"}),
    ],
)
def test_filter_semantics(seeded: Any, flt: str, expected: set[str]) -> None:
    assert set(_names(seeded.runs.search(experiments="s", filter=flt))) == expected


def test_order_and_pagination(ws: Any) -> None:
    _make(ws)
    page1 = ws.runs.search(experiments=["s"], order_by=["metrics.auc desc"], max_results=2)
    assert _names(page1) == ["c", "a"] and page1.next_page_token
    assert page1.previous_page_token is None
    page2 = ws.runs.search(
        experiments=["s"],
        order_by=["metrics.auc desc"],
        max_results=2,
        page_token=page1.next_page_token,
    )
    assert _names(page2) == ["b", "d"]
    page3 = ws.runs.search(
        experiments=["s"],
        order_by=["metrics.auc desc"],
        max_results=2,
        page_token=page2.next_page_token,
    )
    assert _names(page3) == ["e"] and page3.next_page_token is None
    back = ws.runs.search(
        experiments=["s"],
        order_by=["metrics.auc desc"],
        max_results=2,
        page_token=page3.previous_page_token,
    )
    assert _names(back) == ["b", "d"] and back.next_page_token == page2.next_page_token
    asc = ws.runs.search(experiments=["s"], order_by=["params.lr asc", "attributes.name"])
    assert _names(asc) == ["b", "a", "e", "c", "d"]
    with pytest.raises(InvalidInput, match="another filter or ordering"):
        ws.runs.search(experiments=["s"], max_results=2, page_token=page1.next_page_token)
    with pytest.raises(InvalidInput, match="invalid page token"):
        ws.runs.search(page_token="garbage!")
    assert ws.runs.count(["s"], "params.model = 'rf'") == 2
    assert len(ws.runs.search()) == 6  # every experiment


@pytest.mark.parametrize(
    ("flt", "position", "token"),
    [
        ("metrics.auc >", 13, "end of filter"),
        ("metrics.auc > 0.8 and", 21, "end of filter"),
        ("metrics.auc > 0.8 or or", 21, "or"),
        ("foo.bar = 1", 0, "foo.bar"),
        ("params.model = rf", 15, "rf"),
        ("params.model in 'rf'", 16, "'rf'"),
        ("params.model in ('rf' 'gbm')", 22, "'gbm'"),
        ("(metrics.auc > 1", 16, "end of filter"),
        ("metrics.auc > 1)", 15, ")"),
        ("metrics.auc ! 1", 12, "!"),
        ("attributes.colour = 'x'", 0, "attributes.colour"),
        ("params.model is 1", 16, "1"),
    ],
)
def test_malformed_filters_point_at_the_token(flt: str, position: int, token: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_filter(flt)
    assert err.value.details["position"] == position
    assert err.value.details["token"] == token
    assert f"position {position}" in err.value.message


def test_type_errors_and_unknown_experiment(sqlite_ws: Any) -> None:
    _make(sqlite_ws)
    with pytest.raises(InvalidInput, match=r"metrics.auc is numeric"):
        sqlite_ws.runs.search(filter="metrics.auc = 'high'")
    with pytest.raises(InvalidInput, match="LIKE applies to strings"):
        sqlite_ws.runs.search(filter="metrics.auc like 'x'")
    with pytest.raises(InvalidInput, match="ISO time"):
        sqlite_ws.runs.search(filter="attributes.start_time > 'yesterday'")
    with pytest.raises(NotFound, match=r"no experiment 'nope'.*known: other, s"):
        sqlite_ws.runs.search(experiments=["nope"])
    with pytest.raises(InvalidInput, match="max_results"):
        sqlite_ws.runs.search(max_results=0)
    with pytest.raises(InvalidInput, match="expected 'asc' or 'desc'"):
        sqlite_ws.runs.search(order_by=["metrics.auc sideways"])


def test_compare(ws: Any) -> None:
    runs = _make(ws)
    cmp = ws.runs.compare([runs["a"].id, runs["e"]])
    assert cmp.params == {"lr": {runs["a"].id: 0.1, runs["e"].id: 0.2}}
    assert cmp.same_params == {"model": "rf"}
    assert cmp.metrics["auc"][runs["a"].id]["last"] == 0.91
    df = cmp.to_pandas()
    assert df.loc["metrics.auc", runs["e"].id] == 0.6
    with pytest.raises(InvalidInput, match="at least two"):
        ws.runs.compare([runs["a"].id])


def test_experiments_service(ws: Any) -> None:
    from shipyard.core import AlreadyExists

    exp = ws.experiments.create("churn", "Customer churn", {"owner": "risk"})
    assert ws.experiments.get("churn").id == exp.id == ws.experiments.get(exp.id).id
    with pytest.raises(AlreadyExists, match="experiment 'churn' exists already"):
        ws.experiments.create("churn")
    with pytest.raises(NotFound, match=r"no experiment 'x'.*known: churn"):
        ws.experiments.get("x")
    assert [e.name for e in ws.experiments.list()] == ["churn"]
    assert ws.lineage.node(f"experiment:{exp.id}").label == "churn"
    ws.experiments.create("ads")
    ws.start_run("zoo", capture_env=False).end()
    assert ws.experiments.count() == 3
    page = ws.experiments.list(limit=1, offset=2)
    assert [(e.name, e.run_count) for e in page] == [("zoo", 1)]
    assert [e.name for e in ws.experiments.list(limit=2)] == ["ads", "churn"]
    with pytest.raises(InvalidInput, match="offset"):
        ws.experiments.list(offset=-1)


def test_keys_of_an_experiment(sqlite_ws: Any) -> None:
    _make(sqlite_ws)
    keys = sqlite_ws.runs.keys("s")
    assert keys == {"params": ["lr", "model"], "metrics": ["auc", "val/loss"], "tags": ["team"]}
    assert sqlite_ws.runs.keys("other")["params"] == ["model"]
    assert sqlite_ws.runs.keys("s", recent_runs=1)["metrics"] == ["auc", "val/loss"]
    assert sqlite_ws.runs.keys()["metrics"] == ["auc", "val/loss"]
