"""gaissa-probe on small real PyTorch and Keras models built here, checked against each library's own count.

PyTorch's count is the sum of numel() over model.parameters(), and Keras's is model.count_params().
The tests need torch and keras (Keras runs on its torch backend here). scripts/test.sh installs both
only when the CPU wheel of PyTorch is on the machine, and without them the tests are skipped.
"""

import csv
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gaissa.probe import main, probe_path

# Keras 3.15's torch backend calls np.array() on tensors in a way NumPy 2 deprecates, hundreds of times.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

SKIP_REASON = ("{} is not installed; scripts/test.sh installs torch and keras only when "
               "/opt/wheels has the torch-2.13.0+cpu wheel")


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason=SKIP_REASON.format("PyTorch"))


@pytest.fixture(scope="module")
def keras(torch, tmp_path_factory):
    # Keras reads both variables once, on first import: the backend, and where to write keras.json.
    os.environ.setdefault("KERAS_BACKEND", "torch")
    os.environ.setdefault("KERAS_HOME", str(tmp_path_factory.mktemp("keras_home")))
    return pytest.importorskip("keras", reason=SKIP_REASON.format("Keras"))


def probe_csv_row(path, capsys) -> dict[str, str]:
    """Run gaissa-probe's main function on one file and return its CSV row."""
    code = main([str(path)])
    output = capsys.readouterr()
    assert code == 0, output.err
    rows = list(csv.DictReader(io.StringIO(output.out)))
    assert len(rows) == 1
    return rows[0]


def probe_error(path, capsys) -> str:
    """Run gaissa-probe's main function on a file it must reject and return its error output."""
    code = main([str(path)])
    output = capsys.readouterr()
    assert code == 1
    assert output.out == ""
    return output.err


def run_console_script(*arguments, env=None) -> subprocess.CompletedProcess:
    probe = shutil.which("gaissa-probe", path=str(Path(sys.executable).parent))
    assert probe is not None, "gaissa-probe is not installed; run pip install -e ."
    return subprocess.run([probe, *map(str, arguments)], capture_output=True, text=True, timeout=180, env=env)


def parameter_count(torch, module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def batchnorm_mlp(torch):
    """Linear 16→8, BatchNorm1d(8), ReLU, Linear 8→4.

    Parameters: 16·8 + 8 + 8 + 8 + 8·4 + 4 = 188. The state dict also has running_mean[8],
    running_var[8] and num_batches_tracked[] (17 elements), which are buffers, not parameters.
    """
    nn = torch.nn
    return nn.Sequential(nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 4))


def trained_checkpoint_parts(torch, model):
    """Run one Adam step, so the optimizer state has two tensors per parameter, and return its state dict."""
    optimizer = torch.optim.Adam(model.parameters())
    loss = model(torch.randn(4, 16)).square().mean()
    loss.backward()
    optimizer.step()
    return optimizer.state_dict()


# ---------------------------------------------------------------- PyTorch


def test_pytorch_state_dict_matches_parameters(torch, tmp_path, capsys):
    model = batchnorm_mlp(torch)
    path = tmp_path / "mlp.pt"
    torch.save(model.state_dict(), path)

    row = probe_csv_row(path, capsys)
    result = probe_path(path)

    assert parameter_count(torch, model) == 188
    assert row["parameters"] == "188"
    assert row["format"] == "pytorch"
    assert row["file_size_bytes"] == str(path.stat().st_size)
    assert row["flops"] == ""
    assert any("Left out 17 elements of BatchNorm" in note for note in result.notes)


def batchnorm_cnn(torch):
    """Conv2d 3→8 (3×3), BatchNorm2d(8), ReLU, Conv2d 8→4 (1×1): 8·3·3·3 + 8 + 8 + 8 + 4·8 + 4 = 276 parameters."""
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 1))


@pytest.mark.parametrize("build, input_shape, expected", [(batchnorm_mlp, (2, 16), 188),
                                                          (batchnorm_cnn, (2, 3, 8, 8), 276)])
def test_pytorch_and_safetensors_counts_agree(torch, tmp_path, build, input_shape, expected):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = build(torch)
    model(torch.zeros(*input_shape))  # a training-mode pass updates the running statistics
    pytorch_path = tmp_path / "model.pt"
    safetensors_path = tmp_path / "model.safetensors"
    torch.save(model.state_dict(), pytorch_path)
    safetensors_torch.save_file(model.state_dict(), str(safetensors_path))

    from_pytorch = probe_path(pytorch_path)
    from_safetensors = probe_path(safetensors_path)

    assert parameter_count(torch, model) == expected
    assert from_pytorch.parameters == expected
    assert from_safetensors.parameters == expected
    assert any("Left out 17 elements of BatchNorm" in note for note in from_safetensors.notes)


def test_pytorch_tied_weights_count_once(torch, tmp_path, capsys):
    nn = torch.nn
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10, bias=False))
    model[1].weight = model[0].weight
    path = tmp_path / "tied.pth"
    torch.save(model.state_dict(), path)

    row = probe_csv_row(path, capsys)

    assert len(model.state_dict()) == 2
    assert parameter_count(torch, model) == 40
    assert row["parameters"] == "40"


