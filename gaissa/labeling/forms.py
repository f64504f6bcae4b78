"""Reading of the GAISSALabel forms.

Metric and information inputs are dynamic (one per catalogue entry), so they are read by name prefix.
The static parts use Flask-WTF for CSRF and validation.
"""

from dataclasses import dataclass, field

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from werkzeug.datastructures import MultiDict
from wtforms import IntegerField, StringField
from wtforms.validators import NumberRange, Optional

VALUE_PREFIX = "value-"
INFO_PREFIX = "info-"
TOOL_PREFIX = "tool-"
RUNS_PREFIX = "runs-"
COMBINE_PREFIX = "combine-"


@dataclass
class EvaluationFormData:
    model_id: int | None
    values: dict[str, str]
    info: dict[str, str]
    draft_id: str | None
    new_model: dict[str, str] = field(default_factory=dict)
    action: str = "save"
    # True once the user saw that a model with this very name exists and pressed Create model again.
    confirm_duplicate: bool = False


def read_evaluation_form(form: MultiDict) -> EvaluationFormData:
    raw_model = (form.get("model_id") or "").strip()
    return EvaluationFormData(
        model_id=int(raw_model) if raw_model.isdigit() else None,
        values={name[len(VALUE_PREFIX):]: text for name, text in form.items() if name.startswith(VALUE_PREFIX)},
        info={name[len(INFO_PREFIX):]: text for name, text in form.items() if name.startswith(INFO_PREFIX)},
        draft_id=(form.get("draft_id") or "").strip() or None,
        new_model={
            "name": form.get("new_model_name", ""),
            "author": form.get("new_model_author", ""),
            "description": form.get("new_model_description", ""),
        },
        action=form.get("action", "save"),
        confirm_duplicate=bool(form.get("new_model_name", "").strip())
        and form.get("new_model_confirm_duplicate", "").strip() == form.get("new_model_name", "").strip(),
    )


class UploadForm(FlaskForm):
    files = MultipleFileField("Files")
    inference_count = IntegerField(
        "Number of inferences in the measured run", validators=[Optional(), NumberRange(min=1, max=10**12)]
    )
    model_name = StringField("Model name (optional)", validators=[Optional()])


def read_tool_choices(form: MultiDict, count: int) -> list[str]:
    """Return the tool chosen for each uploaded file, in upload order ("" when none was chosen)."""
    return [form.get(f"{TOOL_PREFIX}{index}", "") for index in range(count)]


def read_run_choices(form: MultiDict) -> tuple[dict[int, list[int]], dict[int, str]]:
    """Return the run indexes chosen per file ("runs-<file>") and the combination per file ("combine-<file>")."""
    selections: dict[int, list[int]] = {}
    combinations: dict[int, str] = {}
    for name in form:
        if name.startswith(RUNS_PREFIX) and name.removeprefix(RUNS_PREFIX).isdigit():
            selections[int(name.removeprefix(RUNS_PREFIX))] = [
                int(value) for value in form.getlist(name) if value.isdigit()
            ]
        elif name.startswith(COMBINE_PREFIX) and name.removeprefix(COMBINE_PREFIX).isdigit():
            combinations[int(name.removeprefix(COMBINE_PREFIX))] = form.get(name, "")
    return selections, combinations
