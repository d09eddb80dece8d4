"""The forty-fourth session's review of the GGUF importer (models/gguf.py), against llama.cpp.

Each test failed on the code it was written against, for the reason its docstring gives. The
files are written with ``mx.save_gguf``: no ``gguf`` package needed.
"""

import json

from mlx_ifp.common import UsageError
from mlx_ifp.models import gguf as importer

import mlx.core as mx
import pytest
from test_gguf import tiny_model, write_gguf

F32 = mx.float32


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(weights, metadata) of a tiny llama GGUF (no rope scaling keys)."""
    path = write_gguf(tiny_model(), tmp_path_factory.mktemp("g") / "g.gguf")
    return mx.load(str(path), return_metadata=True)


def converted(tmp_path, tiny, **extra):
    """``extra`` metadata added to the tiny file, converted: (config.json, the loaded model)."""
    from mlx_lm import load

    weights, meta = tiny
    mx.save_gguf(str(tmp_path / "r.gguf"), weights, {**meta, **extra})
    out = importer.gguf_to_mlx_lm(tmp_path / "r.gguf", tmp_path / "out")
    return json.loads((out / "config.json").read_text()), load(str(out))[0]


@pytest.mark.parametrize(
    "extra",
    [
        {"llama.rope.scale_linear": mx.array(4.0, dtype=F32)},
        {"llama.rope.scaling.factor": mx.array(4.0, dtype=F32)},
    ],
    ids=["scale_linear", "factor_without_type"],
)
def test_linear_rope_scaling_without_a_type_key_is_applied_as_llama_cpp_does(tmp_path, tiny, extra):
    """llama.cpp takes the rope scaling type as "linear" when `rope.scaling.type` is absent,
    and the factor from `rope.scaling.factor` or else the old `rope.scale_linear` (what
    convert.py wrote: SuperHOT / 16k Vicuna files). The importer read the factor only beside a
    type key: such a file was converted without its scaling, every position's rotation 4x off."""
    config, model = converted(tmp_path, tiny, **extra)
    assert config["rope_scaling"] == {"type": "linear", "factor": 4.0}
    assert model.model.layers[0].self_attn.rope.scale == pytest.approx(0.25)


@pytest.mark.parametrize(
    "extra",
    [
        {"llama.rope.scaling.type": "linear"},
        {"llama.rope.scaling.type": "linear", "llama.rope.scaling.factor": mx.array(0.0)},
        {"llama.rope.scaling.type": "none", "llama.rope.scaling.factor": mx.array(4.0)},
    ],
    ids=["linear_no_factor", "linear_factor_0", "none_with_factor"],
)
def test_a_linear_type_without_a_factor_scales_nothing(tmp_path, tiny, extra):
    """llama.cpp reads an absent or 0 factor as no scaling (and type "none" as none): the
    converted config said `"factor": null` / `0.0` and loading it failed with a traceback
    (TypeError, ZeroDivisionError from inside mlx-lm)."""
    config, model = converted(tmp_path, tiny, **extra)
    assert "rope_scaling" not in config
    assert model.model.layers[0].self_attn.rope.scale == 1.0


def test_a_rope_factor_that_is_no_number_is_one_error(tmp_path, tiny):
    with pytest.raises(UsageError, match="rope.scaling.factor"):
        converted(tmp_path, tiny, **{"llama.rope.scale_linear": "four"})


# Mistral-Nemo's tokenizer.json split (Tekken), as llama.cpp's llama-vocab.cpp quotes it
TEKKEN = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"
    r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
TEXTS = ["HelloWorld and camelCaseName 12345", "(hello) [WORLD] it's 3.14/2", "a\r\n\r\nb  c\t d"]


def tekken_tokenizer():
    """A byte-level BPE trained with Tekken's split (HF's build, merges ignored, BOS added)
    and the ``tokenizer.ggml.*`` metadata llama.cpp's converter writes for it."""
    from test_review_s34_gguf import trained

    tok, meta = trained(TEKKEN, True, True, "HelloWorld hello world 12345 camelCase WORLD")
    return tok, {**meta, "tokenizer.ggml.pre": "tekken"}


def test_tekken_pre_tokenizer_splits_like_mistral_nemo():
    """`tekken` is the pre-tokenizer of Mistral Nemo / Mistral Small 3 GGUFs (a llama
    architecture): llama.cpp splits with its regex (case changes, one digit at a time), ignores
    merges and adds BOS. The importer fell back on GPT-2's split without BOS: "HelloWorld" one
    piece, "12345" one piece, other ids than the model was trained on."""
    hf, meta = tekken_tokenizer()
    ours = importer.build_tokenizer(meta)
    for text in TEXTS:
        assert ours.encode(text) == hf.encode(text).ids, text
    assert ours.encode("hello")[0] == 0
    said_no = {**meta, "tokenizer.ggml.add_bos_token": False}
    assert importer.build_tokenizer(said_no).encode("hello")[0] != 0


@pytest.mark.parametrize("version", [4, 0x100])
def test_a_gguf_version_newer_than_3_is_refused(tmp_path, tiny, version):
    """llama.cpp ("only supports up to version 3") and the gguf package refuse a version they
    do not know; the importer refused only 0, 1 and big-endian ones, so a file of F32/Q4_0/Q8_0
    tensors claiming version 4 went to mx.load and was converted as if laid out as version 3
    (the same file with a Q4_K tensor was refused by the gguf package)."""
    mx.save_gguf(str(tmp_path / "v.gguf"), *tiny)
    data = bytearray((tmp_path / "v.gguf").read_bytes())
    data[4:8] = version.to_bytes(4, "little")
    (tmp_path / "v.gguf").write_bytes(bytes(data))
    with pytest.raises(UsageError, match=f"GGUF version {version} is not supported"):
        importer.gguf_to_mlx_lm(tmp_path / "v.gguf", tmp_path / "out")
    assert not (tmp_path / "out").exists()
