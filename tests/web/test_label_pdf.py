"""The label as a PDF: it opens in pdftoppm, shows the name and grade, its QR code decodes to the page URL,
and a 120-character model name does not overflow."""

import shutil
import subprocess

import pytest

from gaissa.extensions import db
from gaissa.services import evaluations, labels

needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
needs_zbar = pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbar-tools is not installed")


def stored_evaluation(name):
    model = evaluations.create_model(name)
    evaluation = evaluations.create_evaluation(evaluations.EvaluationInput(
        phase="training", model_id=model.id, values={"energy": "0.002 kWh", "co2_eq_emissions": "1 g", "duration": "30 s"}))
    db.session.commit()
    return evaluation


def fetch_pdf(client, evaluation, tmp_path):
    response = client.get(f"/gaissalabel/models/{evaluation.model_id}/trainings/{evaluation.id}/label.pdf")
    assert response.status_code == 200
    path = tmp_path / "label.pdf"
    path.write_bytes(response.data)
    return path


@needs_poppler
def test_pdf_shows_model_name_and_grade(client, tmp_path):
    evaluation = stored_evaluation("distilbert-energy-test")
    path = fetch_pdf(client, evaluation, tmp_path)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(path), str(tmp_path / "page")], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 1000
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    assert "distilbert-energy-test" in text
    assert evaluation.overall_grade in text.split()
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    assert "Pages:           1" in info


@needs_poppler
@needs_zbar
def test_pdf_qr_code_decodes_to_page_url(client, tmp_path):
    evaluation = stored_evaluation("qr-test-model")
    path = fetch_pdf(client, evaluation, tmp_path)
    subprocess.run(["pdftoppm", "-png", "-r", "220", str(path), str(tmp_path / "page")], check=True)
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "page-1.png")], capture_output=True, text=True).stdout
    assert decoded.strip() == f"http://localhost/gaissalabel/models/{evaluation.model_id}/trainings/{evaluation.id}"


def test_long_model_name_is_wrapped_and_shortened(app, client):
    name = ("a-very-long-model-name-" * 6)[:120]
    evaluation = stored_evaluation(name)
    with app.test_request_context():
        view = labels.build_label(evaluation, "http://localhost/x")
    assert len(view.name_lines) == 2
    assert all(len(line) <= 30 for line in view.name_lines)
    assert view.name_lines[-1].endswith("…")
    assert 10 <= view.name_font_size <= 20


@needs_poppler
def test_long_model_name_stays_inside_the_pdf(client, tmp_path):
    name = "x" * 60 + " " + "y" * 59
    evaluation = stored_evaluation(name)
    path = fetch_pdf(client, evaluation, tmp_path)
    layout = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True).stdout
    page_width = float(layout.split('<page width="')[1].split('"')[0])
    right_edges = [float(part.split('"')[0]) for part in layout.split('xMax="')[1:]]
    assert max(right_edges) <= page_width


def test_tile_values_use_readable_units(app):
    with app.test_request_context():
        evaluation = stored_evaluation("units")
        view = labels.build_label(evaluation, "http://localhost/x")
    texts = {tile.key: tile.value_text for tile in view.tiles}
    assert texts["energy"] == "2 Wh"
    assert texts["duration"] == "30 s"
    assert texts["co2_eq_emissions"] == "1 g"
