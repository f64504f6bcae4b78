"""carbontracker output logs: the Actual block is the measurement, the Predicted block is not."""

import pytest

from gaissa.services.importers import import_file
from tests.unit.importers_support import case_bytes, default_spec

TRAINING = default_spec("carbontracker", "training")


def read_log(name: str):
    return import_file(case_bytes(name), name, TRAINING, "training")


def test_c27a_uses_actual_consumption():
    report = read_log("C27a-carbontracker-output.log")

    assert report.ok
    assert report.errors == []
    run = report.runs[0]
    assert run.duration_s == 53.0
    assert run.energy_kwh == 0.003504
    assert run.emissions_kg == pytest.approx(3.57451e-04, rel=1e-12)
    assert run.values["energy"] == 0.003504
    assert run.values["co2_eq_emissions"] == 0.357451
    assert run.values["duration"] == pytest.approx(53 / 3600, rel=1e-12)
    assert run.line == 3
    assert run.label == "1 epoch(s), line 3"


def test_c27a_prediction_is_only_noted():
    report = read_log("C27a-carbontracker-output.log")

    run = report.runs[0]
    assert run.energy_kwh != 0.014018
    assert "Actual consumption of 1 epoch(s) is used." in run.notes
    assert any("prediction for 4 epoch(s) (0.014018 kWh)" in note for note in run.notes)


def test_c27b_aborted_run():
    report = read_log("C27b-carbontracker-aborted.log")

    assert not report.ok
    assert report.runs == []
    message = report.file_errors[0].message
    assert message.startswith("run aborted: no actual consumption")
    assert "4 epoch(s)" in message


def test_c27c_no_measurement():
    report = read_log("C27c-carbontracker-too-short.log")

    assert not report.ok
    assert report.runs == []
    assert [error.line for error in report.errors] == [4]
    message = report.errors[0].message
    assert message.startswith("line 4: no energy measured (0 kWh over 1 s)")
    assert "too short" in message


def test_not_a_carbontracker_log():
    report = import_file(b"hello\nworld\n", "notes.txt", TRAINING, "training")

    assert not report.ok
    assert "not a carbontracker output log" in report.file_errors[0].message


def test_last_actual_block_and_long_time():
    log = (
        "Actual consumption for 1 epoch(s):\n\tTime:\t0:10:00\n\tEnergy:\t0.5 kWh\n\tCO2eq:\t100.0 g\n"
        "Actual consumption for 3 epoch(s):\n\tTime:\t1 day, 2:03:04.50\n\tEnergy:\t1500 Wh\n\tCO2eq:\t0.3 kg\n"
    ).encode()
    report = import_file(log, "long.log", TRAINING, "training")

    run = report.runs[0]
    assert run.line == 5
    assert run.duration_s == 86400 + 2 * 3600 + 3 * 60 + 4.5
    assert run.energy_kwh == 1.5
    assert run.values["co2_eq_emissions"] == 300.0
    assert run.label == "3 epoch(s), line 5"


def test_negative_energy_rejected():
    log = b"Actual consumption for 1 epoch(s):\n\tTime:\t0:00:10\n\tEnergy:\t-0.2 kWh\n\tCO2eq:\t1 g\n"
    report = import_file(log, "bad.log", TRAINING, "training")

    assert [error.message for error in report.errors] == ["line 1: Energy is -0.2 kWh, below zero"]


def test_missing_lines_reported():
    log = b"Actual consumption for 2 epoch(s):\n\tEnergy:\t0.2 kWh\n"
    report = import_file(log, "short.log", TRAINING, "training")

    assert report.errors[0].message == "line 1: the block has no CO2eq line; the block has no Time line"


def test_no_inference_mappings():
    report = import_file(case_bytes("C27a-carbontracker-output.log"), "c.log",
                         default_spec("carbontracker", "inference"), "inference", 10)

    assert not report.ok
    assert "has no column mappings for the inference phase" in report.file_errors[0].message