def test_pytorch_legacy_format_file(torch, tmp_path, capsys):
    model = batchnorm_mlp(torch)
    path = tmp_path / "legacy.pt"
    torch.save(model.state_dict(), path, _use_new_zipfile_serialization=False)

    assert not zipfile.is_zipfile(path)
    assert probe_csv_row(path, capsys)["parameters"] == str(parameter_count(torch, model))


def test_pytorch_checkpoint_leaves_out_optimizer(torch, tmp_path, capsys):
    model = batchnorm_mlp(torch)
    checkpoint = {
        "epoch": 3,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": trained_checkpoint_parts(torch, model),
        "loss": 0.25,
    }
    path = tmp_path / "checkpoint.pth"
    torch.save(checkpoint, path)

    row = probe_csv_row(path, capsys)
    result = probe_path(path)

    assert row["parameters"] == str(parameter_count(torch, model))
    assert "The file is a checkpoint, so only its state dict under 'model_state_dict' was counted." in result.notes


def test_pytorch_checkpoint_prefers_state_dict_key(torch, tmp_path, capsys):
    model = batchnorm_mlp(torch)
    ema = batchnorm_mlp(torch)
    checkpoint = {
        "state_dict": model.state_dict(),
        "state_dict_ema": ema.state_dict(),
        "optimizer_states": [trained_checkpoint_parts(torch, model)],
        "global_step": 10,
    }
    path = tmp_path / "epoch=0.ckpt"
    torch.save(checkpoint, path)

    row = probe_csv_row(path, capsys)
    result = probe_path(path)

    assert row["parameters"] == "188"
    assert "Left out the other state dicts in the checkpoint: 'state_dict_ema'." in result.notes


def test_pytorch_checkpoint_adds_unnamed_state_dicts(torch, tmp_path, capsys):
    nn = torch.nn
    encoder = nn.Linear(16, 8)
    decoder = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 16))
    path = tmp_path / "autoencoder.pt"
    torch.save({"encoder": encoder.state_dict(), "decoder": decoder.state_dict(), "epoch": 1}, path)

    row = probe_csv_row(path, capsys)
    result = probe_path(path)

    assert row["parameters"] == str(parameter_count(torch, encoder) + parameter_count(torch, decoder))
    assert row["parameters"] == str(136 + 72 + 144)
    assert any(note.endswith("added up: 'encoder', 'decoder'.") for note in result.notes)


def test_pytorch_whole_model_is_rejected(torch, tmp_path, capsys):
    path = tmp_path / "whole.pt"
    torch.save(batchnorm_mlp(torch), path)

    error = probe_error(path, capsys)

    assert "pickled Python objects (torch.nn.modules.container.Sequential)" in error
    assert "weights_only=True" in error
    assert "torch.save(model.state_dict(), PATH)" in error
    assert "\x1b[" not in error
    assert "set to `False`" not in error
    assert "Nothing was written." in error


