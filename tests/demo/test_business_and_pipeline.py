"""The demo's business and event-pipeline sources: the dairy ERP answers every business query
through the real SQL collector with a day of history and grows as time passes; the event
pipeline's counters add up and its data quality stays inside the runbook's normal ranges."""

from __future__ import annotations

import time
from pathlib import Path

from tests.demo.test_simulation import Clock, series
from vigil.demo import Demo
from vigil.demo.dairy import BUSINESS_QUERIES, FARMS, DairyERP
from vigil.demo.pipeline import BUCKETS, EventPipeline


def test_dairy_erp_answers_every_business_query_with_a_day_of_history(tmp_path: Path) -> None:
    clock = Clock(time.time())  # the queries' windows are the database's (real) clock
    erp = DairyERP(str(tmp_path), clock)
    first = series(erp.collect())
    assert first['vigil_collector_up{collector="dairy-erp"}'] == 1
    for query in BUSINESS_QUERIES:
        assert any(k.startswith(query.metric + "{") for k in first), query.metric
    regions = {k for k in first if k.startswith("dairy_milk_collected_litres_24h{")}
    assert len(regions) == 4
    # A delivery every 30 s of 80-420 litres: about 2,880 deliveries, ~720,000 litres a day.
    litres = sum(first[k] for k in regions)
    assert 500_000 < litres < 1_000_000
    assert first["dairy_farms_active_24h{}"] == FARMS == first["dairy_farms_registered{}"]
    assert 3.5 < first["dairy_milk_fat_percent_avg_24h{}"] < 4.7
    assert 100 < first['dairy_sale_orders_1h{state="sale"}'] < 250  # three orders a minute
    assert first['dairy_payment_transactions_1h{state="done"}'] > 100
    assert 1 < first["dairy_payment_processing_seconds_avg_1h{}"] < 5

    clock.now += 600  # ten minutes of business later: more orders in the last hour
    later = series(erp.collect())
    orders = sum(v for k, v in later.items() if k.startswith("dairy_sale_orders_1h{"))
    assert orders > sum(v for k, v in first.items() if k.startswith("dairy_sale_orders_1h{"))


def test_event_pipeline_counts_add_up_and_quality_is_normal() -> None:
    clock = Clock()
    pipeline = EventPipeline(clock)
    pipeline.collect()
    clock.now += 60
    page = series(pipeline.collect())
    received, filtered, processed = (page[f"events_{k}_total{{}}"]
                                     for k in ("received", "filtered", "processed"))
    assert 100 * 60 < received < 140 * 60
    assert received == filtered + processed
    assert page["event_processing_duration_seconds_count{}"] == processed
    assert page['event_processing_duration_seconds_bucket{le="+Inf"}'] == processed
    assert len([k for k in page if k.startswith("event_processing_duration_seconds_bucket")]) \
        == len(BUCKETS) + 1
    # The pack's data-quality rules stay quiet on the demo (signal >= 95 %, false positives
    # <= 2 %, accuracy >= 98 %, queue under 100).
    assert page["event_signal_to_noise_ratio{}"] >= 0.95
    assert page["event_false_positive_ratio{}"] <= 0.02
    assert page["event_correlation_accuracy_ratio{}"] >= 0.98
    assert 0 <= page["event_queue_depth{}"] < 100
    assert page["insights_generated_total{}"] > 0


def test_the_demo_has_business_and_pipeline_targets(tmp_path: Path) -> None:
    demo = Demo(str(tmp_path / "demo"))
    try:
        jobs = {t.job: t for t in demo.local_targets()}
        assert {"demo-business", "demo-pipeline"} <= set(jobs)
        assert jobs["demo-business"].labels == {"demo": "true"}
        assert "dairy_revenue_24h" in jobs["demo-business"].collect()
    finally:
        demo.close()
