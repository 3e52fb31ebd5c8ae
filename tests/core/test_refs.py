import pytest

from shipyard.core import InvalidInput, InvalidReference, Ref, parse_ref, validate_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("churn", Ref("churn")),
        ("churn@latest", Ref("churn")),
        ("churn@3", Ref("churn", version=3)),
        ("churn@champion", Ref("churn", alias="champion")),
        ("churn-v2.1_x@staging-2", Ref("churn-v2.1_x", alias="staging-2")),
        ("churn@sha256:AB12", Ref("churn", digest_prefix="ab12")),
        ("  digits@12 ", Ref("digits", version=12)),
    ],
)
def test_parse_valid(text: str, expected: Ref) -> None:
    ref = parse_ref(text)
    assert ref == expected
    assert parse_ref(str(ref)) == ref


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("@3", "name part"),
        ("churn@", "nothing after '@'"),
        ("churn@0", "versions start at 1"),
        ("churn@sha256:xyz", "4 to 64 hex digits"),
        ("churn@sha256:ab", "4 to 64 hex digits"),
        ("churn@-x", "neither a version"),
        ("chu rn", "name part"),
        ("churn@3@4", "neither a version"),
        ("-churn", "name part"),
    ],
)
def test_parse_malformed_names_the_problem(text: str, fragment: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_ref(text, kind="dataset")
    assert fragment in str(info.value)
    assert "dataset" in str(info.value)
    assert info.value.http_status == 422


def test_latest_flag() -> None:
    assert parse_ref("a").is_latest
    assert not parse_ref("a@1").is_latest


def test_validate_name() -> None:
    assert validate_name("ok-name_1.2") == "ok-name_1.2"
    with pytest.raises(InvalidInput, match="invalid model name 'bad/name'"):
        validate_name("bad/name", "model")
    with pytest.raises(InvalidInput):
        validate_name("x" * 129)
