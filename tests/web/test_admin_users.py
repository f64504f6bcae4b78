"""The users screen (invite, role, deactivate, reset password) and the audit log browser."""

import re

import pytest
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import AuditEntry, Role, User
from gaissa.services import accounts, audit, tokens
from tests.web.admin_support import (  # noqa: F401  (fast_password_hashing is an autouse fixture)
    HTMX,
    csrf_token_in_fresh_context,
    fast_password_hashing,
    post,
    request_in_fresh_context,
)


@pytest.fixture
def manager(client, auth):
    auth.login()
    return client


def make_user(email="someone@example.org", role=Role.USER):
    user = accounts.create_user(email, "a long enough password", role=role)
    db.session.commit()
    return user


def link_in(text: str) -> str:
    match = re.search(r'<p class="link-box" id="password-link">http://localhost(/auth/set-password/[^<]+)</p>', text)
    assert match, "no set-password link on the page"
    return match.group(1)


def test_users_list_and_search(manager):
    make_user("alice@example.org")
    make_user("bob@example.org")
    page = manager.get("/admin/users").get_data(as_text=True)
    assert "alice@example.org" in page
    assert "manager@example.org" in page
    assert "(you)" in page
    fragment = manager.get("/admin/users?q=ALI", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    assert "alice@example.org" in fragment
    assert "bob@example.org" not in fragment


def test_invite_gives_a_working_one_time_link(manager, client):
    response = post(manager, "/admin/users/invite", {"email": "New.Manager@example.org", "role": "qa_manager"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Invited new.manager@example.org." in text
    url = link_in(text)
    invited = accounts.find_user("new.manager@example.org")
    assert accounts.status_of(invited) == "waiting for password"
    audit_entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "invite"))
    assert audit_entry.after["email"] == "new.manager@example.org"
    assert "password_hash" not in audit_entry.after

    post(client, "/auth/logout")
    assert post(client, url, {"password": "my own passphrase", "confirm": "my own passphrase"}).status_code == 302
    response = post(client, "/auth/login", {"email": "new.manager@example.org", "password": "my own passphrase"})
    assert response.headers["Location"] == "/admin/"


def test_invite_rejects_bad_and_taken_emails(manager):
    bad = post(manager, "/admin/users/invite", {"email": "not-an-email", "role": "user"})
    assert bad.status_code == 400
    assert "is not an email address" in bad.get_data(as_text=True)
    taken = post(manager, "/admin/users/invite", {"email": "MANAGER@example.org", "role": "user"})
    assert taken.status_code == 400
    assert "already exists" in taken.get_data(as_text=True)
    role = post(manager, "/admin/users/invite", {"email": "x@example.org", "role": "admin"})
    assert "Unknown role" in role.get_data(as_text=True)
    assert accounts.find_user("x@example.org") is None


def test_invite_page_and_fragment(manager):
    page = manager.get("/admin/users/invite").get_data(as_text=True)
    assert "Create the account" in page
    assert '<option selected value="user">User</option>' in page
    assert '<option value="qa_manager">QA manager</option>' in page
    assert "<html" not in manager.get("/admin/users/invite", headers=HTMX).get_data(as_text=True)


def test_user_detail_page_and_fragment(manager):
    user = make_user()
    page = manager.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "someone@example.org" in page
    assert "Deactivate" in page
    fragment = manager.get(f"/admin/users/{user.id}", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment


def test_deactivate_ends_sessions_and_blocks_login(manager, app):
    user = make_user()
    other = app.test_client()
    form = {"email": user.email, "password": "a long enough password", "csrf_token": csrf_token_in_fresh_context(app, other)}
    assert request_in_fresh_context(app, other, "POST", "/auth/login", data=form).status_code == 302
    assert request_in_fresh_context(app, other, "GET", "/auth/account").status_code == 200

    response = post(manager, f"/admin/users/{user.id}/active", {"active": "0"})
    assert response.status_code == 303
    db.session.refresh(user)
    assert user.active is False
    assert request_in_fresh_context(app, other, "GET", "/auth/account").status_code == 303
    form["csrf_token"] = csrf_token_in_fresh_context(app, other)
    assert request_in_fresh_context(app, other, "POST", "/auth/login", data=form).status_code == 400

    assert post(manager, f"/admin/users/{user.id}/active", {"active": "1"}).status_code == 303
    db.session.refresh(user)
    assert user.active is True
    actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(user.id))))
    assert actions == ["deactivate", "reactivate"]


