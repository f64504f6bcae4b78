"""Tool switches: enable or disable GAISSALabel and the ROI Analyzer."""

from flask import flash, url_for

from gaissa.admin.blueprint import bp
from gaissa.admin.forms import SettingsForm
from gaissa.extensions import db
from gaissa.services import site, site_admin
from gaissa.web.htmx import redirect_htmx_aware, render, wants_fragment


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    current = site.get_settings_or_defaults()
    form = SettingsForm(data={"label_enabled": current.label_enabled, "roi_enabled": current.roi_enabled})
    if not form.validate_on_submit():
        return render("admin/settings.html", "admin/partials/_settings_form.html", form=form, saved=[])

    changes = site_admin.set_switches(form.label_enabled.data, form.roi_enabled.data)
    db.session.commit()
    message = "; ".join(changes) + "." if changes else "Nothing changed."
    if wants_fragment():
        return render("admin/settings.html", "admin/partials/_settings_form.html", form=form, saved=[message])
    flash(message, "success")
    return redirect_htmx_aware(url_for("admin.settings"))
