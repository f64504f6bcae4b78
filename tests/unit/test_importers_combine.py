"""combine_runs: the mean of repeated runs and the sum of rows that are parts of one run."""

import pytest

from gaissa.services.importers import (
    ColumnMapping,
    ImportedRun,
    RunCombinationError,
    ToolSpec,
    combine_runs,
    import_file,
    mean_of_runs,
    sum_of_runs,
)
from tests.unit.importers_support import CODECARBON, default_spec

LOAD_TESTER = ToolSpec("Load tester", "tabular", (
    ColumnMapping("energy_kwh", "metric", "energy_per_inference", "kWh", "J"),
    ColumnMapping("latency_ms", "metric", "latency", "ms", "ms", per_inference=True),
    ColumnMapping("accuracy", "metric", "accuracy", "score", "score"),
))
LOAD_FILE = b"energy_kwh,latency_ms,accuracy\n0.5,12.5,0.93\n0.25,14,0.93\n"

CUMULATIVE = b"""timestamp,project_name,run_id,duration,emissions,energy_consumed
2024-01-01T10:00:00,p,11111111-aaaa-4000-8000-000000000001,10,0.001,0.01
2024-01-01T10:00:05,p,22222222-bbbb-4000-8000-000000000002,3,0.0003,0.003
2024-01-01T10:00:10,p,11111111-aaaa-4000-8000-000000000001,20,0.002,0.02
2024-01-01T10:00:20,p,11111111-aaaa-4000-8000-000000000001,30,0.003,0.03
"""


def run(label: str, values: dict, totals: list[str], **fields) -> ImportedRun:
    defaults = dict(
        line=2, info={}, energy_kwh=None, emissions_kg=None, duration_s=None, country_code=None, tool_version=None,
    )
    defaults.update(fields)
    return ImportedRun(label=label, values=values, run_total_keys=totals, **defaults)


def load_runs() -> list[ImportedRun]:
    report = import_file(LOAD_FILE, "load.csv", LOAD_TESTER, "inference", 1000)
    assert report.ok
    return report.runs


def test_sum_adds_run_totals_only():
    total = sum_of_runs(load_runs())

    assert total.values["energy_per_inference"] == pytest.approx(0.75 * 3.6e6 / 1000, rel=1e-12)
    assert total.energy_kwh == pytest.approx(0.75, rel=1e-12)
    assert total.run_total_keys == ["energy_per_inference"]


def test_sum_leaves_out_differing_latency():
    total = sum_of_runs(load_runs())

    assert "latency" not in total.values
    assert ("latency is not an energy, CO2 or time total of the run, so it cannot be summed. "
            "It differs between the rows (12.5, 14), so it is left out.") in total.notes


def test_sum_keeps_equal_accuracy():
    total = sum_of_runs(load_runs())

    assert total.values["accuracy"] == 0.93
    assert not any(note.startswith("accuracy") for note in total.notes)


def test_sum_keeps_shared_row_notes():
    total = sum_of_runs(load_runs())

    assert "latency_ms is already per inference, so it is not divided." in total.notes
    assert "energy_kwh is divided by 1,000 inferences." in total.notes


def test_sum_rejected_without_run_totals():
    probe = default_spec("GAISSALabel model probe", "inference")
    report = import_file(b"parameters,file_size_bytes\n1000,4000\n2000,8000\n", "probe.csv", probe, "inference")

    with pytest.raises(RunCombinationError) as caught:
        sum_of_runs(report.runs)
    message = str(caught.value)
    assert "cannot be summed" in message
    assert "parameters and file_size are not one of them" in message
    assert "Choose one row or their mean." in message


def test_sum_rejected_for_per_inference_only():
    first = run("a", {"latency": 12.0}, [])
    second = run("b", {"latency": 12.0}, [], line=3)

    with pytest.raises(RunCombinationError, match="latency is not one of them"):
        sum_of_runs([first, second])


def test_sum_leaves_out_partial_total():
    first = run("a", {"energy": 1.0, "co2_eq_emissions": 400.0}, ["energy", "co2_eq_emissions"],
                energy_kwh=1.0, emissions_kg=0.4)
    second = run("b", {"energy": 2.0}, ["energy"], line=3, energy_kwh=2.0)
    total = sum_of_runs([first, second])

    assert total.values == {"energy": 3.0}
    assert total.energy_kwh == 3.0
    assert total.emissions_kg is None
    assert "co2_eq_emissions is missing on line 3, so its sum is left out." in total.notes


def test_sum_leaves_out_differing_info():
    first = run("a", {"energy": 1.0}, ["energy"], info={"country": "ESP"}, country_code="ESP")
    second = run("b", {"energy": 2.0}, ["energy"], line=3, info={"country": "FRA"}, country_code="FRA")
    total = sum_of_runs([first, second])

    assert total.info == {}
    assert total.country_code is None
    assert "country differs between the rows (ESP, FRA), so it is left out." in total.notes


def test_sum_of_one_run_is_a_copy():
    only = run("a", {"latency": 3.0}, [], notes=["x"])
    total = sum_of_runs([only])

    assert total == only
    total.notes.append("y")
    assert only.notes == ["x"]


def test_codecarbon_sum_skips_cumulative_flushes():
    report = import_file(CUMULATIVE, "flush.csv", default_spec("CodeCarbon", "training"), "training")
    total = sum_of_runs(report.runs)

    # Lines 2 and 4 are earlier flushes of the run that line 5 ends, so only lines 3 and 5 are runs.
    assert [r.line for r in report.runs] == [3, 5]
    assert total.energy_kwh == pytest.approx(0.033, rel=1e-12)
    assert total.values["energy"] == pytest.approx(0.033, rel=1e-12)
    assert total.duration_s == pytest.approx(33.0, rel=1e-12)
    assert "The rows come from 2 different runs, so the sum adds separate runs." in total.notes


def test_codecarbon_real_runs_sum():
    data = (CODECARBON / "training-emissions.csv").read_bytes()
    report = import_file(data, "t.csv", default_spec("CodeCarbon", "training"), "training")
    total = combine_runs(report.runs, "sum")

    assert total.label == "sum of 3 rows"
    assert total.energy_kwh == pytest.approx(sum(r.energy_kwh for r in report.runs), rel=1e-12)
    assert total.values["co2_eq_emissions"] == pytest.approx(sum(r.emissions_kg for r in report.runs) * 1000, rel=1e-12)
    assert total.info == {"country": "ESP", "hardware_used": "AMD EPYC"}


def test_mean_keeps_shared_row_notes():
    mean = mean_of_runs(load_runs())

    assert mean.values["latency"] == pytest.approx(13.25, rel=1e-12)
    assert "latency_ms is already per inference, so it is not divided." in mean.notes


def test_combine_unknown_combination():
    with pytest.raises(ValueError, match="combination must be one of mean, sum; got 'median'"):
        combine_runs(load_runs(), "median")
