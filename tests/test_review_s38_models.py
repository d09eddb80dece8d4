"""The thirty-eighth session's hunt in model loading (models/gguf.py, gguf_decode.py, resolve.py).

Each test failed on the code it was written against, for the reason its docstring gives.
"""

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import mlx_ifp
from mlx_ifp.cli import app
from mlx_ifp.common import UsageError
from mlx_ifp.models import gguf as importer

import mlx.core as mx
import numpy as np
import pytest
from test_gguf import tiny_model, write_gguf
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def good_file(tmp_path):
    """(weights, metadata) of a tiny llama GGUF."""
    return mx.load(str(write_gguf(tiny_model(), tmp_path / "g.gguf")), return_metadata=True)


def odd(tmp_path, name="odd.gguf", **changes):
    """The tiny llama GGUF with metadata ``changes`` (``a__b`` is the key ``a.b``; None drops)."""
    weights, meta = good_file(tmp_path)
    for key, value in changes.items():
        key = key.replace("__", ".")
        meta.pop(key) if value is None else meta.__setitem__(key, value)
    mx.save_gguf(str(tmp_path / name), weights, meta)
    return tmp_path / name


def patched(src: Path, dst: Path, tensor: str, offset: int) -> Path:
    """``src`` with ``tensor``'s data offset in the header set to ``offset``."""
    raw = bytearray(src.read_bytes())
    at = raw.find(tensor.encode()) + len(tensor)
    (ndim,) = struct.unpack_from("<I", raw, at)
    struct.pack_into("<Q", raw, at + 4 + 8 * ndim + 4, offset)
    dst.write_bytes(bytes(raw))
    return dst


