import json

import numpy as np
import pytest

from vigil.model.labels import Labels
from vigil.promql.value import Matrix, RangeSeries
from vigil.web.graph import PALETTE, build_plot, format_tick_value, hover_data

START = 1_700_000_000_000
HOUR = 3_600_000


def series(name, values, step=60_000, start=START):
    ts = np.arange(start, start + len(values) * step, step, dtype=np.int64)
    return RangeSeries(Labels.of(__name__="m", instance=name), ts, np.array(values, dtype=float))


def test_one_polyline_per_series_and_colours():
    m = Matrix([series("a", [1, 2, 3]), series("b", [3, 2, 1])])
    plot = build_plot(m, START, START + 120_000, 60_000)
    assert [len(s.lines) for s in plot.series] == [1, 1]
    assert [s.color for s in plot.series] == list(PALETTE[:2])
    assert plot.series[0].label == 'm{instance="a"}'
    assert plot.series[0].last_value == 3


def test_points_map_onto_the_plot_area():
    plot = build_plot(Matrix([series("a", [0, 10])]), START, START + 60_000, 60_000)
    first, last = (tuple(map(float, p.split(","))) for p in plot.series[0].lines[0].split())
    assert first == (plot.left, plot.bottom)
    assert last == (plot.right, plot.top)


def test_gaps_and_non_finite_values_split_lines():
    s = series("a", [1, 2, np.nan, 4, 5])
    ts = s.timestamps.copy()
    ts[4] += 10 * 60_000  # a missing stretch before the last point
    s = RangeSeries(s.labels, ts, s.values)
    plot = build_plot(Matrix([s]), START, int(ts[-1]), 60_000)
    assert [len(line.split()) for line in plot.series[0].lines] == [2, 1, 1]


def test_time_ticks_are_round_and_in_range():
    plot = build_plot(Matrix([series("a", [1, 2])]), START, START + HOUR, 15_000)
    labels = [t.label for t in plot.x_ticks]
    assert 4 <= len(labels) <= 8
    assert all(len(label) == 5 and label[2] == ":" for label in labels)  # HH:MM
    assert all(plot.left <= t.pos <= plot.right for t in plot.x_ticks)


def test_value_ticks_cover_data():
    plot = build_plot(Matrix([series("a", [0.13, 0.87])]), START, START + HOUR, 60_000)
    labels = [t.label for t in plot.y_ticks]
    assert labels == ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    ys = [t.pos for t in plot.y_ticks]
    assert ys == sorted(ys, reverse=True)


def test_empty_and_flat_data_still_lays_out():
    plot = build_plot(Matrix([]), START, START + HOUR, 60_000)
    assert plot.series == () and len(plot.y_ticks) >= 2
    flat = build_plot(Matrix([series("a", [5, 5])]), START, START + HOUR, 60_000)
    assert len(flat.y_ticks) >= 2


@pytest.mark.parametrize("value, step, expected", [
    (0, 1, "0"), (2000, 1000, "2k"), (2500, 500, "2.5k"), (1.5e9, 5e8, "1.5G"),
    (0.25, 0.05, "0.25"), (0.2, 0.2, "0.2"), (40, 20, "40"), (7.5, 2.5, "7.5"),
])
def test_format_tick_value(value, step, expected):
    assert format_tick_value(value, step) == expected


def test_hover_data_is_safe_inside_a_script_element():
    s = RangeSeries(Labels.of(x="</script><b>"), np.array([START], dtype=np.int64),
                    np.array([np.inf]))
    plot = build_plot(Matrix([s]), START, START + HOUR, 60_000)
    text = hover_data(Matrix([s]), plot, START, START + HOUR)
    assert "</script>" not in text and "<" not in text
    data = json.loads(text)
    assert data["series"][0] == {"label": '{x="</script><b>"}', "color": PALETTE[0],
                                 "t": [START], "v": ["+Inf"]}
