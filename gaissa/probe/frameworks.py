"""Parameter counts of PyTorch and Keras files, when those libraries happen to be installed.

Neither library is a dependency of GAISSA Tools. FLOPs are not computed for these formats:
that needs the model's code and an input, so the probe suggests an ONNX export instead.

Each reader counts what its library counts. PyTorch: the elements of `model.parameters()`, so a
state dict's BatchNorm running statistics are left out. Keras: `model.count_params()`, which
includes non-trainable weights such as BatchNormalization's moving mean and variance.

NOTE: tests/unit/test_probe_frameworks.py checks both readers against real models built with
PyTorch 2.13 (CPU) and Keras 3.15 on its torch backend. scripts/test.sh installs them only when
the wheel torch-2.13.0+cpu is in /opt/wheels (or TORCH_WHEEL_DIR), and the tests are skipped
elsewhere. They cover state dicts, tied weights, checkpoints, whole pickled models, the legacy
PyTorch format, and .keras, legacy .h5 and .weights.h5 files. Keras on the TensorFlow or JAX
backend, and Keras 2, have not been run with this code.
"""

import importlib.util
import json
import math
import os
import re
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gaissa.probe.buffers import is_norm_buffer, norm_buffer_note
from gaissa.probe.errors import ProbeError
from gaissa.probe.result import ProbeResult

_NO_FLOPS = "FLOPs are not computed for this format; export the model to ONNX and probe that file to get them."

# Keys under which training checkpoints commonly keep the model's state dict, in order of preference.
_STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model", "module")

# Top-level HDF5 groups that hold optimizer variables: "optimizer" in Keras 3 weight files,
# "optimizer_weights" in legacy .h5 model files.
_OPTIMIZER_GROUPS = ("optimizer", "optimizer_weights")

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


# ---------------------------------------------------------------- PyTorch


def probe_pytorch(path: Path) -> ProbeResult:
    """Count the parameters of a PyTorch state dict or training checkpoint (.pt, .pth, .bin, .ckpt).

    The file is loaded with weights_only=True, so no code from it runs, and memory-mapped when it
    has the zip layout that torch.save writes by default, so large files are not read into memory.
    """
    torch = _import_torch(path)
    loaded = _load_pytorch_file(path, torch)
    state_dict, notes = _select_state_dict(path, loaded, torch)
    parameters, buffer_elements, tied = _count_state_dict(state_dict, torch)

    if buffer_elements:
        notes.append(norm_buffer_note(buffer_elements))
    if tied:
        notes.append(f"Counted {tied} tied tensor(s) once, because they share storage with another entry.")
    notes.append(_NO_FLOPS)
    return ProbeResult(
        path=str(path), model_name=path.stem, format="pytorch", parameters=parameters,
        file_size_bytes=path.stat().st_size, notes=notes,
    )


def _import_torch(path: Path) -> Any:
    try:
        import torch
    except ImportError as exc:
        if not _is_installed("torch"):
            raise ProbeError(
                f"{path} is a PyTorch file, and reading it needs PyTorch, which is not installed. "
                "Install torch, or convert the weights to safetensors or ONNX and probe that file."
            ) from None
        raise ProbeError(f"{path} is a PyTorch file, but PyTorch is installed and failed to import: {exc}") from None
    return torch


def _load_pytorch_file(path: Path, torch: Any) -> Any:
    # Files in the legacy (pre-1.6) format are not zip archives and cannot be memory-mapped.
    memory_map = zipfile.is_zipfile(path)
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True, mmap=memory_map)
    except Exception as exc:  # noqa: BLE001 — torch raises UnpicklingError, RuntimeError and others
        message = _ANSI_ESCAPE.sub("", str(exc))
    unsupported = re.search(r"Unsupported global: GLOBAL (\S+)", message)
    if unsupported:
        raise ProbeError(
            f"{path} contains pickled Python objects ({unsupported.group(1)}), not only tensors: it is probably a "
            "whole model saved with torch.save(model). The probe loads PyTorch files with weights_only=True, so that "
            "no code from the file runs. Save the weights with torch.save(model.state_dict(), PATH), or export the "
            "model to ONNX, and probe that file."
        ) from None
    raise ProbeError(
        f"{path} could not be read as a PyTorch file with torch.load(weights_only=True) of PyTorch "
        f"{torch.__version__}: {_error_summary(message)}"
    ) from None


def _error_summary(message: str) -> str:
    """Return the line of a library error that names the problem, without torch.load's generic advice."""
    detail = message.split("WeightsUnpickler error:", 1)[-1]
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    text = lines[0] if lines else "no error message"
    return text if len(text) <= 300 else text[:300] + "…"


