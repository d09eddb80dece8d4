"""The forty-fourth session's second review of the GGUF importer (models/gguf.py), against
llama.cpp's llama-vocab.cpp (its pre-tokenizer regexes, clean_spaces and add_eos flags) and its
shape checks.

Each test failed on the code it was written against, for the reason its docstring gives. The
files are written with ``mx.save_gguf``: no hub access.
"""

import json
import struct
import sys

from mlx_ifp.common import UsageError
from mlx_ifp.models import gguf as importer

import mlx.core as mx
import pytest
from test_gguf import tiny_model, tokenizer_meta, write_gguf

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
# llama.cpp's regex lists (llama-vocab.cpp, llm_tokenizer_bpe), as Hugging Face splits
LLAMA_CPP = {
    "starcoder": [r"\p{N}", GPT2],
    "command-r": [r"\p{N}", GPT2],
    "default": [r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", "[0-9][0-9][0-9]"],
    "falcon": [r"[\p{P}\$\+<=>\^~\|`]+", GPT2, "[0-9][0-9][0-9]"],
    "deepseek-coder": [r"[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", "[一-龥ࠀ-一가-퟿]+", r"\p{N}"],
    "llama4": [  # o200k's, as llama.cpp quotes its tokenizer.json
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+"
        r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}"
        r"| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
    ],
}
TEXTS = [
    "HelloWorld (it's) [x+=12345] a,,b...c??",
    "def f(x):\r\n\treturn x**2  # ok\n\n",
    "日本語のテキスト 한국어 café 3.14159 YOU'RE",
]


def pieces(pre_tokenizer, text):
    return [p for p, _ in pre_tokenizer.pre_tokenize_str(text)]


def reference(regexes):
    from tokenizers import Regex
    from tokenizers import pre_tokenizers as pt

    splits = [pt.Split(Regex(r), behavior="isolated") for r in regexes]
    return pt.Sequence([*splits, pt.ByteLevel(add_prefix_space=False, use_regex=False)])


def tokenizer(pre, **extra):
    meta = {**tokenizer_meta(300), **extra}
    meta.pop("tokenizer.ggml.pre")
    return importer.build_tokenizer(meta if pre is None else {**meta, "tokenizer.ggml.pre": pre})


@pytest.mark.parametrize("pre", sorted(LLAMA_CPP))
def test_llama_cpp_pre_tokenizer_names_split_as_llama_cpp(pre):
    """`starcoder`, `command-r` (digits one at a time), `default` (punctuation runs, then
    numbers in threes), `falcon`, `deepseek-coder` and `llama4` (gpt-4o's split) are llama.cpp
    names with their own regexes; the importer split every name it did not list with GPT-2's:
    other pieces, other ids than the model was trained on."""
    ours = tokenizer(pre).backend_tokenizer.pre_tokenizer
    for text in TEXTS:
        assert pieces(ours, text) == pieces(reference(LLAMA_CPP[pre]), text), text


def test_a_file_without_a_pre_name_gets_llama_cpps_default_split_and_a_warning():
    """llama.cpp splits a file without `tokenizer.ggml.pre` with its `default` regexes (and
    warns that quality will degrade); the importer used GPT-2's split, silently."""
    with pytest.warns(UserWarning, match="tokenizer.ggml.pre"):
        ours = tokenizer(None).backend_tokenizer.pre_tokenizer
    for text in TEXTS:
        assert pieces(ours, text) == pieces(reference(LLAMA_CPP["default"]), text), text


@pytest.mark.parametrize("pre", ["deepseek-llm", "chameleon", "kimi-k2", "no-such-split"])
def test_a_pre_name_not_reproduced_is_refused_by_name(pre):
    """A name whose split the importer does not reproduce (llama.cpp's deepseek-llm, chameleon,
    kimi-k2 ... or a name llama.cpp does not know: it refuses those) was tokenized with GPT-2's
    split, silently wrong ids."""
    with pytest.raises(UsageError, match=f"'{pre}' .*tokenizer.ggml.pre"):
        tokenizer(pre)


@pytest.mark.parametrize(
    "pre,clean",
    [("llama-bpe", True), ("default", True), ("gpt-2", True), ("megrez", True)]
    + [("smollm", False), ("qwen2", False), ("tekken", False), ("command-r", False)],
)
def test_decoding_cleans_spaces_where_llama_cpp_does(tmp_path, pre, clean):
    """llama.cpp's clean_spaces is on for byte-level BPE names (llama3, default, gpt-2, megrez
    ...) and off for qwen2, smollm, tekken, command-r ...; Hugging Face's Llama 3 config says
    `clean_up_tokenization_spaces: true` too. The importer always wrote false: a Llama 3
    file decoded "a , b ." where llama.cpp gives "a, b."."""
    tok = tokenizer(pre)
    ids = tok.encode("a , b . it 's", add_special_tokens=False)
    assert tok.decode(ids) == ("a, b. it's" if clean else "a , b . it 's")
    tok.save_pretrained(str(tmp_path))
    saved = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert saved["clean_up_tokenization_spaces"] is clean