def test_manager_cannot_deactivate_or_demote_themselves(manager):
    me = accounts.find_user("manager@example.org")
    response = post(manager, f"/admin/users/{me.id}/active", {"active": "0"})
    assert response.status_code == 400
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    demote = post(manager, f"/admin/users/{me.id}/role", {"role": "user"})
    assert demote.status_code == 400
    assert "You cannot remove your own QA manager role" in demote.get_data(as_text=True)
    db.session.refresh(me)
    assert me.is_manager


def test_last_manager_cannot_be_removed(app):
    only = accounts.create_user("only@example.org", "a long enough password", role=Role.QA_MANAGER)
    actor = accounts.create_user("actor@example.org", "a long enough password", role=Role.QA_MANAGER)
    for user in db.session.scalars(select(User).where(User.role == Role.QA_MANAGER, User.id.notin_([only.id, actor.id]))):
        user.active = False
    actor.active = False
    with pytest.raises(accounts.AccountError, match="last active QA manager"):
        accounts.set_active(only, False, actor)
    with pytest.raises(accounts.AccountError, match="last active QA manager"):
        accounts.set_role(only, Role.USER, actor)


def test_role_change(manager):
    user = make_user()
    response = post(manager, f"/admin/users/{user.id}/role", {"role": "qa_manager"}, follow_redirects=True)
    assert "someone@example.org is now QA manager." in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.is_manager


def test_reset_password_disables_the_old_one(manager, app):
    user = make_user()
    response = post(manager, f"/admin/users/{user.id}/reset-password")
    assert response.status_code == 200
    url = link_in(response.get_data(as_text=True))
    assert accounts.authenticate(user.email, "a long enough password") is None
    other = app.test_client()
    form = {"password": "a fresh passphrase", "confirm": "a fresh passphrase", "csrf_token": csrf_token_in_fresh_context(app, other)}
    assert request_in_fresh_context(app, other, "POST", url, data=form).status_code == 302
    assert accounts.authenticate(user.email, "a fresh passphrase") is not None


def test_reset_password_revokes_api_tokens(manager, app):
    user = make_user()
    first = tokens.create_token(user, "laptop")
    second = tokens.create_token(user, "CI")
    tokens.revoke_token(user, second.token.id)
    db.session.commit()
    assert tokens.authenticate(first.secret) is not None

    response = post(manager, f"/admin/users/{user.id}/reset-password")
    text = response.get_data(as_text=True)

    assert ("Their old password no longer works, their sessions are ended and their 1 API token is revoked."
            in text)
    assert tokens.authenticate(first.secret) is None
    db.session.refresh(first.token)
    assert first.token.revoked_at is not None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reset_password"))
    assert entry.summary == "Reset the password of someone@example.org and revoked 1 API token"
    api = app.test_client().get("/api/v1/models", headers={"Authorization": f"Bearer {first.secret}"})
    assert api.status_code == 401


def test_user_detail_says_reset_revokes_tokens(manager):
    user = make_user()

    page = manager.get(f"/admin/users/{user.id}").get_data(as_text=True)

    assert "revokes their API tokens" in page


def test_new_link_only_for_users_without_password(manager):
    invited = accounts.create_user("invited@example.org", None)
    done = make_user()
    db.session.commit()
    assert post(manager, f"/admin/users/{invited.id}/link").status_code == 200
    refused = post(manager, f"/admin/users/{done.id}/link")
    assert refused.status_code == 400
    assert "already has a password" in refused.get_data(as_text=True)


def test_newer_link_replaces_the_older(app):
    link = accounts.invite_user("invited@example.org", Role.USER, app.config["SECRET_KEY"])
    db.session.commit()
    newer = accounts.reset_password(link.user, app.config["SECRET_KEY"])
    with pytest.raises(accounts.AccountError, match="already used or replaced"):
        accounts.user_for_token(link.token, app.config["SECRET_KEY"])
    assert accounts.user_for_token(newer.token, app.config["SECRET_KEY"]) is link.user


# --- Audit log ------------------------------------------------------------------------------------


