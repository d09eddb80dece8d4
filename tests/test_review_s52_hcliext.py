"""The fifty-second session's two CLI extensions (hcliext): multi-line input in ``mlx_ifp chat``,
and ``export --dtype`` with ``--dequantize``.

- ``chat`` sent each line as its own turn: a pasted paragraph or piece of code became one turn
  per line. Now a line ending in a backslash goes on to the next (the backslash dropped, the
  line break kept), as llama-cli's, and the lines between two lines of three double quotes are
  one message, as written. A message of several lines is never a command (``q`` in a paste is
  text); the end of the input inside one sends nothing and ends the chat cleanly.
- ``export --dequantize`` writes the unpacked weights in the source's float dtype (float32 for a
  GGUF or the embedded model: llama.cpp's blocks have no float dtype to go back to); ``--dtype``
  (mlx_lm convert's flag, its three choices) sets it, as ``mlx_lm.load`` then reads it.

The chat tests fail on the code they were written against (each line was a turn); the export
ones guard what was there (``--dtype`` existed), and the help text that now names its default.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import mlx_ifp
from mlx_ifp.cli import app

import mlx.core as mx
import mlx.nn as nn
import pytest
import test_chat
from test_chat import chat
from tiny import save_folder
from tiny import tiny_model as tiny
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
turns = test_chat.turns  # the fixture: the message lists each turn sent


def users(sent):
    return [[m["content"] for m in t if m["role"] == "user"] for t in sent]


def test_a_line_ending_in_a_backslash_goes_on_to_the_next(turns):
    run = chat("t5 \\", "t6\\", "t7", "t8", "q")
    assert run.exit_code == 0, run.output
    assert users(turns) == [["t5 \nt6\nt7"], ["t5 \nt6\nt7", "t8"]]
    # the lines after the first are prompted as such (piped: each prompt's line ended, s57 leads)
    assert ">> \n... \n... \n" in run.output


def test_a_block_between_two_lines_of_quotes_is_one_message_as_written(turns):
    block = ['"""', "t5 \\", "", "q", "  r", '"""']  # a paste: its q and r are text
    run = chat(*block, "t6", "h", '  """  ', '"""', "q")  # an empty block: nothing sent
    assert run.exit_code == 0, run.output
    assert users(turns) == [["t5 \\\n\nq\n  r"], ["t5 \\\n\nq\n  r", "t6"]]
    assert "(a new conversation)" not in run.output
    assert 'a line of """ starts a block' in run.output  # h: the help says how


def test_r_and_q_still_work_and_quotes_after_a_backslash_are_text(turns):
    run = chat("t5", "r", "t6\\", '"""', "q", "t7")  # t7: after q, never read
    assert run.exit_code == 0, run.output
    assert users(turns) == [["t5"], ['t6\n"""']]
    assert "(a new conversation)" in run.output


@pytest.mark.parametrize("lines", [['"""', "t5", "t6"], ["t5\\", "t6\\"], ['"""']])
def test_the_end_of_input_inside_a_message_sends_nothing_and_ends_cleanly(turns, lines):
    run = chat("t7", *lines)
    assert run.exit_code == 0 and run.exception is None, run.output
    assert users(turns) == [["t7"]]
    assert "the unfinished message is not sent" in run.output
    assert "Traceback" not in run.output and run.output.endswith("\n")


def test_a_piped_file_with_crlf_line_ends(turns):
    piped = b'\xef\xbb\xbf"""\r\nt5\\\r\nt6\r\n"""\r\nt7\\\r\nt8\r\nq\r\n'  # a BOM, CRLF
    run = CliRunner().invoke(app, ["chat", "--mask-source", "griffin", "-m", "4"], input=piped)
    assert run.exit_code == 0, run.output
    assert users(turns) == [["t5\\\nt6"], ["t5\\\nt6", "t7\nt8"]]


def test_piped_stdin_in_a_real_process_on_the_embedded_model(tmp_path):
    """Not a terminal: a block and a continued line, each one turn, then the end of input
    inside a block: exit 0, no traceback."""
    text = '"""\nWhat is\nthe capital\n"""\nof France?\\\nAnswer briefly.\n"""\nunsent\n'
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "mlx_ifp", "chat", "-m", "4"], input=text,
                         capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert run.stderr.count("parameters active") == 2, run.stderr[-2000:]  # two turns, not five
    assert "the unfinished message is not sent" in run.stderr
    assert run.stdout.count(">> ") == 3, run.stdout  # (a reply may hold "... ")


def half_source(tmp_path, quantized=True):
    model = tiny(quantize=quantized)
    model.update(
        nn.utils.tree_map(
            lambda p: p.astype(mx.float16) if mx.issubdtype(p.dtype, mx.floating) else p,
            model.parameters(),
        )
    )
    return save_folder(model, tmp_path / "src", quantized=quantized)


def floats(folder):
    written = mx.load(str(folder / "model.safetensors"))
    return {v.dtype for v in written.values() if mx.issubdtype(v.dtype, mx.floating)}


