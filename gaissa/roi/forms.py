"""Forms of the ROI Analyzer: the analysis calculator (read by hand, its fields depend on the tactic)
and the catalogue administration (WTForms)."""

import math
import re
from dataclasses import dataclass, field

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    FloatField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional

from gaissa.services.roi import DEFAULT_INFERENCES, MAX_INFERENCES, MIN_INFERENCES
from gaissa.services.roi_catalogue import MetricInput

# The button that reloads the calculator's choices without JavaScript; the form is posted but not saved.
REFRESH_BUTTON = "refresh"
# Names of the calculator's per-metric fields: baseline-3, price-3, cost-3.
VALUE_FIELD = re.compile(r"^(baseline|price|cost)-(\d+)$")
# A number whose thousands are grouped by commas, spaces or underscores: 10,000 or 1 234 567.89.
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:([, _])\d{3})(?:\1\d{3})*(?:\.\d*)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
# Spaces that people and spreadsheets put between thousands: space, no-break space, thin spaces.
_SPACES = re.compile(r"[\u00a0\u2009\u202f]")


class NumberFormatError(ValueError):
    """A typed number that does not parse; the message states what is wrong and how to write it."""


def parse_number(text: str) -> float:
    """Read a typed number: "0.25", "1e-3", "€10,000", "10 000" or "1,234.5"; raise NumberFormatError otherwise.

    Commas, spaces and underscores may separate groups of three digits, and nothing else. The decimal
    separator is a dot. A leading or trailing € sign is ignored.
    """
    shown = text.strip()[:40]
    cleaned = _SPACES.sub(" ", text.strip()).removeprefix("€").removesuffix("€").strip()
    if any(separator in cleaned for separator in ", _"):
        if not _GROUPED.match(cleaned):
            raise NumberFormatError(_separator_hint(shown, cleaned))
        cleaned = re.sub(r"[, _]", "", cleaned)
    try:
        value = float(cleaned)
    except ValueError:
        raise NumberFormatError(f"Enter a number such as 0.25, 1500 or 1e-3; got {shown!r}.") from None
    if not math.isfinite(value):
        raise NumberFormatError(f"Enter a finite number; got {shown!r}.")
    return value


def _separator_hint(shown: str, cleaned: str) -> str:
    if _DECIMAL_COMMA.match(cleaned):
        return f"Use a dot as the decimal separator: {cleaned.replace(',', '.')} instead of {shown!r}."
    if "," in cleaned and "." in cleaned and cleaned.rindex(",") > cleaned.rindex("."):
        return (f"Use a dot as the decimal separator and commas only between thousands, e.g. 1,234.5; "
                f"got {shown!r}.")
    return f"Commas and spaces may only separate thousands, e.g. 10,000 or 10 000; got {shown!r}."


@dataclass
class AnalysisForm:
    """The calculator form as typed: the cascade's ids, the country and one entry per metric."""

    stage_id: int | None = None
    tactic_id: int | None = None
    architecture_id: int | None = None
    option_id: int | None = None
    source_id: int | None = None
    country: str = ""
    values: list[MetricInput] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def carried_values(self, metric_ids: list[int]) -> list[tuple[str, str]]:
        """Return the typed values of metrics not shown now, to keep as hidden fields until they apply again."""
        shown = set(metric_ids)
        carried = []
        for name, value in self.raw.items():
            match = VALUE_FIELD.match(name)
            if match and int(match.group(2)) not in shown and value.strip():
                carried.append((name, value))
        return carried


def read_analysis_form(form: MultiDict, metric_ids: list[int] | None = None) -> AnalysisForm:
    """Read the calculator form; numbers that do not parse get a message at their field.

    `metric_ids` are the metrics whose values to read (those of the chosen tactic).
    """
    data = AnalysisForm(
        stage_id=_int(form.get("stage")),
        tactic_id=_int(form.get("tactic")),
        architecture_id=_int(form.get("architecture")),
        option_id=_int(form.get("option")),
        source_id=_int(form.get("source")),
        country=(form.get("country") or "").strip(),
        raw={key: value for key, value in form.items() if key != "csrf_token"},
    )
    for metric_id in metric_ids or []:
        baseline = _number(form, f"baseline-{metric_id}", data.errors)
        price = _number(form, f"price-{metric_id}", data.errors)
        cost = _number(form, f"cost-{metric_id}", data.errors)
        data.values.append(MetricInput(metric_id, baseline, price, cost))
    return data