def _is_state_dict(value: Any, torch: Any) -> bool:
    return (isinstance(value, Mapping) and len(value) > 0
            and all(isinstance(key, str) and isinstance(item, torch.Tensor) for key, item in value.items()))


def _select_state_dict(path: Path, loaded: Any, torch: Any) -> tuple[dict[str, Any], list[str]]:
    """Find the model's tensors in what torch.load returned; return them by name, with notes on the choice."""
    if isinstance(loaded, torch.Tensor):
        return {path.stem: loaded}, ["The file contains a single tensor, counted as the model's parameters."]
    if not isinstance(loaded, Mapping):
        raise ProbeError(
            f"{path} contains a {type(loaded).__name__}, not a state dict. "
            "Save the weights with torch.save(model.state_dict(), PATH) and probe that file."
        )
    if _is_state_dict(loaded, torch):
        return dict(loaded), []

    # A training checkpoint is a dict with one or more state dicts next to the optimizer state,
    # the epoch and so on. An optimizer state dict nests its tensors one level deeper
    # ({"state": {0: {...}}, "param_groups": [...]}), so it is never a candidate.
    candidates = [key for key, value in loaded.items() if _is_state_dict(value, torch)]
    if not candidates:
        keys = ", ".join(repr(key) for key in list(loaded)[:20])
        raise ProbeError(
            f"{path} contains a dict without a state dict in it (top-level keys: {keys}). "
            "Save the weights with torch.save(model.state_dict(), PATH) and probe that file."
        )
    preferred = next((key for key in _STATE_DICT_KEYS if key in candidates), None)
    if preferred is not None:
        notes = [f"The file is a checkpoint, so only its state dict under {preferred!r} was counted."]
        others = [key for key in candidates if key != preferred]
        if others:
            notes.append(f"Left out the other state dicts in the checkpoint: {', '.join(map(repr, others))}.")
        return {f"{preferred}.{name}": tensor for name, tensor in loaded[preferred].items()}, notes

    notes = [f"The file is a checkpoint with several state dicts, so all of them were added up: "
             f"{', '.join(map(repr, candidates))}."]
    merged = {f"{key}.{name}": tensor for key in candidates for name, tensor in loaded[key].items()}
    return merged, notes


def _count_state_dict(state_dict: dict[str, Any], torch: Any) -> tuple[int, int, int]:
    """Return (parameter elements, BatchNorm buffer elements left out, tied tensors counted once)."""
    parameters = 0
    buffer_elements = 0
    tied = 0
    seen: set[tuple] = set()
    for name, tensor in state_dict.items():
        count = math.prod(tensor.shape)
        if is_norm_buffer(name):
            buffer_elements += count
            continue
        # Tied weights, such as an embedding reused as the output layer, load as two entries that
        # view the same storage. model.parameters() yields them once, so they are counted once.
        identity = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape),
                    tuple(tensor.stride()), tensor.dtype)
        if count and identity in seen:
            tied += 1
            continue
        seen.add(identity)
        parameters += count
    return parameters, buffer_elements, tied


# ---------------------------------------------------------------- Keras


