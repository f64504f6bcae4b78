"""Who may use the administration: every admin URL and write endpoint as anonymous, plain user and QA manager."""

import re

import pytest
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import AuditEntry, CalculationTool, InfoField, Metric, RatingScheme, Role
from gaissa.services import accounts, audit
from tests.conftest import csrf_token
from tests.web.admin_support import (  # noqa: F401  (fast_password_hashing is an autouse fixture)
    fast_password_hashing,
    metric_form,
    request_in_fresh_context,
    store_evaluation,
)

# (method, URL with {placeholders}, form data, status for a QA manager)
MATRIX = [
    ("GET", "/admin/", None, 200),
    ("GET", "/admin/settings", None, 200),
    ("POST", "/admin/settings", {"label_enabled": "y", "roi_enabled": "y"}, 303),
    ("GET", "/admin/metrics?phase=training", None, 200),
    ("GET", "/admin/metrics/new?phase=inference", None, 200),
    ("POST", "/admin/metrics/new?phase=inference", metric_form(), 303),
    ("GET", "/admin/metrics/preview?direction=lower_is_better&b1=1&b2=2&b3=3&b4=4", None, 200),
    ("GET", "/admin/metrics/{metric}", None, 200),
    ("POST", "/admin/metrics/{metric}", metric_form(name="Training energy", weight="0.5"), 303),
    ("GET", "/admin/metrics/{metric}/delete", None, 200),
    ("POST", "/admin/metrics/{metric}/delete", {}, 303),
    ("GET", "/admin/metrics/{metric}/calibrate", None, 200),
    ("POST", "/admin/metrics/{metric}/calibrate", {"b1": "1", "b2": "2", "b3": "3", "b4": "4"}, 400),
    ("GET", "/admin/schemes?phase=training", None, 200),
    ("GET", "/admin/schemes/impact?phase=training", None, 200),
    ("GET", "/admin/schemes/{scheme}", None, 200),
    ("POST", "/admin/schemes/publish", {"phase": "training", "summary": "Nothing to publish"}, 400),
    ("POST", "/admin/schemes/discard", {"phase": "training"}, 303),
    ("GET", "/admin/info-fields?phase=inference", None, 200),
    ("GET", "/admin/info-fields/new?phase=inference", None, 200),
    ("POST", "/admin/info-fields/new?phase=inference", {"name": "GPU count", "options": ""}, 303),
    ("GET", "/admin/info-fields/{field}", None, 200),
    ("POST", "/admin/info-fields/{field}", {"name": "Hardware", "description": "", "options": ""}, 303),
    ("GET", "/admin/info-fields/{field}/delete", None, 200),
    ("POST", "/admin/info-fields/{field}/delete", {}, 303),
    ("GET", "/admin/calculation-tools", None, 200),
    ("GET", "/admin/calculation-tools/new", None, 200),
    ("POST", "/admin/calculation-tools/new", {"name": "Zeus", "file_format": "tabular"}, 303),
    ("GET", "/admin/calculation-tools/{tool}", None, 200),
    ("POST", "/admin/calculation-tools/{tool}", {"name": "CodeCarbon", "file_format": "codecarbon"}, 303),
    ("GET", "/admin/calculation-tools/{tool}/delete", None, 200),
    ("POST", "/admin/calculation-tools/{tool}/delete", {}, 303),
    ("GET", "/admin/moderation", None, 200),
    ("GET", "/admin/moderation/models/{model}", None, 200),
    ("POST", "/admin/moderation/models/{model}/hidden", {"hidden": "1"}, 303),
    ("GET", "/admin/moderation/models/{model}/delete", None, 200),
    ("POST", "/admin/moderation/models/{model}/delete", {}, 303),
    ("POST", "/admin/moderation/evaluations/{evaluation}/hidden", {"hidden": "1"}, 303),
    ("GET", "/admin/moderation/evaluations/{evaluation}/delete", None, 200),
    ("POST", "/admin/moderation/evaluations/{evaluation}/delete", {}, 303),
    ("GET", "/admin/users", None, 200),
    ("GET", "/admin/users/invite", None, 200),
    ("POST", "/admin/users/invite", {"email": "new@example.org", "role": "user"}, 200),
    ("GET", "/admin/users/{user}", None, 200),
    ("POST", "/admin/users/{user}/role", {"role": "qa_manager"}, 303),
    ("POST", "/admin/users/{user}/active", {"active": "0"}, 303),
    ("POST", "/admin/users/{user}/reset-password", {}, 200),
    ("POST", "/admin/users/{invited}/link", {}, 200),
    ("GET", "/admin/audit", None, 200),
    ("GET", "/admin/audit/{audit}", None, 200),
]


