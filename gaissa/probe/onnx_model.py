"""Parameters, file size and FLOPs of ONNX models.

Parameters are the elements of the graph's initializers (each counted once, also when several
nodes share it), including the initializers of subgraphs. FLOPs come from the operators'
shapes after onnx.shape_inference; the counting rules per operator are in `flops.py`.

The onnx package is imported lazily so that the probe still reads safetensors files without it.
"""

import math
from collections import Counter
from pathlib import Path
from typing import Any

from gaissa.probe import flops as flop_rules
from gaissa.probe.errors import ProbeError
from gaissa.probe.result import ProbeResult

ONNX_MISSING = (
    "Reading ONNX models needs the onnx package, which is not installed. "
    "Install it with `pip install onnx` (or `pip install 'gaissa-tools[probe]'`) and run the probe again."
)


def import_onnx():
    """Return the onnx module, or raise ProbeError with the install command when it is missing."""
    try:
        import onnx
    except ImportError:
        raise ProbeError(ONNX_MISSING) from None
    return onnx


def probe_onnx(path: Path, batch_size: int = 1, dims: dict[str, int] | None = None) -> ProbeResult:
    """Count the parameters and FLOPs of an ONNX model for `batch_size` inputs.

    `dims` sets symbolic input dimensions other than the batch, e.g. {"sequence": 128}.
    """
    onnx = import_onnx()
    try:
        # Tensors kept in external files are not read: their dims are in the model file itself.
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 — onnx raises DecodeError, ValueError and others for bad files
        raise ProbeError(f"{path} is not a readable ONNX model: {exc}") from None

    notes: list[str] = []
    parameters = _count_initializers(model.graph)
    file_size = path.stat().st_size + _external_data_size(model, path.parent, notes)

    _fix_input_dims(model.graph, batch_size, dims or {}, notes)
    try:
        inferred = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except Exception as exc:  # noqa: BLE001 — shape inference fails with several error types on odd graphs
        notes.append(f"Shape inference failed ({exc}); FLOPs were counted only where shapes are stored in the model.")
        inferred = model
    counts = flop_rules.count_graph(inferred.graph, _shape_table(inferred.graph))
    unresolved = _symbolic_input_dims(inferred.graph)
    if unresolved and counts.uncounted:
        notes.append(
            f"Inputs still have symbolic dimensions ({', '.join(sorted(unresolved))}); "
            "set them with --dim NAME=SIZE to count the operators that depend on them."
        )
    if counts.uncounted:
        notes.append(
            "FLOPs are a lower bound: no rule or no shape for "
            + ", ".join(f"{op} ×{n}" for op, n in sorted(counts.uncounted.items())) + "."
        )

    return ProbeResult(
        path=str(path), model_name=model.graph.name or path.stem, format="onnx",
        parameters=parameters, file_size_bytes=file_size, flops=counts.total, batch_size=batch_size,
        flops_by_operator=dict(sorted(counts.by_operator.items())), uncounted_operators=dict(sorted(counts.uncounted.items())),
        tensors_by_dtype=_initializer_dtypes(onnx, model.graph), notes=notes,
    )


def _count_initializers(graph: Any) -> int:
    seen: dict[str, int] = {}
    for tensor in graph.initializer:
        seen[tensor.name] = math.prod(tensor.dims)
    for sparse in graph.sparse_initializer:
        seen[sparse.values.name] = math.prod(sparse.dims)
    total = sum(seen.values())
    for node in graph.node:
        for attribute in node.attribute:
            for subgraph in [attribute.g, *attribute.graphs]:
                if subgraph.ByteSize():
                    total += _count_initializers(subgraph)
    return total


def _initializer_dtypes(onnx: Any, graph: Any) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for tensor in graph.initializer:
        counts[onnx.helper.tensor_dtype_to_string(tensor.data_type).removeprefix("TensorProto.")] += 1
    return dict(sorted(counts.items()))


def _external_data_size(model: Any, folder: Path, notes: list[str]) -> int:
    """Add up the sizes of the external data files the initializers point to (each file once)."""
    locations = set()
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                locations.add(entry.value)
    total = 0
    for location in sorted(locations):
        file = folder / location
        if file.is_file():
            total += file.stat().st_size
        else:
            notes.append(f"External data file {location} is missing; the file size leaves it out.")
    if locations:
        notes.append(f"The file size includes {len(locations)} external data file(s).")
    return total


def _fix_input_dims(graph: Any, batch_size: int, dims: dict[str, int], notes: list[str]) -> None:
    """Give symbolic input dimensions a size: the first one the batch size, named ones from `dims`."""
    initializer_names = {tensor.name for tensor in graph.initializer}
    for value in graph.input:
        if value.name in initializer_names or not value.type.HasField("tensor_type"):
            continue
        shape = value.type.tensor_type.shape
        for position, dim in enumerate(shape.dim):
            if dim.HasField("dim_param") and dim.dim_param in dims:
                dim.dim_value = dims[dim.dim_param]
            elif position == 0 and not dim.HasField("dim_value"):
                dim.dim_value = batch_size
            elif position == 0 and dim.dim_value != batch_size:
                notes.append(
                    f"Input {value.name!r} has a fixed batch dimension of {dim.dim_value}; "
                    f"FLOPs are for that size, not --batch-size {batch_size}."
                )


def _symbolic_input_dims(graph: Any) -> set[str]:
    names = set()
    for value in graph.input:
        if value.type.HasField("tensor_type"):
            for dim in value.type.tensor_type.shape.dim:
                if not dim.HasField("dim_value"):
                    names.add(dim.dim_param or "?")
    return names


def _shape_table(graph: Any) -> dict[str, list[int] | None]:
    """Map each tensor name to its shape, None where a dimension is unknown."""
    table: dict[str, list[int] | None] = {}
    for value in [*graph.input, *graph.value_info, *graph.output]:
        if not value.type.HasField("tensor_type") or not value.type.tensor_type.HasField("shape"):
            continue
        dims = value.type.tensor_type.shape.dim
        table[value.name] = [dim.dim_value for dim in dims] if all(d.HasField("dim_value") for d in dims) else None
    for tensor in graph.initializer:
        table[tensor.name] = list(tensor.dims)
    return table
