"""The energy label: its view-model, the SVG drawing, the PDF, the JSON form and the per-metric breakdown.

The same view-model feeds the page, the SVG download, the PDF (WeasyPrint renders the same SVG) and
the API, so that all of them show the same grades: the ones stored with the evaluation under its
rating scheme version.
"""

import math
import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import segno
from flask import current_app, render_template
from markupsafe import Markup
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import Evaluation, Grade, Metric, SchemeEntry
from gaissa.services.rating import GRADE_LETTERS, HIGHER_IS_BETTER
from gaissa.web.formatting import format_date, format_number, humanize_quantity, unit_label

MAX_TILES = 6
# Label geometry in SVG user units (the drawing is 400 × 660).
LABEL_WIDTH = 400
TILE_TOP = 348
TILE_WIDTH = 122
TILE_HEIGHT = 112
# Room for the model name: from x = 24 to the inner edge of the border at x = 380.
NAME_MAX_WIDTH = 352
GREY = "#8a8a8a"
DEFAULT_COLOURS = dict(zip(GRADE_LETTERS, ("#639b30", "#b8ac2b", "#f8b830", "#ef7d29", "#e52421")))
_SVG_OPEN = re.compile(r"^\s*<svg[^>]*>", re.S)
_SVG_CLOSE = re.compile(r"</svg>\s*$", re.S)

SOURCE_LABELS = {
    "form": "Typed in a form",
    "file": "Imported from a file",
    "endpoint": "Measured from an endpoint",
    "huggingface": "Synced from Hugging Face",
    "api": "Sent through the API",
}


@dataclass(frozen=True)
class Tile:
    centre_x: float
    top: float
    key: str
    name: str
    name_lines: tuple[str, ...]
    value_text: str
    grade: str | None
    colour: str
    pictogram: Markup
    weight: float


@dataclass(frozen=True)
class LabelView:
    evaluation_id: int
    model_id: int
    model_name: str
    name_lines: tuple[str, ...]
    name_font_size: int
    phase: str
    phase_title: str
    overall_grade: str | None
    grades: tuple[tuple[str, str], ...]
    tiles: tuple[Tile, ...]
    scheme_label: str
    issued_on: str
    provenance: str
    graded_count: int
    metric_count: int
    page_url: str | None
    qr_path: str
    qr_modules: int


@dataclass(frozen=True)
class ScaleSegment:
    letter: str
    colour: str
    x: float
    width: float


@dataclass(frozen=True)
class ScaleView:
    """Geometry of the five-segment scale of one metric, in a 0–100 coordinate system."""

    segments: tuple[ScaleSegment, ...]
    ticks: tuple[tuple[float, str], ...]
    marker_x: float | None
    marker_clipped: str | None
    logarithmic: bool
    direction: str
    unit: str


@dataclass(frozen=True)
class BreakdownItem:
    key: str
    name: str
    description: str
    how_to_measure: str
    unit: str
    value: float | None
    value_text: str
    exact_text: str
    grade: str | None
    colour: str
    weight: float
    direction: str
    boundaries: tuple[float, float, float, float]
    recommendations: tuple[str, ...]
    provenance: str
    pictogram: str
    scale: ScaleView


def grade_colours() -> dict[str, str]:
    colours = dict(DEFAULT_COLOURS)
    for grade in db.session.scalars(select(Grade)):
        colours[grade.letter] = grade.colour
    return colours


@lru_cache(maxsize=32)
def pictogram_markup(name: str, colour: str) -> Markup:
    """Return the inner markup of a pictogram SVG file coloured with `colour` (48 × 48 units)."""
    folder = Path(current_app.static_folder) / "img" / "pictograms"
    path = folder / f"{name}.svg"
    if not path.is_file() or not re.fullmatch(r"[a-z0-9_]+", name):
        path = folder / "gauge.svg"
    text = path.read_text(encoding="utf-8")
    inner = _SVG_CLOSE.sub("", _SVG_OPEN.sub("", text))
    return Markup(inner.replace("currentColor", colour))


