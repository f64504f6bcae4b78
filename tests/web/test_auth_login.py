"""Login, logout, rate limiting, safe redirects, set-password links and the create-manager command."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import AuditEntry, Role, User
from gaissa.models.accounts import LoginAttempt
from gaissa.models.base import utcnow
from gaissa.services import accounts
from tests.conftest import csrf_token
from tests.web.admin_support import (  # noqa: F401  (fast_password_hashing is an autouse fixture)
    HTMX,
    MANAGER_EMAIL,
    PASSWORD,
    fast_password_hashing,
    post,
    request_in_fresh_context,
)


def make_user(email=MANAGER_EMAIL, role=Role.QA_MANAGER, password=PASSWORD):
    user = accounts.create_user(email, password, role=role)
    db.session.commit()
    return user


def login(client, email=MANAGER_EMAIL, password=PASSWORD, next_url=None):
    url = "/auth/login" + (f"?next={next_url}" if next_url else "")
    return post(client, url, {"email": email, "password": password})


def test_login_page_renders(client):
    response = client.get("/auth/login")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'autocomplete="current-password"' in text
    assert "Log in to save evaluations under your account and to create API tokens." in text
    assert "QA managers log in here" not in text


def test_plain_user_gets_an_actionable_403(client):
    make_user("user@example.org", role=Role.USER)
    login(client, "user@example.org")

    page = client.get("/admin/metrics").get_data(as_text=True)
    fragment = client.get("/admin/metrics", headers=HTMX).get_data(as_text=True)

    assert "403 · Forbidden" in page
    assert "Only QA managers can open this page." in page
    assert "You don&#39;t have the permission" not in page
    assert "<html" not in fragment
    assert "Only QA managers can open this page." in fragment


def test_unknown_page_gets_a_short_404(client):
    page = client.get("/no-such-page").get_data(as_text=True)

    assert "This page does not exist. Check the address, or start again from the home page." in page
    assert "The requested URL was not found" not in page


def test_manager_login_lands_on_admin(client):
    make_user()
    response = login(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_plain_user_login_lands_on_home(client):
    make_user("user@example.org", role=Role.USER)
    response = login(client, "user@example.org")
    assert response.headers["Location"] == "/"
    assert client.get("/admin/").status_code == 403


def test_email_is_case_insensitive(client):
    make_user()
    assert login(client, "  Manager@Example.ORG ").status_code == 302


def test_unknown_user_and_wrong_password_look_alike(client):
    make_user()
    unknown = login(client, "nobody@example.org")
    wrong = login(client, MANAGER_EMAIL, "wrong password here")
    assert unknown.status_code == wrong.status_code == 400
    unknown_text = unknown.get_data(as_text=True)
    wrong_text = wrong.get_data(as_text=True)
    assert "Unknown email or wrong password" in unknown_text
    assert unknown_text.replace("nobody@example.org", "X") == wrong_text.replace(MANAGER_EMAIL, "X")


def test_deactivated_user_cannot_log_in(client):
    user = make_user()
    user.active = False
    db.session.commit()
    response = login(client)
    assert response.status_code == 400
    assert "Unknown email or wrong password" in response.get_data(as_text=True)


def test_invited_user_without_password_cannot_log_in(client, app):
    link = accounts.invite_user("new@example.org", Role.QA_MANAGER, app.config["SECRET_KEY"])
    db.session.commit()
    assert link.user.password_set_at is None
    assert login(client, "new@example.org", "anything at all 123").status_code == 400


def test_empty_fields_get_messages_without_a_check(client):
    response = post(client, "/auth/login", {"email": "", "password": ""})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Enter your email address." in text
    assert "Enter your password." in text
    assert db.session.scalar(select(func.count(LoginAttempt.id))) == 0


def test_login_rehashes_an_outdated_hash(client):
    from argon2 import PasswordHasher

    user = make_user()
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    db.session.commit()
    old_hash = user.password_hash
    assert login(client).status_code == 302
    db.session.refresh(user)
    assert user.password_hash != old_hash
    assert user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize("target", ["/admin/metrics?phase=inference", "/about"])
def test_login_follows_relative_next(client, target):
    make_user()
    response = login(client, next_url=target.replace("?", "%3F").replace("=", "%3D"))
    assert response.headers["Location"] == target


@pytest.mark.parametrize("target", [
    "https://evil.example.org/", "//evil.example.org/x", "/\\evil.example.org", "javascript:alert(1)", "evil.html",
    "http:/evil.example.org",
])
def test_login_ignores_foreign_next(client, target):
    make_user()
    response = post(client, "/auth/login", {"email": MANAGER_EMAIL, "password": PASSWORD},
                    query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_anonymous_admin_request_redirects_with_next(client):
    response = client.get("/admin/metrics?phase=inference")
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/login?next=/admin/metrics?phase%3Dinference"


def test_expired_session_htmx_request_gets_hx_redirect(client):
    headers = {**HTMX, "HX-Current-URL": "http://localhost/admin/metrics?phase=training"}
    response = client.get("/admin/metrics?q=energy", headers=headers)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/auth/login?next=/admin/metrics?phase%3Dtraining"


def test_expired_session_htmx_post_gets_hx_redirect(client):
    token = csrf_token(client)
    response = client.post("/admin/settings", data={"label_enabled": "y"},
                           headers={**HTMX, "X-CSRFToken": token, "HX-Current-URL": "http://localhost/admin/settings"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/auth/login?next=/admin/settings")


def test_logout_ends_the_session_cookie_for_good(app, client):
    user = make_user()
    login(client)
    cookie = client.get_cookie("session")
    token_before = user.session_token
    replay = app.test_client()
    replay.set_cookie(cookie.key, cookie.value, domain=cookie.domain or "localhost", path=cookie.path or "/")
    assert request_in_fresh_context(app, replay, "GET", "/admin/").status_code == 200

    response = post(client, "/auth/logout")
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.session_token != token_before
    # Replaying the cookie that was valid before the logout no longer signs anyone in.
    assert request_in_fresh_context(app, replay, "GET", "/admin/").status_code == 303


def test_logout_says_it_ends_every_session(client):
    make_user()
    login(client)

    response = post(client, "/auth/logout", follow_redirects=True)

    assert "You are logged out on every device where you were logged in." in response.get_data(as_text=True)


def test_account_page_explains_logout(client):
    make_user()
    login(client)

    page = client.get("/auth/account").get_data(as_text=True)

    assert "Logging out ends your sessions on every device" in page


def test_logout_requires_csrf(client):
    make_user()
    login(client)
    assert client.post("/auth/logout").status_code == 400


def test_session_cookie_flags(app, client):
    make_user()
    response = login(client)
    header = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert app.config["SESSION_COOKIE_SECURE"] is False  # tests run over plain HTTP


def test_production_cookies_are_secure():
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.SESSION_COOKIE_HTTPONLY is True
    assert ProductionConfig.REMEMBER_COOKIE_SECURE is True


# --- Rate limiting -------------------------------------------------------------------------------


def test_account_is_throttled_after_five_failures(client):
    make_user()
    for _ in range(5):
        assert login(client, password="wrong password 1").status_code == 400
    response = login(client)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed logins" in response.get_data(as_text=True)


def test_throttle_applies_to_unknown_accounts_too(client):
    for _ in range(5):
        login(client, "ghost@example.org", "whatever password")
    assert login(client, "ghost@example.org", "whatever password").status_code == 429


def test_throttled_attempts_are_not_counted(client):
    make_user()
    for _ in range(8):
        login(client, password="wrong password 1")
    failures = db.session.scalar(select(func.count(LoginAttempt.id)).where(LoginAttempt.succeeded.is_(False)))
    assert failures == 5


def test_throttle_opens_after_the_window(client):
    make_user()
    for _ in range(5):
        login(client, password="wrong password 1")
    assert login(client).status_code == 429
    for attempt in db.session.scalars(select(LoginAttempt)):
        attempt.at = utcnow() - timedelta(minutes=16)
    db.session.commit()
    assert login(client).status_code == 302


def test_success_forgives_earlier_account_failures(client):
    make_user()
    for _ in range(4):
        login(client, password="wrong password 1")
    assert login(client).status_code == 302
    post(client, "/auth/logout")
    for _ in range(4):
        assert login(client, password="wrong password 1").status_code == 400
    assert login(client).status_code == 302


def test_address_is_throttled_across_accounts(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_ADDRESS", 3)
    make_user()
    for index in range(3):
        login(client, f"someone{index}@example.org", "whatever password")
    assert login(client).status_code == 429


def test_other_addresses_are_not_throttled(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_ADDRESS", 3)
    make_user()
    for index in range(3):
        login(client, f"someone{index}@example.org", "whatever password")
    token = csrf_token(client)
    response = client.post("/auth/login", data={"email": MANAGER_EMAIL, "password": PASSWORD, "csrf_token": token},
                           environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert response.status_code == 302


def test_old_attempts_are_pruned(client):
    db.session.add(LoginAttempt(at=utcnow() - timedelta(days=2), email="old@example.org", address="127.0.0.1"))
    db.session.commit()
    login(client, "x@example.org", "whatever password")
    emails = set(db.session.scalars(select(LoginAttempt.email)))
    assert emails == {"x@example.org"}


# --- Set-password links and own password --------------------------------------------------------


def test_invitation_link_sets_the_password_once(client, app):
    link = accounts.invite_user("invited@example.org", Role.QA_MANAGER, app.config["SECRET_KEY"])
    db.session.commit()
    url = f"/auth/set-password/{link.token}"
    assert client.get(url).status_code == 200
    response = post(client, url, {"password": "a brand new passphrase", "confirm": "a brand new passphrase"})
    assert response.status_code == 302
    assert login(client, "invited@example.org", "a brand new passphrase").status_code == 302
    used = client.get(url)
    assert used.status_code == 404
    assert "already used" in used.get_data(as_text=True)


def test_set_password_rejects_short_and_different_passwords(client, app):
    link = accounts.invite_user("invited@example.org", Role.USER, app.config["SECRET_KEY"])
    db.session.commit()
    url = f"/auth/set-password/{link.token}"
    short = post(client, url, {"password": "short", "confirm": "short"})
    assert short.status_code == 400
    assert "at least 12 characters" in short.get_data(as_text=True)
    different = post(client, url, {"password": "a brand new passphrase", "confirm": "another passphrase!"})
    assert different.status_code == 400
    assert "The two passwords differ" in different.get_data(as_text=True)


def test_tampered_link_is_rejected(client, app):
    link = accounts.invite_user("invited@example.org", Role.USER, app.config["SECRET_KEY"])
    db.session.commit()
    response = client.get(f"/auth/set-password/{link.token[:-2]}xx")
    assert response.status_code == 404
    assert "not valid" in response.get_data(as_text=True)


def test_expired_link_is_rejected(app, monkeypatch):
    link = accounts.invite_user("invited@example.org", Role.USER, app.config["SECRET_KEY"])
    monkeypatch.setattr(accounts, "PASSWORD_LINK_LIFETIME", timedelta(seconds=-1))
    with pytest.raises(accounts.AccountError, match="expired"):
        accounts.user_for_token(link.token, app.config["SECRET_KEY"])


def test_account_page_changes_the_password(client):
    make_user()
    login(client)
    response = post(client, "/auth/account", {"current_password": PASSWORD, "password": "the next passphrase",
                                              "confirm": "the next passphrase"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200  # this session stays signed in
    post(client, "/auth/logout")
    assert login(client, password=PASSWORD).status_code == 400
    assert login(client, password="the next passphrase").status_code == 302


def test_account_page_checks_the_current_password(client):
    make_user()
    login(client)
    response = post(client, "/auth/account", {"current_password": "not my password", "password": "the next passphrase",
                                              "confirm": "the next passphrase"})
    assert response.status_code == 400
    assert "The current password is wrong." in response.get_data(as_text=True)


def test_account_page_needs_login(client):
    response = client.get("/auth/account")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/auth/login")


# --- The create-manager command ------------------------------------------------------------------


def test_create_manager_reads_the_environment(runner, monkeypatch):
    monkeypatch.setenv("GAISSA_MANAGER_PASSWORD", "a password from the environment")
    result = runner.invoke(args=["gaissa", "create-manager", "Ops@Example.org"])
    assert result.exit_code == 0, result.output
    assert "Created QA manager ops@example.org" in result.output
    user = accounts.find_user("ops@example.org")
    assert user.role == Role.QA_MANAGER
    assert accounts.authenticate("ops@example.org", "a password from the environment") is user
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity == "user", AuditEntry.entity_id == str(user.id)))
    assert entry.user_id is None
    assert "password_hash" not in entry.after


def test_create_manager_prompts_for_the_password(runner, monkeypatch):
    monkeypatch.delenv("GAISSA_MANAGER_PASSWORD", raising=False)
    result = runner.invoke(args=["gaissa", "create-manager", "ops@example.org"],
                           input="typed password 123\ntyped password 123\n")
    assert result.exit_code == 0, result.output
    assert accounts.authenticate("ops@example.org", "typed password 123") is not None


def test_create_manager_rejects_a_short_password(runner, monkeypatch):
    monkeypatch.setenv("GAISSA_MANAGER_PASSWORD", "short")
    result = runner.invoke(args=["gaissa", "create-manager", "ops@example.org"])
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output
    assert accounts.find_user("ops@example.org") is None


def test_create_manager_update_promotes_an_existing_user(runner, monkeypatch):
    user = make_user("someone@example.org", role=Role.USER)
    user.active = False
    db.session.commit()
    monkeypatch.setenv("GAISSA_MANAGER_PASSWORD", "a replacement password")
    refused = runner.invoke(args=["gaissa", "create-manager", "someone@example.org"])
    assert refused.exit_code == 1
    assert "--update" in refused.output
    result = runner.invoke(args=["gaissa", "create-manager", "someone@example.org", "--update"])
    assert result.exit_code == 0, result.output
    db.session.refresh(user)
    assert user.is_manager
    assert accounts.authenticate("someone@example.org", "a replacement password") is user


def test_user_repr_and_roles():
    assert {role.value for role in Role} <= set(accounts.ROLE_NAMES)
    assert "qa_manager" in repr(User(email="a@example.org", role=Role.QA_MANAGER))
