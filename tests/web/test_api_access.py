"""Who may call the API: bearer tokens, session cookies with CSRF, anonymous JSON writes and their rate limit,
manager-only operations and the tool switches."""

import pytest
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import Evaluation, MLModel, SiteSettings
from gaissa.models.tokens import ApiRateCounter
from gaissa.services import accounts, tokens
from tests.conftest import csrf_token
from tests.web.test_api import add_evaluation, add_model, bearer, make_token

PROBLEM = "application/problem+json"


def _switch(tool: str, enabled: bool) -> None:
    settings = db.session.get(SiteSettings, 1)
    setattr(settings, f"{tool}_enabled", enabled)
    db.session.commit()


# ---------------------------------------------------------------- tokens


def test_token_user_creates_models(client):
    secret = make_token("author@example.org")

    body = client.post("/api/v1/models", json={"name": "Token model"}, headers=bearer(secret)).get_json()

    assert db.session.get(MLModel, body["id"]).created_by_id == accounts.find_user("author@example.org").id


@pytest.mark.parametrize("header", ["Bearer gaissa_not-a-real-token", "Bearer ", "Token abc", "Basic dXNlcjpwYXNz"])
def test_bad_authorization_is_401(client, header):
    response = client.get("/api/v1/models", headers={"Authorization": header})

    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_refused(client):
    secret = make_token("revoker@example.org")
    user = accounts.find_user("revoker@example.org")
    token = tokens.authenticate(secret)
    tokens.revoke_token(user, token.id)
    db.session.commit()

    response = client.get("/api/v1/models", headers=bearer(secret))

    assert response.status_code == 401
    assert "revoked" in response.get_json()["detail"]


def test_deactivated_users_token_is_refused(client):
    secret = make_token("leaver@example.org")
    accounts.find_user("leaver@example.org").active = False
    db.session.commit()

    assert client.get("/api/v1/models", headers=bearer(secret)).status_code == 401


def test_token_use_is_recorded(client):
    secret = make_token("recorded@example.org")

    client.get("/api/v1/models", headers=bearer(secret))

    db.session.expire_all()
    assert tokens.authenticate(secret).last_used_at is not None


# ---------------------------------------------------------------- manager-only operations


def test_manager_operation_without_token_is_401(client):
    response = client.post("/api/v1/metrics", json={})

    assert response.status_code == 401
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_manager_operation_with_user_token_is_403(client):
    response = client.post("/api/v1/info-fields", json={"phase": "training", "name": "Cluster"},
                           headers=bearer(make_token()))

    assert response.status_code == 403
    assert response.mimetype == PROBLEM


def test_demoted_manager_loses_manager_rights(client):
    secret = make_token("demoted@example.org", role="qa_manager")
    accounts.find_user("demoted@example.org").role = "user"
    db.session.commit()

    assert client.post("/api/v1/info-fields", json={"phase": "training", "name": "Cluster"},
                       headers=bearer(secret)).status_code == 403


# ---------------------------------------------------------------- session cookies and CSRF


def test_session_write_without_csrf_is_refused(client, auth):
    auth.login("member@example.org", role="user")

    response = client.post("/api/v1/models", json={"name": "Cookie model"})

    assert response.status_code == 403
    assert "X-CSRFToken" in response.get_json()["detail"]
    assert db.session.scalar(select(MLModel).where(MLModel.name == "Cookie model")) is None


def test_session_write_with_csrf_header_is_the_user(client, auth):
    auth.login("member@example.org", role="user")

    response = client.post("/api/v1/models", json={"name": "Cookie model"},
                           headers={"X-CSRFToken": csrf_token(client)})

    assert response.status_code == 201
    user = accounts.find_user("member@example.org")
    assert db.session.get(MLModel, response.get_json()["id"]).created_by_id == user.id


def test_bearer_write_skips_csrf(client, auth):
    auth.login("member@example.org", role="user")

    response = client.post("/api/v1/models", json={"name": "Bearer model"}, headers=bearer(make_token()))

    assert response.status_code == 201


