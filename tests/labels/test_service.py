"""The labeling service on SQLite + local blobs and PostgreSQL + S3."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from shipyard.core import AlreadyExists, InvalidInput
from shipyard.labels import (
    AnnotatorExcluded,
    DuplicateAnnotation,
    InvalidAnnotation,
    LabelNotInClasses,
    NotAllowed,
    ProjectNotFound,
    SpanOutOfRange,
    TaskNotAssigned,
)
from shipyard.labels.simulate import Crowd
from shipyard.labels.tables import label_annotations, label_tasks


def _counts(ws: Any, pid: str) -> tuple[int, int]:
    with ws.db.read() as conn:
        tasks = conn.execute(
            sa.select(sa.func.sum(label_tasks.c.n_done)).where(label_tasks.c.project_id == pid)
        ).scalar()
        ann = conn.execute(
            sa.select(sa.func.count())
            .select_from(label_annotations)
            .where(label_annotations.c.project_id == pid, label_annotations.c.status == "submitted")
        ).scalar()
    return int(tasks or 0), int(ann)


def test_create_project_stores_payloads_in_a_blob(
    ws: Any, project: Any, reviews: pd.DataFrame
) -> None:
    assert project.n_tasks == 60 and project.n_gold == 6
    assert ws.blobs.exists(project.payload_digest)
    assert ws.labels.payloads(project).equals(reviews)
    assert ws.labels.project("reviews").id == project.id
    assert ws.labels.project(project.id).name == "reviews"
    assert ws.lineage.node(f"labeling_project:{project.id}").label == "reviews"
    cols = {c.name for c in label_tasks.columns}
    assert "text" not in cols and "payload" not in cols  # payloads never enter the DB
    page = ws.labels.tasks(project, limit=10)
    assert len(page) == 10 and page["position"].is_monotonic_increasing
    with pytest.raises(AlreadyExists, match="'reviews' exists already"):
        ws.labels.create_project("reviews", reviews, classes=["a", "b"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"classes": ["x"]}, "at least 2 classes"),
        ({"classes": ["x", "x"]}, "distinct"),
        ({"classes": ["a", "b"], "kind": "video"}, "unknown project kind 'video'"),
        ({"classes": ["a", "b"], "overlap": 0}, "overlap of project"),
        ({"classes": ["a", "b"], "gold_fraction": 1.5}, "gold_fraction"),
        ({"classes": ["a", "b"], "gold_column": "nope"}, "gold_column 'nope'"),
        ({"classes": ["a", "b"], "gold": {0: "zzz"}}, "label 'zzz' is not a class"),
    ],
)
def test_bad_project_input_writes_nothing(
    sqlite_ws: Any, reviews: pd.DataFrame, kwargs: dict, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        sqlite_ws.labels.create_project("bad", reviews, **kwargs)
    assert sqlite_ws.labels.projects() == []
    with pytest.raises(ProjectNotFound, match="no labeling project 'bad'"):
        sqlite_ws.labels.project("bad")
    with pytest.raises(InvalidInput, match="empty table"):
        sqlite_ws.labels.create_project("bad", reviews.head(0), classes=["a", "b"])


def test_assignment_overlap_and_gold(ws: Any, project: Any, reviews: pd.DataFrame) -> None:
    crowd = Crowd.make(4, accuracy=1.0, seed=0)
    n = crowd.work(ws, project, reviews["truth"].tolist())
    # 54 regular tasks x overlap 2, plus every annotator does all 6 gold tasks
    assert n == 54 * 2 + 6 * 4
    p = ws.labels.project(project)
    assert p.n_complete == 54 and p.progress == 1.0 and p.n_annotations == n
    assert _counts(ws, p.id) == (n, n)
    ann = ws.labels.annotations(project)
    assert not ann.duplicated(["row", "annotator"]).any()
    per_task = ann[~ann["is_gold"]].groupby("row").size()
    assert (per_task == 2).all()
    q = ws.labels.quality(project).set_index("annotator")
    assert (q["gold_seen"] == 6).all() and (q["gold_accuracy"] == 1.0).all()
    for name in crowd.names:
        assert ws.labels.next_task(project, name) is None
    timeline = ws.labels.timeline(project, buckets=4)
    assert len(timeline) == 4 and timeline["cumulative"].iloc[-1] == 54 * 2
    assert timeline["krippendorff_alpha"].iloc[-1] == pytest.approx(1.0)


def test_next_task_is_stable_until_submitted(ws: Any, project: Any) -> None:
    ws.labels.add_annotator("ann")
    t1 = ws.labels.next_task(project, "ann")
    t2 = ws.labels.next_task(project, "ann")
    assert t1.row == t2.row
    assert t1.payload["text"].startswith("review number")
    assert "truth" in t1.payload and "is_gold" not in t1.to_dict()
    ws.labels.submit(project, t1.row, "ann", "pos")
    assert ws.labels.next_task(project, "ann").row != t1.row


def test_bad_annotations_are_rejected_and_nothing_is_written(ws: Any, project: Any) -> None:
    ws.labels.add_annotator("ann")
    ws.labels.add_annotator("other")
    task = ws.labels.next_task(project, "ann")
    before = _counts(ws, project.id)
    with pytest.raises(
        LabelNotInClasses,
        match="label 'great' is not a class of labeling project 'reviews'; "
        "use one of: neg, neu, pos",
    ):
        ws.labels.submit(project, task.row, "ann", "great")
    with pytest.raises(TaskNotAssigned, match="is not assigned to annotator other"):
        ws.labels.submit(project, task.row, "other", "pos")
    assert _counts(ws, project.id) == before
    ws.labels.submit(project, task.row, "ann", "pos")
    with pytest.raises(DuplicateAnnotation, match="already submitted task"):
        ws.labels.submit(project, task.row, "ann", "neg")
    assert _counts(ws, project.id) == (before[0] + 1, before[1] + 1)
    assert ws.labels.project(project).n_annotations == 1


def test_spans_are_validated_against_the_text(sqlite_ws: Any) -> None:
    ws = sqlite_ws
    df = pd.DataFrame({"text": ["Alice met Bob in Paris", "Nothing here"]})
    p = ws.labels.create_project("ner", df, kind="text_spans", classes=["PER", "LOC"], overlap=2)
    for name in ("a", "b"):
        ws.labels.add_annotator(name)
    t = ws.labels.next_task(p, "a")
    assert t.row == 0
    with pytest.raises(
        SpanOutOfRange, match=r"span \[17, 40\) lies outside the task's text of 22 characters"
    ):
        ws.labels.submit(p, 0, "a", [{"start": 17, "end": 40, "label": "LOC"}])
    with pytest.raises(InvalidAnnotation, match="list of regions"):
        ws.labels.submit(p, 0, "a", "PER")
    assert ws.labels.annotations(p).empty
    ws.labels.submit(
        p,
        0,
        "a",
        [{"start": 0, "end": 5, "label": "PER"}, {"start": 17, "end": 22, "label": "LOC"}],
    )
    assert ws.labels.next_task(p, "b").row == 0
    ws.labels.submit(p, 0, "b", [{"start": 0, "end": 5, "label": "PER"}])
    rep = ws.labels.agreement(p)
    assert rep["match_agreement"] == pytest.approx(2 / 3)
    agg = ws.labels.aggregate(p)
    assert len(agg.loc[0, "label"]) in (1, 2) and agg.loc[0, "n_annotations"] == 2
    ann = ws.labels.annotations(p)
    assert ann.loc[0, "label"][0]["text"] == "Alice"


def test_boxes_and_multilabel(sqlite_ws: Any) -> None:
    ws = sqlite_ws
    df = pd.DataFrame({"image": [b"\x89PNG\r\n\x1a\n...", b"\x89PNG\r\n\x1a\n..."]})
    p = ws.labels.create_project(
        "boxes", df, kind="bounding_boxes", classes=["cat", "dog"], overlap=1
    )
    ws.labels.add_annotator("a")
    t = ws.labels.next_task(p, "a")
    assert t.media == ["image"] and ws.labels.media(p, t.row).startswith(b"\x89PNG")
    with pytest.raises(InvalidAnnotation, match="outside the image"):
        ws.labels.submit(p, t.row, "a", [{"x": 0.8, "y": 0.1, "w": 0.5, "h": 0.2, "label": "cat"}])
    ws.labels.submit(p, t.row, "a", [{"x": 0.1, "y": 0.1, "w": 0.5, "h": 0.2, "label": "cat"}])
    ml = ws.labels.create_project(
        "tags",
        pd.DataFrame({"text": ["a", "b", "c"]}),
        kind="multilabel",
        classes=["x", "y", "z"],
        overlap=2,
    )
    ws.labels.add_annotator("b")
    for who, answers in (("a", [["x", "y"], ["z"], []]), ("b", [["x"], ["z"], []])):
        for _ in range(3):
            task = ws.labels.next_task(ml, who)
            ws.labels.submit(ml, task.row, who, answers[task.row])
    agg = ws.labels.aggregate(ml, "majority")
    assert agg.loc[1, "label"] == ["z"] and agg.loc[2, "label"] == []
    rep = ws.labels.agreement(ml)
    assert rep.per_class.set_index("class").loc["z", "krippendorff_alpha"] == pytest.approx(1.0)


def test_skip_gives_the_task_to_someone_else(sqlite_ws: Any, reviews: pd.DataFrame) -> None:
    ws = sqlite_ws
    p = ws.labels.create_project("r", reviews, classes=["neg", "neu", "pos"], overlap=1)
    for name in ("a", "b"):
        ws.labels.add_annotator(name)
    t = ws.labels.next_task(p, "a")
    ws.labels.skip(p, t.row, "a")
    assert ws.labels.next_task(p, "a").row != t.row
    assert ws.labels.next_task(p, "b").row == t.row
    assert ws.labels.quality(p).set_index("annotator").loc["a", "skipped"] == 1


def test_spammer_is_flagged_excluded_and_tasks_reopen(
    sqlite_ws: Any, reviews: pd.DataFrame
) -> None:
    ws = sqlite_ws
    p = ws.labels.create_project(
        "r",
        reviews,
        classes=["neg", "neu", "pos"],
        overlap=2,
        gold_fraction=0.1,
        gold_column="truth",
    )
    crowd = Crowd.make(4, accuracy=[1.0, 1.0, 1.0, 0.0], spammers=0, seed=1)
    crowd.work(ws, p, reviews["truth"].tolist())
    spammer = crowd.names[3]
    assert ws.labels.flagged(p) == [spammer]
    before = ws.labels.project(p)
    reopened = ws.labels.exclude(p, spammer)
    assert reopened > 0
    assert ws.labels.project(p).n_complete == before.n_complete - reopened
    with pytest.raises(AnnotatorExcluded, match="was excluded from labeling project 'r'"):
        ws.labels.next_task(p, spammer)
    crowd.annotators.pop()
    crowd.work(ws, p, reviews["truth"].tolist())
    assert ws.labels.project(p).n_complete == 54
    agg = ws.labels.aggregate(p, "majority")
    assert (agg["label"] == reviews["truth"]).all()
    assert spammer not in set(ws.labels.agreement(p).per_annotator["annotator"])


def test_truth_inference_methods_on_a_simulated_crowd(sqlite_ws: Any) -> None:
    ws = sqlite_ws
    rng = np.random.default_rng(3)
    truth = rng.choice(["a", "b", "c"], 300)
    df = pd.DataFrame({"text": [f"t{i}" for i in range(300)], "truth": truth})
    p = ws.labels.create_project(
        "sim", df, classes=["a", "b", "c"], overlap=3, gold_fraction=0.05, gold_column="truth"
    )
    crowd = Crowd.make(5, accuracy=[0.9, 0.8, 0.75, 0.7, 0.5], spammers=1, seed=3)
    crowd.work(ws, p, truth.tolist())
    regular = ~ws.labels.tasks(p, limit=1000).set_index("row").sort_index()["is_gold"].to_numpy()
    acc = {}
    for method in ("majority", "weighted_majority", "dawid_skene"):
        agg = ws.labels.aggregate(p, method)
        acc[method] = (agg["label"].to_numpy()[regular] == truth[regular]).mean()
        assert set(agg["label_source"]) <= {method, "gold"}
    assert acc["dawid_skene"] >= acc["majority"]
    assert acc["weighted_majority"] >= acc["majority"] - 0.01
    with pytest.raises(InvalidInput, match="does not apply"):
        ws.labels.aggregate(p, "medoid")


def test_review_flow(sqlite_ws: Any, reviews: pd.DataFrame) -> None:
    ws = sqlite_ws
    p = ws.labels.create_project("r", reviews, classes=["neg", "neu", "pos"], overlap=2)
    Crowd.make(2, accuracy=1.0).work(ws, p, reviews["truth"].tolist())
    ws.labels.add_annotator("rev", role="reviewer")
    assert ws.labels.send_to_review(p, [0, 1], note="check") == 2
    queue = ws.labels.review_queue(p)
    assert [q["row"] for q in queue] == [0, 1] and len(queue[0]["annotations"]) == 2
    with pytest.raises(NotAllowed, match="reviews need the reviewer or manager role"):
        ws.labels.review(p, 0, "sim-1")
    ws.labels.review(p, 0, "rev")
    other = next(c for c in ("neg", "neu", "pos") if c != reviews.loc[1, "truth"])
    ws.labels.review(p, 1, "rev", other)
    agg = ws.labels.aggregate(p).set_index("row")
    assert agg.loc[1, "label"] == other and agg.loc[1, "label_source"] == "review"
    assert agg.loc[0, "label"] == reviews.loc[0, "truth"]
    assert ws.labels.review_queue(p) == []


def test_label_errors_go_to_review_and_prioritize_orders_the_queue(sqlite_ws: Any) -> None:
    ws = sqlite_ws
    rng = np.random.default_rng(0)
    n = 200
    truth = rng.integers(0, 2, n)
    df = pd.DataFrame({"text": [f"x{i}" for i in range(n)]})
    p = ws.labels.create_project("cl", df, classes=["a", "b"], overlap=1)
    # one annotator who gets 15 items wrong
    wrong = set(rng.choice(n, 15, replace=False).tolist())
    answers = np.where([i in wrong for i in range(n)], 1 - truth, truth)
    ws.labels.import_annotations(
        p,
        pd.DataFrame(
            {"row": range(n), "annotator": "solo", "label": [["a", "b"][i] for i in answers]}
        ),
    )
    probs = np.where(truth[:, None] == np.arange(2)[None, :], 0.9, 0.1)
    errors = ws.labels.find_label_errors(p, probs)
    assert set(errors["row"]) == wrong
    assert {q["row"] for q in ws.labels.review_queue(p, limit=100)} == wrong
    with pytest.raises(InvalidInput, match=r"must have shape \(tasks, classes\) = \(200, 2\)"):
        ws.labels.find_label_errors(p, probs[:10])

    q = ws.labels.create_project("al", df, classes=["a", "b"], overlap=1)
    unc = np.clip(np.linspace(0.5, 1.0, n), 0, 1)
    probs = np.stack([unc, 1 - unc], axis=1)
    order = ws.labels.prioritize(q, probs, strategy="margin")
    assert order["row"].iloc[0] == 0  # p = 0.5/0.5 is the most uncertain
    ws.labels.add_annotator("al-1")
    t = ws.labels.next_task(q, "al-1")
    assert t.row == 0 and t.prediction["label"] in ("a", "b")
    assert ws.labels.prioritize(q, lambda frame: probs[::-1].copy())["row"].iloc[0] == n - 1


def test_export_commits_a_dataset_version_with_lineage(
    ws: Any, project: Any, reviews: pd.DataFrame
) -> None:
    Crowd.make(3, accuracy=1.0).work(ws, project, reviews["truth"].tolist())
    out = ws.labels.export(project, method="dawid_skene")
    assert (out.frame["label"] == reviews["truth"]).all()
    assert out.frame["n_annotations"].min() >= 2 and out.n_labeled == 60
    assert ws.blobs.exists(out.digest)
    if out.dataset_version is not None:
        v = out.dataset_version
        back = ws.datasets.get(f"{v.name}@{v.version}").to_pandas()
        assert list(back["label"]) == list(reviews["truth"])
        up = ws.lineage.upstream(v.lineage_node, depth=1)
        assert f"labeling_project:{project.id}" in up.nodes


def test_project_from_a_dataset_version(sqlite_ws: Any, reviews: pd.DataFrame) -> None:
    ws = sqlite_ws
    if not hasattr(ws, "datasets"):
        pytest.skip("no dataset service in this installation")
    try:
        v = ws.datasets.commit("reviews", reviews, message="raw")
    except ImportError:
        pytest.skip("no dataset service in this installation")
    p = ws.labels.create_project(
        "from-ds", f"reviews@{v.version}", classes=["neg", "neu", "pos"], overlap=1
    )
    assert p.source["type"] == "dataset" and p.n_tasks == 60
    Crowd.make(1, accuracy=1.0).work(ws, p, reviews["truth"].tolist())
    out = ws.labels.export(p)
    assert out.dataset_version.name == "reviews" and out.dataset_version.version == v.version + 1
    graph = ws.lineage.downstream(v.lineage_node, depth=2)
    assert f"labeling_project:{p.id}" in graph.nodes
    assert out.dataset_version.lineage_node.key in graph.nodes


def test_label_studio_round_trip(ws: Any, reviews: pd.DataFrame) -> None:
    p = ws.labels.create_project("ls", reviews, classes=["neg", "neu", "pos"], overlap=2)
    Crowd.make(3, accuracy=0.7, seed=4).work(ws, p, reviews["truth"].tolist())
    tasks = ws.labels.to_label_studio(p)
    assert tasks[0]["data"]["text"] == reviews.loc[0, "text"]
    assert tasks[0]["annotations"][0]["result"][0]["type"] == "choices"
    q = ws.labels.from_label_studio("ls-copy", tasks, classes=["neg", "neu", "pos"])
    a = ws.labels.annotations(p).sort_values(["row", "annotator"]).reset_index(drop=True)
    b = ws.labels.annotations(q).sort_values(["row", "annotator"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        a[["row", "annotator", "label"]], b[["row", "annotator", "label"]]
    )
    assert ws.labels.payloads(q).equals(reviews)
    assert ws.labels.project(q).n_complete == 60
    assert (
        ws.labels.to_label_studio(q)[5]["annotations"][0]["result"]
        == tasks[5]["annotations"][0]["result"]
    )
    with pytest.raises(InvalidInput, match="needs a 'data' object"):
        ws.labels.from_label_studio("bad", [{"annotations": []}])
    assert [x.name for x in ws.labels.projects()].count("bad") == 0


def test_label_studio_spans_and_boxes(sqlite_ws: Any) -> None:
    ws = sqlite_ws
    tasks = [
        {
            "id": 1,
            "data": {"text": "Alice in Paris"},
            "annotations": [
                {
                    "completed_by": 1,
                    "result": [
                        {
                            "type": "labels",
                            "from_name": "l",
                            "to_name": "text",
                            "value": {"start": 0, "end": 5, "labels": ["PER"]},
                        },
                        {
                            "type": "labels",
                            "from_name": "l",
                            "to_name": "text",
                            "value": {"start": 9, "end": 14, "labels": ["LOC"]},
                        },
                    ],
                }
            ],
        },
    ]
    p = ws.labels.from_label_studio("spans", tasks)
    assert p.kind == "text_spans" and p.classes == ["LOC", "PER"] and p.n_annotations == 2 - 1
    assert ws.labels.annotations(p).loc[0, "label"][1]["text"] == "Paris"
    boxes = [
        {
            "id": 1,
            "data": {"image": "s3://x/1.png"},
            "annotations": [
                {
                    "completed_by": 2,
                    "result": [
                        {
                            "type": "rectanglelabels",
                            "from_name": "b",
                            "to_name": "image",
                            "value": {
                                "x": 10,
                                "y": 20,
                                "width": 30,
                                "height": 40,
                                "rectanglelabels": ["cat"],
                            },
                        }
                    ],
                }
            ],
        }
    ]
    q = ws.labels.from_label_studio("boxes", boxes)
    assert q.kind == "bounding_boxes"
    out = ws.labels.to_label_studio(q)[0]["annotations"][0]["result"][0]["value"]
    assert out["x"] == pytest.approx(10) and out["height"] == pytest.approx(40)
