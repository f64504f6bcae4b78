"""Helpers for the administration and account tests: logged-in clients, form posts, stored evaluations."""

import pytest
from argon2 import PasswordHasher

from gaissa.extensions import db
from gaissa.services import evaluations
from tests.conftest import csrf_token

# Argon2id with the lowest cost argon2-cffi accepts: the tests log in hundreds of times, and the
# production parameters (64 MiB, 3 passes) would dominate their run time.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
MANAGER_EMAIL = "manager@example.org"
USER_EMAIL = "user@example.org"
PASSWORD = "correct horse battery"
HTMX = {"HX-Request": "true"}


def post(client, url: str, data: dict | None = None, htmx: bool = False, **kwargs):
    """POST a form with the session's CSRF token (as a field, or as the header htmx sends)."""
    token = csrf_token(client)
    if htmx:
        return client.post(url, data=data or {}, headers={**HTMX, "X-CSRFToken": token}, **kwargs)
    return client.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)


def store_evaluation(phase: str, values: dict, model_name: str = "Spam model", hidden: bool = False):
    """Save an evaluation through the evaluation service, rated with the current scheme, and commit it."""
    model = evaluations.create_model(model_name, author="Tester")
    evaluation = evaluations.create_evaluation(evaluations.EvaluationInput(phase=phase, model_id=model.id, values=values))
    evaluation.hidden = hidden
    db.session.commit()
    return evaluation


def metric_form(**changes) -> dict:
    """A valid metric editor form: a lower-is-better energy metric in kWh."""
    data = {
        "name": "Fine-tuning energy", "unit": "kWh", "direction": "lower_is_better", "weight": "0.2",
        "b1": "1", "b2": "10", "b3": "100", "b4": "1000", "description": "Energy of the fine-tuning run.",
        "how_to_measure": "Run it under CodeCarbon.", "recommendations": "Use fewer epochs.\nUse a smaller model.",
    }
    data.update(changes)
    return data


def request_in_fresh_context(app, client, method: str, url: str, **kwargs):
    """Send a request in its own app context, so that Flask-Login's per-context user cache (g._login_user)
    from an earlier request of another client does not leak in. The tests share one app context otherwise."""
    with app.app_context():
        response = client.open(url, method=method, **kwargs)
    db.session.expire_all()
    return response


def csrf_token_in_fresh_context(app, client) -> str:
    """The CSRF token of another client's session; Flask-WTF caches tokens in g, which the tests share."""
    with app.app_context():
        return csrf_token(client)


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Hash and verify passwords with a cheap Argon2id while the test runs (import this fixture into a test module)."""
    from gaissa.services import passwords

    monkeypatch.setattr(passwords, "_hasher", FAST_HASHER)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", FAST_HASHER.hash("not-a-real-password"))
