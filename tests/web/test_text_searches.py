"""Text searches of the API and the admin screens: any Unicode letter case matches, and % and _ match only themselves."""

import pytest

from gaissa.extensions import db
from gaissa.models import CalculationTool, InfoField, Metric
from gaissa.services import accounts, audit, evaluations
from tests.web.admin_support import (  # noqa: F401  (fast_password_hashing is an autouse fixture)
    HTMX,
    fast_password_hashing,
)


@pytest.fixture
def manager(client, auth):
    auth.login()
    return client


def fragment(client, url: str, **query) -> str:
    return client.get(url, query_string=query, headers=HTMX).get_data(as_text=True)


# --- /api/v1/models -------------------------------------------------------------------------------


@pytest.fixture
def api_models():
    for name, author in [("École-BERT", "Zoë Müller"), ("Λόγος-Net", None), ("Привет-GPT", None),
                         ("rate_100%", None), ("ratex1000", None)]:
        evaluations.create_model(name, author)
    db.session.commit()


def api_names(client, search: str) -> set[str]:
    items = client.get("/api/v1/models", query_string={"search": search, "per_page": 100}).get_json()["items"]
    return {item["name"] for item in items}


@pytest.mark.parametrize("search, expected", [
    ("école", {"École-BERT"}),
    ("ΛΌΓΟΣ", {"Λόγος-Net"}),
    ("привет", {"Привет-GPT"}),
    ("müller", {"École-BERT"}),
    ("ÉCOLE MÜLLER", {"École-BERT"}),
    ("école привет", set()),
])
def test_api_search_ignores_unicode_case(client, api_models, search, expected):
    assert api_names(client, search) == expected


@pytest.mark.parametrize("search", ["%", "_", "_100%"])
def test_api_search_literal_wildcards(client, api_models, search):
    assert api_names(client, search) == {"rate_100%"}


# --- Users ------------------------------------------------------------------------------------------


@pytest.fixture
def unicode_users():
    for email in ("École.Lyon@example.org", "Иван.Straße@example.org", "rate_100%@example.org",
                  "ratex1000@example.org"):
        accounts.create_user(email, None)
    db.session.commit()


def test_user_search_ignores_unicode_case(manager, unicode_users):
    # Emails are stored in lower case, so only a folding that goes beyond lower() shows here: ß matches SS.
    french = fragment(manager, "/admin/users", q="ÉCOLE")
    russian = fragment(manager, "/admin/users", q="ИВАН.STRASSE")
    assert "école.lyon@example.org" in french
    assert "иван.straße@example.org" not in french
    assert "иван.straße@example.org" in russian
    assert "école.lyon@example.org" not in russian


@pytest.mark.parametrize("typed", ["%", "_1"])
def test_user_search_literal_wildcards(manager, unicode_users, typed):
    found = fragment(manager, "/admin/users", q=typed)
    assert "rate_100%@example.org" in found
    assert "ratex1000@example.org" not in found
    assert "иван.straße@example.org" not in found


# --- Audit log ----------------------------------------------------------------------------------------


@pytest.fixture
def audit_entries():
    weiss = accounts.create_user("Weiß.École@example.org", None)
    qa_lead = accounts.create_user("qa_lead@example.org", None)
    qax_lead = accounts.create_user("qaxlead@example.org", None)
    audit.record("update", "calculation_tool", "ÉCO-1", None, None, "Renamed the tool to Énergie-mètre", user=weiss)
    audit.record("update", "metric", "7", None, None, "Renamed the metric to Ωmega", user=qa_lead)
    audit.record("update", "metric", "8", None, None, "Set the weight of Latency to 40%", user=qax_lead)
    audit.record("update", "metric", "9", None, None, "Set the weight of Energy to 400", user=qax_lead)
    db.session.commit()


def test_audit_text_search_ignores_unicode_case(manager, audit_entries):
    french = fragment(manager, "/admin/audit", q="ÉNERGIE-MÈTRE")
    greek = fragment(manager, "/admin/audit", q="ωMEGA")
    by_entity_id = fragment(manager, "/admin/audit", q="éco-1")
    assert "1 entry." in french
    assert "Renamed the tool to Énergie-mètre" in french
    assert "1 entry." in greek
    assert "Renamed the metric to Ωmega" in greek
    assert "1 entry." in by_entity_id
    assert "Renamed the tool to Énergie-mètre" in by_entity_id


