"""Parameter counts of safetensors files, read from the header alone (no tensor is loaded).

The safetensors layout (https://github.com/huggingface/safetensors, "Format"): an 8-byte
little-endian unsigned integer N, then N bytes of UTF-8 JSON mapping each tensor name to
{"dtype", "shape", "data_offsets": [begin, end]}, with an optional "__metadata__" object,
then the tensor bytes; offsets count from the first byte after the header.
"""

import json
import math
import struct
from collections import Counter
from pathlib import Path

from gaissa.probe.buffers import is_norm_buffer, norm_buffer_note
from gaissa.probe.errors import ProbeError
from gaissa.probe.result import ProbeResult

# The reference implementation rejects headers above 100 MB; so does this reader.
MAX_HEADER_BYTES = 100_000_000

# Bits per element of each dtype the format defines.
DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32,
    "I64": 64, "U64": 64, "F64": 64, "C64": 64,
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}

# Tensor-name endings of GPTQ/AWQ checkpoints, whose integer tensors pack several 4-bit weights each.
_PACKED_SUFFIXES = (".qweight", ".qzeros")


def read_header(path: Path) -> tuple[dict, int]:
    """Return the JSON header of a safetensors file and the size of its data section in bytes.

    Raise ProbeError when the file is not a safetensors file.
    """
    file_size = path.stat().st_size
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise ProbeError(f"{path} is {file_size} bytes long, too short for a safetensors file (8-byte header length).")
        (header_length,) = struct.unpack("<Q", prefix)
        if header_length > MAX_HEADER_BYTES or header_length > file_size - 8:
            raise ProbeError(
                f"{path} is not a safetensors file: its header length field is {header_length} bytes, "
                f"but the file has {file_size - 8} bytes after the field."
            )
        raw = handle.read(header_length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProbeError(f"{path} is not a safetensors file: its header is not UTF-8 JSON ({exc}).") from None
    if not isinstance(header, dict):
        raise ProbeError(f"{path} is not a safetensors file: its header is a JSON {type(header).__name__}, not an object.")
    return header, file_size - 8 - header_length


def probe_safetensors(path: Path) -> ProbeResult:
    """Count the parameters of a .safetensors file, or of every .safetensors shard in a folder.

    Every stored tensor is counted except BatchNorm running statistics, which the PyTorch reader leaves out too.
    """
    files = sorted(path.glob("*.safetensors")) if path.is_dir() else [path]
    if not files:
        raise ProbeError(f"{path} contains no .safetensors file.")

    parameters = 0
    buffer_elements = 0
    file_size = 0
    dtypes: Counter[str] = Counter()
    notes: list[str] = []
    packed = False
    for file in files:
        header, data_bytes = read_header(file)
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            count, dtype = _check_entry(file, name, entry, data_bytes)
            dtypes[dtype] += 1
            if is_norm_buffer(name):
                buffer_elements += count
            else:
                parameters += count
            packed = packed or name.endswith(_PACKED_SUFFIXES)
        file_size += file.stat().st_size

    if len(files) > 1:
        notes.append(f"Added up {len(files)} shards: {', '.join(file.name for file in files)}.")
    if buffer_elements:
        notes.append(norm_buffer_note(buffer_elements))
    if packed:
        notes.append("Some tensors (*.qweight, *.qzeros) pack several quantized weights per element; "
                     "the count is of stored elements, below the model's real parameter count.")
    return ProbeResult(
        path=str(path), model_name=path.stem if path.is_file() else path.name, format="safetensors",
        parameters=parameters, file_size_bytes=file_size, tensors_by_dtype=dict(sorted(dtypes.items())), notes=notes,
    )


def _check_entry(file: Path, name: str, entry: object, data_bytes: int) -> tuple[int, str]:
    """Validate one header entry against the data section; return (element count, dtype)."""
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys():
        raise ProbeError(f"{file}: the header entry of tensor {name!r} lacks dtype, shape or data_offsets.")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(shape, list) or not all(isinstance(dim, int) and dim >= 0 for dim in shape):
        raise ProbeError(f"{file}: tensor {name!r} has an invalid shape {shape!r}; expected a list of sizes ≥ 0.")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
        raise ProbeError(f"{file}: tensor {name!r} has invalid data_offsets {offsets!r}; expected [begin, end].")
    begin, end = offsets
    if not 0 <= begin <= end <= data_bytes:
        raise ProbeError(
            f"{file}: tensor {name!r} claims bytes {begin}–{end}, outside the {data_bytes}-byte data section; "
            "the file is truncated or corrupt."
        )

    count = math.prod(shape)
    bits = DTYPE_BITS.get(dtype)
    if bits is not None and bits % 8 == 0 and (end - begin) != count * bits // 8:
        raise ProbeError(
            f"{file}: tensor {name!r} has shape {shape} of {dtype} ({count * bits // 8} bytes) "
            f"but occupies {end - begin} bytes; the file is corrupt."
        )
    return count, str(dtype)
