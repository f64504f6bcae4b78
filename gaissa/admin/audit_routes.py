"""The audit log: every administrative change, filtered by entity, action, user, text and dates."""

from datetime import date

from flask import request

from gaissa.admin.blueprint import bp, get_or_404, page_arg
from gaissa.services import audit
from gaissa.web.htmx import render


@bp.get("/audit")
def audit_log():
    criteria = audit.AuditFilter(
        entity=request.args.get("entity", ""),
        action=request.args.get("action", ""),
        user_email=request.args.get("user", ""),
        text=request.args.get("q", ""),
        since=_date_arg("since"),
        until=_date_arg("until"),
    )
    result = audit.search(criteria, page_arg())
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render("admin/audit.html", "admin/partials/_audit_results.html", result=result, criteria=criteria,
                  args=args, entities=audit.entities(), actions=audit.actions())


@bp.get("/audit/<int:entry_id>")
def audit_entry(entry_id: int):
    entry = get_or_404(audit.get_entry(entry_id))
    return render("admin/audit_entry.html", "admin/partials/_audit_entry.html", entry=entry,
                  changed=audit.changed_fields(entry.before, entry.after))


def _date_arg(name: str) -> date | None:
    text = request.args.get(name, "").strip()
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
