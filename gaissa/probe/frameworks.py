"""Parameter counts of PyTorch and Keras files, when those libraries happen to be installed.

Neither library is a dependency of GAISSA Tools. FLOPs are not computed for these formats:
that needs the model's code and an input, so the probe suggests an ONNX export instead.

NOTE: the test suite installs neither PyTorch nor Keras, so these two readers have never run in
it. The safetensors and ONNX readers are the tested paths.
"""

import math
from pathlib import Path
from typing import Any

from gaissa.probe.errors import ProbeError
from gaissa.probe.result import ProbeResult

_NO_FLOPS = "FLOPs are not computed for this format; export the model to ONNX and probe that file to get them."


def probe_pytorch(path: Path) -> ProbeResult:
    """Count the tensor elements of a PyTorch state dict or checkpoint (.pt, .pth, .bin)."""
    try:
        import torch
    except ImportError:
        raise ProbeError(
            f"{path} is a PyTorch file, and reading it needs PyTorch, which is not installed. "
            "Install torch, or convert the weights to safetensors or ONNX and probe that file."
        ) from None
    try:
        # weights_only refuses pickled objects other than tensors and containers, so no code from the file runs.
        loaded = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 — torch raises UnpicklingError, RuntimeError and others
        raise ProbeError(
            f"{path} could not be read as a PyTorch state dict ({exc}). The probe only reads files saved with "
            "torch.save(model.state_dict(), …), because loading a whole pickled model runs code from the file."
        ) from None
    parameters = _count_tensors(loaded, torch)
    return ProbeResult(
        path=str(path), model_name=path.stem, format="pytorch", parameters=parameters,
        file_size_bytes=path.stat().st_size,
        notes=["Counted every stored tensor, including buffers and optimiser state if the checkpoint has them.", _NO_FLOPS],
    )


def probe_keras(path: Path) -> ProbeResult:
    """Count the parameters of a Keras model file (.keras, .h5)."""
    try:
        import keras
    except ImportError:
        raise ProbeError(
            f"{path} is a Keras file, and reading it needs Keras (or TensorFlow), which is not installed. "
            "Install keras, or export the model to ONNX and probe that file."
        ) from None
    try:
        model = keras.models.load_model(str(path), compile=False)
    except Exception as exc:  # noqa: BLE001 — Keras raises many error types for unreadable files
        raise ProbeError(f"{path} could not be loaded with Keras {keras.__version__}: {exc}") from None
    return ProbeResult(
        path=str(path), model_name=getattr(model, "name", None) or path.stem, format="keras",
        parameters=int(model.count_params()), file_size_bytes=path.stat().st_size, notes=[_NO_FLOPS],
    )


def _count_tensors(value: Any, torch: Any) -> int:
    if isinstance(value, torch.Tensor):
        return math.prod(value.shape)
    if isinstance(value, dict):
        return sum(_count_tensors(item, torch) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_count_tensors(item, torch) for item in value)
    return 0
