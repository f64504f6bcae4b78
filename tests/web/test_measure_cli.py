"""`flask gaissa measure` and `flask gaissa hardware-power` against servers on 127.0.0.1."""

import json

import pytest

from gaissa.extensions import db
from gaissa.models import EvaluationDraft
from tests.measure_servers import DigitsHandler, EnergyReportingHandler, ErrorHandler, digits_model, serving


@pytest.fixture(autouse=True)
def no_rate_wait(app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_RATE_PER_SECOND", 100_000)


def pixel_text(index=0):
    _model, images, _labels = digits_model()
    return ",".join(f"{value:g}" for value in images[index])


def test_measure_prints_json(runner):
    with serving(DigitsHandler) as server:
        result = runner.invoke(args=[
            "gaissa", "measure", server.url("/predict"), "--input", pixel_text(0), "--input", pixel_text(1),
            "--hardware", "nvidia-a100-sxm", "--warmup", "1", "--requests", "6", "--concurrency", "2", "--json",
        ])

    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["succeeded"] == 6
    assert summary["energy"]["method"] == "estimated"
    assert summary["energy"]["power_w"] == 400
    assert summary["review_url"].endswith(f"/gaissalabel/inference/new?draft={summary['draft_id']}")
    assert len(server.received) == 7
    draft = db.session.get(EvaluationDraft, summary["draft_id"])
    assert draft.values["energy_per_inference"] == pytest.approx(summary["energy"]["joules_per_inference"], rel=1e-5)


def test_measure_prints_text_with_reported_energy(runner):
    with serving(EnergyReportingHandler, joules=7.2) as server:
        result = runner.invoke(args=[
            "gaissa", "measure", server.url(), "--input", "hello", "--energy-header", "X-Energy-Wh",
            "--energy-unit", "Wh", "--requests", "4", "--header", "Authorization: Bearer cli-secret", "--no-draft",
        ])

    assert result.exit_code == 0, result.output
    assert "Energy:       7.2 J per inference (reported by the endpoint)" in result.output
    assert "Latency (ms): mean" in result.output
    assert "Review and save" not in result.output
    assert server.received[0]["headers"]["Authorization"] == "Bearer cli-secret"
    assert "cli-secret" not in result.output


def test_measure_failure_exits_with_message(runner):
    with serving(ErrorHandler) as server:
        result = runner.invoke(args=["gaissa", "measure", server.url(), "--input", "x", "--power-watts", "300"])

    assert result.exit_code == 1
    assert "Error: The first request failed: HTTP 500 Internal Server Error." in result.output


def test_measure_refuses_private_address(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOWLIST", [])

    result = runner.invoke(args=["gaissa", "measure", "http://127.0.0.1:9/", "--input", "x", "--power-watts", "300"])

    assert result.exit_code == 1
    assert "127.0.0.1 is a loopback address; measurements may only reach public hosts." in result.output


def test_measure_needs_energy_source(runner):
    result = runner.invoke(args=["gaissa", "measure", "http://127.0.0.1:9/", "--input", "x"])

    assert result.exit_code == 2
    assert "Say how energy is obtained" in result.output


def test_measure_rejects_invalid_settings(runner):
    result = runner.invoke(args=["gaissa", "measure", "http://127.0.0.1:9/", "--input", "x", "--power-watts", "300",
                                 "--concurrency", "99"])

    assert result.exit_code == 1
    assert "Concurrency must be from 1 to 16; got 99." in result.output


def test_hardware_power_lists_sources(runner):
    result = runner.invoke(args=["gaissa", "hardware-power"])

    assert result.exit_code == 0
    assert "nvidia-h100-sxm" in result.output
    assert "source: NVIDIA H100 PCIe GPU product brief" in result.output
