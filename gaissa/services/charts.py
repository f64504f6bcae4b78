"""Server-side SVG charts drawn with pygal; the same SVG goes into pages and PDF reports.

Charts carry no script (pygal's tooltip script would be fetched from another host), so they
read the same on screen, printed and in WeasyPrint. Text inside the SVG (titles, metric names)
is escaped by pygal's XML serializer, which is why the result is returned as Markup.
"""

import math
import re
from collections.abc import Sequence

import pygal
from markupsafe import Markup
from pygal.style import Style

from gaissa.services.roi import EnergyRoi, EvolutionPoint

GREEN = "#548334"
ORANGE = "#e07b00"
RED = "#c0392b"
BLUE = "#0047ab"
MARKER = "#6a1b9a"

BASE_STYLE = dict(
    background="white",
    plot_background="white",
    foreground="#333333",
    foreground_strong="#222222",
    foreground_subtle="#d9d9d9",
    font_family="DejaVu Sans, Helvetica, Arial, sans-serif",
    # The charts are drawn 400 units wide and shown from about 320 px (a phone) to 480 px wide
    # (the page caps them), so 15-unit text reads at 12 px or more.
    label_font_size=15,
    major_label_font_size=15,
    title_font_size=16,
    legend_font_size=15,
    value_font_size=14,
    tooltip_font_size=14,
    opacity=".25",
    opacity_hover=".35",
    transition="0ms",
)


# pygal always embeds its configuration as an inline script for its tooltips; the charts are static.
# Text inside the SVG is XML-escaped, so no "</script>" from a label can end this match early.
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)


def _svg(chart) -> Markup:
    return Markup(_SCRIPT.sub("", chart.render(is_unicode=True)))


def _style(*colours: str) -> Style:
    return Style(colors=colours, **BASE_STYLE)


CHART_WIDTH = 400
CHART_HEIGHT = 340
# At most this many labels on the x axis, so that labels such as "4.8B" never run into each other.
# The y axis stacks its labels, so it takes one more.
MAX_TICKS = 5
MAX_Y_TICKS = 6


def _common(width: int, height: int) -> dict:
    return dict(
        width=width,
        height=height,
        explicit_size=False,
        disable_xml_declaration=True,
        js=[],
        legend_at_bottom=True,
        legend_at_bottom_columns=1,
        truncate_legend=-1,
        truncate_label=-1,
        margin=10,
        # Room for the last x label, which is centred on the plot's right edge.
        margin_right=28,
        spacing=10,
    )


def nice_ticks(low: float, high: float, max_ticks: int = MAX_TICKS) -> list[float]:
    """Return 2 to `max_ticks` evenly spaced round axis values (steps of 1, 2, 2.5 or 5 × 10^n) covering [low, high].

    Of the steps that fit, the one whose ticks overshoot the data least wins, then the one with more ticks.
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"axis limits must be finite; got {low!r} and {high!r}")
    if high < low:
        low, high = high, low
    if high == low:
        high = low + (abs(low) or 1.0)

    best: tuple[float, int, float, float] | None = None
    base = math.floor(math.log10((high - low) / max(max_ticks - 1, 1)))
    for power in (10.0 ** base, 10.0 ** (base + 1)):
        for factor in (1, 2, 2.5, 5):
            step = factor * power
            first = math.floor(low / step + 1e-9) * step
            last = math.ceil(high / step - 1e-9) * step
            count = round((last - first) / step) + 1
            if not 2 <= count <= max_ticks:
                continue
            candidate = ((low - first) + (last - high), -count, first, step)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
    if best is None:
        return [low, high]
    _overshoot, negative_count, first, step = best
    return [first + index * step for index in range(-negative_count)]


def abbreviate(value: float) -> str:
    """Format an axis number briefly: 1,200 → "1.2K", 24,000,000,000 → "24B", 0.25 → "0.25", 4 × 10^16 → "4e16"."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    magnitude = abs(value)
    if magnitude >= 1e15:
        return f"{value:.2g}".replace("e+", "e")
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if magnitude >= limit:
            return f"{value / limit:.3g}{suffix}"
    if magnitude == 0:
        return "0"
    return f"{value:.3g}"


def percent(value: float) -> str:
    return f"{abbreviate(value)} %"


def euros(value: float) -> str:
    return f"€{abbreviate(value)}"