def test_audit_text_search_literal_percent(manager, audit_entries):
    found = fragment(manager, "/admin/audit", q="40%")
    assert "1 entry." in found
    assert "Set the weight of Latency to 40%" in found


@pytest.mark.parametrize("typed", ["ÉCOLE@", "WEISS."])
def test_audit_user_search_ignores_unicode_case(manager, audit_entries, typed):
    found = fragment(manager, "/admin/audit", user=typed)
    assert "1 entry." in found
    assert "Renamed the tool to Énergie-mètre" in found


def test_audit_user_search_literal_underscore(manager, audit_entries):
    found = fragment(manager, "/admin/audit", user="qa_lead")
    assert "1 entry." in found
    assert "Renamed the metric to Ωmega" in found


# --- Calculation tools ----------------------------------------------------------------------------------


@pytest.fixture
def unicode_tools():
    for name in ("École-Meter", "Счётчик энергии", "rate_100%", "ratex1000"):
        db.session.add(CalculationTool(name=name))
    db.session.commit()


def test_tool_search_ignores_unicode_case(manager, unicode_tools):
    french = fragment(manager, "/admin/calculation-tools", q="ÉCOLE")
    russian = fragment(manager, "/admin/calculation-tools", q="СЧЁТЧИК")
    assert "École-Meter" in french
    assert "CodeCarbon" not in french
    assert "Счётчик энергии" in russian
    assert "École-Meter" not in russian


@pytest.mark.parametrize("typed", ["%", "_"])
def test_tool_search_literal_wildcards(manager, unicode_tools, typed):
    found = fragment(manager, "/admin/calculation-tools", q=typed)
    assert "rate_100%" in found
    assert "ratex1000" not in found
    assert "CodeCarbon" not in found


# --- Metrics ----------------------------------------------------------------------------------------------


@pytest.fixture
def unicode_metrics():
    for key, name in [("ecole_energy", "École energy"), ("energiya", "Энергия обучения"),
                      ("share_on_gpu", "Share on GPU (%)"), ("share_on_cpu", "Share on CPU (avg)"),
                      ("runs_gpu", "Runs on GPU")]:
        db.session.add(Metric(key=key, phase="training", name=name, unit="count", direction="lower_is_better"))
    db.session.commit()


def test_metric_search_ignores_unicode_case(manager, unicode_metrics):
    french = fragment(manager, "/admin/metrics", phase="training", q="ÉCOLE")
    russian = fragment(manager, "/admin/metrics", phase="training", q="ЭНЕРГИЯ")
    assert "École energy" in french
    assert "Training energy" not in french
    assert "Энергия обучения" in russian
    assert "École energy" not in russian


def test_metric_search_literal_percent(manager, unicode_metrics):
    found = fragment(manager, "/admin/metrics", phase="training", q="(%)")
    assert "Share on GPU (%)" in found
    assert "Share on CPU (avg)" not in found


def test_metric_search_literal_underscore(manager, unicode_metrics):
    # Keys are searched too, so "n_g" finds the key share_on_gpu. Read as a wildcard, _ would also find "Runs on GPU".
    found = fragment(manager, "/admin/metrics", phase="training", q="n_g")
    assert "Share on GPU (%)" in found
    assert "Runs on GPU" not in found


# --- Information fields -------------------------------------------------------------------------------------


@pytest.fixture
def unicode_info_fields():
    for position, (key, name) in enumerate([("ecole", "École partenaire"), ("ethos", "Ήθος της ομάδας"),
                                            ("gpu_share", "GPU share (%)"), ("cpu_share", "CPU share (avg)")], start=100):
        db.session.add(InfoField(key=key, phase="training", name=name, position=position))
    db.session.commit()


def test_info_search_ignores_unicode_case(manager, unicode_info_fields):
    french = fragment(manager, "/admin/info-fields", phase="training", q="ÉCOLE")
    greek = fragment(manager, "/admin/info-fields", phase="training", q="ΉΘΟΣ")
    assert "École partenaire" in french
    assert "Hardware used" not in french
    assert "Ήθος της ομάδας" in greek
    assert "École partenaire" not in greek


def test_info_search_literal_percent(manager, unicode_info_fields):
    found = fragment(manager, "/admin/info-fields", phase="training", q="(%)")
    assert "GPU share (%)" in found
    assert "CPU share (avg)" not in found
