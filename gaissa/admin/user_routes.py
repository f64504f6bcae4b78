"""Users: list and search, invite, change role, deactivate or reactivate, reset the password."""

from flask import current_app, flash, request, url_for
from flask_login import current_user

from gaissa.admin.blueprint import bp, get_or_404
from gaissa.admin.forms import InviteForm, RoleForm
from gaissa.extensions import db
from gaissa.services import accounts
from gaissa.web.htmx import redirect_htmx_aware, render


@bp.get("/users")
def users():
    text = request.args.get("q", "")
    return render("admin/users.html", "admin/partials/_user_rows.html", users=accounts.list_users(text), q=text,
                  form=InviteForm(), status_of=accounts.status_of, role_names=accounts.ROLE_NAMES)


@bp.route("/users/invite", methods=["GET", "POST"])
def invite_user():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            link = accounts.invite_user(form.email.data, form.role.data, current_app.config["SECRET_KEY"])
        except accounts.AccountError as exc:
            form.email.errors = [*form.email.errors, str(exc)]
        else:
            db.session.commit()
            return _show_link(link, f"Invited {link.user.email}.")
    return render("admin/user_invite.html", "admin/partials/_invite_form.html",
                  status=400 if form.is_submitted() else 200, form=form)


@bp.get("/users/<int:user_id>")
def user_detail(user_id: int):
    user = get_or_404(accounts.get_user(user_id))
    return _detail(user, RoleForm(data={"role": user.role}))


@bp.post("/users/<int:user_id>/role")
def set_user_role(user_id: int):
    user = get_or_404(accounts.get_user(user_id))
    form = RoleForm()
    if form.validate_on_submit():
        try:
            accounts.set_role(user, form.role.data, current_user)
        except accounts.AccountError as exc:
            form.role.errors = [*form.role.errors, str(exc)]
        else:
            db.session.commit()
            flash(f"{user.email} is now {accounts.ROLE_NAMES[user.role]}.", "success")
            return redirect_htmx_aware(url_for("admin.user_detail", user_id=user.id))
    return _detail(user, form, status=400)


@bp.post("/users/<int:user_id>/active")
def set_user_active(user_id: int):
    user = get_or_404(accounts.get_user(user_id))
    active = request.form.get("active") == "1"
    try:
        accounts.set_active(user, active, current_user)
    except accounts.AccountError as exc:
        return _detail(user, RoleForm(data={"role": user.role}), status=400, error=str(exc))
    db.session.commit()
    flash(f"{'Reactivated' if active else 'Deactivated'} {user.email}."
          f"{'' if active else ' Their sessions are ended and they cannot log in.'}", "success")
    return redirect_htmx_aware(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/reset-password")
def reset_user_password(user_id: int):
    user = get_or_404(accounts.get_user(user_id))
    if user.id == current_user.id:
        return _detail(user, RoleForm(data={"role": user.role}), status=400,
                       error="Change your own password on your account page instead.")
    link = accounts.reset_password(user, current_app.config["SECRET_KEY"])
    db.session.commit()
    revoked = link.revoked_tokens
    return _show_link(link, f"Reset the password of {user.email}. Their old password no longer works, their "
                            f"sessions are ended and their {revoked} API token{'s are' if revoked != 1 else ' is'} "
                            "revoked.")


@bp.post("/users/<int:user_id>/link")
def new_password_link(user_id: int):
    user = get_or_404(accounts.get_user(user_id))
    try:
        link = accounts.password_link_for(user, current_app.config["SECRET_KEY"])
    except accounts.AccountError as exc:
        return _detail(user, RoleForm(data={"role": user.role}), status=400, error=str(exc))
    return _show_link(link, f"A new link for {user.email}.")


def _detail(user, form: RoleForm, status: int = 200, error: str = ""):
    return render("admin/user_detail.html", "admin/partials/_user_detail.html", status=status, user=user, form=form,
                  error=error, status_of=accounts.status_of, role_names=accounts.ROLE_NAMES)


def _show_link(link: accounts.PasswordLink, message: str):
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
    url = base + url_for("auth.set_password", token=link.token)
    hours = int(link.expires_in.total_seconds() // 3600)
    return render("admin/user_link.html", "admin/partials/_user_link.html", user=link.user, url=url,
                  message=message, hours=hours)