def read_inferences(text: str | None, default: int = DEFAULT_INFERENCES) -> tuple[int, str | None]:
    """Read a number of inferences; return the default and a message when it is not a whole number in range."""
    if text is None or not text.strip():
        return default, None
    shown = text.strip()[:40]
    try:
        value = parse_number(text)
    except NumberFormatError:
        return default, f"The number of inferences must be a whole number such as 100000000 or 100,000,000; got {shown!r}."
    if value < MIN_INFERENCES or value != int(value):
        return default, f"The number of inferences must be a whole number of at least {MIN_INFERENCES}; got {shown!r}."
    if value > MAX_INFERENCES:
        return default, f"The number of inferences must be at most 10¹⁵ (1,000,000,000,000,000); got {shown!r}."
    return int(value), None


def _int(text: str | None) -> int | None:
    if text is None or not text.strip().isdigit():
        return None
    return int(text.strip())


def _number(form: MultiDict, name: str, errors: dict[str, str]) -> float | None:
    text = (form.get(name) or "").strip()
    if not text:
        return None
    try:
        return parse_number(text)
    except NumberFormatError as error:
        errors[name] = str(error)
        return None


# ---------------------------------------------------------------- catalogue administration

NAME = [DataRequired(message="Enter a name."), Length(max=255, message="At most 255 characters.")]


class StageForm(FlaskForm):
    name = StringField("Name", validators=NAME)
    description = TextAreaField("Description", validators=[Optional()])


class ArchitectureForm(FlaskForm):
    name = StringField("Name", validators=NAME)
    information = TextAreaField("Information", validators=[Optional()])


class SourceForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(message="Enter the title of the paper or report."),
                                             Length(max=255, message="At most 255 characters.")])
    url = StringField("URL", validators=[
        DataRequired(message="Enter the URL of the paper or report."),
        URL(require_tld=True, message="Enter a full http:// or https:// URL."),
        Length(max=500, message="At most 500 characters."),
    ])


class MetricForm(FlaskForm):
    name = StringField("Name", validators=NAME)
    unit = StringField("Unit", validators=[Optional(), Length(max=50, message="At most 50 characters.")])
    description = TextAreaField("Description", validators=[Optional()])
    is_energy = BooleanField("Energy-related (energy per inference in J; the ROI is computed from it)")
    higher_is_better = BooleanField("Higher is better")
    min_value = FloatField("Minimum baseline value", validators=[Optional()])
    max_value = FloatField("Maximum baseline value", validators=[Optional()])


class TacticForm(FlaskForm):
    name = StringField("Name", validators=NAME)
    stage = SelectField("Pipeline stage", coerce=int, validators=[DataRequired(message="Choose a pipeline stage.")])
    information = TextAreaField("Information", validators=[Optional()])
    sources = SelectMultipleField("Sources", coerce=int)
    architectures = SelectMultipleField("Compatible architectures", coerce=int)
    metrics = SelectMultipleField("Applicable metrics", coerce=int)


class OptionForm(FlaskForm):
    tactic = SelectField("Tactic", coerce=int, validators=[DataRequired(message="Choose a tactic.")])
    name = StringField("Parameter", validators=NAME)
    value = StringField("Value", validators=[DataRequired(message="Enter a value."),
                                             Length(max=255, message="At most 255 characters.")])


class ReductionForm(FlaskForm):
    option = SelectField("Tactic parameter", coerce=int, validators=[DataRequired(message="Choose a parameter.")])
    architecture = SelectField("Model architecture", coerce=int,
                               validators=[DataRequired(message="Choose an architecture.")])
    metric = SelectField("Metric", coerce=int, validators=[DataRequired(message="Choose a metric.")])
    percent = FloatField("Expected reduction (%)", validators=[
        InputRequired(message="Enter the expected reduction in percent (negative for an increase)."),
        NumberRange(min=-1000, max=100, message="The expected reduction must be between -1000 %% and 100 %%."),
    ])
    source = SelectField("Source", coerce=int)
    is_illustrative = BooleanField("Illustrative (no published figure, or derived by an assumption)")
    note = TextAreaField("Note (how the figure was obtained)", validators=[Optional()])
