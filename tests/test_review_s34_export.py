"""The thirty-fourth session's hunt in `export` (alias `convert`): mlx-lm folders and GGUF files.

Each test failed on the code it was written against, for the reason its docstring gives.
"""

import json

import mlx_ifp
from mlx_ifp.core import UsageError

import mlx.core as mx
import mlx.nn as nn
import pytest
from bad_world import no_model_load, one_error
from mlx_lm import load as mlx_lm_load
from test_review_s32_cli import cli
from tiny import save_folder, tiny_model

gguf = pytest.importorskip("gguf")
TOKENS = mx.array([[1, 40, 7, 250, 99, 3, 17, 2, 5, 120, 64]])


def bpe_folder(root):
    """A tiny llama folder under ``root`` with a byte-level BPE tokenizer (GGUF can take it)."""
    from mlx_ifp.models import gguf as importer

    from test_gguf import tokenizer_meta

    folder = save_folder(tiny_model("llama", intermediate_size=128, vocab_size=300), root / "m")
    for p in folder.glob("tokenizer*"):
        p.unlink()
    importer.build_tokenizer(tokenizer_meta(300), 512).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny llama folder with a byte-level BPE tokenizer (GGUF can take it), and its GGUF."""
    root = tmp_path_factory.mktemp("s34export")
    folder = bpe_folder(root)
    net, tok = mlx_ifp.load(str(folder))
    return {"root": root, "model": folder, "net": net, "tok": tok}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))


def test_a_model_quantized_after_loading_exports_a_folder_mlx_lm_loads(world, tmp_path):
    """`nn.quantize` on a loaded float model, then export: the config was the source's (no
    `quantization`), the weights packed, so `mlx_lm.load` failed ("parameters not in model").
    The quantization is now read off the modules themselves."""
    net, tok = mlx_ifp.load(str(world["model"]))
    nn.quantize(
        net,
        group_size=32,
        bits=4,
        class_predicate=lambda p, m: p != "lm_head" and hasattr(m, "to_quantized"),
    )
    slim, info = mlx_ifp.select(net, tok, "-", keep=0.5, mask_source=mlx_ifp.make_source("static"))
    out = mlx_ifp.export(slim, tok, tmp_path / "q", mask=info.mask)
    quant = json.loads((out / "config.json").read_text())["quantization"]
    assert (quant["group_size"], quant["bits"]) == (32, 4) and quant["lm_head"] is False
    back, _ = mlx_lm_load(str(out))
    assert mx.array_equal(back(TOKENS), slim(TOKENS)).item()


def test_a_model_dequantized_after_loading_records_no_quantization(world, tmp_path):
    """The reverse: a packed model unpacked after loading kept the source's `quantization` in
    its exported config, which describes weights the folder does not hold."""
    from mlx_lm.utils import dequantize_model

    folder = save_folder(
        tiny_model("llama", quantize=True, vocab_size=300), tmp_path / "packed", quantized=True
    )
    net, tok = mlx_ifp.load(str(folder), dequantize=False)
    dequantize_model(net)
    out = mlx_ifp.export(net, tok, tmp_path / "float")
    config = json.loads((out / "config.json").read_text())
    assert "quantization" not in config and "quantization_config" not in config
    back, _ = mlx_lm_load(str(out))
    assert mx.array_equal(back(TOKENS), net(TOKENS)).item()


def test_a_gguf_export_never_replaces_its_own_source_file(world, tmp_path, cache):
    """`export --model m.gguf -o m.gguf` overwrote the source file with its slim model, exit 0
    (an mlx folder output holding its source is refused)."""
    src = mlx_ifp.export_gguf(world["net"], world["tok"], tmp_path / "m.gguf")
    before = src.read_bytes()
    run = cli("export", "--model", src, "-o", src, "--keep", "0.5")
    assert "overwrite" in one_error(run)
    net, tok = mlx_ifp.load(str(src))
    with pytest.raises(UsageError, match="source"):
        mlx_ifp.export_gguf(net, tok, src)
    # nor a file of the source folder, written as GGUF
    weights = world["model"] / "model.safetensors"
    with pytest.raises(UsageError, match="source"):
        mlx_ifp.export_gguf(world["net"], world["tok"], weights)
    assert src.read_bytes() == before and weights.stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "flag"),
    [(["--gguf-type", "q8_0", "-o", "{root}/folder"], "--gguf-type"),
     (["--dtype", "float16", "-o", "{root}/x.gguf"], "--dtype")],
    ids=["gguf-type-with-mlx", "dtype-with-gguf"],
)  # fmt: skip
def test_a_flag_of_the_other_format_is_refused(world, tmp_path, monkeypatch, args, flag):
    """`--gguf-type q8_0 -o folder` wrote a float folder and `--dtype float16 -o x.gguf` an f16
    file whatever the dtype: the flag of the other format was silently ignored."""
    no_model_load(monkeypatch)
    args = [a.format(root=tmp_path) for a in args]
    assert flag in one_error(cli("export", "--model", world["model"], "--keep", "0.5", *args))


def test_a_sentencepiece_style_bpe_tokenizer_is_refused_for_gguf(world, tmp_path):
    """A BPE tokenizer with byte fallback and `▁` for spaces (Llama 2, Mistral, TinyLlama) was
    written as a gpt2 byte-level one: the file loaded, but tokenized text without its spaces."""
    from test_gguf import CORPUS
    from tokenizers import Tokenizer, decoders, models, normalizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>"))
    bpe.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    bpe.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(" ", 1, 0)])  # fmt: skip
    bpe.train_from_iterator(CORPUS, trainers.BpeTrainer(special_tokens=["<unk>", "<s>", "</s>"]))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>")
    with pytest.raises(UsageError, match="byte-level"):
        mlx_ifp.export_gguf(world["net"], tok, tmp_path / "spm.gguf")
    assert not list(tmp_path.iterdir())


def test_named_chat_templates_are_written_to_gguf(world, tmp_path, cache):
    """A tokenizer with several named chat templates (a dict: "default", "tool_use", as
    transformers loads a list in tokenizer_config.json) crashed GGUF export with an
    AttributeError traceback inside the gguf writer."""
    tok = world["tok"]
    default = tok.chat_template
    tok.chat_template = {"default": default, "tool_use": default + "{# tools #}"}
    try:
        path = mlx_ifp.export_gguf(world["net"], tok, tmp_path / "t.gguf")
    finally:
        tok.chat_template = default
    fields = gguf.GGUFReader(str(path)).fields
    assert fields["tokenizer.chat_template"].contents() == default
    assert fields["tokenizer.chat_template.tool_use"].contents().endswith("{# tools #}")
    assert mlx_ifp.load(str(path))[1].chat_template == default


def test_metadata_overriding_a_standard_key_keeps_its_type(world, tmp_path):
    """`metadata={"llama.context_length": 1024}` (documented: "adds or overrides keys") wrote
    the key as UINT64 where llama.cpp reads a UINT32, so llama.cpp refused the file; an int
    past 64 bits was a struct.error traceback."""
    path = mlx_ifp.export_gguf(
        world["net"], world["tok"], tmp_path / "m.gguf", metadata={"llama.context_length": 1024}
    )
    field = gguf.GGUFReader(str(path)).fields["llama.context_length"]
    assert field.contents() == 1024 and field.types == [gguf.GGUFValueType.UINT32]
    with pytest.raises(UsageError, match="mlx_ifp.big"):
        mlx_ifp.export_gguf(
            world["net"], world["tok"], tmp_path / "b.gguf", metadata={"mlx_ifp.big": 2**70}
        )


def test_export_returns_the_path_it_wrote(world, tmp_path, monkeypatch):
    """`export(..., "~/slim")` returned `Path("~/slim")`, a path that does not exist (mlx_lm.load
    of it went looking for a Hugging Face repo named "~/slim")."""
    monkeypatch.setenv("HOME", str(tmp_path))
    out = mlx_ifp.export(world["net"], world["tok"], "~/slim")
    assert out == tmp_path / "slim" and (out / "config.json").is_file()
    path = mlx_ifp.export_gguf(world["net"], world["tok"], "~/slim.gguf")
    assert path == tmp_path / "slim.gguf" and path.is_file()
    back, _ = mlx_lm_load(str(out))
    assert mx.array_equal(back(TOKENS), world["net"](TOKENS)).item()


@pytest.mark.parametrize("bias", ["attention_bias", "mlp_bias"])
def test_a_llama_with_biases_reads_back_from_its_gguf(world, tmp_path, cache, bias):
    """A llama with `attention_bias` (or `mlp_bias`) exports a GGUF llama.cpp reads (the bias
    tensors are optional there); `mlx_ifp.load` of it fails: "parameters not in model"."""
    net = tiny_model("llama", intermediate_size=128, vocab_size=300, **{bias: True})
    folder = save_folder(net, tmp_path / "m")
    for p in folder.glob("tokenizer*"):
        p.unlink()
    world["tok"].save_pretrained(str(folder))
    net, tok = mlx_ifp.load(str(folder))
    back, _ = mlx_ifp.load(str(mlx_ifp.export_gguf(net, tok, tmp_path / "b.gguf")))
    assert mx.allclose(back(TOKENS), net(TOKENS), atol=5e-3).item()
