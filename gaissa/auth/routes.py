"""Login, logout, choosing a password from a link, and changing one's own password."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from gaissa.auth.forms import ChangePasswordForm, LoginForm, SetPasswordForm
from gaissa.auth.login import client_address, login_throttle, safe_next_url
from gaissa.extensions import db
from gaissa.services import accounts

bp = Blueprint("auth", __name__)
# One message for an unknown email, a wrong password and a deactivated account, so that
# the page reveals nothing about which accounts exist.
LOGIN_FAILED = "Unknown email or wrong password, or the account is deactivated."


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next_url(request.args.get("next"))
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(next_url or _landing_page())
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), (400 if form.is_submitted() else 200)

    result = accounts.sign_in(form.email.data, form.password.data, client_address(), login_throttle())
    db.session.commit()
    if result.throttled:
        minutes = max(1, -(-result.retry_after // 60))
        form.password.errors.append(
            f"Too many failed logins for this account or from your network. Try again in about {minutes} minutes."
        )
        return render_template("auth/login.html", form=form), 429, {"Retry-After": str(result.retry_after)}
    if result.user is None:
        form.password.errors.append(LOGIN_FAILED)
        return render_template("auth/login.html", form=form), 400

    login_user(result.user)
    return redirect(next_url or _landing_page())


@bp.post("/logout")
def logout():
    # Logging out ends the sessions on every device, so a copied or forgotten session cookie stops working too.
    if current_user.is_authenticated:
        accounts.end_sessions(current_user)
        db.session.commit()
    logout_user()
    flash("You are logged out on every device where you were logged in.", "info")
    return redirect(url_for("web.home"))


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    secret = current_app.config["SECRET_KEY"]
    try:
        user = accounts.user_for_token(token, secret)
    except accounts.AccountError as exc:
        return render_template("auth/link_invalid.html", message=str(exc)), 404
    form = SetPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/set_password.html", form=form, user=user), (400 if form.is_submitted() else 200)

    try:
        accounts.set_password_with_token(token, form.password.data, secret)
    except accounts.AccountError as exc:
        form.password.errors.append(str(exc))
        return render_template("auth/set_password.html", form=form, user=user), 400
    db.session.commit()
    flash("Your password is set. Log in with it now.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/account.html", form=form), (400 if form.is_submitted() else 200)

    try:
        accounts.change_password(current_user, form.current_password.data, form.password.data)
    except accounts.AccountError as exc:
        form.current_password.errors.append(str(exc))
        return render_template("auth/account.html", form=form), 400
    db.session.commit()
    # The new session token ended every session, this one included; sign this one in again.
    login_user(current_user._get_current_object())
    flash("Your password is changed. Your other sessions are logged out.", "success")
    return redirect(url_for("auth.account"))


def _landing_page() -> str:
    return url_for("admin.index") if current_user.is_authenticated and current_user.is_manager else url_for("web.home")
