"""`gaissa rate` and `gaissa seed`: rating files and values without a server, exit codes, JSON and PDF output."""

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gaissa.extensions import db
from gaissa.models import Evaluation, MLModel

DATA = Path(__file__).resolve().parent.parent / "data"
TRAINING_FILE = DATA / "codecarbon" / "training-emissions.csv"
INFERENCE_FILE = DATA / "codecarbon" / "inference-emissions.csv"


def test_rate_training_file_json(runner):
    result = runner.invoke(args=["gaissa", "rate", "--phase", "training", "--file", str(TRAINING_FILE), "--json"])
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)
    rows = list(csv.DictReader(TRAINING_FILE.open(encoding="utf-8")))
    assert [run["name"].split(",")[0] for run in runs] == [row["project_name"] for row in rows]
    for run, row in zip(runs, rows):
        assert set(run) >= {"name", "overall_grade", "metrics"}
        assert run["metrics"]["energy"]["value"] == pytest.approx(float(row["energy_consumed"]))
        assert run["metrics"]["energy"]["unit"] == "kWh"
        assert run["metrics"]["co2_eq_emissions"]["value"] == pytest.approx(float(row["emissions"]) * 1000)
        assert run["metrics"]["energy"]["grade"] in "ABCDE"
        assert run["overall_grade"] in "ABCDE"


def test_rate_inference_file_text(runner):
    result = runner.invoke(args=["gaissa", "rate", "--phase", "inference", "--file", str(INFERENCE_FILE),
                                 "--inferences", "90000"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("overall grade") == 3
    assert "energy_per_inference" in result.stdout
    assert " J " in result.stdout


def test_rate_values_with_units(runner):
    result = runner.invoke(args=["gaissa", "rate", "--phase", "training", "--value", "energy=1.2 MWh",
                                 "--value", "duration=3 h", "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)[0]
    assert run["metrics"]["energy"]["value"] == pytest.approx(1200.0)
    assert run["metrics"]["energy"]["grade"] == "E"
    assert run["metrics"]["duration"]["grade"] == "C"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--value", "energy=-3"], "cannot be negative"),
        (["--value", "energy=0"], "not measured"),
        (["--value", "energy=NaN"], "not a finite number"),
        (["--value", "nonsense=3"], "Unknown training metric 'nonsense'"),
        (["--value", "energy"], "write KEY=VALUE"),
        ([], "Give --file PATH or one or more --value"),
        (["--file", "/nonexistent/emissions.csv"], "File not found"),
        (["--file", str(TRAINING_FILE), "--tool", "NoSuchTool"], "Unknown calculation tool 'NoSuchTool'"),
        (["--file", str(TRAINING_FILE), "--pdf", "/nonexistent-folder/label.pdf"],
         "the folder /nonexistent-folder does not exist"),
        (["--file", str(TRAINING_FILE), "--inferences", "5"], "--inferences applies to --phase inference only"),
    ],
)
def test_rate_invalid_input_exits_2(runner, args, message):
    result = runner.invoke(args=["gaissa", "rate", "--phase", "training", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_rate_inference_file_needs_count(runner):
    result = runner.invoke(args=["gaissa", "rate", "--phase", "inference", "--file", str(INFERENCE_FILE)])
    assert result.exit_code == 2
    assert "the number of inferences" in result.output
    assert "it is missing" in result.output
    assert "give it as --inferences N" in result.output


def test_rate_writes_pdf_and_stores_nothing(runner, tmp_path):
    before = db.session.scalar(select(func.count()).select_from(Evaluation))
    out = tmp_path / "labels.pdf"
    result = runner.invoke(args=["gaissa", "rate", "--phase", "training", "--file", str(TRAINING_FILE), "--pdf", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(out)], check=True, capture_output=True, text=True).stdout
        assert "Pages:           3" in info
    assert db.session.scalar(select(func.count()).select_from(Evaluation)) == before


def test_seed_is_idempotent_and_demo_uses_real_files(runner):
    first = runner.invoke(args=["gaissa", "seed", "--demo"])
    assert first.exit_code == 0, first.output
    demo_models = db.session.scalars(select(MLModel).where(MLModel.author == "GAISSA Tools demo")).all()
    assert {model.name for model in demo_models} == {"digits-logreg", "digits-random-forest", "digits-mlp"}
    assert all({evaluation.phase for evaluation in model.evaluations} == {"training", "inference"} for model in demo_models)
    second = runner.invoke(args=["gaissa", "seed", "--demo"])
    assert second.exit_code == 0
    assert "0 grades, 0 metrics" in second.output
    assert "0 demo_models" in second.output
    assert len(db.session.scalars(select(MLModel).where(MLModel.author == "GAISSA Tools demo")).all()) == 3


def test_rate_pdf_label_says_not_stored(runner, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils is not installed")
    out = tmp_path / "label.pdf"
    result = runner.invoke(args=["gaissa", "rate", "--phase", "training", "--value", "energy=2 kWh", "--pdf", str(out)])
    assert result.exit_code == 0, result.output
    text = subprocess.run(["pdftotext", str(out), "-"], check=True, capture_output=True, text=True).stdout
    assert "Not stored: rated offline with gaissa rate" in text
    assert "Evaluation #" not in text
