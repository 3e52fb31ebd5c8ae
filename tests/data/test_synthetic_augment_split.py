"""Synthetic tables, augmentation and splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.core import InvalidInput
from shipyard.data import augment as A
from shipyard.data.synthetic import (
    CHURN_COLUMNS,
    churn_schema,
    make_churn,
    make_classification_table,
    make_regression_table,
)


def test_churn_is_deterministic_documented_valid_and_drifts() -> None:
    a, b = make_churn(2000, period=1, seed=3), make_churn(2000, period=1, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not make_churn(2000, period=1, seed=4).equals(a)
    assert list(a.columns) == list(CHURN_COLUMNS)
    churn_schema().validate(a)
    p2 = make_churn(2000, period=2, seed=3)
    churn_schema().validate(p2)
    assert set(p2["customer_id"]) == set(a["customer_id"])  # same customers
    assert p2["event_time"].min() > a["event_time"].max()  # a later period
    assert p2["monthly_charges"].mean() > 1.1 * a["monthly_charges"].mean()
    assert (p2["contract"] == "month-to-month").mean() > (a["contract"] == "month-to-month").mean()
    assert p2["churned"].mean() > a["churned"].mean()
    assert 0.1 < a["churned"].mean() < 0.5
    no_drift = make_churn(2000, period=2, seed=3, drift=0.0)
    assert abs(no_drift["monthly_charges"].mean() - a["monthly_charges"].mean()) < 2
    with pytest.raises(InvalidInput, match="period must be 1 or 2"):
        make_churn(10, period=3)


def test_classification_and_regression_tables() -> None:
    from sklearn.linear_model import LogisticRegression

    df = make_classification_table(3000, seed=1, missing_rate=0.05)
    assert df["label"].isin([0, 1]).all()
    assert 0.03 < df["num_1"].isna().mean() < 0.08
    assert df["cat_0"].dtype == object or str(df["cat_0"].dtype).startswith("str")
    X = pd.get_dummies(df.drop(columns="label"), dtype=float).fillna(0.0)
    model = LogisticRegression(max_iter=500).fit(X[:2000], df["label"][:2000])
    assert model.score(X[2000:], df["label"][2000:]) > 0.7  # labels follow the features
    p2 = make_classification_table(3000, seed=1, period=2, drift={"num_2": 2.0})
    assert p2["num_2"].mean() - df["num_2"].mean() > 1.0
    assert abs(p2["num_0"].mean() - df["num_0"].mean()) < 0.3
    reg = make_regression_table(500, seed=2)
    assert reg["target"].dtype == np.float64 and reg["target"].std() > 0.5
    assert make_regression_table(500, seed=2).equals(reg)
    with pytest.raises(InvalidInput, match="cannot drift unknown column"):
        make_classification_table(10, period=2, drift={"nope": 1.0})


def test_image_transforms_are_seeded_and_keep_shape_and_dtype() -> None:
    img = np.arange(64, dtype=np.uint8).reshape(8, 8) * 3
    t = A.HorizontalFlip(p=1.0) | A.Rotate(20) | A.Shift(0.2) | A.GaussianNoise(0.05)
    t = t | A.Brightness(0.3) | A.RandomCrop(0.75) | A.VerticalFlip(p=0.5)
    out1, out2 = t(img, rng=7), t(img, rng=7)
    assert out1.shape == img.shape and out1.dtype == img.dtype
    np.testing.assert_array_equal(out1, out2)
    assert not np.array_equal(t(img, rng=8), out1)
    np.testing.assert_array_equal(A.HorizontalFlip(p=1.0)(img), img[:, ::-1])
    rgb = np.random.default_rng(0).random((10, 12, 3))
    assert A.RandomCrop(0.5)(rgb, 0).shape == rgb.shape
    with pytest.raises(InvalidInput, match="expects an image array"):
        A.Rotate()(np.zeros(5))
    with pytest.raises(InvalidInput, match="cannot compose image and text"):
        A.Rotate() | A.Typo()


def test_text_transforms() -> None:
    s = "the quick brown fox jumps over the lazy dog"
    assert A.RandomSwap(2)(s, 1) == A.RandomSwap(2)(s, 1)
    assert sorted(A.RandomSwap(2)(s, 1).split()) == sorted(s.split())
    assert len(A.RandomDeletion(0.5)(s, 0).split()) < len(s.split())
    assert len(A.RandomInsertion(3)(s, 0).split()) == len(s.split()) + 3
    typo = A.Typo(0.3)(s, 0)
    assert typo != s and abs(len(typo) - len(s)) < 10
    with pytest.raises(InvalidInput, match="expects a string"):
        A.Typo()(3)


def test_augment_table_of_images_and_image_files(sqlite_ws: Any, tmp_path: Path) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    src = sqlite_ws.datasets.commit(
        "digits", {"images": digits.images[:50].astype(np.float64), "target": digits.target[:50]}
    )
    aug = sqlite_ws.datasets.augment(
        "digits@1", A.Rotate(10) | A.Shift(0.1), copies=3, column="images", image_shape=(8, 8)
    )
    assert aug.name == "digits" and aug.version == 2 and aug.row_count == 200
    arrays = aug.to_numpy()
    assert arrays["images"].shape == (200, 8, 8)
    np.testing.assert_array_equal(arrays["images"][:50], digits.images[:50])
    assert not np.array_equal(arrays["images"][50:100], digits.images[:50])
    assert aug.to_pandas()["augmented"].value_counts().to_dict() == {0: 50, 1: 50, 2: 50, 3: 50}
    g = sqlite_ws.lineage.upstream(aug, depth=1)
    assert any(e.relation == "augmented_from" and e.src == src.lineage_node.key for e in g.edges)

    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray((digits.images[0] * 16).astype(np.uint8)).save(folder / "zero.png")
    (folder / "readme.csv").write_text("a,b\n1,2\n")
    sqlite_ws.datasets.commit("pics", folder)
    v = sqlite_ws.datasets.augment("pics", A.HorizontalFlip(p=1.0), copies=2, name="pics-aug")
    assert sorted(f.path for f in v.files()) == [
        "readme.csv",
        "zero.aug1.png",
        "zero.aug2.png",
        "zero.png",
    ]
    with v.open("zero.aug1.png") as f:
        flipped = np.asarray(Image.open(f))
    np.testing.assert_array_equal(flipped, (digits.images[0] * 16).astype(np.uint8)[:, ::-1])

    texts = sqlite_ws.datasets.commit("texts", pd.DataFrame({"text": ["hello big world", None]}))
    t2 = sqlite_ws.datasets.augment(texts, A.RandomSwap(1), copies=1, column="text")
    assert t2.row_count == 4 and t2.to_pandas()["text"].isna().sum() == 2
    with pytest.raises(InvalidInput, match="copies must be an integer >= 1"):
        sqlite_ws.datasets.augment("texts", A.Typo(), copies=0, column="text")
    with pytest.raises(InvalidInput, match="pass column="):
        sqlite_ws.datasets.augment("texts", A.Typo())


def test_split_is_hash_based_stable_and_linked(ws: Any) -> None:
    p1 = make_churn(2000, seed=5)
    v1 = ws.datasets.commit("churn", p1)
    parts = v1.split({"train": 0.8, "val": 0.1, "test": 0.1}, key="customer_id", seed=0)
    assert set(parts) == {"train", "val", "test"}
    sizes = {k: v.row_count for k, v in parts.items()}
    assert sum(sizes.values()) == 2000
    assert abs(sizes["train"] - 1600) < 80 and abs(sizes["test"] - 200) < 50
    train = parts["train"]
    assert train.name == "churn-train" and train.split_name == "train"
    assert train.tags["split_of"] == "churn@1"
    edges = ws.lineage.upstream(train, depth=1).edges
    assert any(e.relation == "split_from" and e.src == v1.lineage_node.key for e in edges)
    ids = {k: set(v.to_pandas()["customer_id"]) for k, v in parts.items()}
    assert not (ids["train"] & ids["test"]) and not (ids["train"] & ids["val"])
    # more rows later: existing customers stay in their split
    more = pd.concat(
        [p1, make_churn(3000, seed=6).assign(customer_id=lambda d: "N" + d["customer_id"].str[1:])]
    )
    v2 = ws.datasets.commit("churn", more)
    parts2 = v2.split({"train": 0.8, "val": 0.1, "test": 0.1}, key="customer_id", seed=0)
    ids2 = {k: set(v.to_pandas()["customer_id"]) for k, v in parts2.items()}
    for k in ids:
        assert ids[k] <= ids2[k]
    # another seed shuffles
    other = v1.split({"a": 0.5, "b": 0.5}, key="customer_id", seed=1, name="{name}-s1-{split}")
    assert other["a"].name == "churn-s1-a"
    with pytest.raises(InvalidInput, match=r"add up to 0\.9"):
        v1.split({"train": 0.8, "test": 0.1})
    with pytest.raises(InvalidInput, match="split key column"):
        v1.split({"train": 1.0}, key="nope")
