"""Embeddable energy-label badges ("energy label | B") and the snippets that embed them.

A badge is a small flat SVG in the style of shields.io badges: a grey left part with the label
and a right part with the grade in the grade's colour. Text widths are estimated from Verdana's
advance widths at 11 px, and `textLength` makes renderers fit the text into exactly that width.
"""

import html
from dataclasses import dataclass

import yaml
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import Evaluation, MLModel, Phase

LABEL_TEXT = "energy label"
NOT_RATED_TEXT = "not rated"
NOT_RATED_COLOUR = "#9f9f9f"
LABEL_COLOUR = "#555"
HEIGHT = 20
PADDING = 6
FONT_SIZE = 11
# Advance widths of Verdana at 11 px (units per em 2048, scaled), for the characters badges use most.
_WIDTHS = {
    **dict.fromkeys("ijl", 3.0), **dict.fromkeys("frt", 4.5), " ": 3.9, **dict.fromkeys("sz", 5.7),
    **dict.fromkeys("ckvxy", 6.2), **dict.fromkeys("abdeghnopqu", 6.8), "m": 10.7, "w": 9.0,
    **dict.fromkeys("0123456789", 7.0), **dict.fromkeys("ABCDEFGHKNOPRSUVXYZ", 7.6), "I": 4.6, "J": 5.0, "L": 6.2,
    "M": 8.6, "Q": 8.5, "T": 6.8, "W": 10.8, "?": 5.9, "(": 4.9, ")": 4.9, ".": 3.9, ",": 3.9, "-": 4.9,
}
_DEFAULT_WIDTH = 7.0


@dataclass(frozen=True)
class Badge:
    label: str
    message: str
    colour: str
    # Accessible name and tooltip, e.g. "Energy label of the training: grade B (scheme v1)".
    title: str


def text_width(text: str) -> float:
    """Estimate the width of `text` in Verdana 11 px, in pixels."""
    return round(sum(_WIDTHS.get(char, _DEFAULT_WIDTH) for char in text), 1)


def render_badge_svg(badge: Badge) -> str:
    """Draw the badge as a standalone SVG document; every text is XML-escaped."""
    label_width = text_width(badge.label) + 2 * PADDING
    message_width = text_width(badge.message) + 2 * PADDING
    total = label_width + message_width
    label, message, title = (html.escape(text) for text in (badge.label, badge.message, badge.title))
    colour = html.escape(badge.colour)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total:g}" height="{HEIGHT}" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total:g}" height="{HEIGHT}" rx="3" fill="#fff"/></clipPath>'
        '<g clip-path="url(#r)">'
        f'<rect width="{label_width:g}" height="{HEIGHT}" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{label_width:g}" width="{message_width:g}" height="{HEIGHT}" fill="{colour}"/>'
        f'<rect width="{total:g}" height="{HEIGHT}" fill="url(#s)"/></g>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        f'font-size="{FONT_SIZE}" text-rendering="geometricPrecision">'
        f'{_text(label, label_width / 2, label_width - 2 * PADDING)}'
        f'{_text(message, label_width + message_width / 2, message_width - 2 * PADDING)}'
        "</g></svg>"
    )


def _text(escaped: str, centre: float, width: float) -> str:
    shadow = (f'<text x="{centre:g}" y="15" fill="#010101" fill-opacity=".3" textLength="{width:g}" '
              f'lengthAdjust="spacingAndGlyphs">{escaped}</text>')
    return shadow + f'<text x="{centre:g}" y="14" textLength="{width:g}" lengthAdjust="spacingAndGlyphs">{escaped}</text>'


def evaluation_badge(evaluation: Evaluation, colours: dict[str, str]) -> Badge:
    """Badge of one evaluation: its stored overall grade, or "not rated"."""
    scheme = f" (rating scheme {evaluation.scheme.label})"
    if evaluation.overall_grade is None:
        return Badge(LABEL_TEXT, NOT_RATED_TEXT, NOT_RATED_COLOUR,
                     f"Energy label of the {evaluation.phase}: not rated{scheme}")
    return Badge(LABEL_TEXT, evaluation.overall_grade, colours.get(evaluation.overall_grade, NOT_RATED_COLOUR),
                 f"Energy label of the {evaluation.phase}: grade {evaluation.overall_grade}{scheme}")


