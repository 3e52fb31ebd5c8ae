"""The labeling view in headless Chromium: keyboard labeling, spans, the dashboard."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from shipyard.server import create_app
from tests._support import run_uvicorn

pytestmark = pytest.mark.browser


def test_keyboard_labeling(sqlite_ws: Any, page: Any) -> None:
    ws = sqlite_ws
    df = pd.DataFrame({"text": ["first text", "second text", "third text"]})
    p = ws.labels.create_project(
        "kb", df, classes=["neg", "pos"], overlap=1, instructions="Be quick."
    )
    with run_uvicorn(create_app(ws)) as url:
        page.goto(f"{url}/labeling/{p.id}/annotate?annotator=kim")
        page.wait_for_function("document.getElementById('lv-row').textContent === 'task 0'")
        assert page.locator("#lv-text").inner_text() == "first text"
        assert "Be quick." in page.locator("aside").inner_text()
        page.keyboard.press("2")
        assert "chosen" in page.locator(".lv-class").nth(1).get_attribute("class")
        page.keyboard.press("Enter")
        page.wait_for_function("document.getElementById('lv-row').textContent === 'task 1'")
        assert "1 done" in page.locator("#lv-progress").inner_text()
        page.keyboard.press("1")
        page.keyboard.press("Enter")
        page.wait_for_function("document.getElementById('lv-row').textContent === 'task 2'")
        page.keyboard.press("s")
        page.wait_for_selector("#lv-done", state="visible")
        assert page.console_errors == []
    ann = ws.labels.annotations(p).set_index("row")["label"].to_dict()
    assert ann == {0: "pos", 1: "neg"}
    assert ws.labels.quality(p).iloc[0]["skipped"] == 1


def test_span_selection_and_dashboard(sqlite_ws: Any, page: Any) -> None:
    ws = sqlite_ws
    df = pd.DataFrame({"text": ["Alice flew to Paris"]})
    p = ws.labels.create_project("ner", df, kind="text_spans", classes=["PER", "LOC"], overlap=1)
    with run_uvicorn(create_app(ws)) as url:
        page.goto(f"{url}/labeling/{p.id}/annotate?annotator=sam")
        page.wait_for_function("document.getElementById('lv-row').textContent === 'task 0'")
        page.keyboard.press("2")  # LOC
        page.evaluate(
            """() => {
              const node = document.getElementById('lv-text').firstChild;
              const r = document.createRange(); r.setStart(node, 14); r.setEnd(node, 19);
              const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
              document.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
            }"""
        )
        assert page.locator("#lv-text mark").count() == 1
        page.keyboard.press("Enter")
        page.wait_for_selector("#lv-done", state="visible")
        page.goto(f"{url}/labeling/{p.id}")
        page.wait_for_selector("#plot-agreement .main-svg", timeout=15_000)
        assert page.console_errors == []
    (span,) = ws.labels.annotations(p).loc[0, "label"]
    assert span == {"start": 14, "end": 19, "label": "LOC", "text": "Paris"}
