"""BatchNorm running statistics: stored in PyTorch state dicts next to the parameters, but not parameters.

Both the PyTorch reader and the safetensors reader leave them out by name, so that one model gives one
count in either format, the count of `model.parameters()`.
"""

# Names of the buffers that torch.nn's BatchNorm layers (and InstanceNorm layers with track_running_stats=True)
# store in their state dicts. Safetensors files saved from such a state dict keep the same names.
NORM_BUFFER_NAMES = ("running_mean", "running_var", "num_batches_tracked")


def is_norm_buffer(tensor_name: str) -> bool:
    """Tell whether a tensor is a BatchNorm running statistic, by the last part of its dotted name."""
    return tensor_name.rsplit(".", 1)[-1] in NORM_BUFFER_NAMES


def norm_buffer_note(elements: int) -> str:
    """Return the result note for `elements` left out as BatchNorm running statistics."""
    return (f"Left out {elements} elements of BatchNorm running statistics, as model.parameters() does. "
            "Other buffers a model registers are counted.")
