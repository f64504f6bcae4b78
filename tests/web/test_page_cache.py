"""The whole-page cache for anonymous visitors and the content token that keeps it fresh."""

import re

import pytest
from sqlalchemy import delete, text, update

from gaissa.extensions import db
from gaissa.models import ContentState, Job, MLModel
from gaissa.services import content_version
from gaissa.web import page_cache
from tests.web.admin_support import HTMX, post, request_in_fresh_context, store_evaluation

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture
def label_url(app):
    evaluation = store_evaluation("training", {"energy": 12.0, "co2_eq_emissions": 5000.0}, model_name="Cached model")
    return f"/gaissalabel/models/{evaluation.model_id}/trainings/{evaluation.id}"


def visit(app, url, **kwargs):
    """An anonymous visitor with no cookies, in a request context of their own."""
    return request_in_fresh_context(app, app.test_client(), "GET", url, **kwargs)


def token() -> int:
    return db.session.scalar(text("SELECT token FROM content_state WHERE id = 1"))


def test_second_visit_is_served_from_the_cache(app, label_url):
    first, second = visit(app, label_url), visit(app, label_url)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.headers["X-Page-Cache"], second.headers["X-Page-Cache"]) == ("miss", "hit")
    assert "Cached model" in second.get_data(as_text=True)
    assert second.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "HX-Request" in second.headers["Vary"]


def test_each_visitor_gets_their_own_working_csrf_token(app, label_url):
    visit(app, label_url)
    visitors = [app.test_client(), app.test_client()]
    pages = [request_in_fresh_context(app, client, "GET", label_url) for client in visitors]
    assert all(page.headers["X-Page-Cache"] == "hit" for page in pages)
    tokens = [CSRF_META.search(page.get_data(as_text=True)).group(1) for page in pages]
    assert tokens[0] != tokens[1]
    for page in pages:
        assert "csrf-" not in CSRF_META.search(page.get_data(as_text=True)).group(1)
    # The token from the cached page passes the CSRF check of the same visitor's form post, and only theirs.
    login = {"email": "nobody@example.org", "password": "x"}
    own = request_in_fresh_context(app, visitors[0], "POST", "/auth/login", data={**login, "csrf_token": tokens[0]})
    other = request_in_fresh_context(app, visitors[1], "POST", "/auth/login", data={**login, "csrf_token": tokens[0]})
    assert "Form expired" not in own.get_data(as_text=True)
    assert "Form expired" in other.get_data(as_text=True)


def test_committed_change_shows_at_once(app, label_url):
    visit(app, label_url)
    assert visit(app, label_url).headers["X-Page-Cache"] == "hit"
    db.session.execute(update(MLModel).where(MLModel.name == "Cached model").values(name="Renamed model"))
    db.session.commit()
    page = visit(app, label_url)
    assert page.headers["X-Page-Cache"] == "miss"
    assert "Renamed model" in page.get_data(as_text=True)


def test_token_from_another_process_invalidates(app, label_url):
    """Freshness comes from the database, so a change committed by any process or host is seen."""
    visit(app, label_url)
    db.session.execute(text("UPDATE content_state SET token = token + 1 WHERE id = 1"))
    db.session.commit()
    assert visit(app, label_url).headers["X-Page-Cache"] == "miss"


def test_hiding_an_evaluation_removes_the_cached_page(app, client, auth, label_url):
    visit(app, label_url)
    auth.login()
    evaluation_id = int(label_url.rsplit("/", 1)[1])
    response = post(client, f"/admin/moderation/evaluations/{evaluation_id}/hidden", {"hidden": "1"})
    assert response.status_code == 303
    assert visit(app, label_url).status_code == 404


def test_tool_switch_reaches_cached_pages(app, client, auth, label_url):
    visit(app, label_url)
    auth.login()
    post(client, "/admin/settings", {"roi_enabled": "y"})
    assert visit(app, label_url).status_code == 404
    post(client, "/admin/settings", {"label_enabled": "y", "roi_enabled": "y"})
    assert visit(app, label_url).status_code == 200


def test_bypass_for_users_htmx_and_queries(app, client, auth, label_url):
    visit(app, label_url)
    assert "X-Page-Cache" not in visit(app, label_url + "?utm_source=x").headers
    assert "X-Page-Cache" not in visit(app, label_url, headers=HTMX).headers
    auth.login()
    page = client.get(label_url)
    assert page.status_code == 200
    assert "X-Page-Cache" not in page.headers


def test_pages_with_a_flash_message_are_not_stored(app, label_url):
    visitor = app.test_client()
    with visitor.session_transaction() as session:
        session["_flashes"] = [("success", "Evaluation saved.")]
    page = request_in_fresh_context(app, visitor, "GET", label_url)
    assert "Evaluation saved." in page.get_data(as_text=True)
    assert "X-Page-Cache" not in page.headers
    assert "Evaluation saved." not in visit(app, label_url).get_data(as_text=True)


def test_not_found_pages_are_not_stored(app):
    assert visit(app, "/gaissalabel/models/999999").status_code == 404
    assert visit(app, "/gaissalabel/models/999999").status_code == 404


