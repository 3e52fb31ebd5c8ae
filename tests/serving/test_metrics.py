"""Request metrics are tallied per request and added to Prometheus in bulk."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client import CollectorRegistry, Histogram

from shipyard.serving import ServerMetrics
from tests._support import run_async

VALUES = [0.0004, 0.0005, 0.001, 0.003, 0.02, 0.2, 7.0, 0.0]


def _reference() -> CollectorRegistry:
    """The same observations through prometheus_client's own observe()."""
    reg = CollectorRegistry()
    h = Histogram(
        "shipyard_request_duration_seconds",
        "",
        ["model", "protocol"],
        buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        registry=reg,
    )
    for v in VALUES:
        h.labels("m", "v2").observe(v)
    return reg


@pytest.mark.parametrize("bulk", [True, False])
def test_tallied_requests_match_observe(bulk: bool) -> None:
    m = ServerMetrics(flush_s=60)
    if not bulk:  # a prometheus_client without the bucket values: observe() per value
        m._children[("m", "1", "v2", "200")] = (
            m.requests.labels("m", "1", "v2", "200"),
            m.request_duration.labels("m", "v2"),
            False,
        )

    async def serve() -> None:  # on an event loop, as in the server: tallied until read
        for v in VALUES:
            m.request_done("m", "1", "v2", "200", v)
        m.request_done("m", "1", "v2", "400", 0.001)
        assert not m.registry.get_sample_value(
            "shipyard_requests_total",
            {"model": "m", "version": "1", "protocol": "v2", "code": "200"},
        )
        m.render()  # reading /metrics adds what was tallied

    run_async(serve())
    ref = _reference()
    get = m.registry.get_sample_value
    labels = {"model": "m", "protocol": "v2"}
    for le in ("0.0005", "0.001", "0.0025", "0.02", "5.0", "+Inf"):
        want = ref.get_sample_value(
            "shipyard_request_duration_seconds_bucket", {**labels, "le": le}
        )
        got = get("shipyard_request_duration_seconds_bucket", {**labels, "le": le})
        if le in ("0.001", "0.0025", "0.02", "5.0", "+Inf"):
            want = (want or 0) + 1  # the 400 request of 1 ms
        assert got == want, le
    assert get("shipyard_request_duration_seconds_sum", labels) == pytest.approx(
        sum(VALUES) + 0.001
    )
    ok = {"model": "m", "version": "1", "protocol": "v2", "code": "200"}
    assert get("shipyard_requests_total", ok) == len(VALUES)
    assert get("shipyard_requests_total", {**ok, "code": "400"}) == 1
    m.render()  # nothing counted twice
    assert get("shipyard_requests_total", ok) == len(VALUES)


def test_tally_reaches_prometheus_soon_on_an_event_loop() -> None:
    m = ServerMetrics(flush_s=0.02)
    ok = {"model": "m", "version": "1", "protocol": "v2", "code": "200"}

    async def main() -> tuple[float | None, float | None]:
        for _ in range(5):
            m.request_done("m", "1", "v2", "200", 0.001)
        before = m.registry.get_sample_value("shipyard_requests_total", ok)
        await asyncio.sleep(0.1)
        return before, m.registry.get_sample_value("shipyard_requests_total", ok)

    before, after = run_async(main())
    assert not before and after == 5  # without anyone reading /metrics
    with ThreadPoolExecutor(1) as pool:  # a thread without an event loop: added at once
        pool.submit(m.request_done, "m", "1", "v2", "200", 0.001).result()
    assert m.registry.get_sample_value("shipyard_requests_total", ok) == 6
