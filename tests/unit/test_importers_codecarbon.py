"""CodeCarbon emissions.csv of every version: the real files and the real-world cases."""

import hashlib
import io

import openpyxl
import pytest

from gaissa.services.importers import import_file
from gaissa.services.importers.base import NO_ENERGY_ADVICE
from tests.unit.importers_support import CODECARBON, case_bytes, default_spec

TRAINING = default_spec("CodeCarbon", "training")
INFERENCE = default_spec("CodeCarbon", "inference")

# project_name, run_id, energy_consumed (kWh), emissions (kg), duration (s), as written in the real files.
TRAINING_RUNS = [
    ("digits-logreg", "4fc77f63-f3fc-4214-a10b-097da959f684",
     1.4513402084445058e-05, 2.5260576327976622e-06, 1.8737147740000637),
    ("digits-random-forest", "7cbf9d92-ea3d-44b4-a944-96ceaeb600ba",
     4.426385258193178e-06, 7.704123541885226e-07, 0.7261783070000547),
    ("digits-mlp", "0b318d1d-b757-40bc-8071-551d54441c1c",
     4.223015642001681e-06, 7.350158724903926e-07, 0.5436940430001869),
]
INFERENCE_RUNS = [
    ("digits-logreg", "e2d607ca-f56c-4e88-8fd7-bfdaa3e3d063",
     1.1629331112190914e-09, 2.0240850800768287e-10, 0.023753378000037628),
    ("digits-random-forest", "a5feefe9-b395-40b4-9a87-582c805b0b05",
     3.088804338081448e-05, 5.37606395043076e-06, 5.12538359999985),
    ("digits-mlp", "247439d1-e0f2-4b45-8072-5ddb3acf7c35",
     1.1715115304437456e-06, 2.0390158187373392e-07, 0.15210859800004073),
]
INFERENCES = 90_000


def read_case(name: str, spec=TRAINING, phase="training", inference_count=None):
    return import_file(case_bytes(name), name, spec, phase, inference_count)


def test_real_training_file_gives_three_runs():
    data = (CODECARBON / "training-emissions.csv").read_bytes()
    report = import_file(data, "training-emissions.csv", TRAINING, "training")

    assert report.ok
    assert report.errors == []
    assert len(report.runs) == 3
    for run, (project, run_id, energy, emissions, duration) in zip(report.runs, TRAINING_RUNS):
        assert run.label == f"{project}, run {run_id[:8]}"
        assert run.run_id == run_id
        assert run.energy_kwh == energy
        assert run.emissions_kg == emissions
        assert run.duration_s == duration
        assert run.values["energy"] == pytest.approx(energy, rel=1e-12)
        assert run.values["co2_eq_emissions"] == pytest.approx(emissions * 1000, rel=1e-12)
        assert run.values["duration"] == pytest.approx(duration / 3600, rel=1e-12)
        assert run.country_code == "ESP"
        assert run.tool_version == "3.3.2"
        assert run.info == {"country": "ESP", "hardware_used": "AMD EPYC"}
        assert run.pue == 1.0


def test_real_training_file_lines_and_components():
    data = (CODECARBON / "training-emissions.csv").read_bytes()
    report = import_file(data, "training-emissions.csv", TRAINING, "training")

    assert [run.line for run in report.runs] == [2, 3, 4]
    logreg = report.runs[0]
    assert logreg.components_kwh == {"cpu": 4.1531695566666e-06, "gpu": 0.0, "ram": 1.0360232527778457e-05}
    assert "The 38 columns match CodeCarbon 3.2.1 or later." in report.notes


def test_real_inference_file_per_inference_values():
    data = (CODECARBON / "inference-emissions.csv").read_bytes()
    report = import_file(data, "inference-emissions.csv", INFERENCE, "inference", INFERENCES)

    assert report.ok
    assert len(report.runs) == 3
    for run, (project, run_id, energy, emissions, duration) in zip(report.runs, INFERENCE_RUNS):
        assert run.label == f"{project}, run {run_id[:8]}"
        # Totals of the run stay as written; the metric values are per inference.
        assert run.energy_kwh == energy
        assert run.emissions_kg == emissions
        assert run.duration_s == duration
        assert run.values["energy_per_inference"] == pytest.approx(energy * 3.6e6 / INFERENCES, rel=1e-12)
        assert run.values["latency"] == pytest.approx(duration * 1000 / INFERENCES, rel=1e-12)
        assert set(run.values) == {"energy_per_inference", "latency"}
        assert "energy_consumed and duration are divided by 90,000 inferences." in run.notes