def badge_evaluation_of(model: MLModel) -> Evaluation | None:
    """Return the evaluation a model's badge shows: its latest visible training, else its latest visible inference."""
    for phase in (Phase.TRAINING, Phase.INFERENCE):
        evaluation = db.session.scalar(
            select(Evaluation)
            .where(Evaluation.model_id == model.id, Evaluation.phase == phase, Evaluation.hidden.is_(False))
            .order_by(Evaluation.registered_at.desc(), Evaluation.id.desc())
            .limit(1)
        )
        if evaluation is not None:
            return evaluation
    return None


def model_badge(model: MLModel, colours: dict[str, str]) -> Badge:
    """Badge of a model: the grade of its latest visible training (or inference), "not rated" without one."""
    evaluation = badge_evaluation_of(model)
    if evaluation is None:
        return Badge(LABEL_TEXT, NOT_RATED_TEXT, NOT_RATED_COLOUR, f"Energy label of {model.name}: not rated yet")
    badge = evaluation_badge(evaluation, colours)
    outcome = f"grade {evaluation.overall_grade}" if evaluation.overall_grade else "not rated"
    return Badge(badge.label, badge.message, badge.colour,
                 f"Energy label of the latest {evaluation.phase} of {model.name}: {outcome}")


@dataclass(frozen=True)
class ShareSnippets:
    markdown: str
    html: str
    model_card_yaml: str


def share_snippets(evaluation: Evaluation, label_url: str, badge_url: str) -> ShareSnippets:
    """Return Markdown, HTML and model-card YAML that embed the badge and link back to the label page."""
    grade = evaluation.overall_grade or NOT_RATED_TEXT
    alt = f"Energy label: {grade}"
    markdown = f"[![{alt}]({badge_url})]({label_url})"
    snippet = (f'<a href="{html.escape(label_url)}"><img src="{html.escape(badge_url)}" '
               f'alt="{html.escape(alt)}"></a>')
    return ShareSnippets(markdown, snippet, model_card_yaml(evaluation, label_url))


def model_card_yaml(evaluation: Evaluation, label_url: str) -> str:
    """Return model-card metadata with the label's figures.

    For a training with CO2 emissions it adds the Hugging Face `co2_eq_emissions` block
    (emissions in grams, source, training type, location and hardware, as the Hub's model-card
    metadata names them).
    """
    info = {item.field.key: item.value for item in evaluation.info_values}
    values = sorted(evaluation.values, key=lambda item: item.metric_key)
    card: dict = {}
    co2 = next((item for item in values if item.metric_key == "co2_eq_emissions" and item.unit == "g"), None)
    if evaluation.phase == Phase.TRAINING and co2 is not None:
        emissions = {"emissions": co2.value, "source": f"GAISSALabel ({label_url})"}
        for hub_key, field_key in (("training_type", "training_type"), ("geographical_location", "country"),
                                   ("hardware_used", "hardware_used")):
            if info.get(field_key):
                emissions[hub_key] = info[field_key]
        card["co2_eq_emissions"] = emissions
    card["gaissa_energy_label"] = {
        "phase": evaluation.phase,
        "grade": evaluation.overall_grade or NOT_RATED_TEXT,
        "rating_scheme_version": evaluation.scheme.version,
        "graded_metrics": f"{evaluation.graded_count} of {evaluation.scheme_metric_count}",
        "metrics": {item.metric_key: {"value": item.value, "unit": item.unit, "grade": item.grade} for item in values},
        "registered_at": evaluation.registered_at.date().isoformat(),
        "label_url": label_url,
    }
    return yaml.safe_dump(card, sort_keys=False, allow_unicode=True, width=1000)
