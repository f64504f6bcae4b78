"""The audit log: every administrative change, filtered by entity, action, user, text and dates."""

from flask import request

from gaissa.admin.blueprint import bp, get_or_404, page_arg
from gaissa.services import audit
from gaissa.web.htmx import render


@bp.get("/audit")
def audit_log():
    criteria, errors = audit.read_filter(request.args)
    # Invalid dates are shown at their fields; searching without them would list entries the user did not ask for.
    result = audit.search(criteria, page_arg()) if not errors else None
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render("admin/audit.html", "admin/partials/_audit_results.html", result=result, criteria=criteria,
                  errors=errors, raw=request.args, args=args, entities=audit.entities(), actions=audit.actions())


@bp.get("/audit/<int:entry_id>")
def audit_entry(entry_id: int):
    entry = get_or_404(audit.get_entry(entry_id))
    return render("admin/audit_entry.html", "admin/partials/_audit_entry.html", entry=entry,
                  changed=audit.changed_fields(entry.before, entry.after))