def test_real_inference_logreg_tiny_energy():
    data = (CODECARBON / "inference-emissions.csv").read_bytes()
    report = import_file(data, "inference-emissions.csv", INFERENCE, "inference", INFERENCES)

    logreg = report.runs[0]
    assert logreg.values["energy_per_inference"] == pytest.approx(4.651732444876366e-08, rel=1e-12)
    assert logreg.values["latency"] == pytest.approx(2.639264222226403e-04, rel=1e-12)


@pytest.mark.parametrize("count", [None, 0, -5, True, 2.5])
def test_inference_without_valid_count_is_file_error(count):
    data = (CODECARBON / "inference-emissions.csv").read_bytes()
    report = import_file(data, "inference-emissions.csv", INFERENCE, "inference", count)

    assert not report.ok
    assert report.runs == []
    assert len(report.file_errors) == 1
    assert "number of inferences" in report.file_errors[0].message


def test_c01_bom_v1_file():
    report = read_case("C01-codecarbon-v1-bom.csv")

    assert report.ok
    assert report.errors == []
    first = report.runs[0]
    assert first.line == 2
    assert first.energy_kwh == 8.0
    assert first.emissions_kg == 8.0
    assert first.duration_s == 34.0
    assert first.values["energy"] == 8.0
    assert first.values["co2_eq_emissions"] == 8000.0
    assert first.components_kwh == {"cpu": None, "gpu": None, "ram": None}
    assert first.tool_version is None
    assert first.run_id is None
    assert first.label == "project_gamma, experiment 00000000"
    assert first.cells["timestamp"] == "2020-03-23T09:26:11"
    assert "\ufefftimestamp" not in first.cells


def test_c01_every_row_is_a_run():
    report = read_case("C01-codecarbon-v1-bom.csv")

    assert [run.line for run in report.runs] == [2, 3]
    assert report.runs[1].energy_kwh == 3.0
    assert report.runs[1].country_code == "TWN"
    assert "The 12 columns match CodeCarbon 1.x." in report.notes
    assert "The file has no cpu_model column, so hardware_used is left out." in report.notes


def test_c02_zero_energy_rejected():
    report = read_case("C02-codecarbon-v0-zero-energy.csv")

    assert "The 12 columns match CodeCarbon 0.x." in report.notes
    assert report.runs == []
    assert not report.ok
    assert report.file_errors == []
    assert [error.message for error in report.errors] == ["line 2: no energy measured (0 kWh over 51 s)" + NO_ENERGY_ADVICE]
    assert report.errors[0].line == 2


def test_c04_empty_run_id_not_merged():
    report = read_case("C04-codecarbon-v2.4-pue-empty-runid.csv")

    assert report.errors == []
    assert [run.line for run in report.runs] == [2, 3, 4]
    assert report.runs[1].run_id is None
    assert report.runs[1].label == "codecarbon, line 3"
    assert report.runs[1].energy_kwh == 0.0001418904712555


def test_c04_pue_not_applied_twice():
    report = read_case("C04-codecarbon-v2.4-pue-empty-runid.csv")

    row3 = report.runs[2]
    assert row3.pue == 1.58
    assert row3.energy_kwh == pytest.approx(0.00063957, rel=1e-4)
    assert row3.values["energy"] == pytest.approx(0.0006395669638670535, rel=1e-12)
    assert row3.values["energy"] != pytest.approx(0.0010105, rel=1e-3)
    assert any("already includes PUE 1.58" in note and "0.00040479 kWh" in note for note in row3.notes)


def test_c04_placeholder_run_ids_get_lines():
    report = read_case("C04-codecarbon-v2.4-pue-empty-runid.csv")

    labels = [run.label for run in report.runs]
    assert labels[0] == "codecarbon, run 00000000 (line 2)"
    assert labels[2] == "codecarbon, run 00000000 (line 4)"
    assert len(set(labels)) == 3