def test_a_zero_alignment_is_one_error_not_a_crash(tmp_path):
    """`general.alignment = 0` killed the process with SIGFPE inside `mx.load` (a division by
    zero in its GGUF reader): no message at all, from `load`, `info`, `generate`."""
    path = odd(tmp_path, general__alignment=mx.array(0, dtype=mx.uint32))
    code = (
        "import sys; from mlx_ifp.common import UsageError; from mlx_ifp.models import gguf\n"
        "try: gguf.read_gguf(sys.argv[1])\nexcept UsageError as e: print('refused:', e)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, (run.returncode, run.stderr[-800:])
    assert "refused:" in run.stdout and "alignment 0" in run.stdout, run.stdout


def test_an_alignment_or_offset_that_does_not_fit_is_refused_not_read_awry(tmp_path):
    """`general.alignment = 3` (not a power of two: llama.cpp and the gguf package refuse it)
    and a tensor whose data offset is not a multiple of the alignment were read by `mx.load`
    from the wrong bytes: the model loaded with garbage weights, silently."""
    with pytest.raises(UsageError, match="alignment 3 is not a power of two"):
        importer.read_gguf(odd(tmp_path, general__alignment=mx.array(3, dtype=mx.uint32)))
    good = write_gguf(tiny_model(), tmp_path / "good.gguf")
    bad = patched(good, tmp_path / "off.gguf", "output_norm.weight", 3)
    with pytest.raises(UsageError, match="'output_norm.weight': data offset 3 is not aligned"):
        importer.read_gguf(bad)


def test_a_big_endian_file_is_named_as_such(tmp_path):
    """A big-endian GGUF (`GGUFWriter(endianess=BIG)`, for s390x) was refused as claiming
    "1441151880758558720 tensors and 1369094286720630784 keys: too many"."""
    gguf = pytest.importorskip("gguf")
    w = gguf.GGUFWriter(str(tmp_path / "be.gguf"), "llama", endianess=gguf.GGUFEndian.BIG)
    w.add_tensor("token_embd.weight", np.ones((4, 4), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(UsageError, match="big-endian") as e:
        importer.read_gguf(tmp_path / "be.gguf")
    assert "too many" not in str(e.value)


@pytest.mark.parametrize(
    "changes",
    [{"tokenizer__ggml__token_type": "normal"}, {"split__count": "2"}],
    ids=["token-type-a-string", "split-count-a-string"],
)
def test_wrongly_typed_metadata_is_one_line_exit_2(tmp_path, cache, changes):
    """`tokenizer.ggml.token_type` stored as text raised `AttributeError: 'str' object has no
    attribute 'tolist'` and `split.count` as text `TypeError: '>' not supported between
    instances of 'str' and 'int'`: tracebacks from `load`, `info --model`, `generate`."""
    path = odd(tmp_path, **changes)
    with pytest.raises(UsageError, match="odd.gguf"):
        mlx_ifp.load(str(path))
    run = CliRunner().invoke(app, ["info", "--model", str(path)])
    assert run.exit_code == 2 and run.output.startswith("Error: "), run.output
    assert len(run.output.strip().splitlines()) == 1, run.output


def test_a_token_id_of_minus_one_is_no_token_not_the_last_one(tmp_path):
    """A BOS id stored as int32 -1 (llama.cpp's "no token") picked `tokens[-1]`, the last token
    of the vocabulary, as BOS, and prepended it to every prompt; the config recorded -1 (a
    transformers warning on every load)."""
    weights, meta = good_file(tmp_path)
    meta["tokenizer.ggml.bos_token_id"] = mx.array(-1, dtype=mx.int32)
    meta["tokenizer.ggml.add_bos_token"] = mx.array(True)
    tok = importer.build_tokenizer(meta)
    last = len(meta["tokenizer.ggml.tokens"]) - 1
    assert tok.bos_token is None and last not in tok.encode("hello"), tok.encode("hello")
    mx.save_gguf(str(tmp_path / "m.gguf"), weights, meta)
    out = importer.gguf_to_mlx_lm(tmp_path / "m.gguf", tmp_path / "out")
    assert "bos_token_id" not in json.loads((out / "config.json").read_text())


@pytest.mark.parametrize(
    "key, value",
    [("tokenizer.ggml.pre", mx.array(3)), ("tokenizer.ggml.add_bos_token", "no")],
    ids=["pre-a-number", "add-bos-the-text-no"],
)
def test_a_wrongly_typed_tokenizer_setting_is_refused_not_guessed(tmp_path, key, value):
    """`tokenizer.ggml.pre` stored as a number gave GPT-2's split (other token ids than the model
    was trained on), `add_bos_token = "no"` added BOS (a non-empty string is true): silently."""
    _, meta = good_file(tmp_path)
    with pytest.raises(UsageError, match=key.replace(".", r"\.")):
        importer.build_tokenizer({**meta, key: value})


def test_a_file_without_its_rms_epsilon_is_refused_not_given_one(tmp_path):
    """A GGUF without `llama.attention.layer_norm_rms_epsilon` (a key llama.cpp requires) was
    converted with 1e-6, whatever the model was trained with: a silently different model."""
    path = odd(tmp_path, llama__attention__layer_norm_rms_epsilon=None)
    with pytest.raises(UsageError, match="layer_norm_rms_epsilon is missing"):
        importer.gguf_to_mlx_lm(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_lora_of_another_model_of_the_same_shapes_is_refused(tmp_path):
    """`load(model, adapter_path=run)` applied the LoRA of a run trained on another model of the
    same shapes silently (the run's `ifp_config.json` records that model; only adapters that did
    not fit were checked against it), though the run's predictor is refused on that model."""
    from tiny import finetune_folder, save_folder
    from tiny import tiny_model as tiny

    a = save_folder(tiny("llama", seed=0), tmp_path / "a")
    b = save_folder(tiny("llama", seed=1), tmp_path / "b")
    run = finetune_folder(mlx_ifp.load(str(a))[0], tmp_path / "run", 48)
    with pytest.raises(UsageError, match="were trained for another model"):
        mlx_ifp.load(str(b), adapter_path=str(run))
    net, _ = mlx_ifp.load(str(a), adapter_path=str(run))  # its own model: applied
    assert "lora_a" in str(net.layers[-1].self_attn.q_proj.parameters().keys())


@pytest.mark.parametrize(
    "change", [{"general.architecture": "gemma2"}, {"split.count": 3}], ids=["gemma2", "split"]
)
def test_a_file_that_cannot_be_converted_is_refused_before_its_tensors_are_decoded(
    tmp_path, change
):
    """An architecture that is not supported (a gemma2 Q4_K_M, as common as GGUFs come) or a
    part of a split GGUF was refused only after every tensor had been decoded: ~7 min for a
    1.5 B K-quant file here (docs/gguf.md), then "architecture 'gemma2' is not supported"."""
    gguf = pytest.importorskip("gguf")
    T = gguf.GGMLQuantizationType
    weights, meta = good_file(tmp_path)
    meta.update(change)
    w = gguf.GGUFWriter(str(tmp_path / "k.gguf"), str(meta.pop("general.architecture")))
    for key, value in change.items():
        if key != "general.architecture":
            w.add_uint16(key, value)
    for name, x in weights.items():
        x, q = np.array(x), T.Q5_0 if x.ndim == 2 else None
        w.add_tensor(name, gguf.quants.quantize(x, q) if q else x, raw_dtype=q)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    decoded = []
    with pytest.raises(UsageError, match="gemma2' is not supported|split GGUF"):
        out, seen = tmp_path / "out", lambda *a: decoded.append(a)
        importer.gguf_to_mlx_lm(tmp_path / "k.gguf", out, progress=seen)
    assert decoded == [], f"{len(decoded)} tensors decoded first"


def test_an_adapter_file_given_for_its_folder_is_named_a_file(tmp_path):
    """`load(m, adapter_path="run/adapters.safetensors")` (`--adapter run/adapters.safetensors`,
    the file instead of its folder) said "adapter folder not found", though the path is there."""
    path = tmp_path / "adapters.safetensors"
    path.write_bytes(b"")
    with pytest.raises(UsageError, match="is a file: give the adapter folder that holds it"):
        mlx_ifp.load(str(write_gguf(tiny_model(), tmp_path / "m.gguf")), adapter_path=str(path))


def test_a_mixture_of_experts_llama_is_refused_by_name_before_its_tensors(tmp_path):
    """A Mixtral GGUF says architecture "llama" with ``llama.expert_count``: it was converted
    (every tensor decoded), then failed in mlx-lm with "Missing N parameters"."""
    decoded = []
    with pytest.raises(UsageError, match="mixture-of-experts models \\(8 experts\\)"):
        importer.gguf_to_mlx_lm(
            odd(tmp_path, llama__expert_count=mx.array(8, dtype=mx.uint32)),
            tmp_path / "out",
            progress=lambda *a: decoded.append(a),
        )
    assert decoded == [] and not (tmp_path / "out").exists()
