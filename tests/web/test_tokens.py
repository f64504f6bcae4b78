"""The API tokens pages: create (shown once), list, revoke, with CSRF on."""

import re

from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models.tokens import ApiToken
from gaissa.services import accounts, tokens
from tests.conftest import csrf_token

SECRET = re.compile(r'id="new-token-secret"[^>]*value="(gaissa_[A-Za-z0-9_\-]+)"')


def _login(auth, email="tokens@example.org", role="user"):
    auth.login(email, role=role)
    return accounts.find_user(email)


def _create(client, name="Laptop"):
    return client.post("/account/tokens", data={"name": name, "csrf_token": csrf_token(client)})


def test_tokens_page_needs_login(client):
    response = client.get("/account/tokens")

    assert response.status_code in (302, 303)
    assert "/auth/login" in response.headers["Location"]


def test_create_token_shows_secret_once(client, auth):
    user = _login(auth)

    created = _create(client, "CI runner")
    page = created.get_data(as_text=True)
    secret = SECRET.search(page).group(1)
    later = client.get("/account/tokens").get_data(as_text=True)

    assert created.status_code == 201
    assert "shown only this once" in page
    assert secret not in later
    assert "CI runner" in later
    stored = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert stored.token_hash == tokens.hash_secret(secret)
    assert secret not in (stored.token_hash, stored.prefix)
    assert len(secret) >= 40


def test_created_token_authenticates_the_api(client, auth):
    _login(auth, "scripter@example.org")
    secret = SECRET.search(_create(client).get_data(as_text=True)).group(1)
    auth.logout()

    response = client.post("/api/v1/models", json={"name": "From a script"},
                           headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 201


def test_create_token_requires_name(client, auth):
    _login(auth)

    response = _create(client, "   ")

    assert response.status_code == 422
    assert "Enter a name for the token" in response.get_data(as_text=True)


def test_create_token_without_csrf_is_refused(client, auth):
    user = _login(auth)

    response = client.post("/account/tokens", data={"name": "Sneaky"})

    assert response.status_code == 400
    assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id)) is None


def test_active_token_limit(client, auth):
    user = _login(auth)
    for number in range(tokens.MAX_ACTIVE_TOKENS):
        tokens.create_token(user, f"token {number}")
    db.session.commit()

    response = _create(client, "one too many")

    assert response.status_code == 422
    assert "revoke one" in response.get_data(as_text=True)


def test_revoke_with_htmx_returns_the_row(client, auth):
    _login(auth)
    secret = SECRET.search(_create(client).get_data(as_text=True)).group(1)
    token = tokens.authenticate(secret)

    response = client.post(f"/account/tokens/{token.id}/revoke",
                           headers={"HX-Request": "true", "X-CSRFToken": csrf_token(client)})
    body = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "<html" not in body
    assert f'id="token-{token.id}"' in body
    assert "revoked" in body
    assert "HX-Request" in response.headers["Vary"]
    assert client.get("/api/v1/models", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_revoke_with_plain_form_redirects(client, auth):
    user = _login(auth)
    token = tokens.create_token(user, "Old laptop").token
    db.session.commit()

    response = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(client)})

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/account/tokens")
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None


def test_cannot_revoke_someone_elses_token(client, auth):
    owner = accounts.create_user("owner@example.org", "correct horse battery")
    token = tokens.create_token(owner, "Owner's token").token
    db.session.commit()
    _login(auth, "intruder@example.org")

    response = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(client)})

    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None


def test_manager_page_mentions_manager_rights(client, auth):
    _login(auth, "chief@example.org", role="qa_manager")

    assert "QA manager rights" in client.get("/account/tokens").get_data(as_text=True)
