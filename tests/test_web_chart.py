"""The overview chart's geometry, without a browser."""

from __future__ import annotations

from driftwatch.web.chart import MAX_DOTS, H, open_drifts_chart


def test_no_scan_no_chart() -> None:
    assert open_drifts_chart([]).empty


def test_one_scan_is_a_visible_dot_per_series() -> None:
    chart = open_drifts_chart([("2026-01-01T00:00:00Z", 3, 1)])
    assert not chart.empty and chart.points == 1
    assert [len(s.dots) for s in chart.series] == [1, 1]
    assert [s.last for s in chart.series] == [3, 1]


def test_axis_top_is_round_and_values_scale_to_it() -> None:
    rows = [(f"2026-01-{d:02d}T00:00:00Z", v, 0) for d, v in ((1, 0), (2, 37), (3, 12))]
    chart = open_drifts_chart(rows)
    assert [v for _, v in chart.y_ticks] == [0, 25, 50]
    ys = [float(p.split(",")[1]) for p in chart.series[0].points.split()]
    assert ys[0] == max(ys) and ys[1] == min(ys) and 0 < min(ys) < H
    assert [label for *_, label in chart.x_labels] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert [anchor for _, anchor, _ in chart.x_labels] == ["start", "middle", "end"]


def test_scans_of_one_day_are_labelled_by_time() -> None:
    rows = [("2026-01-01T09:15:00Z", 1, 0), ("2026-01-01T17:45:00Z", 2, 0)]
    assert [label for *_, label in open_drifts_chart(rows).x_labels] == ["09:15", "17:45"]


def test_many_scans_draw_a_line_without_dots() -> None:
    rows = [("2026-01-01T00:00:00Z", i, 0) for i in range(MAX_DOTS + 1)]
    assert open_drifts_chart(rows).series[0].dots == []
