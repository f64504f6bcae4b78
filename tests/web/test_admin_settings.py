"""The tool switches: a disabled tool is gone for the public but stays administrable by QA managers."""

import pytest

from gaissa.services import site
from tests.web.admin_support import (  # noqa: F401  (fast_password_hashing is an autouse fixture)
    HTMX,
    fast_password_hashing,
    post,
    request_in_fresh_context,
)


def public_get(app, url):
    return request_in_fresh_context(app, app.test_client(), "GET", url)


@pytest.fixture
def manager(client, auth):
    auth.login()
    return client


def test_settings_page_shows_the_switches(manager):
    page = manager.get("/admin/settings").get_data(as_text=True)
    assert 'name="label_enabled"' in page
    assert 'role="switch"' in page
    assert 'checked' in page
    fragment = manager.get("/admin/settings", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    assert fragment.lstrip().startswith('<form id="settings-form"')


def test_disabling_label_hides_it_from_the_public(manager, app):
    response = post(manager, "/admin/settings", {"roi_enabled": "y"})
    assert response.status_code == 303
    assert site.is_enabled("label") is False
    assert site.is_enabled("roi") is True

    assert public_get(app, "/gaissalabel/").status_code == 404
    assert public_get(app, "/gaissalabel/training/new").status_code == 404
    assert 'href="/gaissalabel/"' not in public_get(app, "/").get_data(as_text=True)

    # Managers keep the administration and can preview the tool's pages.
    assert manager.get("/admin/metrics").status_code == 200
    assert manager.get("/admin/schemes").status_code == 200
    assert manager.get("/gaissalabel/").status_code == 200


def test_disabled_tool_shows_managers_a_banner(manager, app):
    post(manager, "/admin/settings", {"roi_enabled": "y"})

    label_page = manager.get("/gaissalabel/").get_data(as_text=True)
    measure_page = manager.get("/gaissalabel/measure/").get_data(as_text=True)
    roi_page = manager.get("/roi/").get_data(as_text=True)

    banner = "GAISSALabel is switched off for the public; you see it as a QA manager."
    assert banner in label_page
    assert banner in measure_page
    assert "switched off" not in roi_page


def test_disabled_tool_tells_the_public_why(manager, app):
    post(manager, "/admin/settings", {"label_enabled": "y"})

    response = public_get(app, "/roi/")
    text = response.get_data(as_text=True)

    assert response.status_code == 404
    assert ("This page does not exist, or The GAISSA ROI Analyzer is switched off" not in text)
    assert "This page does not exist, or the GAISSA ROI Analyzer is switched off on this site for now." in text
    assert "The requested URL was not found" not in text


def test_disabling_roi_hides_it_from_the_public(manager, app):
    post(manager, "/admin/settings", {"label_enabled": "y"})
    assert public_get(app, "/roi/").status_code == 404
    assert 'href="/roi/"' not in public_get(app, "/").get_data(as_text=True)
    assert public_get(app, "/gaissalabel/").status_code == 200


def test_htmx_save_returns_the_form_with_a_message(manager):
    response = post(manager, "/admin/settings", {"label_enabled": "y", "roi_enabled": "y"}, htmx=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in text
    assert "Nothing changed." in text
    response = post(manager, "/admin/settings", {"label_enabled": "y"}, htmx=True)
    assert "GAISSA ROI Analyzer is now disabled." in response.get_data(as_text=True)


def test_switching_back_on_restores_public_access(manager, app):
    post(manager, "/admin/settings", {})
    assert public_get(app, "/gaissalabel/").status_code == 404
    post(manager, "/admin/settings", {"label_enabled": "y", "roi_enabled": "y"})
    assert public_get(app, "/gaissalabel/").status_code == 200
    assert public_get(app, "/roi/").status_code == 200


def test_missing_settings_row_is_created(manager):
    from gaissa.extensions import db
    from gaissa.models import SiteSettings

    db.session.delete(db.session.get(SiteSettings, 1))
    db.session.commit()
    assert manager.get("/admin/settings").status_code == 200
    assert post(manager, "/admin/settings", {"label_enabled": "y"}).status_code == 303
    assert db.session.get(SiteSettings, 1).roi_enabled is False