def test_session_manager_cannot_write_catalogue_without_csrf(client, auth):
    auth.login()

    response = client.post("/api/v1/info-fields", json={"phase": "training", "name": "Cluster"})

    assert response.status_code == 403


# ---------------------------------------------------------------- anonymous writes


def test_anonymous_form_post_is_415(client):
    response = client.post("/api/v1/models", data={"name": "Form model"})

    assert response.status_code == 415
    assert response.mimetype == PROBLEM


def test_anonymous_writes_are_rate_limited_per_address(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "API_ANONYMOUS_WRITES_PER_HOUR", 3)
    first = {"REMOTE_ADDR": "192.0.2.10"}
    second = {"REMOTE_ADDR": "192.0.2.11"}

    statuses = [client.post("/api/v1/models", json={"name": f"Limited {n}"}, environ_base=first).status_code
                for n in range(3)]
    limited = client.post("/api/v1/models", json={"name": "Limited 4"}, environ_base=first)
    other_address = client.post("/api/v1/models", json={"name": "Other address"}, environ_base=second)
    with_token = client.post("/api/v1/models", json={"name": "With token"}, headers=bearer(make_token()),
                             environ_base=first)

    assert statuses == [201, 201, 201]
    assert limited.status_code == 429
    assert limited.mimetype == PROBLEM
    assert 1 <= int(limited.headers["Retry-After"]) <= 3600
    assert other_address.status_code == 201
    assert with_token.status_code == 201
    assert db.session.scalar(select(MLModel).where(MLModel.name == "Limited 4")) is None


def test_rate_limit_counts_live_in_the_database(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "API_ANONYMOUS_WRITES_PER_HOUR", 100)
    address = {"REMOTE_ADDR": "198.51.100.7"}

    client.post("/api/v1/models", json={"name": "Counted 1"}, environ_base=address)
    client.post("/api/v1/models", json={}, environ_base=address)

    counters = db.session.scalars(select(ApiRateCounter).where(ApiRateCounter.address == "198.51.100.7")).all()
    assert [counter.count for counter in counters] == [2]


def test_reads_are_not_rate_limited(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "API_ANONYMOUS_WRITES_PER_HOUR", 1)

    statuses = {client.get("/api/v1/models", environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code
                for _ in range(5)}

    assert statuses == {200}


# ---------------------------------------------------------------- tool switches


def test_label_switched_off_hides_label_operations(client):
    model = add_model("Switched model")
    training = add_evaluation(model)
    manager = make_token("boss@example.org", role="qa_manager")
    _switch("label", False)

    assert client.get("/api/v1/models").status_code == 404
    assert client.post("/api/v1/models", json={"name": "x"}).status_code == 404
    assert client.get(f"/api/v1/models/{model.id}/trainings/{training.id}/label.json").status_code == 404
    assert client.get("/api/v1/metrics").status_code == 404
    assert client.get("/api/v1/models", headers=bearer(manager)).status_code == 200
    assert client.get("/api/v1/metrics", headers=bearer(manager)).status_code == 200
    assert client.get("/api/v1/statistics").get_json()["label"] is None
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_roi_switched_off_hides_roi_operations(client):
    manager = make_token("boss@example.org", role="qa_manager")
    _switch("roi", False)

    assert client.get("/api/v1/roi/analyses/1").status_code == 404
    assert "switched off" in client.get("/api/v1/roi/analyses/1").get_json()["detail"]
    assert client.get("/api/v1/roi/analyses/1", headers=bearer(manager)).get_json()["detail"].startswith("No ROI")
    assert client.get("/api/v1/statistics").get_json()["roi"] is None
    assert client.get("/api/v1/models").status_code == 200


def test_evaluation_count_unchanged_by_refused_writes(client):
    model = add_model("Refused model")
    before = len(db.session.scalars(select(Evaluation).where(Evaluation.model_id == model.id)).all())

    client.post(f"/api/v1/models/{model.id}/trainings", data="energy=3")
    client.post(f"/api/v1/models/{model.id}/trainings", data="{broken", content_type="application/json")

    assert len(db.session.scalars(select(Evaluation).where(Evaluation.model_id == model.id)).all()) == before
