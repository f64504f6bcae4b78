"""Login and logout."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from gaissa.auth.forms import LoginForm
from gaissa.auth.login import safe_next_url
from gaissa.extensions import db
from gaissa.services import accounts

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            db.session.commit()
            return redirect(safe_next_url(request.args.get("next")) or url_for("admin.index"))
        form.password.errors.append("Unknown email or wrong password.")
    return render_template("auth/login.html", form=form), (200 if request.method == "GET" or form.errors == {} else 400)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        accounts.end_sessions(current_user)
        db.session.commit()
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("web.home"))
