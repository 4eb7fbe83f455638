"""The managers' dashboard: figures read with a fixed number of grouped queries, and their charts.

Every figure covers a bounded window (the open queue, the last weeks, a sample of recent first
responses), so the page costs the same with a thousand tickets or a million.
"""

import csv
import io
from datetime import timedelta

from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.dates import day_month_short
from tickets.reports.selectors import PALETTE, DashboardFigures

# Presentation -----------------------------------------------------------------------------------


def _hours(value: timedelta | None) -> str:
    return "" if value is None else f"{value.total_seconds() / 3600:.2f}"


def _tick(value: float) -> str:
    """Write an axis value in the reader's figures: "7,5" in Italian and French."""
    return str(int(value)) if float(value).is_integer() else number_format(value, 1)


def _svg(width: int, height: int, label: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{label}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="13">'
        "<title>{label}</title>{body}</svg>",
        w=width,
        h=height,
        label=label,
        body=body,
    )


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return int(step * magnitude)
    return value


def _week_label(*, x: float, y: float, week) -> SafeString:
    """The date a week starts on, under its column."""
    return format_html(
        '<text x="{}" y="{}" text-anchor="middle" fill="#5f6b7a">{}</text>',
        f"{x:.1f}",
        y,
        day_month_short(week),
    )


def svg_weekly_chart(*, figures: DashboardFigures) -> SafeString:
    """Draw arrivals per week as columns stacked by product."""
    width, height, left, bottom, top = 640, 260, 40, 30, 10
    plot_w, plot_h = width - left - 10, height - top - bottom
    totals = figures.weekly_totals
    peak = _nice_max(max(totals, default=0))
    slot = plot_w / max(len(figures.weeks), 1)
    parts = []
    for tick in range(5):
        value = peak * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="#dde3ea"/>'
                '<text x="{}" y="{}" text-anchor="end" fill="#5f6b7a">{}</text>',
                left,
                width - 10,
                left - 4,
                f"{y + 4:.1f}",
                _tick(value),
                y=f"{y:.1f}",
            )
        )
    for index, week in enumerate(figures.weeks):
        x = left + slot * index + slot * 0.15
        base = top + plot_h
        for row in figures.products:
            value = row.weekly[index]
            if not value:
                continue
            bar = plot_h * value / peak
            base -= bar
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{} · {}: {}</title></rect>",
                    f"{x:.1f}",
                    f"{base:.1f}",
                    f"{slot * 0.7:.1f}",
                    f"{bar:.1f}",
                    row.color,
                    day_month_short(week),
                    row.name,
                    value,
                )
            )
        parts.append(_week_label(x=x + slot * 0.35, y=height - bottom + 14, week=week))
    return _svg(
        width,
        height,
        _("Tickets received per week, by product"),
        mark_safe("".join(parts)),  # noqa: S308 - every part was built by format_html
    )


def svg_bar_chart(
    *, items: list[tuple[str, float, str]], label: str, unit: str = "", scale: float | None = None
) -> SafeString:
    """Draw horizontal bars for (label, value, colour) items, against `scale` (a share's 100)
    or else the largest value."""
    row_h, left, right = 24, 150, 70
    width = 640
    height = max(len(items), 1) * row_h + 10
    peak = scale or max((value for _label, value, _colour in items), default=0) or 1
    parts = []
    for index, (name, value, colour) in enumerate(items):
        y = 5 + index * row_h
        bar = (width - left - right) * value / peak
        shown = f"{value:g}{unit}" if isinstance(value, int) else f"{number_format(value, 1)}{unit}"
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" fill="#1b2733">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
                '<text x="{}" y="{}" fill="#1b2733">{}</text>',
                left - 6,
                y + 15,
                name if len(name) <= 24 else name[:23] + "…",
                left,
                y + 3,
                f"{bar:.1f}",
                row_h - 8,
                colour,
                f"{left + bar + 4:.1f}",
                y + 15,
                shown,
            )
        )
    return _svg(width, height, label, mark_safe("".join(parts)))  # noqa: S308


