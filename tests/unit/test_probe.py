"""gaissa-probe on small real models built here with the onnx and safetensors packages.

Expected counts are worked out by hand next to each model. FLOP convention: a multiply-accumulate
is 2 FLOPs, an element-wise operation 1 FLOP per output element (see gaissa/probe/flops.py).
"""

import csv
import io
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save_file

from gaissa.probe import ProbeError, main, probe_path
from gaissa.probe.result import CSV_COLUMNS

OPSET = [helper.make_opsetid("", 17)]


def _initializer(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)


def _save(graph: onnx.GraphProto, path) -> None:
    model = helper.make_model(graph, opset_imports=OPSET)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def mlp_model(path):
    """x[batch,16] → MatMul W[16,8] → Add b[8] → Relu → Gemm W2[4,8]ᵀ + b2[4] → y[batch,4].

    Parameters: 16·8 + 8 + 4·8 + 4 = 172.
    FLOPs per input: MatMul 2·8·16 = 256, Add 8, Relu 8, Gemm 2·4·8 + 4 = 68; total 340.
    """
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["h"]),
        helper.make_node("Add", ["h", "b"], ["h2"]),
        helper.make_node("Relu", ["h2"], ["h3"]),
        helper.make_node("Gemm", ["h3", "W2", "b2"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        [_initializer("W", 16, 8), _initializer("b", 8), _initializer("W2", 4, 8), _initializer("b2", 4)],
    )
    _save(graph, path)
    return path


def cnn_model(path):
    """x[N,3,32,32] → Conv 8×3×3×3 (pad 1) + bias → Relu → MaxPool 2×2 → GlobalAveragePool → Flatten → Gemm 8→10.

    Parameters: 8·3·3·3 + 8 + 10·8 + 10 = 314.
    FLOPs per image: Conv 2·(8·32·32)·(3·3·3) + 8·32·32 = 442,368 + 8,192 = 450,560;
    Relu 8,192; MaxPool (8·16·16)·(2·2) = 8,192; GlobalAveragePool 8·16·16 = 2,048;
    Flatten 0; Gemm 2·10·8 + 10 = 170. Total 469,162.
    """
    nodes = [
        helper.make_node("Conv", ["x", "W1", "B1"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "W2", "B2"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny_cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
        [_initializer("W1", 8, 3, 3, 3), _initializer("B1", 8), _initializer("W2", 10, 8), _initializer("B2", 10)],
    )
    _save(graph, path)
    return path


def sequence_model(path):
    """x[batch,sequence,16] → MatMul W[16,32]: 2·sequence·32·16 FLOPs per input; 512 parameters."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])], "projection",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "sequence", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "sequence", 32])],
        [_initializer("W", 16, 32)],
    )
    _save(graph, path)
    return path


# ---------------------------------------------------------------- safetensors


def test_safetensors_counts_parameters_from_header(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({"encoder.weight": np.zeros((16, 8), np.float32), "encoder.bias": np.zeros(8, np.float16),
               "head.weight": np.zeros((3, 4, 5), np.float32)}, str(path))

    result = probe_path(path)

    assert result.parameters == 16 * 8 + 8 + 3 * 4 * 5
    assert result.file_size_bytes == path.stat().st_size
    assert result.flops is None
    assert result.tensors_by_dtype == {"F16": 1, "F32": 2}
    assert result.format == "safetensors"


def test_safetensors_reader_needs_no_package(tmp_path):
    header = json.dumps({
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "b": {"dtype": "BF16", "shape": [5], "data_offsets": [24, 34]},
    }).encode()
    path = tmp_path / "hand.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(34))

    result = probe_path(path)

    assert result.parameters == 6 + 5
    assert result.file_size_bytes == 8 + len(header) + 34


def test_safetensors_shards_in_folder_add_up(tmp_path):
    save_file({"a": np.zeros((10, 10), np.float32)}, str(tmp_path / "model-00001-of-00002.safetensors"))
    save_file({"b": np.zeros((7,), np.float32)}, str(tmp_path / "model-00002-of-00002.safetensors"))

    result = probe_path(tmp_path)

    assert result.parameters == 107
    assert result.file_size_bytes == sum(p.stat().st_size for p in tmp_path.glob("*.safetensors"))
    assert any("2 shards" in note for note in result.notes)


def test_safetensors_leaves_out_batchnorm_buffers(tmp_path):
    # The state dict of Linear 16→8, BatchNorm1d(8), ReLU, Linear 8→4 under PyTorch's names.
    # Parameters: 16·8 + 8 + 8 + 8 + 8·4 + 4 = 188. Buffers: running_mean[8], running_var[8] and
    # num_batches_tracked[] (one int64 element), 17 elements in all.
    path = tmp_path / "batchnorm.safetensors"
    save_file({
        "0.weight": np.zeros((8, 16), np.float32), "0.bias": np.zeros(8, np.float32),
        "1.weight": np.ones(8, np.float32), "1.bias": np.zeros(8, np.float32),
        "1.running_mean": np.zeros(8, np.float32), "1.running_var": np.ones(8, np.float32),
        "1.num_batches_tracked": np.array(0, np.int64),
        "3.weight": np.zeros((4, 8), np.float32), "3.bias": np.zeros(4, np.float32),
    }, str(path))

    result = probe_path(path)

    assert result.parameters == 188
    assert result.tensors_by_dtype == {"F32": 8, "I64": 1}
    assert any("Left out 17 elements of BatchNorm running statistics" in note for note in result.notes)


def test_safetensors_buffer_names_match_whole_last_part(tmp_path):
    # Only the part after the last dot is compared, so running_mean_proj is a parameter.
    header = json.dumps({
        "encoder.running_mean_proj": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "norm.running_var": {"dtype": "F32", "shape": [3], "data_offsets": [24, 36]},
    }).encode()
    path = tmp_path / "names.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(36))

    result = probe_path(path)

    assert result.parameters == 6
    assert any("Left out 3 elements" in note for note in result.notes)


def test_safetensors_without_buffers_has_no_buffer_note(tmp_path):
    path = tmp_path / "plain.safetensors"
    save_file({"w": np.zeros((3, 3), np.float32)}, str(path))

    result = probe_path(path)

    assert not any("BatchNorm" in note for note in result.notes)


def test_safetensors_truncated_file_is_rejected(tmp_path):
    path = tmp_path / "cut.safetensors"
    save_file({"a": np.zeros((100,), np.float32)}, str(path))
    path.write_bytes(path.read_bytes()[:-40])

    with pytest.raises(ProbeError, match="truncated or corrupt"):
        probe_path(path)


def test_safetensors_garbage_header_length_is_rejected(tmp_path):
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(b"\xff" * 8 + b"{}")

    with pytest.raises(ProbeError, match="not a safetensors file"):
        probe_path(path)


def test_safetensors_size_mismatch_is_rejected(tmp_path):
    header = json.dumps({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}).encode()
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))

    with pytest.raises(ProbeError, match="occupies 8 bytes"):
        probe_path(path)


# ---------------------------------------------------------------- ONNX


def test_onnx_mlp_parameters_and_flops(tmp_path):
    result = probe_path(mlp_model(tmp_path / "mlp.onnx"))

    assert result.parameters == 172
    assert result.flops == 340
    assert result.flops_by_operator == {"Add": 8, "Gemm": 68, "MatMul": 256, "Relu": 8}
    assert result.flops_complete
    assert result.file_size_bytes == (tmp_path / "mlp.onnx").stat().st_size


def test_onnx_flops_scale_with_batch_size(tmp_path):
    result = probe_path(mlp_model(tmp_path / "mlp.onnx"), batch_size=4)

    assert result.flops == 4 * 340
    assert result.batch_size == 4
    assert result.parameters == 172


def test_onnx_cnn_flops(tmp_path):
    result = probe_path(cnn_model(tmp_path / "cnn.onnx"))

    assert result.parameters == 314
    assert result.flops_by_operator["Conv"] == 450_560
    assert result.flops_by_operator["MaxPool"] == 8_192
    assert result.flops_by_operator["GlobalAveragePool"] == 2_048
    assert result.flops == 469_162
    assert result.flops_complete


def test_onnx_symbolic_dimension_needs_dim_option(tmp_path):
    path = sequence_model(tmp_path / "seq.onnx")

    unresolved = probe_path(path)
    resolved = probe_path(path, dims={"sequence": 10})

    assert unresolved.uncounted_operators == {"MatMul": 1}
    assert not unresolved.flops_complete
    assert any("--dim" in note for note in unresolved.notes)
    assert resolved.flops == 2 * 10 * 32 * 16
    assert resolved.flops_complete


def test_onnx_shared_initializer_counts_once(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("MatMul", ["h", "W"], ["y"])], "tied",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6])], [_initializer("W", 6, 6)],
    )
    _save(graph, tmp_path / "tied.onnx")

    result = probe_path(tmp_path / "tied.onnx")

    assert result.parameters == 36
    assert result.flops == 2 * (2 * 6 * 6)


def test_onnx_einsum_and_conv_transpose(tmp_path):
    """Einsum ij,jk->ik with 4×5 and 5×6: 2·4·5·6 = 240. ConvTranspose x[1,2,4,4], W[2,3,2,2], stride 2:
    2·(1·2·4·4)·(3·2·2) = 768, no bias."""
    graph = helper.make_graph(
        [helper.make_node("Einsum", ["a", "B"], ["e"], equation="ij,jk->ik"),
         helper.make_node("ConvTranspose", ["x", "K"], ["t"], strides=[2, 2])], "mixed",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [4, 5]),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
        [helper.make_tensor_value_info("e", TensorProto.FLOAT, [4, 6]),
         helper.make_tensor_value_info("t", TensorProto.FLOAT, [1, 3, 8, 8])],
        [_initializer("B", 5, 6), _initializer("K", 2, 3, 2, 2)],
    )
    _save(graph, tmp_path / "mixed.onnx")

    result = probe_path(tmp_path / "mixed.onnx")

    assert result.flops_by_operator == {"ConvTranspose": 768, "Einsum": 240}
    assert result.parameters == 30 + 24


def test_onnx_unknown_operator_makes_lower_bound(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("TopK", ["h", "k"], ["v", "i"], axis=-1)],
        "topk", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("v", TensorProto.FLOAT, [1, 2]),
         helper.make_tensor_value_info("i", TensorProto.INT64, [1, 2])],
        [_initializer("W", 4, 4), numpy_helper.from_array(np.array([2], dtype=np.int64), "k")],
    )
    _save(graph, tmp_path / "topk.onnx")

    result = probe_path(tmp_path / "topk.onnx")

    assert result.flops == 2 * 4 * 4
    assert result.uncounted_operators == {"TopK": 1}
    assert not result.flops_complete
    assert any("lower bound" in note for note in result.notes)


def test_onnx_external_data_is_in_file_size(tmp_path):
    model = onnx.load(str(mlp_model(tmp_path / "source.onnx")))
    target = tmp_path / "external.onnx"
    onnx.save_model(model, str(target), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="external.weights", size_threshold=0)

    result = probe_path(target)

    assert result.parameters == 172
    assert result.file_size_bytes == target.stat().st_size + (tmp_path / "external.weights").stat().st_size
    assert result.flops == 340


def test_onnx_garbage_file_is_rejected(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"this is not a protobuf \xff\xfe")

    with pytest.raises(ProbeError, match="not a readable ONNX model"):
        probe_path(path)


# ---------------------------------------------------------------- command line


def test_cli_writes_the_tool_columns(tmp_path, capsys):
    path = mlp_model(tmp_path / "mlp.onnx")

    code = main([str(path), "--batch-size", "2"])
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))

    assert code == 0
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0]["parameters"] == "172"
    assert rows[0]["file_size_bytes"] == str(path.stat().st_size)
    assert rows[0]["flops"] == "340"  # per input: the batch of 2 costs 680
    assert rows[0]["flops_per_batch"] == "680"
    assert rows[0]["batch_size"] == "2"
    assert rows[0]["format"] == "onnx"


def test_cli_leaves_flops_empty_for_safetensors(tmp_path, capsys):
    path = tmp_path / "w.safetensors"
    save_file({"w": np.zeros((3, 3), np.float32)}, str(path))

    main([str(path)])
    row = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))

    assert row["parameters"] == "9"
    assert row["flops"] == ""


def test_cli_json_output_file(tmp_path):
    output = tmp_path / "out" / "probe.json"

    code = main([str(cnn_model(tmp_path / "cnn.onnx")), "-o", str(output)])
    document = json.loads(output.read_text())

    assert code == 0
    assert "2 FLOPs" in document["flop_convention"]
    assert document["models"][0]["flops"] == 469_162
    assert document["models"][0]["flops_complete"] is True


def test_cli_failure_writes_nothing(tmp_path, capsys):
    output = tmp_path / "probe.csv"

    code = main([str(mlp_model(tmp_path / "mlp.onnx")), str(tmp_path / "missing.onnx"), "-o", str(output)])

    assert code == 1
    assert not output.exists()
    assert "missing.onnx does not exist" in capsys.readouterr().err


def test_cli_rejects_bad_dim_option(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "x.onnx"), "--dim", "sequence=abc"])
    assert exit_info.value.code == 2


def test_cli_unsupported_extension(tmp_path, capsys):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"TFL3")

    assert main([str(path)]) == 1
    assert "unsupported file type '.tflite'" in capsys.readouterr().err


def test_cli_help_names_every_format(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())

    assert exit_info.value.code == 0
    assert ".safetensors and .onnx always" in text
    assert ".pt/.pth/.bin/.ckpt when PyTorch is installed" in text
    assert ".keras/.h5/.hdf5 when Keras is" in text
    assert "empty for safetensors, PyTorch and Keras files" in text


def test_cli_says_when_onnx_is_missing(tmp_path):
    path = mlp_model(tmp_path / "mlp.onnx")
    script = ("import sys; sys.modules['onnx'] = None; "
              "from gaissa.probe import main; sys.exit(main(sys.argv[1:]))")

    completed = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60)

    assert completed.returncode == 1
    assert "needs the onnx package" in completed.stderr
    assert "pip install onnx" in completed.stderr


def test_console_script_is_installed(tmp_path):
    probe = shutil.which("gaissa-probe", path=str(Path(sys.executable).parent))
    assert probe is not None, "gaissa-probe is not installed; run pip install -e ."

    completed = subprocess.run([probe, str(mlp_model(tmp_path / "mlp.onnx"))], capture_output=True, text=True,
                               timeout=60)

    assert completed.returncode == 0
    assert completed.stdout.splitlines()[0] == ",".join(CSV_COLUMNS)