def test_c05_shuffled_columns_by_name():
    report = read_case("C05-codecarbon-v3.2-shuffled-columns.csv")

    assert report.ok
    assert report.errors == []
    run = report.runs[0]
    assert run.energy_kwh == pytest.approx(1.6112e-06, rel=1e-4)
    assert run.emissions_kg == pytest.approx(9.029e-08, rel=1e-4)
    assert run.values["energy"] == 1.6111918500031071e-06
    assert run.cells["water_consumed"] == "0.0"
    assert run.pue == 1.0
    assert run.country_code == "FRA"
    assert run.tool_version == "3.2.0"
    assert run.info["hardware_used"] == "Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz"
    assert "The 34 columns match CodeCarbon 3.0.8–3.2.0." in report.notes


def test_c05_misaligned_values_caught():
    text = case_bytes("C05-codecarbon-v3.2-shuffled-columns.csv").decode()
    header, row = text.splitlines()[:2]
    fields = row.split(",")
    columns = header.split(",")
    # Swap the values of tracking_mode and on_cloud, as a positional reader would.
    mode, cloud = columns.index("tracking_mode"), columns.index("on_cloud")
    fields[mode], fields[cloud] = fields[cloud], fields[mode]
    iso = columns.index("country_iso_code")
    fields[iso] = "France"
    data = f"{header}\n{','.join(fields)}\n".encode()

    report = import_file(data, "shifted.csv", TRAINING, "training")

    assert report.runs == []
    message = report.errors[0].message
    assert message.startswith("line 2: ")
    assert "country_iso_code is 'France', not a 3-letter code" in message
    assert "on_cloud is 'machine', not Y or N" in message
    assert "tracking_mode is 'N', not machine or process" in message


def test_c07_glued_rows_per_line():
    report = read_case("C07-codecarbon-concatenated-rows.csv")

    assert report.ok
    assert len(report.runs) == 1
    run = report.runs[0]
    assert run.line == 2
    assert run.energy_kwh == 6.0
    assert run.emissions_kg == 4.0
    assert [error.line for error in report.errors] == [3, 4]
    assert report.errors[0].message.startswith("line 3: 23 fields, header has 12")
    assert report.errors[1].message.startswith("line 4: timestamp is not a date")


def test_c08_empty_file():
    report = read_case("C08-codecarbon-empty.csv")

    assert not report.ok
    assert [error.message for error in report.errors] == ["file is empty"]
    assert report.errors[0].line is None


def test_c08_header_only():
    report = read_case("C08-codecarbon-header-only.csv")

    assert not report.ok
    assert len(report.file_errors) == 1
    assert report.file_errors[0].message.startswith("no data rows")
    assert report.runs == []


def test_c10_negative_and_nan_rejected():
    report = read_case("C10-codecarbon-negative-and-nan.csv")

    assert report.runs == []
    assert [error.message for error in report.errors] == [
        "line 2: cpu_energy is -0.000412 kWh, below zero",
        "line 3: energy_consumed and emissions are NaN",
    ]


def test_whitespace_only_file_is_empty():
    report = import_file(b"\xef\xbb\xbf\n  \n", "blank.csv", TRAINING, "training")

    assert [error.message for error in report.errors] == ["file is empty"]


def test_not_codecarbon_header():
    report = import_file(b"model,accuracy\nbert,0.9\n", "scores.csv", TRAINING, "training")

    assert not report.ok
    message = report.file_errors[0].message
    assert "is not a CodeCarbon emissions.csv" in message
    assert "timestamp, duration, emissions and energy_consumed" in message


CUMULATIVE = """timestamp,project_name,run_id,duration,emissions,energy_consumed,country_iso_code
2024-01-01T10:00:00,p,11111111-aaaa-4000-8000-000000000001,10,0.001,0.01,ESP
2024-01-01T10:00:05,p,22222222-bbbb-4000-8000-000000000002,3,0.0003,0.003,ESP
2024-01-01T10:00:10,p,11111111-aaaa-4000-8000-000000000001,20,0.002,0.02,ESP
2024-01-01T10:00:20,p,11111111-aaaa-4000-8000-000000000001,30,0.003,0.03,ESP
"""


