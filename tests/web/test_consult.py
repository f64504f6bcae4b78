"""Consult: a model's trainings and inferences page by page, and model searches that ignore Unicode letter case."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import literal, select

from gaissa.extensions import db
from gaissa.models import Evaluation
from gaissa.services import evaluations
from gaissa.services.text_search import casefold
from tests.web.admin_support import (  # noqa: F401  (fast_password_hashing is an autouse fixture)
    HTMX,
    fast_password_hashing,
    request_in_fresh_context,
)

FIRST_DAY = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)
SECTION = re.compile(r'<section id="(trainings|inferences)".*?</section>', re.S)


@pytest.fixture
def busy_model():
    """Store a model with 45 trainings, one a day from FIRST_DAY, and 3 inferences.

    Return the model and its training ids, oldest first.
    """
    model = evaluations.create_model("busy-model", "Test author")
    training_ids = []
    for day in range(45):
        training = evaluations.create_evaluation(evaluations.EvaluationInput(
            phase="training", model_id=model.id, values={"energy": f"{day + 1} kWh"},
            registered_at=FIRST_DAY + timedelta(days=day),
        ))
        training_ids.append(training.id)
    for day in range(3):
        evaluations.create_evaluation(evaluations.EvaluationInput(
            phase="inference", model_id=model.id, values={"latency": "20 ms"},
            registered_at=FIRST_DAY + timedelta(days=day),
        ))
    db.session.commit()
    return model, training_ids


def sections(body: str) -> dict[str, str]:
    return {match.group(1): match.group(0) for match in SECTION.finditer(body)}


def listed_ids(section: str, collection: str) -> list[int]:
    return [int(number) for number in re.findall(rf"/{collection}/(\d+)\"", section)]


def newest_first(training_ids: list[int], start: int, stop: int) -> list[int]:
    """Return the ids at 1-based positions start..stop of the newest-first list."""
    return list(reversed(training_ids))[start - 1:stop]


def test_first_page_shows_newest_twenty(client, busy_model):
    model, training_ids = busy_model
    response = client.get(f"/gaissalabel/models/{model.id}")
    trainings = sections(response.get_data(as_text=True))["trainings"]
    assert response.status_code == 200
    assert "Showing 1–20 of 45 trainings, newest first." in trainings
    assert listed_ids(trainings, "trainings") == newest_first(training_ids, 1, 20)
    assert f'href="/gaissalabel/models/{model.id}?trainings_page=2#trainings"' in trainings
    assert "Page 1 of 3" in trainings
    assert "← Newer" not in trainings


def test_middle_page_links_both_ways(client, busy_model):
    model, training_ids = busy_model
    body = client.get(f"/gaissalabel/models/{model.id}?trainings_page=2").get_data(as_text=True)
    trainings = sections(body)["trainings"]
    assert "Showing 21–40 of 45 trainings, newest first." in trainings
    assert listed_ids(trainings, "trainings") == newest_first(training_ids, 21, 40)
    assert f'href="/gaissalabel/models/{model.id}#trainings" rel="prev"' in trainings
    assert f'href="/gaissalabel/models/{model.id}?trainings_page=3#trainings" rel="next"' in trainings
    assert "Page 2 of 3" in trainings


def test_last_page_shows_oldest_five(client, busy_model):
    model, training_ids = busy_model
    body = client.get(f"/gaissalabel/models/{model.id}?trainings_page=3").get_data(as_text=True)
    trainings = sections(body)["trainings"]
    assert "Showing 41–45 of 45 trainings, newest first." in trainings
    assert listed_ids(trainings, "trainings") == newest_first(training_ids, 41, 45)
    assert "Older →" not in trainings
    assert "« Newest" in trainings


@pytest.mark.parametrize("argument, expected", [
    ("99", "Showing 41–45 of 45"),
    ("100000000000000000000000", "Showing 41–45 of 45"),
    ("0", "Showing 1–20 of 45"),
    ("-4", "Showing 1–20 of 45"),
    ("two", "Showing 1–20 of 45"),
    ("", "Showing 1–20 of 45"),
])
def test_page_number_out_of_range_is_clamped(client, busy_model, argument, expected):
    model, _ = busy_model
    response = client.get(f"/gaissalabel/models/{model.id}?trainings_page={argument}&inferences_page={argument}")
    lists = sections(response.get_data(as_text=True))
    assert response.status_code == 200
    assert expected in lists["trainings"]
    assert "3 inferences, newest first." in lists["inferences"]


def test_lists_page_independently(client, busy_model):
    model, _ = busy_model
    for index in range(20):
        evaluations.create_evaluation(evaluations.EvaluationInput(
            phase="inference", model_id=model.id, values={"latency": f"{index + 1} ms"},
        ))
    db.session.commit()
    body = client.get(f"/gaissalabel/models/{model.id}?trainings_page=3&inferences_page=2").get_data(as_text=True)
    lists = sections(body)
    assert "Showing 41–45 of 45 trainings" in lists["trainings"]
    assert "Showing 21–23 of 23 inferences" in lists["inferences"]
    # Each pager keeps the other list where it is.
    assert f"/gaissalabel/models/{model.id}?trainings_page=2&amp;inferences_page=2#trainings" in lists["trainings"]
    assert f"/gaissalabel/models/{model.id}?trainings_page=3#inferences" in lists["inferences"]


def test_htmx_fragment_contains_only_target_list(client, busy_model):
    model, _ = busy_model
    response = client.get(f"/gaissalabel/models/{model.id}?trainings_page=2",
                          headers={**HTMX, "HX-Target": "trainings"})
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert list(sections(body)) == ["trainings"]
    assert "Showing 21–40 of 45 trainings" in body
    assert "busy-model" not in body
    assert "HX-Request" in response.headers["Vary"]
    assert 'hx-target="#trainings"' in body

    inferences = client.get(f"/gaissalabel/models/{model.id}", headers={**HTMX, "HX-Target": "inferences"})
    assert list(sections(inferences.get_data(as_text=True))) == ["inferences"]


def test_boosted_model_page_is_full(client, busy_model):
    model, _ = busy_model
    body = client.get(f"/gaissalabel/models/{model.id}?trainings_page=2",
                      headers={**HTMX, "HX-Boosted": "true", "HX-Target": "trainings"}).get_data(as_text=True)
    assert "<html" in body
    assert list(sections(body)) == ["trainings", "inferences"]


def test_hidden_evaluations_not_counted(client, busy_model):
    model, training_ids = busy_model
    for training_id in training_ids[:5]:
        db.session.get(Evaluation, training_id).hidden = True
    db.session.commit()
    trainings = sections(client.get(f"/gaissalabel/models/{model.id}").get_data(as_text=True))["trainings"]
    assert "Showing 1–20 of 40 trainings" in trainings
    assert not set(training_ids[:5]) & set(listed_ids(trainings, "trainings"))


def test_empty_lists_say_so(client):
    model = evaluations.create_model("empty-model")
    db.session.commit()
    lists = sections(client.get(f"/gaissalabel/models/{model.id}").get_data(as_text=True))
    assert "No trainings recorded yet." in lists["trainings"]
    assert "No inferences recorded yet." in lists["inferences"]
    assert "pagination" not in lists["trainings"]


def test_model_page_cached_only_without_query(app, busy_model):
    model, _ = busy_model
    url = f"/gaissalabel/models/{model.id}"
    first = request_in_fresh_context(app, app.test_client(), "GET", url)
    second = request_in_fresh_context(app, app.test_client(), "GET", url)
    paged = request_in_fresh_context(app, app.test_client(), "GET", f"{url}?trainings_page=2")
    assert (first.headers["X-Page-Cache"], second.headers["X-Page-Cache"]) == ("miss", "hit")
    assert "X-Page-Cache" not in paged.headers
    assert "Showing 21–40 of 45" in paged.get_data(as_text=True)


@pytest.mark.parametrize("stored, typed", [
    ("ÀÉÎÕÜ", "àéîõü"),
    ("àéîõü", "ÀÉÎÕÜ"),
    ("ΛΟΓΟΣ", "λογος"),
    ("привет", "ПРИВЕТ"),
    ("straße", "STRASSE"),
    ("STRAẞE", "straße"),
])
def test_casefold_matches_on_database(app, stored, typed):
    folded_stored = db.session.scalar(select(casefold(literal(stored))))
    folded_typed = db.session.scalar(select(casefold(literal(typed))))
    assert folded_stored == folded_typed


@pytest.fixture
def unicode_models():
    for name, author in [("école-bert", "Zoë Müller"), ("λογος-net", None), ("привет-gpt", None),
                         ("straße-lm", None), ("plain-model", None), ("rate_100%", None), ("ratex1000", None),
                         ("c:\\models\\vit", None)]:
        evaluations.create_model(name, author)
    db.session.commit()


@pytest.mark.parametrize("typed, expected", [
    ("ÉCOLE", {"école-bert"}),
    ("École-Bert", {"école-bert"}),
    ("ΛΟΓΟΣ", {"λογος-net"}),
    ("ПРИВЕТ", {"привет-gpt"}),
    ("STRASSE", {"straße-lm"}),
    ("MÜLLER", {"école-bert"}),
    ("PLAIN", {"plain-model"}),
    ("_100%", {"rate_100%"}),
    ("%", {"rate_100%"}),
    ("_", {"rate_100%"}),
    ("\\", {"c:\\models\\vit"}),
    ("ecole", {"école-bert"}),
    ("MULLER", {"école-bert"}),
    ("zoe", {"école-bert"}),
    ("λόγος", {"λογος-net"}),
])
def test_consult_search_ignores_unicode_case(client, unicode_models, typed, expected):
    body = client.get("/gaissalabel/models", query_string={"q": typed}, headers=HTMX).get_data(as_text=True)
    found = set(re.findall(r'/gaissalabel/models/\d+">([^<]+)</a>', body))
    assert found == expected


def test_model_picker_search_ignores_unicode_case(client, unicode_models):
    body = client.get("/gaissalabel/training/models/options", query_string={"q": "ÉCOLE"},
                      headers=HTMX).get_data(as_text=True)
    assert "école-bert" in body
    assert "plain-model" not in body


def test_moderation_search_ignores_unicode_case(client, auth, unicode_models):
    auth.login()
    greek = client.get("/admin/moderation", query_string={"q": "ΛΟΓΟΣ"}, headers=HTMX).get_data(as_text=True)
    assert "λογος-net" in greek
    assert "plain-model" not in greek
    percent = client.get("/admin/moderation", query_string={"q": "%"}, headers=HTMX).get_data(as_text=True)
    assert "rate_100%" in percent
    assert "ratex1000" not in percent
