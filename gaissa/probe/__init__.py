"""gaissa-probe: static properties of a model file for the GAISSALabel upload page.

Reads safetensors files (header only) and ONNX models (initializers and graph), and PyTorch or
Keras files when those libraries are installed. Writes a CSV with the columns `parameters`,
`file_size_bytes` and `flops` that the "GAISSALabel model probe" calculation tool reads, or JSON
with the details. Needs neither the web application nor a deep-learning framework.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

from gaissa.probe.errors import ProbeError
from gaissa.probe.result import FLOP_CONVENTION, ProbeResult, to_csv, to_json

__all__ = ["ProbeError", "ProbeResult", "main", "probe_path"]

_PYTORCH_SUFFIXES = {".pt", ".pth", ".bin", ".ckpt"}
_KERAS_SUFFIXES = {".keras", ".h5", ".hdf5"}


def probe_path(path: Path, batch_size: int = 1, dims: dict[str, int] | None = None) -> ProbeResult:
    """Probe one model file, or a folder of safetensors shards, choosing the reader by file name."""
    from gaissa.probe.frameworks import probe_keras, probe_pytorch
    from gaissa.probe.onnx_model import probe_onnx
    from gaissa.probe.safetensors_file import probe_safetensors

    if not path.exists():
        raise ProbeError(f"{path} does not exist.")
    if batch_size < 1:
        raise ProbeError(f"The batch size must be at least 1; got {batch_size}.")
    suffix = path.suffix.lower()
    if path.is_dir():
        if any(path.glob("*.safetensors")):
            return probe_safetensors(path)
        onnx_files = sorted(path.glob("*.onnx"))
        if len(onnx_files) == 1:
            return probe_onnx(onnx_files[0], batch_size, dims)
        raise ProbeError(f"{path} is a folder without .safetensors shards or a single .onnx file; give the model file.")
    if suffix == ".safetensors":
        return probe_safetensors(path)
    if suffix == ".onnx":
        return probe_onnx(path, batch_size, dims)
    if suffix in _PYTORCH_SUFFIXES:
        return probe_pytorch(path)
    if suffix in _KERAS_SUFFIXES:
        return probe_keras(path)
    raise ProbeError(
        f"{path}: unsupported file type {suffix or '(no extension)'!r}. The probe reads .safetensors and .onnx "
        "files, .pt/.pth/.bin/.ckpt files when PyTorch is installed and .keras/.h5/.hdf5 files when Keras is."
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return 0 on success, 1 when a file cannot be probed, 2 for bad options."""
    parser = _parser()
    options = parser.parse_args(argv)
    dims = _parse_dims(parser, options.dim)
    output_format = options.format or ("json" if options.output and options.output.suffix.lower() == ".json" else "csv")
    if options.batch_size < 1:
        parser.error(f"--batch-size must be at least 1; got {options.batch_size}")

    results = []
    for path in options.paths:
        try:
            results.append(probe_path(path, options.batch_size, dims))
        except ProbeError as exc:
            sys.stderr.write(f"gaissa-probe: error: {exc}\nNothing was written.\n")
            return 1

    text = to_json(results) if output_format == "json" else to_csv(results)
    if output_format == "csv":
        for result in results:
            for note in result.notes:
                sys.stderr.write(f"gaissa-probe: {result.model_name}: {note}\n")
    if options.output is None:
        sys.stdout.write(text)
    else:
        _write_atomically(options.output, text)
        sys.stderr.write(f"gaissa-probe: wrote {len(results)} model(s) to {options.output}\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gaissa-probe",
        description="Count the parameters, file size and FLOPs of a model file and write them as CSV (for the "
                    "GAISSALabel upload page, tool 'GAISSALabel model probe') or JSON.",
        epilog=f"FLOP convention: {FLOP_CONVENTION}. Only ONNX models contain a graph to count, so the flops "
               "cell is empty for safetensors, PyTorch and Keras files.",
    )
    parser.add_argument("paths", metavar="PATH", nargs="+", type=Path,
                        help="model file, or a folder of safetensors shards: .safetensors and .onnx always, "
                             ".pt/.pth/.bin/.ckpt when PyTorch is installed, .keras/.h5/.hdf5 when Keras is")
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    parser.add_argument("-f", "--format", choices=("csv", "json"),
                        help="output format (default: json for a .json output file, else csv)")
    parser.add_argument("-b", "--batch-size", type=int, default=1,
                        help="inputs per forward pass when counting ONNX FLOPs (default: 1)")
    parser.add_argument("--dim", action="append", default=[], metavar="NAME=SIZE",
                        help="size of a named symbolic ONNX input dimension, e.g. --dim sequence=128 (repeatable)")
    return parser


def _parse_dims(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, int]:
    dims = {}
    for item in items:
        name, _, size = item.partition("=")
        if not name or not size.isdigit() or int(size) < 1:
            parser.error(f"--dim expects NAME=SIZE with a whole size ≥ 1, e.g. sequence=128; got {item!r}")
        dims[name] = int(size)
    return dims


def _write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, so a failure leaves no half-written output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
