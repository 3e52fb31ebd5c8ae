"""Search spaces: validation messages, conditional branches, the grid, JSON round trips."""

from __future__ import annotations

import pytest

import shipyard as sy
from shipyard.tuning import InvalidSpace, Space


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: sy.uniform(1.0, 0.0),
            "uniform(1.0, 0.0): the range is inverted; write uniform(0.0, 1.0)",
        ),
        (lambda: sy.uniform(0.5, 0.5), "uniform(0.5, 0.5): the range is empty"),
        (lambda: sy.loguniform(0.0, 1.0), "loguniform(0.0, 1.0): both bounds must be > 0"),
        (lambda: sy.loguniform(-1, 1), "loguniform(-1, 1): both bounds must be > 0"),
        (lambda: sy.loguniform(1e-1, 1e-3), "the range is inverted; write loguniform(0.001, 0.1)"),
        (lambda: sy.integer(5, 1), "integer(5, 1): the range is inverted; write integer(1, 5)"),
        (lambda: sy.integer(3, 3), "integer(3, 3): the range holds one value"),
        (lambda: sy.integer(0, 10, step=3), "not a multiple of the step; use a high bound of 9"),
        (lambda: sy.integer(1, 2.5), "the high bound must be a whole number"),
        (lambda: sy.integer(0, 8, log=True), "a log scale needs a low bound >= 1"),
        (lambda: sy.choice([]), "choice([]): the list of options is empty"),
        (lambda: sy.choice(["a", "a"]), "the options repeat"),
        (lambda: sy.choice("abc"), "give a list of options"),
        (lambda: sy.uniform(0, float("inf")), "must be finite"),
    ],
)
def test_bad_dimensions_say_what_to_do(make, message) -> None:
    with pytest.raises(InvalidSpace) as err:
        make()
    assert message in str(err.value)
    assert isinstance(err.value, sy.InvalidInput)


def test_conditional_grid_is_complete_and_deduplicated() -> None:
    space = Space(
        {
            "model": sy.choice(
                {
                    "linear": {"alpha": sy.choice([0.1, 1.0])},
                    "tree": {"depth": sy.integer(2, 4), "leaf": sy.choice([1, 5])},
                }
            ),
            "epochs": 3,
        }
    )
    grid = space.grid()
    # 2 linear + 3 * 2 tree configurations; inactive params never multiply the grid
    assert len(grid) == 8
    assert len({tuple(sorted(g.items())) for g in grid}) == 8
    assert {"model": "linear", "alpha": 0.1} in grid
    assert {"model": "tree", "depth": 4, "leaf": 5} in grid
    assert all("alpha" not in g for g in grid if g["model"] == "tree")


def test_continuous_dimension_has_no_grid() -> None:
    with pytest.raises(InvalidSpace, match=r"'lr'.*is continuous.*give it a step"):
        Space({"lr": sy.loguniform(1e-4, 1e-1)}).grid()
    assert Space({"x": sy.uniform(0, 1, step=0.25)}).grid() == [
        {"x": v} for v in (0.0, 0.25, 0.5, 0.75, 1.0)
    ]


def test_json_round_trip_and_flat_params() -> None:
    spec = {
        "opt": {"lr": sy.loguniform(1e-4, 1e-1), "name": sy.choice(["adam", "sgd"])},
        "layers": sy.choice([(64,), (64, 32)]),
        "model": sy.choice({"a": {"k": sy.integer(1, 9, step=2)}, "b": None}),
        "seed": 7,
    }
    space = Space(spec)
    again = Space.from_json(space.to_json())
    assert again.to_json() == space.to_json()
    assert set(again.dimensions) == {"opt.lr", "opt.name", "layers", "model", "k"}
    params = {"opt": {"lr": 0.01, "name": "sgd"}, "layers": (64, 32), "model": "a", "k": 5}
    flat = space.flat_from_params(params)
    assert flat == {"opt.lr": 0.01, "opt.name": "sgd", "layers": "(64, 32)", "model": "a", "k": 5}
    assert space.params_from_flat(flat) == {**params, "seed": 7}


def test_bad_configurations_are_named() -> None:
    space = Space({"x": sy.uniform(0, 1), "m": sy.choice(["a", "b"])})
    with pytest.raises(InvalidSpace, match=r"2 is outside the range of 'x' \(uniform\(0, 1\)\)"):
        space.flat_from_params({"x": 2, "m": "a"})
    with pytest.raises(InvalidSpace, match="'c' is not an option of 'm'"):
        space.flat_from_params({"x": 0.5, "m": "c"})
    with pytest.raises(InvalidSpace, match="has no value for 'm'"):
        space.flat_from_params({"x": 0.5})


def test_conflicting_branch_params_are_refused() -> None:
    with pytest.raises(InvalidSpace, match="parameter 'c' is defined twice"):
        Space({"m": sy.choice({"a": {"c": sy.uniform(0, 1)}, "b": {"c": sy.uniform(0, 2)}})})
    with pytest.raises(InvalidSpace, match="without dots"):
        Space({"a.b": sy.uniform(0, 1)})
