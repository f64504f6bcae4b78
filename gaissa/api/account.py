"""Account pages of the API: create, list and revoke personal API tokens."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from gaissa.extensions import db
from gaissa.services import tokens
from gaissa.web.htmx import render, wants_fragment

bp = Blueprint("account", __name__)


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[
        DataRequired("Enter a name for the token, e.g. the machine or script that will use it."),
        Length(max=tokens.MAX_NAME_LENGTH, message=f"Use at most {tokens.MAX_NAME_LENGTH} characters."),
    ])


def _page(form: TokenForm, new_token: tokens.NewToken | None = None, status: int = 200):
    return render_template("api/tokens.html", form=form, tokens=tokens.list_tokens(current_user),
                           new_token=new_token), status


@bp.get("/tokens")
@login_required
def token_list():
    return _page(TokenForm())


@bp.post("/tokens")
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    try:
        new_token = tokens.create_token(current_user, form.name.data)
    except tokens.TokenError as exc:
        form.name.errors.append(str(exc))
        return _page(form, status=422)
    db.session.commit()
    # The secret is shown in this response only: it is not stored, so a redirect could not show it.
    return _page(TokenForm(formdata=None), new_token=new_token, status=201)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    token = tokens.revoke_token(current_user, token_id)
    if token is None:
        abort(404, description="You have no API token with that id.")
    db.session.commit()
    if wants_fragment():
        return render("api/tokens.html", "api/partials/_token_row.html", token=token)
    flash(f"The token {token.name!r} is revoked; requests that send it are now refused.", "success")
    return redirect(url_for("account.token_list"), code=303)
