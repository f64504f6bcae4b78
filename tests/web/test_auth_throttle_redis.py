"""Login rate limiting in Redis (several web workers share it) and the database fallback when Redis is down."""

import shutil
import subprocess
import time

import pytest
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import Role
from gaissa.models.accounts import LoginAttempt
from gaissa.services import accounts
from gaissa.services.login_throttle import LoginThrottle, ThrottleLimits, make_store
from tests.web.admin_support import (  # noqa: F401  (fast_password_hashing is an autouse fixture)
    MANAGER_EMAIL,
    PASSWORD,
    fast_password_hashing,
    post,
)

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


@pytest.fixture
def redis_url(tmp_path):
    """A throw-away redis-server listening on a Unix socket only (no TCP port)."""
    socket_path = tmp_path / "redis.sock"
    process = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(socket_path), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("redis-server did not start within 10 s")
        time.sleep(0.05)
    yield f"unix://{socket_path}"
    process.terminate()
    process.wait(timeout=10)


def test_redis_store_counts_and_expires(redis_url):
    throttle = LoginThrottle(make_store(redis_url), ThrottleLimits(per_account=2, per_address=10))
    for _ in range(2):
        assert throttle.check("a@example.org", "192.0.2.1").allowed
        throttle.record("a@example.org", "192.0.2.1", succeeded=False)
    decision = throttle.check("a@example.org", "192.0.2.1")
    assert not decision.allowed
    assert 0 < decision.retry_after <= 15 * 60
    assert throttle.check("b@example.org", "192.0.2.1").allowed


def test_redis_success_forgives_account_failures(redis_url):
    throttle = LoginThrottle(make_store(redis_url), ThrottleLimits(per_account=2, per_address=10))
    throttle.record("a@example.org", "192.0.2.1", succeeded=False)
    throttle.record("a@example.org", "192.0.2.1", succeeded=True)
    throttle.record("a@example.org", "192.0.2.1", succeeded=False)
    assert throttle.check("a@example.org", "192.0.2.1").allowed


def test_redis_window_ends(redis_url):
    from datetime import timedelta

    throttle = LoginThrottle(make_store(redis_url), ThrottleLimits(per_account=1, per_address=10,
                                                                   window=timedelta(seconds=1)))
    throttle.record("a@example.org", "192.0.2.1", succeeded=False)
    assert not throttle.check("a@example.org", "192.0.2.1").allowed
    time.sleep(1.2)
    assert throttle.check("a@example.org", "192.0.2.1").allowed


def test_login_uses_redis_when_configured(client, app, monkeypatch, redis_url):
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    accounts.create_user(MANAGER_EMAIL, PASSWORD, role=Role.QA_MANAGER)
    db.session.commit()
    for _ in range(5):
        assert post(client, "/auth/login", {"email": MANAGER_EMAIL, "password": "wrong password 1"}).status_code == 400
    assert post(client, "/auth/login", {"email": MANAGER_EMAIL, "password": PASSWORD}).status_code == 429
    assert db.session.scalar(select(func.count(LoginAttempt.id))) == 0


def test_login_falls_back_to_the_database_without_redis(client, app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "REDIS_URL", f"unix://{tmp_path / 'no-such.sock'}")
    accounts.create_user(MANAGER_EMAIL, PASSWORD, role=Role.QA_MANAGER)
    db.session.commit()
    for _ in range(5):
        assert post(client, "/auth/login", {"email": MANAGER_EMAIL, "password": "wrong password 1"}).status_code == 400
    assert post(client, "/auth/login", {"email": MANAGER_EMAIL, "password": PASSWORD}).status_code == 429
    assert db.session.scalar(select(func.count(LoginAttempt.id))) == 5
