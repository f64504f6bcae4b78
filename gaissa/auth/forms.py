"""Forms of the login, set-password and own-account pages."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from gaissa.services.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

_LENGTH_MESSAGE = f"Use at least {MIN_PASSWORD_LENGTH} characters."


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password."),
                                                     Length(max=MAX_PASSWORD_LENGTH)])


class SetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[
        DataRequired(message="Enter a new password."),
        Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH, message=_LENGTH_MESSAGE),
    ])
    confirm = PasswordField("Repeat the new password", validators=[
        DataRequired(message="Repeat the new password."),
        EqualTo("password", message="The two passwords differ; type the same password twice."),
    ])


class ChangePasswordForm(SetPasswordForm):
    current_password = PasswordField("Current password",
                                     validators=[DataRequired(message="Enter your current password.")])