@pytest.fixture
def ids(app):
    """Ids of one object of each kind the URLs name."""
    evaluation = store_evaluation("training", {"energy": "2 kWh"})
    other = accounts.create_user("other@example.org", "another long password", role=Role.USER)
    invited = accounts.create_user("invited@example.org", None, role=Role.USER)
    entry = audit.record("test", "nothing", None, None, None, "access test")
    db.session.commit()
    return {
        "metric": db.session.scalar(select(Metric.id).where(Metric.key == "energy")),
        "scheme": db.session.scalar(select(RatingScheme.id).where(RatingScheme.phase == "training")),
        "field": db.session.scalar(select(InfoField.id).where(InfoField.phase == "training", InfoField.key == "hardware_used")),
        "tool": db.session.scalar(select(CalculationTool.id).where(CalculationTool.name == "CodeCarbon")),
        "model": evaluation.model_id,
        "evaluation": evaluation.id,
        "user": other.id,
        "invited": invited.id,
        "audit": entry.id,
    }


def _request(client, method, url, data, with_token=True):
    if method == "GET":
        return client.get(url)
    form = dict(data or {})
    if with_token:
        form["csrf_token"] = csrf_token(client)
    return client.post(url, data=form)


def _case_id(case):
    return f"{case[0]} {case[1]}"


@pytest.mark.parametrize("case", MATRIX, ids=_case_id)
def test_anonymous_is_sent_to_login(client, ids, case):
    method, url, data, _ = case
    response = _request(client, method, url.format(**ids), data)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/auth/login?next=")


@pytest.mark.parametrize("case", MATRIX, ids=_case_id)
def test_plain_user_is_forbidden(client, auth, ids, case):
    auth.login("plain@example.org", role="user")
    method, url, data, _ = case
    count_before = db.session.scalar(select(db.func.count(AuditEntry.id)))
    response = _request(client, method, url.format(**ids), data)
    assert response.status_code == 403
    assert db.session.scalar(select(db.func.count(AuditEntry.id))) == count_before


@pytest.mark.parametrize("case", MATRIX, ids=_case_id)
def test_manager_is_allowed(client, auth, ids, case):
    auth.login()
    method, url, data, expected = case
    response = _request(client, method, url.format(**ids), data)
    assert response.status_code == expected, response.get_data(as_text=True)[-2000:]


@pytest.mark.parametrize("case", [case for case in MATRIX if case[0] == "POST"], ids=_case_id)
def test_manager_post_without_csrf_is_rejected(client, auth, ids, case):
    auth.login()
    method, url, data, _ = case
    count_before = db.session.scalar(select(db.func.count(AuditEntry.id)))
    response = _request(client, method, url.format(**ids), data, with_token=False)
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(AuditEntry.id))) == count_before


def test_deactivated_manager_loses_access_at_once(app, client, auth):
    auth.login()
    assert request_in_fresh_context(app, client, "GET", "/admin/").status_code == 200
    user = accounts.find_user("manager@example.org")
    user.active = False
    db.session.commit()
    assert request_in_fresh_context(app, client, "GET", "/admin/").status_code == 303


def test_matrix_covers_every_admin_rule(app):
    """A new admin endpoint must be added to the matrix above."""
    covered = {(method, re.sub(r"\?.*$", "", url)) for method, url, _, _ in MATRIX}
    covered_patterns = {(method, re.sub(r"\{\w+\}", "<id>", url)) for method, url in covered}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] != "admin":
            continue
        path = re.sub(r"<[^>]+>", "<id>", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert (method, path) in covered_patterns, f"{method} {rule.rule} is missing from MATRIX"


def test_admin_link_shows_only_for_managers(client, auth):
    assert "/admin/" not in client.get("/").get_data(as_text=True)
    auth.login("plain@example.org", role="user")
    assert 'href="/admin/"' not in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login()
    assert 'href="/admin/"' in client.get("/").get_data(as_text=True)


def test_index_links_every_screen(client, auth, app):
    auth.login()
    page = client.get("/admin/").get_data(as_text=True)
    for url in ("/admin/settings", "/admin/metrics", "/admin/schemes", "/admin/info-fields", "/admin/calculation-tools",
                "/admin/moderation", "/admin/users", "/admin/audit"):
        assert f'href="{url}"' in page, url
    with app.test_request_context():
        from flask import url_for

        for endpoint in ("sync.index", "roi_admin.index"):
            if endpoint in app.view_functions:
                assert f'href="{url_for(endpoint)}"' in page, endpoint
    fragment = client.get("/admin/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment
    assert 'class="cards-admin"' in fragment
