"""The forty-eighth session's review of GGUF import and export, as a llama.cpp user meets them.

Each test failed on the code it was written against, for the reason its docstring gives.
"""

import json

from mlx_ifp.common import UsageError
from mlx_ifp.models import gguf as importer
from mlx_ifp.models import gguf_decode

import mlx.core as mx
import pytest
from test_gguf import tiny_model, write_gguf

U32 = mx.uint32


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(weights, metadata) of a tiny llama GGUF: 2 layers, FFN 128, 4 heads, 2 kv heads."""
    path = write_gguf(tiny_model(), tmp_path_factory.mktemp("g") / "g.gguf")
    return mx.load(str(path), return_metadata=True)


def convert(tmp_path, tiny, **extra):
    weights, meta = tiny
    mx.save_gguf(str(tmp_path / "r.gguf"), weights, {**meta, **extra})
    return importer.gguf_to_mlx_lm(tmp_path / "r.gguf", tmp_path / "out")


@pytest.mark.parametrize(
    "key,values",
    [
        ("feed_forward_length", [128, 128]),
        ("attention.head_count", [4, 4]),
        ("attention.head_count_kv", [2, 2]),
    ],
)
def test_a_per_layer_array_of_one_value_is_read(tmp_path, tiny, key, values):
    """llama.cpp reads these keys as one value or one per layer (``get_key_or_arr``); an array
    (the same in every layer, as its llama and qwen2 need) was refused as 'not a positive whole
    number: array([128, 128])'."""
    out = convert(tmp_path, tiny, **{f"llama.{key}": mx.array(values, dtype=U32)})
    config = json.loads((out / "config.json").read_text())
    name = {
        "feed_forward_length": "intermediate_size",
        "attention.head_count": "num_attention_heads",
    }
    assert config[name.get(key, "num_key_value_heads")] == values[0]


@pytest.mark.parametrize(
    "key,values,said",
    [
        ("feed_forward_length", [128, 64], "differs across layers ([64, 128])"),
        ("attention.head_count_kv", [2, 1], "differs across layers ([1, 2])"),
        ("feed_forward_length", [128, 128, 128], "3 values, not one per layer (2)"),
    ],
)
def test_per_layer_values_that_differ_are_refused_in_one_line(tmp_path, tiny, key, values, said):
    """Per-layer widths (llama.cpp's llama and qwen2 build every layer with layer 0's) were
    refused as 'not a positive whole number: array(...)', and kv heads that differ were read as
    layer 0's, silently: now one line says what differs; nothing is written."""
    with pytest.raises(UsageError, match="^[^\n]*$") as e:
        convert(tmp_path, tiny, **{f"llama.{key}": mx.array(values, dtype=U32)})
    assert f"llama.{key}" in str(e.value) and said in str(e.value)
    assert not (tmp_path / "out").exists()


def test_a_cut_k_quant_file_says_it_is_cut(tmp_path):
    """A GGUF cut short (an interrupted download) that the gguf package reads (K-quants: most
    GGUFs) said 'cannot reshape array of size 3260 into shape (8,420)'; the header now says which
    tensor runs past the file's end, before any tensor is decoded, as llama.cpp does."""
    gguf = pytest.importorskip("gguf")
    from test_gguf_decode import raw_tensor, write

    q6k = gguf.GGMLQuantizationType.Q6_K
    tensors = {f"blk.{i}.ffn_up.weight": (q6k, raw_tensor(q6k, seed=i)) for i in range(2)}
    data = write(tmp_path / "whole.gguf", tensors).read_bytes()
    (cut := tmp_path / "cut.gguf").write_bytes(data[:-100])
    with pytest.raises(UsageError, match="blk.1.ffn_up.weight' extends past the end of the file"):
        gguf_decode.load(cut)
    assert len(gguf_decode.load(tmp_path / "whole.gguf")[0]) == 6  # (weight, scales, biases)


def test_a_header_cut_short_says_so(tmp_path):
    """A file cut inside its header said 'GGUF header claims 272 tensors and 39 keys: too many',
    which reads as a hostile file, not an incomplete download."""
    write_gguf(tiny_model(), tmp_path / "g.gguf")
    (cut := tmp_path / "cut.gguf").write_bytes((tmp_path / "g.gguf").read_bytes()[:200])
    with pytest.raises(ValueError, match="cut short"):
        gguf_decode.tensor_types(cut)
