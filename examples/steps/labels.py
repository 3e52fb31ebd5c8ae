"""Demo step: label a review set with a simulated crowd, catch the spammer, export labels.

Five simulated annotators (one of them a spammer who answers at random) label 400
short product reviews three times each, through the same next-task / submit loop the
web UI uses. Hidden gold tasks score every annotator; agreement shows who disagrees
with everyone; the spammer is flagged by gold accuracy and excluded, the tasks they
touched are relabeled, and Dawid-Skene aggregates the labels. The result is committed
as a new version of the ``reviews`` dataset, and a quick classifier is trained on it.

Run standalone with ``python examples/steps/labels.py`` (a temporary workspace).
"""

from __future__ import annotations

import tempfile
from typing import Any

import numpy as np
import pandas as pd

CLASSES = ["negative", "neutral", "positive"]
_WORDS = {
    "negative": ["broke after a week", "terrible support", "waste of money", "arrived damaged"],
    "neutral": ["does the job", "as described", "average quality", "nothing special"],
    "positive": ["works perfectly", "great value", "love it", "excellent build"],
}
_ITEMS = ["kettle", "headphones", "backpack", "lamp", "keyboard", "blender", "jacket"]


def make_reviews(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Short synthetic reviews; the true sentiment is returned separately."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=n, p=[0.3, 0.2, 0.5])
    texts = [
        f"The {rng.choice(_ITEMS)}: {rng.choice(_WORDS[CLASSES[t]])}, "
        f"{rng.choice(_WORDS[CLASSES[t]])}."
        for t in truth
    ]
    df = pd.DataFrame({"text": texts})
    # 5% of the rows have a known answer (reviewed in-house): they become gold tasks
    gold = np.full(n, None, dtype=object)
    known = rng.choice(n, size=n // 20, replace=False)
    gold[known] = [CLASSES[t] for t in truth[known]]
    df["known_sentiment"] = gold
    return df, truth


def run(ws: Any, console: Any) -> dict[str, Any]:
    from rich.table import Table
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    from shipyard.labels.simulate import Crowd

    df, truth = make_reviews()
    source: Any = df
    datasets = getattr(ws, "datasets", None)
    if datasets is not None:
        raw = datasets.commit("reviews", df, message="raw reviews, unlabeled")
        source = f"reviews@{raw.version}"
    project = ws.labels.create_project(
        "review-sentiment",
        source,
        classes=CLASSES,
        overlap=3,
        gold_fraction=0.05,
        gold_column="known_sentiment",
        instructions="Label the overall sentiment of the review.",
    )
    crowd = Crowd.make(5, accuracy=[0.92, 0.88, 0.85, 0.8, 0.0], spammers=1, seed=7)
    spammer = crowd.names[-1]
    n = crowd.work(ws, project, [CLASSES[t] for t in truth])
    console.print(
        f"{len(crowd.names)} annotators submitted {n} annotations on {project.n_tasks} tasks"
    )

    rep = ws.labels.agreement(project)
    summary = rep.summary()
    quality = ws.labels.quality(project)
    table = Table(title="Annotators (gold accuracy from hidden gold tasks)")
    for c in ("annotator", "done", "gold accuracy", "mean kappa", "status"):
        table.add_column(c)
    for r in quality.itertuples():
        table.add_row(
            r.annotator,
            str(r.done),
            f"{r.gold_accuracy:.2f}",
            f"{r.agreement:.2f}",
            "[red]FLAGGED[/]" if r.flagged else "ok",
        )
    console.print(table)
    console.print(
        "agreement: Fleiss' kappa {fleiss_kappa:.3f}, Krippendorff's alpha "
        "{krippendorff_alpha:.3f}, Gwet's AC1 {gwet_ac1:.3f}".format(**summary)
    )

    def accuracy(method: str) -> float:
        labels = ws.labels.aggregate(project, method)["label"].to_numpy()
        return float((labels == np.array(CLASSES)[truth]).mean())

    before = {m: accuracy(m) for m in ("majority", "dawid_skene")}
    console.print(
        f"with the spammer's labels in: majority {before['majority']:.3f}, "
        f"Dawid-Skene {before['dawid_skene']:.3f} accuracy against the truth"
    )
    flagged = ws.labels.flagged(project)
    reopened = 0
    for name in flagged:
        reopened += ws.labels.exclude(project, name)
    crowd.annotators = [a for a in crowd.annotators if a.name not in flagged]
    crowd.work(ws, project, [CLASSES[t] for t in truth])
    console.print(f"excluded {', '.join(flagged) or 'nobody'}; {reopened} tasks relabeled")

    acc = {m: accuracy(m) for m in ("majority", "dawid_skene")}
    out = ws.labels.export(project, method="dawid_skene", name="reviews")
    where = (
        f"{out.dataset_version.name}@{out.dataset_version.version}"
        if out.dataset_version is not None
        else out.digest[:19]
    )
    console.print(
        f"after exclusion: majority {acc['majority']:.3f}, Dawid-Skene {acc['dawid_skene']:.3f}; "
        f"committed {where}"
    )
    labeled = out.frame
    x = TfidfVectorizer().fit_transform(labeled["text"])
    cv = cross_val_score(LogisticRegression(max_iter=1000), x, labeled["label"], cv=5)
    console.print(f"classifier trained on the labeled version: {cv.mean():.3f} CV accuracy")
    return {
        "annotations": int(ws.labels.project(project).n_annotations),
        "fleiss_kappa": summary["fleiss_kappa"],
        "krippendorff_alpha": summary["krippendorff_alpha"],
        "gwet_ac1": summary["gwet_ac1"],
        "flagged": flagged,
        "spammer_caught": flagged == [spammer],
        "majority_accuracy_with_spammer": before["majority"],
        "dawid_skene_accuracy_with_spammer": before["dawid_skene"],
        "majority_accuracy": acc["majority"],
        "dawid_skene_accuracy": acc["dawid_skene"],
        "dataset_version": where,
        "classifier_cv_accuracy": float(cv.mean()),
    }


if __name__ == "__main__":
    from rich.console import Console

    import shipyard as sy

    with tempfile.TemporaryDirectory() as home, sy.Workspace(home) as workspace:
        print(run(workspace, Console()))