def radar_chart(labels: Sequence[str], baseline: Sequence[float], optimized: Sequence[float],
                width: int = CHART_WIDTH, height: int = CHART_HEIGHT) -> Markup:
    """Draw baseline against optimized metrics, each optimized value as a percentage of its baseline.

    Metrics have different units, so every axis is relative: the baseline is 100 %.
    A metric with a zero baseline is drawn at 100 % for both series. Negative values are drawn at 0.
    """
    relative = [max(new / old * 100, 0.0) if old else 100.0 for old, new in zip(baseline, optimized)]
    # Three labels: "0 %", "50 %", "100 %" fit side by side under the bars even on a phone.
    ticks = nice_ticks(0, max([100.0] + relative), max_ticks=3)
    options = dict(style=_style(ORANGE, GREEN), value_formatter=lambda value: f"{value:.3g} %",
                   range=(0, ticks[-1]), y_labels=ticks, **_common(width, height))
    # A radar needs three axes to enclose an area; fewer metrics are drawn as bars.
    if len(labels) >= 3:
        chart = pygal.Radar(fill=True, dots_size=4, **options)
    else:
        chart = pygal.HorizontalBar(**options)
    chart.x_labels = list(labels)
    chart.add("Baseline = 100 %", [100.0] * len(labels))
    chart.add("Optimized", relative)
    return _svg(chart)


def roi_evolution_chart(points: Sequence[EvolutionPoint], break_even: int | None,
                        width: int = CHART_WIDTH, height: int = CHART_HEIGHT) -> Markup:
    """Draw the ROI in percent against the number of inferences, marking the break-even point.

    Each axis has a few round labels and covers the whole curve, from its first point.
    """
    finite = [(p.inferences, p.roi * 100) for p in points if p.roi is not None and math.isfinite(p.roi)]
    options = dict(
        style=_style(BLUE, MARKER, GREEN), show_dots=False, dots_size=6, stroke_style={"width": 3},
        x_title="Number of inferences", y_title="ROI (%)", x_value_formatter=abbreviate, value_formatter=percent,
        show_x_guides=False, no_data_text="ROI is unbounded", **_common(width, height),
    )
    if finite:
        x_ticks = nice_ticks(0, finite[-1][0])
        y_ticks = nice_ticks(min(0.0, *(y for _x, y in finite)), max(0.0, *(y for _x, y in finite)), MAX_Y_TICKS)
        options.update(x_labels=x_ticks, xrange=(x_ticks[0], x_ticks[-1]), y_labels=y_ticks,
                       range=(y_ticks[0], y_ticks[-1]))
    chart = pygal.XY(**options)
    chart.add("ROI", finite)
    if break_even is not None and finite and break_even <= finite[-1][0]:
        chart.add(f"Break-even: {break_even:,}", [(break_even, 0.0)], stroke=False, show_dots=True)
    return _svg(chart)


def income_costs_chart(result: EnergyRoi, span: int, width: int = CHART_WIDTH, height: int = CHART_HEIGHT) -> Markup:
    """Draw income (cost without the tactic) and costs (implementation + cost with it) from 0 to `span` inferences.

    The lines cross at the break-even point, which is marked when it lies within the span.
    """
    income = [(0, 0.0), (span, span * result.baseline_cost_per_inference)]
    costs = [(0, result.implementation_cost), (span, span * result.new_cost_per_inference + result.implementation_cost)]
    amounts = [amount for _x, amount in income + costs]
    x_ticks = nice_ticks(0, span)
    y_ticks = nice_ticks(min(0.0, *amounts), max(amounts), MAX_Y_TICKS)
    income_colour = GREEN if result.break_even is not None else ORANGE
    chart = pygal.XY(
        style=_style(income_colour, RED, MARKER), show_dots=False, dots_size=6, stroke_style={"width": 3},
        x_title="Number of inferences", y_title="Amount (€)", x_value_formatter=abbreviate, value_formatter=euros,
        show_x_guides=False, x_labels=x_ticks, xrange=(x_ticks[0], x_ticks[-1]), y_labels=y_ticks,
        range=(y_ticks[0], y_ticks[-1]), **_common(width, height),
    )
    # Legends stay under about 32 characters because the narrow chart cuts longer ones; the page's caption explains more.
    chart.add("Income: cost without the tactic", income, stroke_style={"width": 3, "dasharray": "8, 5"})
    chart.add("Costs: implementation + energy", costs)
    if result.break_even is not None and 0 < result.break_even <= span:
        amount = result.break_even * result.baseline_cost_per_inference
        chart.add(f"Break-even: {result.break_even:,}", [(result.break_even, amount)], stroke=False, show_dots=True)
    return _svg(chart)
