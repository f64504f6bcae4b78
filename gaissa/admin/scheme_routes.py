"""Rating scheme versions: the draft with its differences and impact, publication, and past versions."""

from flask import flash, url_for
from flask_login import current_user

from gaissa.admin.blueprint import bp, get_or_404, phase_arg
from gaissa.admin.forms import PublishForm
from gaissa.extensions import db
from gaissa.services import scheme_admin
from gaissa.web.htmx import redirect_htmx_aware, render

IMPACT_ROWS_SHOWN = 200


@bp.get("/schemes")
def schemes():
    phase = phase_arg()
    return _schemes_page(phase, PublishForm())


@bp.get("/schemes/impact")
def scheme_impact():
    phase = phase_arg()
    draft = scheme_admin.draft_of(phase)
    impact = scheme_admin.impact(draft) if draft is not None else None
    return render("admin/scheme_impact.html", "admin/partials/_scheme_impact.html", phase=phase, draft=draft,
                  impact=impact, limit=IMPACT_ROWS_SHOWN)


@bp.post("/schemes/publish")
def publish_scheme():
    phase = phase_arg()
    form = PublishForm()
    if not form.validate_on_submit():
        return _schemes_page(phase, form, status=400)
    try:
        scheme = scheme_admin.publish(phase, form.summary.data, current_user)
    except scheme_admin.SchemeError as exc:
        return _schemes_page(phase, form, status=400, error=str(exc))
    db.session.commit()
    flash(f"Published the {phase} rating scheme {scheme.label}. New evaluations are rated with it; stored "
          "evaluations keep the grades of the version they were rated with.", "success")
    return redirect_htmx_aware(url_for("admin.schemes", phase=phase))


@bp.post("/schemes/discard")
def discard_scheme_draft():
    phase = phase_arg()
    discarded = scheme_admin.discard_draft(phase)
    db.session.commit()
    flash(f"Discarded the {phase} draft." if discarded else f"There was no {phase} draft.", "success")
    return redirect_htmx_aware(url_for("admin.schemes", phase=phase))


@bp.get("/schemes/<int:scheme_id>")
def scheme_version(scheme_id: int):
    scheme = get_or_404(scheme_admin.get_scheme(scheme_id))
    previous = scheme_admin.previous_version(scheme)
    return render("admin/scheme_version.html", "admin/partials/_scheme_entries.html", scheme=scheme,
                  previous=previous, changes=scheme_admin.diff(previous, scheme),
                  authors=scheme_admin.authors([scheme]))


def _schemes_page(phase: str, form: PublishForm, status: int = 200, error: str = ""):
    draft = scheme_admin.draft_of(phase)
    latest = scheme_admin.latest_published(phase)
    versions = scheme_admin.versions(phase)
    return render(
        "admin/schemes.html", "admin/partials/_scheme_draft.html", status=status, phase=phase, draft=draft,
        latest=latest, versions=versions, authors=scheme_admin.authors(versions), form=form,
        changes=scheme_admin.diff(latest, draft) if draft is not None else [],
        problems=scheme_admin.draft_problems(draft) if draft is not None else [], error=error,
    )