def test_audit_log_lists_and_filters(manager):
    user = make_user("alice@example.org")
    post(manager, f"/admin/users/{user.id}/role", {"role": "qa_manager"})
    post(manager, "/admin/settings", {"label_enabled": "y"})
    page = manager.get("/admin/audit").get_data(as_text=True)
    assert "Changed the role of alice@example.org to QA manager" in page
    assert "GAISSA ROI Analyzer is now disabled" in page

    by_entity = manager.get("/admin/audit?entity=site_settings", headers=HTMX).get_data(as_text=True)
    assert "<html" not in by_entity
    assert "ROI Analyzer is now disabled" in by_entity
    assert "alice" not in by_entity
    by_text = manager.get("/admin/audit?q=alice", headers=HTMX).get_data(as_text=True)
    assert "alice@example.org" in by_text
    assert "ROI Analyzer" not in by_text
    by_user = manager.get("/admin/audit?user=nobody", headers=HTMX).get_data(as_text=True)
    assert "No entry matches." in by_user
    by_action = manager.get("/admin/audit?action=change_role&user=MANAGER@", headers=HTMX).get_data(as_text=True)
    assert "1 entry." in by_action


def test_audit_log_filters_by_date(manager):
    post(manager, "/admin/settings", {"label_enabled": "y"})
    assert "1 entry." in manager.get("/admin/audit?since=2000-01-01", headers=HTMX).get_data(as_text=True)
    assert "0 entries." in manager.get("/admin/audit?until=2000-01-01", headers=HTMX).get_data(as_text=True)


def test_audit_invalid_date_is_named_at_its_field(manager):
    post(manager, "/admin/settings", {"label_enabled": "y"})

    page = manager.get("/admin/audit?since=2024-13-01").get_data(as_text=True)
    fragment = manager.get("/admin/audit?since=not-a-date", headers=HTMX).get_data(as_text=True)

    assert 'id="audit-since-error">The From date &#39;2024-13-01&#39; is not a valid date; pick one' in page
    assert 'aria-invalid="true" aria-describedby="audit-since-error"' in page
    assert 'value="2024-13-01"' in page
    assert "No entries are listed: correct the dates marked in the filter." in page
    assert "<html" not in fragment
    assert '<div id="audit-since-message" hx-swap-oob="true"><p class="field-error"' in fragment
    assert "The From date &#39;not-a-date&#39; is not a valid date" in fragment
    assert '<div id="audit-until-message" hx-swap-oob="true"></div>' in fragment
    assert "entry." not in fragment


def test_audit_from_after_to_is_explained(manager):
    post(manager, "/admin/settings", {"label_enabled": "y"})

    fragment = manager.get("/admin/audit?since=2025-05-01&until=2025-01-01", headers=HTMX).get_data(as_text=True)
    valid = manager.get("/admin/audit?since=2000-01-01&until=2999-12-31", headers=HTMX).get_data(as_text=True)

    assert ("The To date (2025-01-01) is before the From date (2025-05-01), so no entry can match; swap the two "
            "dates.") in fragment
    assert "0 entries." not in fragment
    assert "1 entry." in valid
    assert '<div id="audit-since-message" hx-swap-oob="true"></div>' in valid


def test_audit_entry_shows_before_and_after(manager):
    post(manager, "/admin/settings", {"label_enabled": "y"})
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity == "site_settings"))
    page = manager.get(f"/admin/audit/{entry.id}").get_data(as_text=True)
    assert "roi_enabled" in page
    assert "changed" in page
    assert "manager@example.org" in page
    assert "<html" not in manager.get(f"/admin/audit/{entry.id}", headers=HTMX).get_data(as_text=True)


def test_audit_record_is_part_of_the_transaction(app):
    audit.record("update", "thing", 1, {"a": 1}, {"a": 2}, "kept")
    db.session.rollback()
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.summary == "kept")) is None


def test_audit_snapshots_are_json_safe(app):
    from datetime import datetime, timezone

    entry = audit.record("update", "thing", 1, {"when": datetime(2024, 1, 2, tzinfo=timezone.utc)},
                         {"inf": float("inf"), "role": Role.QA_MANAGER, "items": ("a", "b")})
    db.session.flush()
    assert entry.before == {"when": "2024-01-02T00:00:00+00:00"}
    assert entry.after == {"inf": "inf", "role": "qa_manager", "items": ["a", "b"]}
    assert entry.user_id is None
