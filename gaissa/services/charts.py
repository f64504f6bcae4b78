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

from gaissa.services.roi import EnergyRoi, EvolutionPoint, income_costs_span

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
    label_font_size=15,
    major_label_font_size=15,
    title_font_size=18,
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
        margin=16,
        spacing=12,
    )


def abbreviate(value: float) -> str:
    """Format an axis number briefly: 1,200 → "1.2K", 24,000,000,000 → "24B", 0.25 → "0.25"."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    magnitude = abs(value)
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
                width: int = 520, height: int = 440) -> Markup:
    """Draw baseline against optimized metrics, each optimized value as a percentage of its baseline.

    Metrics have different units, so every axis is relative: the baseline is 100 %.
    A metric with a zero baseline is drawn at 100 % for both series. Negative values are drawn at 0.
    """
    relative = [max(new / old * 100, 0.0) if old else 100.0 for old, new in zip(baseline, optimized)]
    top = max([110.0] + [value * 1.1 for value in relative])
    options = dict(style=_style(ORANGE, GREEN), value_formatter=lambda value: f"{value:.3g} %",
                   range=(0, top), **_common(width, height))
    # A radar needs three axes to enclose an area; fewer metrics are drawn as bars.
    if len(labels) >= 3:
        chart = pygal.Radar(fill=True, dots_size=4, **options)
    else:
        chart = pygal.HorizontalBar(**options)
    chart.x_labels = list(labels)
    chart.add("Baseline (100 %)", [100.0] * len(labels))
    chart.add("Optimized (% of baseline)", relative)
    return _svg(chart)


def roi_evolution_chart(points: Sequence[EvolutionPoint], break_even: int | None,
                        width: int = 560, height: int = 420) -> Markup:
    """Draw the ROI in percent against the number of inferences, marking the break-even point."""
    finite = [(p.inferences, p.roi * 100) for p in points if p.roi is not None and math.isfinite(p.roi)]
    chart = pygal.XY(
        style=_style(BLUE, MARKER, GREEN), show_dots=False, dots_size=6, stroke_style={"width": 3},
        x_title="Number of inferences", y_title="ROI (%)", x_value_formatter=abbreviate, value_formatter=percent,
        show_x_guides=False, include_x_axis=True, no_data_text="ROI is unbounded", **_common(width, height),
    )
    chart.add("ROI", finite)
    if break_even is not None and finite and break_even <= finite[-1][0]:
        chart.add(f"Break-even: {break_even:,} inferences", [(break_even, 0.0)], stroke=False, show_dots=True)
    return _svg(chart)


def income_costs_chart(result: EnergyRoi, width: int = 560, height: int = 420) -> Markup:
    """Draw income (cost without the tactic) and costs (implementation + cost with it) against inferences.

    The lines cross at the break-even point, which is marked; the chart spans twice that point,
    or 2,000,000 inferences when there is none.
    """
    span = income_costs_span(result.break_even)
    income = [(0, 0.0), (span, span * result.baseline_cost_per_inference)]
    costs = [(0, result.implementation_cost), (span, span * result.new_cost_per_inference + result.implementation_cost)]
    income_colour = GREEN if result.break_even is not None else ORANGE
    chart = pygal.XY(
        style=_style(income_colour, RED, MARKER), show_dots=False, dots_size=6, stroke_style={"width": 3},
        x_title="Number of inferences", y_title="Amount (€)", x_value_formatter=abbreviate, value_formatter=euros,
        include_x_axis=True, show_x_guides=False, **_common(width, height),
    )
    chart.add("Income (cost without the tactic)", income, stroke_style={"width": 3, "dasharray": "8, 5"})
    chart.add("Costs (implementation + cost with the tactic)", costs)
    if result.break_even is not None and result.break_even > 0:
        amount = result.break_even * result.baseline_cost_per_inference
        chart.add(f"Break-even: {result.break_even:,} inferences", [(result.break_even, amount)],
                  stroke=False, show_dots=True)
    return _svg(chart)
