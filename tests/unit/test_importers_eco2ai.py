"""eco2ai CSV layouts: TAB-separated, `*`-quoted, kWTh and the current layout give the same run.

The per-epoch rows of one training sum to the training.
"""

from dataclasses import asdict

import pytest

from gaissa.services.importers import import_file, sum_of_runs
from gaissa.services.importers.base import NO_ENERGY_ADVICE
from gaissa.services.uploads import offers_sum, suggested_choice
from tests.unit.importers_support import ECO2AI_EPOCHS, ECO2AI_RUN, case_bytes, default_spec

TRAINING = default_spec("eco2ai", "training")
LAYOUTS = ["C28a-eco2ai-tsv.tsv", "C28b-eco2ai-star-quoted.csv", "C28c-eco2ai-current.csv"]


@pytest.mark.parametrize("name", LAYOUTS)
def test_c28_layouts_same_run(name):
    report = import_file(case_bytes(name), name, TRAINING, "training")

    assert report.ok
    assert report.errors == []
    assert len(report.runs) == 1
    run = report.runs[0]
    assert run.energy_kwh == 0.0102
    assert run.emissions_kg == 0.0046
    assert run.duration_s == 123.4
    assert run.values["energy"] == 0.0102
    assert run.values["co2_eq_emissions"] == 4.6
    assert run.values["duration"] == pytest.approx(123.4 / 3600, rel=1e-12)
    assert run.line == 2


def test_c28b_star_quoted_field():
    report = import_file(case_bytes(LAYOUTS[1]), LAYOUTS[1], TRAINING, "training")

    assert report.runs[0].cells["CPU_name"] == "Generic CPU/1 device(s), TDP:65"
    assert report.runs[0].cells["region/country"] == "Germany"


def test_kwth_noted():
    report = import_file(case_bytes(LAYOUTS[0]), LAYOUTS[0], TRAINING, "training")

    assert "The column power_consumption(kWTh) of older eco2ai versions is read as kWh." in report.notes
    assert report.runs[0].label == "proj, baseline, line 2"


def test_current_layout_label_and_id():
    report = import_file(case_bytes(LAYOUTS[2]), LAYOUTS[2], TRAINING, "training")

    run = report.runs[0]
    assert run.run_id == "00000000-0000-4000-8000-00000000000d"
    assert run.label == "proj, baseline, run 00000000"
    assert report.notes == []


def test_rows_rejected_per_line():
    data = (
        b"project_name,duration(s),power_consumption(kWh),CO2_emissions(kg)\n"
        b"p,10,0,0\n"
        b"p,10,-0.1,0.01\n"
        b"p,10,NaN,0.01\n"
        b"p,1970-01-01 00:02:03,0.5,0\n"
    )
    report = import_file(data, "emission.csv", TRAINING, "training")

    assert [error.message for error in report.errors] == [
        "line 2: no energy measured (0 kWh over 10 s)" + NO_ENERGY_ADVICE,
        "line 3: power_consumption(kWh) is -0.1 kWh, below zero",
        "line 4: power_consumption(kWh) is NaN",
    ]
    run = report.runs[0]
    assert run.line == 5
    assert run.duration_s is None
    assert run.emissions_kg is None
    assert run.values == {"energy": 0.5}
    assert any("not a number of seconds" in note for note in run.notes)


def test_epoch_rows_noted():
    data = (
        b"id,project_name,experiment_description,epoch,start_time,duration(s),power_consumption(kWh),CO2_emissions(kg)\n"
        b"abc,p,e,epoch: 3,2024-01-01 10:00:00,5,0.01,0.004\n"
    )
    report = import_file(data, "emission.csv", TRAINING, "training")

    assert "This row covers epoch: 3." in report.runs[0].notes


def test_not_an_eco2ai_file():
    report = import_file(b"a,b\n1,2\n", "x.csv", TRAINING, "training")

    assert "is not an eco2ai file" in report.file_errors[0].message


def test_epoch_rows_are_runs_of_one_id():
    report = import_file(ECO2AI_EPOCHS, "emission.csv", TRAINING, "training")

    assert report.errors == []
    assert [run.line for run in report.runs] == [2, 3, 4, 5]
    assert [run.run_id for run in report.runs[1:]] == [ECO2AI_RUN, ECO2AI_RUN, ECO2AI_RUN]
    assert report.runs[1].label == "mnist, cnn, run 6f1c2a9e (line 3)"
    assert "This row covers epoch: 1." in report.runs[1].notes
    assert report.runs[1].run_total_keys == ["energy", "co2_eq_emissions", "duration"]


def test_epoch_rows_preselected_for_sum():
    report = import_file(ECO2AI_EPOCHS, "emission.csv", TRAINING, "training")
    records = [asdict(run) for run in report.runs]

    assert suggested_choice(records) == ([1, 2, 3], "sum")
    assert offers_sum(records)


def test_epoch_rows_sum_to_training():
    report = import_file(ECO2AI_EPOCHS, "emission.csv", TRAINING, "training")
    total = sum_of_runs(report.runs[1:])

    assert total.label == "sum of 3 rows"
    assert total.line == 3
    assert total.run_id == ECO2AI_RUN
    assert total.energy_kwh == pytest.approx(0.006, rel=1e-12)
    assert total.emissions_kg == pytest.approx(0.0024, rel=1e-12)
    assert total.duration_s == pytest.approx(181.0, rel=1e-12)
    assert total.values["energy"] == pytest.approx(0.006, rel=1e-12)
    assert total.values["co2_eq_emissions"] == pytest.approx(2.4, rel=1e-12)
    assert total.values["duration"] == pytest.approx(181.0 / 3600, rel=1e-12)
    assert total.notes[0].startswith("Sum of 3 rows (lines 3, 4 and 5): mnist, cnn, run 6f1c2a9e (line 3); ")
    # Each row's epoch differs, so no row note is shared by all three.
    assert not any(note.startswith("This row covers") for note in total.notes)
