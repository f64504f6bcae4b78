"""The probe's result for one model file, and its CSV and JSON forms.

The "GAISSALabel model probe" calculation tool maps the CSV columns `parameters`, `file_size_bytes`
and `flops` to the parameters, file size and FLOPs-per-inference metrics. `flops` is per input even
when --batch-size is larger; `flops_per_batch` and the other columns are for people, and the upload
ignores them.
"""

import csv
import io
import json
from dataclasses import asdict, dataclass, field

CSV_COLUMNS = ("parameters", "file_size_bytes", "flops", "model_name", "format", "batch_size", "flops_per_batch")

# A multiply-accumulate counts as 2 FLOPs (one multiplication and one addition).
FLOP_CONVENTION = (
    "FLOPs of one forward pass over --batch-size inputs; a multiply-accumulate counts as 2 FLOPs, "
    "an element-wise operation as 1 FLOP per output element"
)


@dataclass
class ProbeResult:
    """Properties the probe found in one model file (or one folder of safetensors shards)."""

    path: str
    model_name: str
    # "safetensors", "onnx", "pytorch" or "keras".
    format: str
    parameters: int
    file_size_bytes: int
    # None when the format contains no computation graph (safetensors, PyTorch state dicts).
    flops: int | None = None
    batch_size: int | None = None
    # FLOPs per operator type, for the JSON output.
    flops_by_operator: dict[str, int] = field(default_factory=dict)
    # Operator type -> number of nodes whose FLOPs are unknown; a non-empty map makes `flops` a lower bound.
    uncounted_operators: dict[str, int] = field(default_factory=dict)
    # Number of stored tensors per dtype ("F32": 199, …).
    tensors_by_dtype: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def flops_per_inference(self) -> int | None:
        """FLOPs of one input: the batch's FLOPs divided by the batch size (the CSV's `flops` column)."""
        if self.flops is None:
            return None
        return round(self.flops / (self.batch_size or 1))

    @property
    def flops_complete(self) -> bool:
        return self.flops is not None and not self.uncounted_operators


def to_csv(results: list["ProbeResult"]) -> str:
    """Write one CSV row per result, with the columns the upload page reads first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for result in results:
        writer.writerow([
            result.parameters,
            result.file_size_bytes,
            "" if result.flops is None else result.flops_per_inference,
            result.model_name,
            result.format,
            "" if result.batch_size is None else result.batch_size,
            "" if result.flops is None else result.flops,
        ])
    return buffer.getvalue()


def to_json(results: list["ProbeResult"]) -> str:
    """Write every result with its details (FLOPs per operator, uncounted operators, notes)."""
    items = []
    for result in results:
        item = asdict(result)
        item["flops_complete"] = result.flops_complete
        item["flops_per_inference"] = result.flops_per_inference
        items.append(item)
    document = {"flop_convention": FLOP_CONVENTION, "models": items}
    return json.dumps(document, indent=2) + "\n"