def probe_keras(path: Path) -> ProbeResult:
    """Count the parameters of a Keras model file (.keras, .h5, .hdf5) or weights file (.weights.h5).

    Model files are loaded with keras.models.load_model(safe_mode=True). When Keras cannot rebuild
    the model (a custom layer whose code is not importable, say), the stored weights are counted
    instead. Weights-only files have no model config, so they are read with h5py alone.
    """
    is_hdf5_name = path.suffix.lower() in (".h5", ".hdf5")
    if is_hdf5_name and not _hdf5_has_model_config(path):
        return _probe_keras_weights(path)
    if not is_hdf5_name and not zipfile.is_zipfile(path):
        raise ProbeError(f"{path} is not a .keras file: a .keras file is a zip archive, and this one is not.")

    keras = _import_keras(path)
    try:
        model = keras.models.load_model(str(path), compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 — Keras raises many error types for unreadable files
        reason = _error_summary(str(exc))
        try:
            parameters = _count_stored_keras_weights(path)
        except (OSError, KeyError, zipfile.BadZipFile):
            raise ProbeError(f"{path} could not be loaded with Keras {keras.__version__}: {reason}") from None
        notes = [f"Keras {keras.__version__} could not rebuild the model ({reason}). Counted the weights stored in "
                 "the file instead, leaving out the optimizer's variables.", _NO_FLOPS]
        return ProbeResult(path=str(path), model_name=path.stem, format="keras", parameters=parameters,
                           file_size_bytes=path.stat().st_size, notes=notes)
    return ProbeResult(
        path=str(path), model_name=getattr(model, "name", None) or path.stem, format="keras",
        parameters=int(model.count_params()), file_size_bytes=path.stat().st_size,
        notes=["Counted trainable and non-trainable weights, as model.count_params() does.", _NO_FLOPS],
    )


def _probe_keras_weights(path: Path) -> ProbeResult:
    """Count the datasets of a weights-only HDF5 file (model.save_weights), except the optimizer's."""
    h5py = _import_h5py(path)
    try:
        with h5py.File(path, "r") as file:
            parameters = _count_hdf5_datasets(file, h5py)
    except OSError as exc:
        raise ProbeError(f"{path} could not be read as an HDF5 weights file: {exc}") from None
    name = path.name[: -len(".weights.h5")] if path.name.lower().endswith(".weights.h5") else path.stem
    notes = ["The file contains weights without a model config, so every stored weight except the optimizer's "
             "variables was counted. For built-in Keras layers this matches model.count_params().", _NO_FLOPS]
    return ProbeResult(path=str(path), model_name=name, format="keras", parameters=parameters,
                       file_size_bytes=path.stat().st_size, notes=notes)


def _hdf5_has_model_config(path: Path) -> bool:
    h5py = _import_h5py(path)
    if not h5py.is_hdf5(str(path)):
        raise ProbeError(f"{path} is not an HDF5 file, so it is neither a legacy Keras model nor a Keras weights file.")
    try:
        with h5py.File(path, "r") as file:
            return "model_config" in file.attrs
    except OSError as exc:
        raise ProbeError(f"{path} could not be read as an HDF5 file: {exc}") from None


def _count_stored_keras_weights(path: Path) -> int:
    """Count the weights in a .keras archive's model.weights.h5 or in a legacy .h5 model file."""
    h5py = _import_h5py(path)
    if path.suffix.lower() in (".h5", ".hdf5"):
        with h5py.File(path, "r") as file:
            return _count_hdf5_datasets(file, h5py)
    with zipfile.ZipFile(path) as archive:
        if "model.weights.h5" not in archive.namelist():
            raise ProbeError(f"{path} could not be loaded with Keras and contains no model.weights.h5 to count.")
        with archive.open("model.weights.h5") as member, h5py.File(member, "r") as file:
            return _count_hdf5_datasets(file, h5py)


def _count_hdf5_datasets(file: Any, h5py: Any) -> int:
    total = 0

    def add(name: str, item: Any) -> None:
        nonlocal total
        if isinstance(item, h5py.Dataset) and name.split("/", 1)[0] not in _OPTIMIZER_GROUPS:
            total += item.size

    file.visititems(add)
    return total


def _import_h5py(path: Path) -> Any:
    try:
        import h5py
    except ImportError:
        raise ProbeError(
            f"{path} is a Keras HDF5 file, and reading it needs h5py (installed with Keras), which is not "
            "installed. Install keras, or export the model to ONNX and probe that file."
        ) from None
    return h5py


def _import_keras(path: Path) -> Any:
    chosen = _select_keras_backend()
    try:
        import keras
    except ImportError as exc:
        if not _is_installed("keras"):
            raise ProbeError(
                f"{path} is a Keras file, and reading it needs Keras, which is not installed. "
                "Install keras and one of its backends (tensorflow, jax or torch), or export the model to ONNX and "
                "probe that file."
            ) from None
        backend = chosen or os.environ.get("KERAS_BACKEND") or _configured_keras_backend()
        raise ProbeError(
            f"{path} is a Keras file, but Keras failed to import with the {backend!r} backend: {exc}. "
            "Install that backend, or set KERAS_BACKEND to an installed one (tensorflow, jax or torch)."
        ) from None
    return keras


def _select_keras_backend() -> str | None:
    """Set KERAS_BACKEND for this process when the backend Keras would import is not installed.

    Keras 3 imports its backend (TensorFlow unless KERAS_BACKEND or keras.json sets another) on the
    first `import keras`, and that import fails when the backend package is missing. Return the
    backend set, or None when nothing was changed or no backend is installed.
    """
    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND"):
        return None
    if _is_installed(_configured_keras_backend()):
        return None
    for backend in ("tensorflow", "jax", "torch"):
        if _is_installed(backend):
            os.environ["KERAS_BACKEND"] = backend
            return backend
    return None


def _configured_keras_backend() -> str:
    """Return the backend named in keras.json ($KERAS_HOME or ~/.keras), or Keras's default, tensorflow."""
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(keras_home, "keras.json"), encoding="utf-8") as file:
            backend = json.load(file).get("backend")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"
    return backend if isinstance(backend, str) and backend else "tensorflow"


def _is_installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