@lru_cache(maxsize=2048)
def qr_path(url: str) -> tuple[str, int]:
    """Return an SVG path drawing the QR code of `url` (one unit per module) and its module count."""
    code = segno.make(url, error="m")
    parts = []
    for y, row in enumerate(code.matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                parts.append(f"M{start},{y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    return "".join(parts), len(code.matrix)


def tile_positions(count: int) -> list[tuple[float, float]]:
    """Centre x and top y of each metric tile: one row up to three tiles, then two rows (3 + 3, 3 + 2, 2 + 2)."""
    if count <= 3:
        first_row = count
    elif count == 4:
        first_row = 2
    else:
        first_row = 3
    rows = [first_row, count - first_row] if count > 3 else [count]
    positions = []
    for row, size in enumerate(rows):
        top = TILE_TOP + row * TILE_HEIGHT
        for index in range(size):
            positions.append((LABEL_WIDTH / 2 + (index - (size - 1) / 2) * TILE_WIDTH, top))
    return positions


def _printable(text: str) -> str:
    """Drop control characters (NUL and the like), which are not allowed in SVG/XML text."""
    return "".join(ch for ch in text if ch.isprintable() or ch == " ")


def text_width_em(text: str) -> float:
    """Estimate the width of bold DejaVu Sans text in em, erring on the wide side (no font metrics at hand)."""
    width = 0.0
    for char in text:
        if char in "ijlft.,:;'|!I ":
            width += 0.42
        elif char in "mwMW@%":
            width += 1.05
        elif char.isupper() or char.isdigit():
            width += 0.8
        else:
            width += 0.72
    return width


def wrap_name(name: str, width: int, max_lines: int) -> tuple[str, ...]:
    """Wrap a name into at most `max_lines` lines of `width` characters, ending with "…" when cut."""
    lines = textwrap.wrap(name, width=width, break_long_words=True, break_on_hyphens=True) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(0, width - 1)].rstrip() + "…"
    return tuple(lines)


def _entries_by_key(evaluation: Evaluation) -> dict[str, SchemeEntry]:
    return {entry.metric_key: entry for entry in evaluation.scheme.entries}


def build_label(evaluation: Evaluation, page_url: str | None) -> LabelView:
    """Build the label's view-model from the evaluation's stored grades and its scheme version.

    `page_url` is the evaluation's permanent page, drawn as a QR code. It is None for a run that is
    not stored (`gaissa rate --pdf`), whose label then prints that it was not stored.
    """
    colours = grade_colours()
    entries = _entries_by_key(evaluation)
    metrics = {metric.key: metric for metric in db.session.scalars(select(Metric))}

    ordered = sorted(
        evaluation.values,
        key=lambda value: (-(entries[value.metric_key].weight if value.metric_key in entries else 0.0), value.metric_key),
    )
    tiles = []
    shown = ordered[:MAX_TILES]
    positions = tile_positions(len(shown))
    for (centre_x, top), value in zip(positions, shown):
        entry = entries.get(value.metric_key)
        metric = metrics.get(value.metric_key)
        name = value.metric_key
        if entry is not None:
            name = entry.metric_name
        elif metric is not None:
            name = metric.name
        colour = colours.get(value.grade, GREY) if value.grade else GREY
        tiles.append(Tile(
            centre_x=centre_x, top=top, key=value.metric_key, name=name, name_lines=wrap_name(name, 18, 2),
            value_text=humanize_quantity(value.value, value.unit), grade=value.grade, colour=colour,
            pictogram=pictogram_markup(metric.pictogram if metric else "gauge", colour),
            weight=entry.weight if entry else 0.0,
        ))

    name = _printable(evaluation.model.name)
    name_lines = wrap_name(name, 22 if len(name) <= 22 else 30, 2)
    widest = max(text_width_em(line) for line in name_lines)
    font_size = max(10, min(26 if len(name) <= 22 else 20, int(NAME_MAX_WIDTH / max(widest, 1.0))))
    path, modules = qr_path(page_url) if page_url else ("", 0)
    return LabelView(
        evaluation_id=evaluation.id,
        model_id=evaluation.model_id,
        model_name=name,
        name_lines=name_lines,
        name_font_size=font_size,
        phase=evaluation.phase,
        phase_title=evaluation.phase.capitalize(),
        overall_grade=evaluation.overall_grade,
        grades=tuple((letter, colours[letter]) for letter in GRADE_LETTERS),
        tiles=tuple(tiles),
        scheme_label=evaluation.scheme.label,
        issued_on=format_date(evaluation.registered_at, with_time=False),
        provenance=provenance_text(evaluation),
        graded_count=evaluation.graded_count,
        metric_count=evaluation.scheme_metric_count,
        page_url=page_url,
        qr_path=path,
        qr_modules=modules,
    )


def provenance_text(evaluation: Evaluation) -> str:
    text = SOURCE_LABELS.get(evaluation.source, evaluation.source)
    tool = (evaluation.provenance or {}).get("tool")
    if tool:
        text += f" ({tool})"
    methods = {(value.provenance or {}).get("method") for value in evaluation.values if value.metric_key.startswith("energy")}
    if "estimated" in methods:
        text += ", energy estimated"
    elif "reported" in methods:
        text += ", energy reported by the endpoint"
    return text


def render_label_svg(evaluation: Evaluation, page_url: str, label: LabelView | None = None) -> str:
    """Draw the label as a standalone SVG document (from `label` when the caller already built it)."""
    return render_template("labeling/label.svg", label=label or build_label(evaluation, page_url))


def render_label_pdf(evaluation: Evaluation, page_url: str) -> bytes:
    """Render the label's SVG into a one-page PDF with WeasyPrint."""
    return render_labels_pdf([evaluation], lambda _evaluation: page_url)


def render_labels_pdf(evaluations: list[Evaluation], page_url_of) -> bytes:
    """Render several labels into one PDF, one label per page; `page_url_of(evaluation)` gives each QR target."""
    from gaissa.services.pdf import render_pdf

    svgs = [Markup(render_label_svg(evaluation, page_url_of(evaluation))) for evaluation in evaluations]
    title = evaluations[0].model.name if len(evaluations) == 1 else f"{len(evaluations)} energy labels"
    return render_pdf(render_template("pdf/label.html", svgs=svgs, title=title))


def label_json(evaluation: Evaluation, page_url: str) -> dict:
    """Return the label as plain data (the API's label.json)."""
    label = build_label(evaluation, page_url)
    return {
        "evaluation_id": evaluation.id,
        "model_id": evaluation.model_id,
        "model_name": evaluation.model.name,
        "phase": evaluation.phase,
        "overall_grade": evaluation.overall_grade,
        "graded_metrics": evaluation.graded_count,
        "scheme_metrics": evaluation.scheme_metric_count,
        "scheme_version": evaluation.scheme.version,
        "registered_at": evaluation.registered_at.isoformat(),
        "source": evaluation.source,
        "provenance": label.provenance,
        "page_url": page_url,
        "metrics": {
            value.metric_key: {"value": value.value, "unit": value.unit, "grade": value.grade}
            for value in evaluation.values
        },
    }


def build_breakdown(evaluation: Evaluation) -> list[BreakdownItem]:
    """Explain every metric of the evaluation's scheme: value, grade, scale and recommendations, heaviest first."""
    colours = grade_colours()
    metrics = {metric.key: metric for metric in db.session.scalars(select(Metric))}
    values = {value.metric_key: value for value in evaluation.values}
    items = []
    for entry in sorted(evaluation.scheme.entries, key=lambda item: (-(item.weight or 0.0), item.position)):
        metric = metrics.get(entry.metric_key)
        stored = values.get(entry.metric_key)
        number = stored.value if stored else None
        grade = stored.grade if stored else None
        items.append(BreakdownItem(
            key=entry.metric_key,
            name=entry.metric_name,
            description=metric.description if metric else "",
            how_to_measure=metric.how_to_measure if metric else "",
            unit=entry.unit,
            value=number,
            value_text=humanize_quantity(number, entry.unit) if stored else "not measured",
            exact_text=f"{number:.6g} {unit_label(entry.unit)}".strip() if stored else "",
            grade=grade,
            colour=colours.get(grade, GREY) if grade else GREY,
            weight=entry.weight,
            direction=entry.direction,
            boundaries=entry.boundaries,
            recommendations=tuple(metric.recommendations or ()) if metric else (),
            provenance=_value_provenance_text(stored.provenance if stored else None),
            pictogram=metric.pictogram if metric else "gauge",
            scale=build_scale(entry.direction, entry.boundaries, number, colours, entry.unit),
        ))
    return items


def _value_provenance_text(provenance: dict | None) -> str:
    if not provenance:
        return ""
    kind = provenance.get("kind")
    if kind == "derived":
        return (f"Derived: energy × {format_number(provenance.get('carbon_intensity_g_per_kwh'))} g/kWh "
                f"({provenance.get('country_name') or provenance.get('country')}, {provenance.get('carbon_intensity_year')})")
    if kind == "file":
        parts = [provenance.get("tool"), provenance.get("file"), provenance.get("column")]
        row = provenance.get("row")
        text = "From " + ", ".join(str(part) for part in parts if part)
        return text + (f", {row}" if row else "")
    if kind == "endpoint":
        method = provenance.get("method")
        return {"estimated": "Estimated from latency × rated power", "reported": "Reported by the endpoint"}.get(
            method, "Measured from the endpoint")
    if kind == "huggingface":
        return "From the Hugging Face model card"
    return SOURCE_LABELS.get(kind, "")


def build_scale(direction: str, boundaries: tuple[float, float, float, float], value: float | None,
                colours: dict[str, str], unit: str) -> ScaleView:
    """Lay out five equal segments A–E on an axis increasing to the right, with a marker at the value.

    Boundaries sit between the segments, so uneven boundaries stay readable. Inside a segment the marker
    is placed logarithmically when all boundaries are positive and span at least two decades, linearly
    otherwise. The outer segments reach one more step (the ratio or difference of their neighbour).
    A lower-is-better metric has A on the left, a higher-is-better one on the right.
    """
    ordered = sorted(boundaries)
    logarithmic = ordered[0] > 0 and ordered[-1] / ordered[0] >= 100
    if logarithmic:
        edges = [ordered[0] ** 2 / ordered[1], *ordered, ordered[-1] ** 2 / ordered[-2]]
    else:
        edges = [ordered[0] - (ordered[1] - ordered[0]), *ordered, ordered[-1] + (ordered[-1] - ordered[-2])]
    letters = list(GRADE_LETTERS) if direction != HIGHER_IS_BETTER else list(reversed(GRADE_LETTERS))
    segments = tuple(ScaleSegment(letter, colours[letter], index * 20.0, 20.0) for index, letter in enumerate(letters))
    ticks = tuple(((index + 1) * 20.0, format_number(bound)) for index, bound in enumerate(ordered))

    marker_x = None
    clipped = None
    if value is not None:
        if value < edges[0] or (logarithmic and value <= 0):
            marker_x, clipped = 0.0, "below"
        elif value > edges[-1]:
            marker_x, clipped = 100.0, "above"
        else:
            index = next(i for i in range(5) if value <= edges[i + 1] or i == 4)
            low, high = edges[index], edges[index + 1]
            if logarithmic:
                fraction = (math.log10(value) - math.log10(low)) / (math.log10(high) - math.log10(low))
            else:
                fraction = (value - low) / (high - low) if high != low else 0.5
            marker_x = index * 20.0 + min(1.0, max(0.0, fraction)) * 20.0
    return ScaleView(segments, ticks, marker_x, clipped, logarithmic, direction, unit)