def test_add_eos_token_appends_eos_when_encoding_with_special_tokens(tmp_path):
    """llama.cpp appends EOS when `tokenizer.ggml.add_eos_token` is true (after BOS's
    `add_bos_token`); the importer ignored the key: no EOS, other ids than llama.cpp's."""
    from transformers import AutoTokenizer

    tok = tokenizer("smollm", **{"tokenizer.ggml.add_eos_token": True})
    plain = tok.encode("hello world", add_special_tokens=False)
    assert tok.encode("hello world") == [*plain, 2]
    both = {"tokenizer.ggml.add_eos_token": True, "tokenizer.ggml.add_bos_token": True}
    assert tokenizer("smollm", **both).encode("hello world") == [1, *plain, 2]
    tok.save_pretrained(str(tmp_path))
    assert AutoTokenizer.from_pretrained(str(tmp_path)).encode("hello world") == [*plain, 2]
    with pytest.raises(UsageError, match="add_eos_token is not bool"):
        tokenizer("smollm", **{"tokenizer.ggml.add_eos_token": "yes"})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    files = {}
    for arch in ("llama", "qwen2"):
        path = write_gguf(tiny_model(arch), tmp_path_factory.mktemp(arch) / "g.gguf", arch)
        files[arch] = mx.load(str(path), return_metadata=True)
    return files


U32 = mx.uint32


@pytest.mark.parametrize(
    "arch,change,said",
    [
        ("llama", {"llama.vocab_size": mx.array(400, dtype=U32)}, r"token_embd.*400 tokens"),
        ("llama", {"llama.attention.head_count_kv": None}, r"attn_k.*head_count_kv 4 \(missing"),
        ("llama", {"llama.attention.key_length": mx.array(32, dtype=U32)}, r"attn_q.*size 32"),
        ("qwen2", {"qwen2.attention.key_length": mx.array(32, dtype=U32)}, r"key_length 32"),
    ],
    ids=["vocab_size", "no_head_count_kv", "llama_key_length", "qwen2_key_length"],
)
def test_metadata_that_does_not_fit_the_tensors_is_refused_before_the_cache(
    tmp_path, monkeypatch, tiny, arch, change, said
):
    """A vocab_size other than the embedding's rows, a GQA file without head_count_kv (taken
    as head_count), a key_length the tensors do not have (qwen2: any but hidden / heads, which
    mlx-lm's qwen2 takes) were converted and cached; only loading failed ("Expected shape ...
    for parameter ..."), the broken folder kept in the cache."""
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    weights, meta = tiny[arch]
    meta = {k: v for k, v in {**meta, **change}.items() if v is not None}
    mx.save_gguf(str(tmp_path / "m.gguf"), weights, meta)
    with pytest.raises(UsageError, match=said):
        importer.cached_gguf_folder(tmp_path / "m.gguf")
    made = (tmp_path / "cache" / "gguf").glob("*")  # (the conversion lock holds no data)
    assert not [p for p in made if p.suffix != ".lock"]


def test_metadata_text_that_is_not_utf8_is_named(tmp_path, tiny):
    """A token or chat template that is not UTF-8 was refused with "cannot read GGUF file ...
    ('utf-8' codec can't decode ...); supported tensor types: F32, ...": blaming the tensors."""
    weights, meta = tiny["llama"]
    tokens = [*meta["tokenizer.ggml.tokens"][:-1], "QQXQQ"]
    extra = {"tokenizer.ggml.tokens": tokens, "tokenizer.chat_template": "TTXTT"}
    mx.save_gguf(str(tmp_path / "m.gguf"), weights, {**meta, **extra})
    data = (tmp_path / "m.gguf").read_bytes()
    for marker, key in ((b"QQXQQ", "tokenizer.ggml.tokens"), (b"TTXTT", "tokenizer.chat_template")):
        (tmp_path / "bad.gguf").write_bytes(data.replace(marker, b"\xff\xfe" + marker[2:]))
        with pytest.raises(UsageError, match=f"{key} holds text that is not valid UTF-8") as e:
            importer.gguf_to_mlx_lm(tmp_path / "bad.gguf", tmp_path / "out")
        assert "tensor types" not in str(e.value) and not (tmp_path / "out").exists()


@pytest.mark.parametrize("has_gguf", [True, False], ids=["gguf", "no_gguf"])
def test_an_unknown_tensor_type_is_not_blamed_on_a_missing_package(
    tmp_path, monkeypatch, tiny, has_gguf
):
    """A tensor type id no GGML type (99) said "holds type 99 tensors, which need the gguf
    package: pip install ..." without the package (installing it does not help), and "cannot
    read GGUF file (99 is not a valid GGMLQuantizationType); supported tensor types ..." with."""
    mx.save_gguf(str(tmp_path / "m.gguf"), *tiny["llama"])
    data = bytearray((tmp_path / "m.gguf").read_bytes())
    at = data.index(b"output_norm.weight") + len(b"output_norm.weight")
    (ndim,) = struct.unpack_from("<I", data, at)
    struct.pack_into("<I", data, at + 4 + 8 * ndim, 99)
    (tmp_path / "m.gguf").write_bytes(bytes(data))
    if not has_gguf:
        monkeypatch.setitem(sys.modules, "gguf", None)  # import gguf: ImportError
    with pytest.raises(UsageError, match="type 99, which is no GGML tensor type") as e:
        importer.gguf_to_mlx_lm(tmp_path / "m.gguf", tmp_path / "out")
    assert "gguf package:" not in str(e.value) and "supported tensor types" not in str(e.value)