class _OpenFileOnLoad:
    """Unpickling this object calls open(marker, "w"), as a malicious checkpoint could."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_pytorch_pickle_payload_does_not_run(torch, tmp_path, capsys):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "payload.bin"
    torch.save({"weight": torch.zeros(3), "payload": _OpenFileOnLoad(marker)}, path)

    error = probe_error(path, capsys)

    assert "pickled Python objects (io.open)" in error
    assert not marker.exists()


def test_pytorch_dict_without_state_dict_is_rejected(torch, tmp_path, capsys):
    path = tmp_path / "metadata.pt"
    torch.save({"epoch": 4, "best_accuracy": 0.9}, path)

    error = probe_error(path, capsys)

    assert "contains a dict without a state dict in it (top-level keys: 'epoch', 'best_accuracy')" in error


def test_pytorch_garbage_file_is_rejected(torch, tmp_path, capsys):
    path = tmp_path / "garbage.bin"
    path.write_bytes(b"this is not a checkpoint \x00\xff")

    error = probe_error(path, capsys)

    assert f"{path} could not be read as a PyTorch file with torch.load(weights_only=True)" in error
    assert "\x1b[" not in error
    assert len(error.splitlines()) == 2


def test_pytorch_console_script(torch, tmp_path):
    model = batchnorm_mlp(torch)
    path = tmp_path / "mlp.bin"
    torch.save(model.state_dict(), path)

    completed = run_console_script(path)
    row = next(csv.DictReader(io.StringIO(completed.stdout)))

    assert completed.returncode == 0, completed.stderr
    assert row["parameters"] == str(parameter_count(torch, model))
    assert "BatchNorm running statistics" in completed.stderr


def test_pytorch_missing_library_message(tmp_path):
    path = tmp_path / "weights.pt"
    path.write_bytes(b"unused")
    script = ("import sys; sys.modules['torch'] = None; "
              "from gaissa.probe import main; sys.exit(main(sys.argv[1:]))")

    completed = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60)

    assert completed.returncode == 1
    assert "reading it needs PyTorch, which is not installed" in completed.stderr


# ---------------------------------------------------------------- Keras


def batchnorm_keras_model(keras, name="tiny"):
    """Dense 16→8, BatchNormalization(8), Dense 8→4, trained one step so the optimizer has state.

    count_params(): 16·8 + 8 + 4·8 (gamma, beta, moving mean and variance) + 8·4 + 4 = 204.
    """
    model = keras.Sequential(
        [keras.Input((16,)), keras.layers.Dense(8), keras.layers.BatchNormalization(), keras.layers.Dense(4)],
        name=name,
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((4, 16), np.float32), np.zeros((4, 4), np.float32), verbose=0)
    return model


def test_keras_file_matches_count_params(keras, tmp_path, capsys):
    model = batchnorm_keras_model(keras)
    path = tmp_path / "tiny.keras"
    model.save(str(path))

    row = probe_csv_row(path, capsys)

    assert model.count_params() == 204
    assert row["parameters"] == "204"
    assert row["model_name"] == "tiny"
    assert row["format"] == "keras"
    assert row["file_size_bytes"] == str(path.stat().st_size)
    assert row["flops"] == ""


def test_keras_legacy_h5_model(keras, tmp_path, capsys):
    model = batchnorm_keras_model(keras)
    path = tmp_path / "tiny.h5"
    model.save(str(path))

    row = probe_csv_row(path, capsys)

    assert row["parameters"] == str(model.count_params())
    assert row["model_name"] == "tiny"


def test_keras_weights_file_leaves_out_optimizer(keras, tmp_path, capsys):
    model = batchnorm_keras_model(keras)
    path = tmp_path / "tiny.weights.h5"
    model.save_weights(str(path))

    row = probe_csv_row(path, capsys)
    result = probe_path(path)

    assert row["parameters"] == str(model.count_params())
    assert row["model_name"] == "tiny"
    assert any("without a model config" in note for note in result.notes)


def test_keras_functional_with_shared_layer(keras, tmp_path, capsys):
    """A Dense layer applied to two inputs has one set of weights: 6·3 + 3 = 21, plus Dense 6→1: 7."""
    shared = keras.layers.Dense(3)
    first, second = keras.Input((6,)), keras.Input((6,))
    merged = keras.layers.Concatenate()([shared(first), shared(second)])
    model = keras.Model([first, second], keras.layers.Dense(1)(merged), name="siamese")
    path = tmp_path / "siamese.keras"
    model.save(str(path))

    row = probe_csv_row(path, capsys)

    assert model.count_params() == 28
    assert row["parameters"] == "28"


@pytest.mark.slow
def test_keras_custom_layer_counts_stored_weights(keras, tmp_path):
    @keras.saving.register_keras_serializable(package="gaissa_probe_test")
    class Scale(keras.layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_weight(shape=(input_shape[-1],), name="scale")

        def call(self, inputs):
            return inputs * self.scale

    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5), keras.layers.Dropout(0.3), Scale()])
    path = tmp_path / "custom.keras"
    model.save(str(path))

    # The console script runs in a process without the Scale class, so Keras cannot rebuild the model.
    completed = run_console_script(path, env={**os.environ, "KERAS_BACKEND": "torch"})
    row = next(csv.DictReader(io.StringIO(completed.stdout)))

    assert completed.returncode == 0, completed.stderr
    assert model.count_params() == 40  # Dense 6·5 + 5, Scale 5
    assert row["parameters"] == "40"
    assert "could not rebuild the model" in completed.stderr


@pytest.mark.slow
def test_keras_console_script_chooses_backend(keras, tmp_path):
    model = batchnorm_keras_model(keras)
    path = tmp_path / "tiny.keras"
    model.save(str(path))
    # An empty KERAS_HOME means no keras.json, so Keras would import TensorFlow, which is not installed.
    keras_home = tmp_path / "empty_keras_home"
    keras_home.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(keras_home)

    completed = run_console_script(path, env=env)
    row = next(csv.DictReader(io.StringIO(completed.stdout)))

    assert completed.returncode == 0, completed.stderr
    assert row["parameters"] == str(model.count_params())


def test_keras_file_that_is_not_zip_is_rejected(tmp_path, capsys):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"not a zip archive")

    error = probe_error(path, capsys)

    assert "is not a .keras file: a .keras file is a zip archive" in error


def test_keras_h5_that_is_not_hdf5_is_rejected(tmp_path, capsys):
    pytest.importorskip("h5py", reason=SKIP_REASON.format("h5py (installed with Keras)"))
    path = tmp_path / "broken.h5"
    path.write_bytes(b"not an HDF5 file")

    error = probe_error(path, capsys)

    assert "is not an HDF5 file" in error


def test_keras_missing_library_message(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
    script = ("import sys; sys.modules['keras'] = None; "
              "from gaissa.probe import main; sys.exit(main(sys.argv[1:]))")

    completed = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60)

    assert completed.returncode == 1
    assert "reading it needs Keras, which is not installed" in completed.stderr