def svg_share_weekly_chart(*, figures: DashboardFigures) -> SafeString:
    """Draw the weekly share of good answers as columns against 100 %; a week without answers
    has no column."""
    width, height, left, bottom, top = 640, 220, 40, 30, 10
    plot_w, plot_h = width - left - 10, height - top - bottom
    row = figures.satisfaction
    slot = plot_w / max(len(figures.weeks), 1)
    parts = []
    for tick in range(5):
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="#dde3ea"/>'
                '<text x="{}" y="{}" text-anchor="end" fill="#5f6b7a">{}</text>',
                left,
                width - 10,
                left - 4,
                f"{y + 4:.1f}",
                f"{25 * tick}%",
                y=f"{y:.1f}",
            )
        )
    shares = row.weekly_share if row else [None] * len(figures.weeks)
    totals = row.weekly_total if row else [0] * len(figures.weeks)
    for index, week in enumerate(figures.weeks):
        x = left + slot * index + slot * 0.15
        share = shares[index]
        if share is not None:
            bar = plot_h * share / 100
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
                    f"{x:.1f}",
                    f"{top + plot_h - bar:.1f}",
                    f"{slot * 0.7:.1f}",
                    f"{bar:.1f}",
                    PALETTE[2],
                    ngettext(
                        "%(week)s: %(share)s %% good, over %(n)s answer",
                        "%(week)s: %(share)s %% good, over %(n)s answers",
                        totals[index],
                    )
                    % {"week": day_month_short(week), "share": _tick(share), "n": totals[index]},
                )
            )
        parts.append(_week_label(x=x + slot * 0.35, y=height - bottom + 14, week=week))
    return _svg(
        width,
        height,
        _("Share of good answers to “How did we do?”, per week"),
        mark_safe("".join(parts)),  # noqa: S308 - every part was built by format_html
    )


def svg_sparkline(*, shares: list[float | None], label: str) -> SafeString:
    """Draw a row's weekly shares of good answers as tiny columns, for a table cell."""
    width, height = 4 + 8 * len(shares), 24
    parts = [format_html('<line x1="0" x2="{}" y1="23.5" y2="23.5" stroke="#dde3ea"/>', width)]
    for index, share in enumerate(shares):
        if share is None:
            continue
        bar = max(1.0, 22 * share / 100)
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="6" height="{}" fill="{}"/>',
                2 + 8 * index,
                f"{23 - bar:.1f}",
                f"{bar:.1f}",
                PALETTE[2],
            )
        )
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{label}" xmlns="http://www.w3.org/2000/svg"><title>{label}</title>{body}'
        "</svg>",
        w=width,
        h=height,
        label=label,
        body=mark_safe("".join(parts)),  # noqa: S308 - every part was built by format_html
    )


def satisfaction_table_rows(*, rows, weeks) -> list[tuple]:
    """Each row with its sparkline, described in words for screen readers."""
    found = []
    for row in rows:
        described = "; ".join(
            f"{day_month_short(week)}: {_tick(share)} %"
            for week, share in zip(weeks, row.weekly_share, strict=True)
            if share is not None
        )
        found.append((row, svg_sparkline(shares=row.weekly_share, label=described)))
    return found


def _share_chart(*, rows, label: str) -> SafeString:
    """Bars of rows' shares (per cent), drawn against 100 %."""
    items = [(row.name, row.share, PALETTE[2]) for row in rows]
    return svg_bar_chart(items=items, label=label, unit=" %", scale=100)