@pytest.mark.parametrize("dtype", [None, "bfloat16", "float32"])
def test_export_dequantize_writes_the_dtype_asked_and_mlx_lm_reads_it(tmp_path, dtype):
    from mlx_lm import load as mlx_lm_load

    src, out = half_source(tmp_path), tmp_path / "out"
    args = ["export", "--model", str(src), "--dequantize", "-o", str(out)]
    run = CliRunner().invoke(app, args + (["--dtype", dtype] if dtype else []))
    assert run.exit_code == 0, run.output
    want = getattr(mx, dtype) if dtype else mx.float16  # the default: the source's float16
    assert floats(out) == {want}
    config = json.loads((out / "config.json").read_text())
    assert "quantization" not in config and config.get("torch_dtype") == (dtype or "float16")
    net, _ = mlx_lm_load(str(out))
    assert net.layers[0].mlp.gate_proj.weight.dtype == want
    assert "mlx_lm generate" in (out / "README.md").read_text()


def test_the_api_export_dtype_of_a_dequantized_model(tmp_path):
    net, tok = mlx_ifp.load(str(half_source(tmp_path)), dequantize=True)
    out = mlx_ifp.export(net, tok, tmp_path / "out", dtype="bfloat16")
    assert floats(out) == {mx.bfloat16}
    with pytest.raises(mlx_ifp.UsageError, match="float32, float16 or bfloat16"):
        mlx_ifp.export(net, tok, tmp_path / "o2", dtype="half")


@pytest.mark.parametrize("bad", ["fp16", "int8", "Float16", ""])
def test_a_bad_dtype_is_one_line_and_exit_2(tmp_path, bad):
    src = half_source(tmp_path, quantized=False)
    args = [
        "export",
        "--model",
        str(src),
        "--dequantize",
        "--dtype",
        bad,
        "-o",
        str(tmp_path / "o"),
    ]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 2, run.output
    assert run.output.startswith("Error: ") and len(run.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_the_help_names_dtypes_default_and_the_chat_help_its_lines():
    text = CliRunner().invoke(app, ["export", "--help"], env={"COLUMNS": "250"}).output
    assert "float16" in text and "bfloat16" in text and "--dequantize" in text
    assert "Default: the source" in text, text
    text = CliRunner().invoke(app, ["chat", "--help"], env={"COLUMNS": "250"}).output
    assert "A line ending in \\ goes on" in text and 'two lines of """' in text, text


@pytest.mark.parametrize("flags", [[], ["--keep", "0.5"]], ids=["whole", "slim"])
def test_export_on_cpu_writes_a_mixed_source_in_its_own_dtypes(tmp_path, flags):
    """A source of float16 matrices and float32 norms: on CPU `load` casts all to float32 and
    `export` wrote back only a source of one float dtype: this one came out all float32, its
    file twice the source's."""
    from mlx.utils import tree_map_with_path

    if mx.default_device() != mx.cpu:
        pytest.skip("the float32 cast is the CPU's")
    model = tiny()
    model.update(
        tree_map_with_path(
            lambda k, p: p.astype(mx.float32 if "norm" in k else mx.float16), model.parameters()
        )
    )
    src, out = save_folder(model, tmp_path / "src"), tmp_path / "out"
    run = CliRunner().invoke(app, ["export", "--model", str(src), "-o", str(out), *flags])
    assert run.exit_code == 0, run.output
    was = mx.load(str(src / "model.safetensors"))
    written = mx.load(str(out / "model.safetensors"))
    assert {k: v.dtype for k, v in written.items()} == {k: v.dtype for k, v in was.items()}
    assert (out / "model.safetensors").stat().st_size <= (src / "model.safetensors").stat().st_size
    run = CliRunner().invoke(
        app, ["export", "--model", str(src), "-o", str(out), "--dtype", "float32"]
    )
    assert run.exit_code == 0 and floats(out) == {mx.float32}  # asked: cast whole


def test_export_dequantize_on_cpu_writes_a_mixed_packed_source_in_its_own_dtypes(tmp_path):
    """The same for a packed source (float16 scales, float32 norms) written unpacked: each
    matrix in its scales' float16, the norms float32 (they all came out float32)."""
    from mlx.utils import tree_map_with_path

    if mx.default_device() != mx.cpu:
        pytest.skip("the float32 cast is the CPU's")
    model = tiny(quantize=True)
    half = lambda k, p: p.astype(mx.float32 if "norm" in k else mx.float16)  # noqa: E731
    keep = lambda k, p: half(k, p) if mx.issubdtype(p.dtype, mx.floating) else p  # noqa: E731
    model.update(tree_map_with_path(keep, model.parameters()))
    src, out = save_folder(model, tmp_path / "src", quantized=True), tmp_path / "out"
    args = ["export", "--model", str(src), "-o", str(out), "--dequantize"]
    assert CliRunner().invoke(app, args).exit_code == 0
    written = mx.load(str(out / "model.safetensors"))
    assert {k for k, v in written.items() if v.dtype == mx.float32} == {
        k for k in written if "norm" in k
    }
    assert {v.dtype for k, v in written.items() if "norm" not in k} == {mx.float16}
    assert "torch_dtype" not in json.loads((out / "config.json").read_text())
