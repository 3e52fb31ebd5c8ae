"""The docs stay true to the code they quote and link."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_tutorial_code_is_quoted_from_the_demo() -> None:
    """Every line of the tutorial's Python excerpts is a line of the quickstart or a step."""
    sources = [
        ROOT / "examples" / "quickstart.py",
        *sorted((ROOT / "examples" / "steps").glob("*.py")),
    ]
    lines = {line.strip() for path in sources for line in path.read_text().splitlines()}
    blocks = _python_blocks((DOCS / "tutorial.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 10  # one excerpt per stage at least
    missing = [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() not in ("", "...") and line.strip() not in lines
    ]
    assert not missing, (
        "docs/tutorial.md quotes code that examples/ no longer has; update the excerpts:\n"
        + "\n".join(missing)
    )


def test_tutorial_covers_every_stage_in_order() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("quickstart", ROOT / "examples" / "quickstart.py")
    assert spec is not None and spec.loader is not None
    quickstart = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(quickstart)
    text = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    positions = [text.find(f"`examples/steps/{name}.py`") for name, _ in quickstart.STAGES]
    assert -1 not in positions, [
        n for (n, _), p in zip(quickstart.STAGES, positions, strict=True) if p < 0
    ]
    assert positions == sorted(positions)
    for flag in ("--home", "--reuse", "--only", "--no-serve", "--port"):
        assert f"`{flag}" in text, flag


def test_relative_links_resolve() -> None:
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    broken = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        text = re.sub(r"```.*?```", "", text, flags=re.S)
        for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", text):
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} → {target}")
    assert not broken, broken