def dashboard_charts(*, figures: DashboardFigures) -> dict[str, SafeString]:
    """Return the dashboard's SVG charts, keyed by section."""
    return {
        "weekly": svg_weekly_chart(figures=figures),
        "products": svg_bar_chart(
            items=[(row.name, row.total, row.color) for row in figures.products],
            label=_("Tickets received per product"),
        ),
        "response": svg_bar_chart(
            items=[(name, count, PALETTE[0]) for name, count in figures.response_buckets],
            label=_("Time to first response in service hours (tickets per band)"),
        ),
        "operators": svg_bar_chart(
            items=[(row.name, row.open_now, PALETTE[1]) for row in figures.operators],
            label=_("Open tickets per operator"),
        ),
        "targets_products": _share_chart(
            rows=figures.targets_products,
            label=_("Share of tickets within their service targets, per product"),
        ),
        "targets_operators": _share_chart(
            rows=figures.targets_operators,
            label=_("Share of tickets within their service targets, per operator"),
        ),
        "satisfaction": svg_share_weekly_chart(figures=figures),
        "satisfaction_products": _share_chart(
            rows=figures.satisfaction_products,
            label=_("Share of good answers to “How did we do?”, per product"),
        ),
        "satisfaction_operators": _share_chart(
            rows=figures.satisfaction_operators,
            label=_("Share of good answers to “How did we do?”, per operator"),
        ),
    }


def legend_html(*, figures: DashboardFigures) -> SafeString:
    """Return the colour legend of the weekly chart."""
    return format_html_join(
        "",
        '<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" '
        'fill="{}"/></svg> {}</li>',
        ((row.color, row.name) for row in figures.products),
    )


def _cell(value) -> str:
    # Spreadsheets run cells that start with these; names come from people.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def dashboard_csv(*, figures: DashboardFigures) -> str:
    """Return the dashboard's figures as CSV: section, item, week, metric, value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "item", "week", "metric", "value"])
    oldest = figures.oldest_received_at
    rows = [
        ("queue", "", "", "open_tickets", figures.queue_length),
        ("queue", "", "", "oldest_received_at", oldest.isoformat() if oldest else ""),
        ("queue", "", "", "oldest_waiting_service_hours", _hours(figures.oldest_waiting_service)),
    ]
    for row in figures.products:
        rows.extend(
            ("received", row.name, week.isoformat(), "tickets", value)
            for week, value in zip(figures.weeks, row.weekly, strict=True)
        )
    rows += [
        ("first_response", "", "", "since", figures.response_since.isoformat()),
        ("first_response", "", "", "sample_size", figures.response_sample_size),
        ("first_response", "", "", "median_service_hours", _hours(figures.response_median)),
        ("first_response", "", "", "p90_service_hours", _hours(figures.response_p90)),
    ]
    for row in figures.operators:
        rows.append(("operators", row.username, "", "open_now", row.open_now))
        rows.append(("operators", row.username, "", "taken_in_window", row.taken_in_window))
    for section, target_rows in (
        ("targets_products", figures.targets_products),
        ("targets_operators", figures.targets_operators),
    ):
        for target_row in target_rows:
            rows.append((section, target_row.name, "", "tickets", target_row.total))
            rows.append((section, target_row.name, "", "within_target", target_row.within))
            rows.append((section, target_row.name, "", "within_target_percent", target_row.share))
    satisfaction = [("satisfaction", [figures.satisfaction] if figures.satisfaction else [])]
    satisfaction += [
        ("satisfaction_products", figures.satisfaction_products),
        ("satisfaction_operators", figures.satisfaction_operators),
    ]
    for section, satisfaction_rows in satisfaction:
        for row in satisfaction_rows:
            for week, total, good in zip(
                figures.weeks, row.weekly_total, row.weekly_good, strict=True
            ):
                if total:
                    rows.append((section, row.name, week.isoformat(), "answers", total))
                    rows.append((section, row.name, week.isoformat(), "good", good))
            rows.append((section, row.name, "", "answers", row.total))
            rows.append((section, row.name, "", "good", row.good))
            rows.append((section, row.name, "", "neutral", row.neutral))
            rows.append((section, row.name, "", "bad", row.bad))
            rows.append((section, row.name, "", "good_percent", row.share))
    for name, replies in figures.canned_answers:
        rows.append(("canned_answers", name, "", "replies", replies))
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue()
