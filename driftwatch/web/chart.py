"""The overview's chart of open drifts over time, as SVG geometry (rendered by Jinja)."""

from __future__ import annotations

from dataclasses import dataclass, field

W, H, PAD_L, PAD_B, PAD_T, PAD_R = 640, 200, 44, 24, 10, 10
MAX_DOTS = 40


@dataclass
class Series:
    name: str
    points: str  # "x,y x,y …" for <polyline>
    last: int
    dots: list[tuple[float, float]] = field(default_factory=list)  # when there are few points


@dataclass
class Chart:
    width: int = W
    height: int = H
    series: list[Series] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)  # (y, value)
    x_labels: list[tuple[float, str, str]] = field(default_factory=list)  # (x, anchor, text)
    empty: bool = True
    points: int = 0


def open_drifts_chart(rows: list[tuple[str, int, int]]) -> Chart:
    """rows: (finished_at, open, acknowledged) per scan, oldest first."""
    chart = Chart()
    if not rows:
        return chart
    chart.empty = False
    chart.points = len(rows)
    top = max(1, *(max(o, a) for _, o, a in rows))
    top = _nice(top)
    span_x = W - PAD_L - PAD_R
    span_y = H - PAD_T - PAD_B
    n = len(rows)

    def x(i: int) -> float:
        return PAD_L + (span_x * i / (n - 1) if n > 1 else span_x / 2)

    def y(v: int) -> float:
        return PAD_T + span_y * (1 - v / top)

    for name, col in (("open", 1), ("acknowledged", 2)):
        xy = [(round(x(i), 1), round(y(int(r[col])), 1)) for i, r in enumerate(rows)]
        pts = " ".join(f"{a},{b}" for a, b in xy)
        chart.series.append(Series(name, pts, int(rows[-1][col]), xy if n <= MAX_DOTS else []))
    chart.y_ticks = [(y(v), v) for v in (0, top // 2, top)]
    picks = sorted({0, n // 2, n - 1})
    one_day = rows[0][0][:10] == rows[-1][0][:10]
    chart.x_labels = [
        (x(i), _anchor(i, n), rows[i][0][11:16] if one_day else rows[i][0][:10]) for i in picks
    ]
    return chart


def _anchor(i: int, n: int) -> str:
    """Labels at the ends align inwards, so none is cut by the frame."""
    if n > 1 and i == 0:
        return "start"
    return "end" if n > 1 and i == n - 1 else "middle"


def _nice(v: int) -> int:
    """A round axis top at or above v (1, 2, 5 × 10^k)."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= v:
                return m * step
        step *= 10
