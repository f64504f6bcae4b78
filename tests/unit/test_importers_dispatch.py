"""import_file's checks of the tool and the phase, mean_of_runs, and ToolSpecs built from seeded tools."""

import pytest
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import CalculationTool
from gaissa.services.importers import (
    ColumnMapping,
    ImportedRun,
    ToolSpec,
    import_file,
    mean_of_runs,
    needs_inference_count,
    tool_spec_from_model,
)
from tests.unit.importers_support import CODECARBON, default_spec

TRAINING_FILE = CODECARBON / "training-emissions.csv"
INFERENCE_FILE = CODECARBON / "inference-emissions.csv"


def run(label: str, values: dict, **fields) -> ImportedRun:
    defaults = dict(
        line=2, info={}, energy_kwh=None, emissions_kg=None, duration_s=None, country_code=None, tool_version=None,
    )
    defaults.update(fields)
    return ImportedRun(label=label, values=values, **defaults)


def test_mean_of_real_runs():
    report = import_file(TRAINING_FILE.read_bytes(), "t.csv", default_spec("CodeCarbon", "training"), "training")
    mean = mean_of_runs(report.runs)

    energies = [r.energy_kwh for r in report.runs]
    assert mean.label == "mean of 3 runs"
    assert mean.line == 2
    assert mean.energy_kwh == pytest.approx(sum(energies) / 3, rel=1e-12)
    assert mean.values["energy"] == pytest.approx(sum(energies) / 3, rel=1e-12)
    assert mean.values["co2_eq_emissions"] == pytest.approx(
        sum(r.emissions_kg for r in report.runs) / 3 * 1000, rel=1e-12
    )
    assert mean.country_code == "ESP"
    assert mean.tool_version == "3.3.2"
    assert mean.info == {"country": "ESP", "hardware_used": "AMD EPYC"}
    assert mean.notes[0].startswith("Mean of 3 runs: digits-logreg, run 4fc77f63; ")
    assert mean.components_kwh["gpu"] == 0.0


def test_mean_of_partial_values_and_differing_info():
    first = run("a", {"energy": 1.0, "latency": 10.0}, info={"country": "ESP"}, country_code="ESP",
                components_kwh={"cpu": 1.0, "gpu": None})
    second = run("b", {"energy": 3.0}, line=5, info={"country": "FRA"}, country_code="FRA",
                 components_kwh={"cpu": 3.0, "gpu": 2.0})
    mean = mean_of_runs([first, second])

    assert mean.values == {"energy": 2.0, "latency": 10.0}
    assert mean.info == {}
    assert mean.country_code is None
    assert mean.components_kwh == {"cpu": 2.0, "gpu": None}
    assert "latency is the mean of the 1 of 2 runs that have it." in mean.notes
    assert "country differs between the runs (ESP, FRA), so it is left out." in mean.notes


def test_mean_of_one_run_is_a_copy():
    only = run("a", {"energy": 1.0}, notes=["x"])
    mean = mean_of_runs([only])

    assert mean == only
    mean.notes.append("y")
    assert only.notes == ["x"]


def test_mean_of_no_runs():
    with pytest.raises(ValueError, match="select at least one run"):
        mean_of_runs([])


def test_unknown_phase_is_a_bug():
    with pytest.raises(ValueError, match="phase must be one of"):
        import_file(b"x", "x.csv", default_spec("CodeCarbon", "training"), "deployment")


def test_unit_mismatch_in_mapping():
    tool = ToolSpec("Broken", "tabular", (ColumnMapping("energy", "metric", "energy", "kg", "kWh"),))
    report = import_file(b"energy\n1\n", "x.csv", tool, "training")

    assert not report.ok
    message = report.file_errors[0].message
    assert "maps column energy (kg) to metric energy (kWh)" in message
    assert "QA manager" in message


def test_unknown_file_format():
    tool = ToolSpec("Mystery", "parquet", (ColumnMapping("e", "metric", "energy", "kWh", "kWh"),))
    report = import_file(b"e\n1\n", "x.csv", tool, "training")

    assert "unknown file format 'parquet'" in report.file_errors[0].message


def test_tool_without_mappings():
    report = import_file(b"e\n1\n", "x.csv", ToolSpec("Empty", "tabular", ()), "training")

    assert "has no column mappings for the training phase" in report.file_errors[0].message


def test_info_text_is_capped():
    tool = ToolSpec("Meter", "tabular", (
        ColumnMapping("e", "metric", "energy", "kWh", "kWh"),
        ColumnMapping("hw", "info", "hardware_used", None, None),
    ))
    data = f"e,hw\n1,{'x' * 2000}\n".encode()
    report = import_file(data, "x.csv", tool, "training")

    assert len(report.runs[0].info["hardware_used"]) == 500


def test_spec_from_seeded_codecarbon_tool(app):
    tool = db.session.scalar(select(CalculationTool).where(CalculationTool.name == "CodeCarbon"))
    spec = tool_spec_from_model(tool, "inference")

    assert spec.name == "CodeCarbon"
    assert spec.file_format == "codecarbon"
    assert ColumnMapping("energy_consumed", "metric", "energy_per_inference", "kWh", "J") in spec.mappings
    assert ColumnMapping("duration", "metric", "latency", "s", "ms") in spec.mappings
    assert ColumnMapping("country_iso_code", "info", "country", None, None) in spec.mappings
    assert all(mapping.key != "energy" for mapping in spec.mappings)


def test_seeded_tools_import_real_files(app):
    tool = db.session.scalar(select(CalculationTool).where(CalculationTool.name == "CodeCarbon"))
    report = import_file(INFERENCE_FILE.read_bytes(), "inference-emissions.csv",
                         tool_spec_from_model(tool, "inference"), "inference", 90_000)

    assert report.ok
    assert [round(r.values["energy_per_inference"], 12) for r in report.runs] == [
        round(1.1629331112190914e-09 * 40, 12),
        round(3.088804338081448e-05 * 40, 12),
        round(1.1715115304437456e-06 * 40, 12),
    ]


@pytest.mark.parametrize("name", ["carbontracker", "eco2ai", "GAISSALabel model probe"])
def test_seeded_tool_specs_match_defaults(app, name):
    tool = db.session.scalar(select(CalculationTool).where(CalculationTool.name == name))
    for phase in ("training", "inference"):
        assert tool_spec_from_model(tool, phase) == default_spec(name, phase)


def test_needs_inference_count():
    assert needs_inference_count(default_spec("CodeCarbon", "inference"), "inference")
    assert not needs_inference_count(default_spec("CodeCarbon", "training"), "training")
    assert not needs_inference_count(default_spec("GAISSALabel model probe", "inference"), "inference")
