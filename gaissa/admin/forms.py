"""Forms of the administration screens. They check presence and length; the services check the rest."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from gaissa.services.accounts import ROLE_NAMES
from gaissa.services.metric_admin import DIRECTION_NAMES
from gaissa.services.tool_admin import FILE_FORMATS

BOUNDARY_HELP = "In the metric's unit; a value with another unit such as '1.2 MWh' is converted."


class SettingsForm(FlaskForm):
    label_enabled = BooleanField("Enable GAISSALabel")
    roi_enabled = BooleanField("Enable the GAISSA ROI Analyzer")


class MetricForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Enter the metric's name.")])
    description = TextAreaField("Description")
    unit = StringField("Unit")
    direction = SelectField("Direction", choices=list(DIRECTION_NAMES.items()))
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
    name = StringField("Name", validators=[DataRequired(message="Enter the field's name.")])
    description = TextAreaField("Description")
    options = TextAreaField("Options (one per line; leave empty for free text)")


class ToolForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Enter the tool's name.")])
    description = TextAreaField("Description")
    file_format = SelectField("File format", choices=list(FILE_FORMATS.items()))


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter the email address."), Length(max=254)])
    role = SelectField("Role", choices=list(ROLE_NAMES.items()), default="qa_manager")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=list(ROLE_NAMES.items()))


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
