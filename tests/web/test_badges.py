"""Badges of evaluations and models, their cache headers, and the share box of the label page."""

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import yaml

from gaissa.extensions import db
from gaissa.models import SiteSettings
from gaissa.services import badges, labels
from tests.web.test_api import add_evaluation, add_model

SVG = "{http://www.w3.org/2000/svg}"


def _badge(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    root = ET.fromstring(response.data)
    texts = [element.text for element in root.iter(f"{SVG}text")]
    fills = [element.get("fill") for element in root.iter(f"{SVG}rect")]
    return response, root, texts, fills


def _evaluation_badge_url(evaluation):
    return f"/gaissalabel/models/{evaluation.model_id}/{evaluation.phase}s/{evaluation.id}/badge.svg"


def test_evaluation_badge_shows_grade_in_its_colour(client):
    evaluation = add_evaluation(add_model("Badge model"), "training", {"energy": 0.0001})
    colour = labels.grade_colours()[evaluation.overall_grade]

    response, root, texts, fills = _badge(client, _evaluation_badge_url(evaluation))

    assert evaluation.overall_grade == "A"
    assert texts == ["energy label", "energy label", "A", "A"]
    assert colour in fills
    assert root.get("aria-label") == "Energy label of the training: grade A (rating scheme v1)"
    assert response.mimetype == "image/svg+xml"


def test_badge_cache_headers_and_etag(client):
    evaluation = add_evaluation(add_model("Cached badge"))
    url = _evaluation_badge_url(evaluation)

    first = client.get(url)
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})

    assert first.headers["ETag"]
    assert "public" in first.headers["Cache-Control"]
    assert "max-age=86400" in first.headers["Cache-Control"]
    assert again.status_code == 304
    assert again.data == b""


def test_model_badge_prefers_latest_training(client):
    model = add_model("Two phases")
    now = datetime.now(timezone.utc)
    add_evaluation(model, "training", {"energy": 0.0001}, registered_at=now - timedelta(days=5))
    add_evaluation(model, "training", {"energy": 1000.0}, registered_at=now - timedelta(days=1))
    add_evaluation(model, "inference", {"latency": 1}, registered_at=now)

    response, root, texts, _ = _badge(client, f"/gaissalabel/models/{model.id}/badge.svg")

    assert texts[-1] == "E"
    assert "max-age=300" in response.headers["Cache-Control"]
    assert "latest training of Two phases" in root.get("aria-label")


def test_model_badge_falls_back_to_inference(client):
    model = add_model("Inference only")
    add_evaluation(model, "inference", {"latency": 1})

    _, _, texts, _ = _badge(client, f"/gaissalabel/models/{model.id}/badge.svg")

    assert texts[-1] == "A"


def test_model_badge_without_visible_evaluation_is_not_rated(client):
    model = add_model("Unrated")
    add_evaluation(model, hidden=True)

    _, _, texts, fills = _badge(client, f"/gaissalabel/models/{model.id}/badge.svg")

    assert texts[-1] == "not rated"
    assert badges.NOT_RATED_COLOUR in fills


def test_badge_escapes_model_names(client):
    model = add_model('<script>alert("x")</script> & co')
    add_evaluation(model)

    response, root, _, _ = _badge(client, f"/gaissalabel/models/{model.id}/badge.svg")

    assert b"<script>" not in response.data
    assert "<script>" in root.find(f"{SVG}title").text


def test_hidden_evaluation_badge_is_404(client):
    evaluation = add_evaluation(add_model("Hidden badge"), hidden=True)

    assert client.get(_evaluation_badge_url(evaluation)).status_code == 404


def test_badges_404_when_label_is_off(client):
    evaluation = add_evaluation(add_model("Switched badge"))
    db.session.get(SiteSettings, 1).label_enabled = False
    db.session.commit()

    assert client.get(_evaluation_badge_url(evaluation)).status_code == 404
    assert client.get(f"/gaissalabel/models/{evaluation.model_id}/badge.svg").status_code == 404


def test_badge_width_grows_with_text():
    short = badges.render_badge_svg(badges.Badge("energy label", "A", "#639b30", "A"))
    long = badges.render_badge_svg(badges.Badge("energy label", "not rated", "#9f9f9f", "x"))

    assert float(ET.fromstring(short).get("width")) < float(ET.fromstring(long).get("width"))


def test_label_page_has_share_snippets(client):
    model = add_model("Shared model")
    evaluation = add_evaluation(model, "training", {"energy": 3.0, "co2_eq_emissions": 1500.0})

    page = client.get(f"/gaissalabel/models/{model.id}/trainings/{evaluation.id}").get_data(as_text=True)

    badge_url = f"http://localhost/gaissalabel/models/{model.id}/trainings/{evaluation.id}/badge.svg"
    label_url = f"http://localhost/gaissalabel/models/{model.id}/trainings/{evaluation.id}"
    assert "Share this label" in page
    assert f"[![Energy label: {evaluation.overall_grade}]({badge_url})]({label_url})" in page
    assert f'&lt;a href=&#34;{label_url}&#34;&gt;&lt;img src=&#34;{badge_url}&#34;' in page


def test_training_card_has_hub_emissions(client):
    model = add_model("Card model")
    evaluation = add_evaluation(model, "training", {"energy": 3.0, "co2_eq_emissions": 1500.0})

    card = yaml.safe_load(badges.model_card_yaml(evaluation, "https://label.example.org/x"))

    assert card["co2_eq_emissions"]["emissions"] == 1500.0
    assert card["co2_eq_emissions"]["source"] == "GAISSALabel (https://label.example.org/x)"
    assert card["gaissa_energy_label"]["grade"] == evaluation.overall_grade
    assert card["gaissa_energy_label"]["metrics"]["energy"] == {"value": 3.0, "unit": "kWh", "grade": "E"}
    assert card["gaissa_energy_label"]["rating_scheme_version"] == 1


def test_inference_card_without_emissions(client):
    evaluation = add_evaluation(add_model("Inference card"), "inference", {"latency": 12})

    card = yaml.safe_load(badges.model_card_yaml(evaluation, "https://label.example.org/y"))

    assert "co2_eq_emissions" not in card
    assert card["gaissa_energy_label"]["phase"] == "inference"
