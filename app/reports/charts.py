"""Server-drawn SVG pictures, so each report is one self-contained file (HTML and PDF alike).

Hand-written SVG: three small chart shapes do not justify a plotting stack, and plain
SVG renders the same in a browser, in print and in WeasyPrint. Geometry is computed
here; every text is escaped.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable
from zoneinfo import ZoneInfo

from markupsafe import escape

from app.clock import utcnow
from app.reports.compliance import UNKNOWN, UNKNOWN_LABEL
from app.reports.formatting import duration
from app.scheduling.models import DeadlineKind, DeadlineState

if TYPE_CHECKING:
    from app.incidents.models import Incident
    from app.reports.compliance import WindowOutcome
    from app.reports.providers import DeliveryPoint

FONT = "'Noto Sans SC', 'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', sans-serif"
WIDTH = 760
LABEL_W = 150
PLOT_X0, PLOT_X1 = LABEL_W + 10, WIDTH - 20
ROW_H = 26
COLORS = {"window": "#cfe3f7", "met": "#2e7d32", "breached": "#c62828", "pending": "#9e9e9e",
          "axis": "#555", "grid": "#e0e0e0", "line": "#37474f"}
SERIES_COLORS = ["#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828", "#00838f"]
TICK_STEPS_MIN = (1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440)
BAR_WINDOWS = (DeadlineKind.report, DeadlineKind.emergency_response, DeadlineKind.response, DeadlineKind.recovery,
               DeadlineKind.recovery_notice, DeadlineKind.formal_notice)


def _text(x: float, y: float, content: str, *, size: int = 11, anchor: str = "start", color: str = "#222",
          weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{color}" '
            f'font-weight="{weight}" font-family="{FONT}">{escape(content)}</text>')


def _svg(height: float, body: Iterable[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height:.0f}" '
            f'viewBox="0 0 {WIDTH} {height:.0f}"><title>{escape(title)}</title>' + "".join(body) + "</svg>")


class _TimeScale:
    def __init__(self, start: datetime, end: datetime) -> None:
        span = max((end - start).total_seconds(), 60.0)
        self.start = start
        self.span = span * 1.04  # a little air on the right for the last marker

    def x(self, moment: datetime) -> float:
        return PLOT_X0 + (PLOT_X1 - PLOT_X0) * (moment - self.start).total_seconds() / self.span

    def ticks(self) -> list[datetime]:
        minutes = self.span / 60
        step = next((s for s in TICK_STEPS_MIN if minutes / s <= 8), TICK_STEPS_MIN[-1])
        first = self.start.replace(second=0, microsecond=0)
        first += timedelta(minutes=(-first.minute) % step if step < 60 else 0)
        ticks, moment = [], first
        while (moment - self.start).total_seconds() <= self.span:
            if moment >= self.start:
                ticks.append(moment)
            moment += timedelta(minutes=step)
        return ticks


def _axis(scale: _TimeScale, top: float, bottom: float, zone: ZoneInfo) -> list[str]:
    parts = [f'<line x1="{PLOT_X0}" y1="{bottom}" x2="{PLOT_X1}" y2="{bottom}" stroke="{COLORS["axis"]}"/>']
    for tick in scale.ticks():
        x = scale.x(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{COLORS["grid"]}"/>')
        parts.append(_text(x, bottom + 14, tick.astimezone(zone).strftime("%H:%M"), size=10, anchor="middle",
                           color=COLORS["axis"]))
    return parts


def time_bar(incident: "Incident", outcomes: list["WindowOutcome"], zone: ZoneInfo) -> str:
    """The incident against each window: detected → reported → responded → recovered above,
    one row per window below (shaded from its start to its due time, done marked, breaches in red)."""
    now = utcnow()
    rows = [o for o in outcomes if o.kind in BAR_WINDOWS]
    milestones = [(label, at) for label, at in (
        ("发生", incident.detected_at), ("上报", incident.reported_at),
        ("响应", incident.responded_at), ("恢复", incident.recovered_at)) if at is not None]
    moments = [at for _, at in milestones]
    for row in rows:
        moments += [row.starts_at, row.due_at] + ([row.done_at] if row.done_at else [])
        if row.state == DeadlineState.breached and row.done_at is None:
            moments.append(now)
    scale = _TimeScale(incident.detected_at, max(moments))

    top = 40
    parts = [_text(8, 18, "故障时间轴（时间按 " + zone.key + "）", size=12, weight="bold")]
    # The incident's own progress.
    y = top + ROW_H / 2
    parts.append(_text(8, y + 4, "故障进程 progress", weight="bold"))
    end = incident.recovered_at or now
    parts.append(f'<line x1="{scale.x(incident.detected_at):.1f}" y1="{y}" x2="{scale.x(end):.1f}" y2="{y}" '
                 f'stroke="{COLORS["line"]}" stroke-width="3"/>')
    for index, (label, at) in enumerate(milestones):
        x = scale.x(at)
        parts.append(f'<circle cx="{x:.1f}" cy="{y}" r="4.5" fill="{COLORS["line"]}"/>')
        # Alternate above and below the line so close milestones do not print over each other.
        parts.append(_text(x, y - 8 if index % 2 == 0 else y + 16, label, size=10, anchor="middle"))
    # One row per window.
    for index, row in enumerate(rows, start=1):
        y0 = top + index * ROW_H + 12  # below the progress row's lower labels
        mid = y0 + (ROW_H - 8) / 2
        parts.append(_text(8, mid + 4, row.label_zh))
        x_start, x_due = scale.x(row.starts_at), scale.x(row.due_at)
        parts.append(f'<rect x="{x_start:.1f}" y="{y0}" width="{max(x_due - x_start, 1):.1f}" height="{ROW_H - 8}" '
                     f'fill="{COLORS["window"]}" stroke="#90b4d8"/>')
        parts.append(f'<line x1="{x_due:.1f}" y1="{y0 - 2}" x2="{x_due:.1f}" y2="{y0 + ROW_H - 6}" stroke="#1565c0" '
                     f'stroke-dasharray="3,2"/>')
        if row.state == DeadlineState.breached:
            x_end = scale.x(row.done_at or now)
            parts.append(f'<rect class="breach" x="{x_due:.1f}" y="{y0 + 3}" width="{max(x_end - x_due, 2):.1f}" '
                         f'height="{ROW_H - 14}" fill="{COLORS["breached"]}" opacity="0.85"/>')
            parts.append(_text(min(x_end + 4, PLOT_X1 - 60), mid + 4, f"超时 {duration(row.late_minutes)}",
                               size=10, color=COLORS["breached"], weight="bold"))
        if row.done_at is not None:
            color = COLORS["met"] if row.state == DeadlineState.met else COLORS["breached"]
            parts.append(f'<circle cx="{scale.x(row.done_at):.1f}" cy="{mid}" r="5" fill="{color}" stroke="#fff"/>')
        elif row.state == UNKNOWN:
            parts.append(_text(x_due + 4, mid + 4, UNKNOWN_LABEL, size=10, color=COLORS["pending"]))
    bottom = top + (len(rows) + 1) * ROW_H + 14
    parts[1:1] = _axis(scale, top - 4, bottom, zone)
    legend_y = bottom + 34
    parts += [
        f'<rect x="{PLOT_X0}" y="{legend_y - 9}" width="14" height="10" fill="{COLORS["window"]}" stroke="#90b4d8"/>',
        _text(PLOT_X0 + 18, legend_y, "时限窗口 window", size=10),
        f'<circle cx="{PLOT_X0 + 140}" cy="{legend_y - 4}" r="5" fill="{COLORS["met"]}"/>',
        _text(PLOT_X0 + 150, legend_y, "按时完成 met", size=10),
        f'<rect x="{PLOT_X0 + 250}" y="{legend_y - 9}" width="14" height="10" fill="{COLORS["breached"]}"/>',
        _text(PLOT_X0 + 268, legend_y, "超时 breached", size=10),
    ]
    return _svg(legend_y + 10, parts, f"{incident.number} 故障时间轴")


def delivery_curve(series: list["DeliveryPoint"], recovered_at: datetime | None, zone: ZoneInfo,
                   labels: dict[str, str]) -> str:
    """Cumulative notices delivered over time, one line per kind (通知送达曲线)."""
    by_kind: dict[str, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    for point in series:
        by_kind[point["kind"]][point["minute"]] += point["delivered"]
    minutes = [m for points in by_kind.values() for m in points]
    start, end = min(minutes), max(minutes) + timedelta(minutes=1)
    if recovered_at is not None and recovered_at < start:
        start = recovered_at
    scale = _TimeScale(start, end)
    cumulative = {kind: _cumulate(points) for kind, points in by_kind.items()}
    peak = max(total for steps in cumulative.values() for _, total in steps) or 1
    top, bottom = 30, 210
    parts = [_text(8, 18, "通知送达曲线（累计送达数）delivered notices, cumulative", size=12, weight="bold")]
    parts += _axis(scale, top, bottom, zone)
    for fraction in (0, 0.5, 1):
        y = bottom - (bottom - top) * fraction
        parts.append(_text(PLOT_X0 - 6, y + 4, f"{round(peak * fraction):,}", size=10, anchor="end", color=COLORS["axis"]))
    if recovered_at is not None:
        x = scale.x(recovered_at)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{COLORS["met"]}" stroke-dasharray="4,3"/>')
        parts.append(_text(x + 3, top + 10, "恢复", size=10, color=COLORS["met"]))
    for index, (kind, steps) in enumerate(sorted(cumulative.items())):
        color = SERIES_COLORS[index % len(SERIES_COLORS)]
        points = [(scale.x(steps[0][0]), bottom)]
        for moment, total in steps:
            points.append((scale.x(moment + timedelta(minutes=1)), bottom - (bottom - top) * total / peak))
        points.append((scale.x(end), points[-1][1]))  # flat to the end: delivered stays delivered
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        legend_x = PLOT_X0 + index * 120
        parts.append(f'<rect x="{legend_x}" y="{bottom + 26}" width="14" height="4" fill="{color}"/>')
        parts.append(_text(legend_x + 18, bottom + 31, f"{labels.get(kind, kind)} {steps[-1][1]:,}", size=10))
    return _svg(bottom + 44, parts, "通知送达曲线")


def _cumulate(points: dict[datetime, int]) -> list[tuple[datetime, int]]:
    total, steps = 0, []
    for moment in sorted(points):
        total += points[moment]
        steps.append((moment, total))
    return steps


def bar_chart(title: str, bars: list[tuple[str, float, str]], *, maximum: float | None = None) -> str:
    """Horizontal bars: (label, value, value text). For the cross-incident review page."""
    peak = maximum or max((value for _, value, _ in bars), default=0) or 1
    parts = [_text(8, 18, title, size=12, weight="bold")]
    for index, (label, value, value_text) in enumerate(bars):
        y = 30 + index * ROW_H
        width = (PLOT_X1 - PLOT_X0 - 60) * value / peak
        parts.append(_text(8, y + 14, label))
        parts.append(f'<rect x="{PLOT_X0}" y="{y + 3}" width="{max(width, 1):.1f}" height="{ROW_H - 8}" fill="#1565c0"/>')
        parts.append(_text(PLOT_X0 + width + 6, y + 14, value_text, size=10))
    return _svg(40 + len(bars) * ROW_H, parts, title)
