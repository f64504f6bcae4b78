"""Forms of the administration screens: fields and CSRF only. The services validate every value and report all
errors at once, so drop-down choices are not checked here (validate_choice=False)."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from gaissa.models import Role
from gaissa.services.accounts import ROLE_NAMES
from gaissa.services.metric_admin import DIRECTION_NAMES
from gaissa.services.tool_admin import FILE_FORMATS

try:  # WTForms 3.3 deprecates (value, label) tuples in favour of SelectChoice
    from wtforms.fields.choices import SelectChoice
except ImportError:  # older WTForms
    SelectChoice = None


def _choices(labels: dict[str, str]) -> list:
    if SelectChoice is None:
        return list(labels.items())
    return [SelectChoice(value=value, label=label) for value, label in labels.items()]

BOUNDARY_HELP = "In the metric's unit; a value with another unit such as '1.2 MWh' is converted."


class SettingsForm(FlaskForm):
    label_enabled = BooleanField("Enable GAISSALabel")
    roi_enabled = BooleanField("Enable the GAISSA ROI Analyzer")


class MetricForm(FlaskForm):
    name = StringField("Name")
    description = TextAreaField("Description")
    unit = StringField("Unit")
    direction = SelectField("Direction", choices=_choices(DIRECTION_NAMES), validate_choice=False)
    weight = StringField("Weight")
    how_to_measure = TextAreaField("How to measure")
    recommendations = TextAreaField("Recommendations (one per line)")
    b1 = StringField("A / B boundary")
    b2 = StringField("B / C boundary")
    b3 = StringField("C / D boundary")
    b4 = StringField("D / E boundary")

    def boundary_fields(self):
        return [self.b1, self.b2, self.b3, self.b4]


class CalibrationForm(FlaskForm):
    b1 = StringField("A / B boundary")
    b2 = StringField("B / C boundary")
    b3 = StringField("C / D boundary")
    b4 = StringField("D / E boundary")

    def boundary_fields(self):
        return [self.b1, self.b2, self.b3, self.b4]


class PublishForm(FlaskForm):
    summary = TextAreaField("Change summary", validators=[
        DataRequired(message="Describe the change, e.g. 'Recalibrated energy from 412 evaluations'."),
        Length(max=2000),
    ])


class InfoFieldForm(FlaskForm):
    name = StringField("Name")
    description = TextAreaField("Description")
    options = TextAreaField("Options (one per line; leave empty for free text)")


class ToolForm(FlaskForm):
    name = StringField("Name")
    description = TextAreaField("Description")
    file_format = SelectField("File format", choices=_choices(FILE_FORMATS), validate_choice=False)


class InviteForm(FlaskForm):
    email = EmailField("Email")
    # Most people invited only label models; the manager role is given on purpose.
    role = SelectField("Role", choices=_choices(ROLE_NAMES), default=Role.USER.value, validate_choice=False)


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=_choices(ROLE_NAMES), validate_choice=False)


def attach_errors(form: FlaskForm, errors: dict[str, str]) -> dict[str, str]:
    """Put service errors on the form's fields; return the errors that belong to no field."""
    rest = {}
    for name, message in errors.items():
        form_field = getattr(form, name, None)
        if form_field is not None and hasattr(form_field, "errors"):
            form_field.errors = [*form_field.errors, message]
        else:
            rest[name] = message
    return rest
