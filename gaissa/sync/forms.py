"""The form that starts a sync."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField
from wtforms.validators import NumberRange, Optional


class StartSyncForm(FlaskForm):
    full = BooleanField("Full sync: read every model, not only those changed since the last sync")
    limit = IntegerField(
        "Stop after this many models (optional)",
        validators=[Optional(), NumberRange(min=1, message="Enter a whole number of models of at least 1, or leave it empty.")],
    )
