"""The probe's CSV read by the seeded "GAISSALabel model probe" calculation tool, as the upload page reads it."""

import numpy as np
import pytest
from safetensors.numpy import save_file
from sqlalchemy import select

from gaissa.extensions import db
from gaissa.models import CalculationTool
from gaissa.probe import main
from gaissa.services.importers import import_file, tool_spec_from_model
from tests.unit.test_probe import cnn_model

PROBE_TOOL = "GAISSALabel model probe"


@pytest.fixture
def probe_tool(app):
    with app.app_context():
        tool = db.session.scalar(select(CalculationTool).where(CalculationTool.name == PROBE_TOOL))
        assert tool is not None, "the seeded catalogue has no model probe tool"
        yield tool_spec_from_model(tool, "inference")


def test_probe_csv_fills_inference_metrics(tmp_path, capsys, probe_tool):
    model = cnn_model(tmp_path / "cnn.onnx")
    assert main([str(model)]) == 0
    data = capsys.readouterr().out.encode()

    report = import_file(data, "probe.csv", probe_tool, "inference", None)

    assert report.ok, report.errors
    values = report.runs[0].values
    assert values["parameters"] == 314
    # The metric units are MB (10^6 bytes) and GFLOPs.
    assert values["file_size"] == pytest.approx(model.stat().st_size / 1e6)
    assert values["flops"] == pytest.approx(469_162 / 1e9)


def test_probe_csv_without_flops_leaves_metric_out(tmp_path, capsys, probe_tool):
    weights = tmp_path / "weights.safetensors"
    save_file({"w": np.zeros((1000, 1000), np.float32)}, str(weights))
    assert main([str(weights)]) == 0

    report = import_file(capsys.readouterr().out.encode(), "probe.csv", probe_tool, "inference", None)

    assert report.ok, report.errors
    assert report.runs[0].values["parameters"] == 1_000_000
    assert "flops" not in report.runs[0].values


def test_probe_csv_from_pytorch_state_dict(tmp_path, capsys, probe_tool):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed; scripts/test.sh installs it only when "
                                                "/opt/wheels has the torch-2.13.0+cpu wheel")
    model = torch.nn.Sequential(torch.nn.Linear(32, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    weights = tmp_path / "classifier.pt"
    torch.save(model.state_dict(), weights)
    assert main([str(weights)]) == 0

    report = import_file(capsys.readouterr().out.encode(), "probe.csv", probe_tool, "inference", None)

    assert report.ok, report.errors
    values = report.runs[0].values
    assert values["parameters"] == sum(parameter.numel() for parameter in model.parameters())
    assert values["parameters"] == 32 * 16 + 16 + 16 * 2 + 2
    assert values["file_size"] == pytest.approx(weights.stat().st_size / 1e6)
    assert "flops" not in values