def test_cache_off_when_the_budget_is_zero(app, label_url, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE_MAX_BYTES", 0)
    assert "X-Page-Cache" not in visit(app, label_url).headers


def test_budget_drops_the_least_recently_used_page():
    store = page_cache._Store()
    entry = 40 + page_cache._ENTRY_OVERHEAD
    budget = 2 * entry + 10
    store.put(1, ("/a",), b"a" * 40, budget=budget)
    store.put(1, ("/b",), b"b" * 40, budget=budget)
    assert store.get(1, ("/a",)) is not None  # /a is now the most recently used
    store.put(1, ("/c",), b"c" * 40, budget=budget)
    assert (store.get(1, ("/a",)), store.get(1, ("/b",))) == (b"a" * 40, None)
    assert store.size == 2 * entry
    store.put(1, ("/huge",), b"h" * budget, budget=budget)
    assert store.get(1, ("/huge",)) is None
    assert store.get(2, ("/a",)) is None  # pages of another token are not returned
    store.put(2, ("/d",), b"d", budget=budget)
    assert store.get(1, ("/a",)) is None
    assert store.size == 1 + page_cache._ENTRY_OVERHEAD


def test_ignored_tables_leave_the_token_alone(app):
    before = token()
    db.session.add(Job(kind="noop", state="queued"))
    db.session.commit()
    assert token() == before


def test_orm_flush_and_bulk_statements_change_the_token(app):
    before = token()
    db.session.add(MLModel(name="Token model"))
    db.session.commit()
    after_flush = token()
    assert after_flush != before
    db.session.execute(delete(MLModel).where(MLModel.name == "Token model"))
    db.session.commit()
    assert token() != after_flush


def test_rollback_keeps_the_token(app):
    before = token()
    db.session.add(MLModel(name="Never saved"))
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert token() == before


def test_no_token_while_the_session_holds_uncommitted_changes(app):
    with app.test_request_context("/"):
        assert content_version.current_token() is not None
        db.session.add(MLModel(name="Pending"))
        assert content_version.current_token() is None
        db.session.flush()
        assert content_version.current_token() is None
        db.session.rollback()


def test_missing_row_switches_the_cache_off(app, label_url):
    db.session.execute(delete(ContentState))
    db.session.commit()
    assert "X-Page-Cache" not in visit(app, label_url).headers
    content_version.ensure_row()
    db.session.commit()
    assert db.session.get(ContentState, 1) is not None



@pytest.mark.parametrize("url", ["/", "/about", "/gaissalabel/", "/gaissalabel/models", "model", "label"])
def test_every_cached_page_is_shared(app, label_url, url):
    url = {"label": label_url, "model": label_url.split("/trainings/")[0]}.get(url, url)
    assert visit(app, url).headers["X-Page-Cache"] == "miss"
    assert visit(app, url).headers["X-Page-Cache"] == "hit"


def test_refresh_pages_command_drops_cached_pages(app, runner, label_url):
    visit(app, label_url)
    before = token()
    result = runner.invoke(args=["gaissa", "refresh-pages"])
    assert result.exit_code == 0, result.output
    assert "New content token written" in result.output
    assert token() != before
    assert visit(app, label_url).headers["X-Page-Cache"] == "miss"


def test_forged_script_name_cannot_poison(app, label_url):
    """A request for /gaissalabel/ with SCRIPT_NAME=/gaissalabel routes to the site home.

    That page must not be served to the next visitor of /gaissalabel/.
    """
    forged = visit(app, "/", environ_base={"SCRIPT_NAME": "/gaissalabel"})
    assert forged.status_code == 200
    page = visit(app, "/gaissalabel/")
    assert page.headers["X-Page-Cache"] == "miss"
    assert "<title>GAISSALabel" in page.get_data(as_text=True)


def test_leading_zeros_share_the_canonical_entry(app, label_url):
    model_url = label_url.split("/trainings/")[0]
    visit(app, model_url)
    padded = model_url.replace("/models/", "/models/000")
    assert visit(app, padded).headers["X-Page-Cache"] == "hit"


def test_ids_beyond_64_bits_are_not_found(app):
    too_big = 2**63
    for url in (f"/gaissalabel/models/{too_big}", f"/gaissalabel/models/1/trainings/{too_big}",
                f"/api/v1/models/{too_big}"):
        assert visit(app, url).status_code == 404, url


def test_kept_label_fragments_never_hold_a_real_token(app, client, auth, label_url):
    """A manager renders the label first; the fragments kept for later requests must not carry their token."""
    auth.login()
    manager_page = client.get(label_url).get_data(as_text=True)
    manager_token = CSRF_META.search(manager_page).group(1)
    anonymous = visit(app, label_url).get_data(as_text=True)
    assert manager_token not in anonymous
    assert page_cache._CSRF_PLACEHOLDER not in anonymous
    assert page_cache._CSRF_PLACEHOLDER not in manager_page


def test_logins_leave_the_token_alone(app, client, auth):
    auth.login()
    before = token()
    auth.logout()
    auth.login()
    assert token() == before


@pytest.mark.parametrize("raw", ["0.5", "abc", "-1"])
def test_invalid_page_cache_size_names_variable(raw, monkeypatch):
    import config

    monkeypatch.setenv("PAGE_CACHE_MB", raw)
    with pytest.raises(RuntimeError, match=f"PAGE_CACHE_MB='{re.escape(raw)}' is not a whole number of megabytes"):
        config._megabytes("PAGE_CACHE_MB", "32")


def test_empty_page_cache_size_means_the_default(monkeypatch):
    import config

    monkeypatch.setenv("PAGE_CACHE_MB", "")
    assert config._megabytes("PAGE_CACHE_MB", "32") == 32 * 1024 * 1024