def test_cumulative_flush_last_row_wins():
    report = import_file(CUMULATIVE.encode(), "flush.csv", TRAINING, "training")

    assert report.errors == []
    assert [run.line for run in report.runs] == [3, 5]
    total = report.runs[1]
    assert total.run_id == "11111111-aaaa-4000-8000-000000000001"
    assert total.energy_kwh == 0.03
    assert total.duration_s == 30.0
    assert total.notes == [
        "run 11111111-aaaa-4000-8000-000000000001 has 3 rows (cumulative flushes). "
        "The last one, line 5, is the run total, so lines 2, 4 are left out."
    ]


def test_cumulative_flush_bad_last_row_rejects_run():
    data = CUMULATIVE.replace("30,0.003,0.03", "30,0.003,NaN").encode()
    report = import_file(data, "flush.csv", TRAINING, "training")

    assert [run.line for run in report.runs] == [3]
    assert [error.message for error in report.errors] == ["line 5: energy_consumed is NaN"]


def test_zero_emissions_left_out():
    data = CUMULATIVE.replace("10,0.001,0.01", "10,0.0,0.01").encode()
    report = import_file(data, "flush.csv", TRAINING, "training")

    run = next(run for run in report.runs if run.line == 3)
    assert run.emissions_kg == pytest.approx(0.0003)
    data = b"timestamp,run_id,duration,emissions,energy_consumed\n2024-01-01T10:00:00,,10,0.0,0.01\n"
    report = import_file(data, "zero-co2.csv", TRAINING, "training")
    run = report.runs[0]
    assert run.emissions_kg is None
    assert "co2_eq_emissions" not in run.values
    assert run.values["energy"] == 0.01
    assert run.notes == ["emissions are 0 kg, which means CodeCarbon had no carbon intensity; they are left out."]


def test_nan_component_is_unknown():
    data = (
        b"timestamp,run_id,duration,emissions,energy_consumed,cpu_energy,gpu_energy,ram_energy\n"
        b"2024-01-01T10:00:00,r1,10,0.001,0.01,0.004,NaN,0.006\n"
    )
    report = import_file(data, "nan-gpu.csv", TRAINING, "training")

    run = report.runs[0]
    assert run.components_kwh == {"cpu": 0.004, "gpu": None, "ram": 0.006}
    assert "gpu_energy is NaN, so it is treated as unknown." in run.notes


def test_not_a_number_and_empty_required():
    data = (
        b"timestamp,run_id,duration,emissions,energy_consumed\n"
        b"2024-01-01T10:00:00,r1,ten,0.001,0.01\n"
        b"2024-01-01T10:00:00,r2,10,0.001,\n"
    )
    report = import_file(data, "bad.csv", TRAINING, "training")

    assert [error.message for error in report.errors] == [
        "line 2: duration is 'ten', not a number",
        "line 3: energy_consumed is empty",
    ]


def test_semicolon_csv_from_spreadsheet():
    data = (CODECARBON / "training-emissions.csv").read_text().replace(",", ";").encode()
    report = import_file(data, "semicolons.csv", TRAINING, "training")

    assert report.ok
    assert [run.energy_kwh for run in report.runs] == [run[2] for run in TRAINING_RUNS]


def test_codecarbon_saved_as_xlsx():
    text = (CODECARBON / "training-emissions.csv").read_text().splitlines()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for line in text:
        cells = line.split(",")
        sheet.append([_spreadsheet_value(cell) for cell in cells])
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = import_file(buffer.getvalue(), "emissions.xlsx", TRAINING, "training")

    assert report.ok, report.errors
    # XLSX keeps about 15 significant digits, as Excel does.
    assert [run.energy_kwh for run in report.runs] == pytest.approx([run[2] for run in TRAINING_RUNS], rel=1e-14)
    assert [run.duration_s for run in report.runs] == pytest.approx([run[4] for run in TRAINING_RUNS], rel=1e-14)
    assert report.runs[0].country_code == "ESP"


def _spreadsheet_value(cell: str):
    """Store numbers as numbers, as Excel does when it opens a CSV."""
    try:
        return float(cell)
    except ValueError:
        return cell


def test_sha256_and_tool_recorded():
    data = (CODECARBON / "training-emissions.csv").read_bytes()
    report = import_file(data, "training-emissions.csv", TRAINING, "training")

    assert report.sha256 == hashlib.sha256(data).hexdigest()
    assert report.tool == "CodeCarbon"
    assert report.file_name == "training-emissions.csv"
