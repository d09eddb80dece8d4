"""The forty-ninth session's review of GGUF import and export and of `data build`, as a
llama.cpp / Ollama user who brings .gguf files meets them.

Each test failed on the code it was written against, for the reason its docstring gives.
"""

import mlx_ifp
from mlx_ifp.common import UsageError
from mlx_ifp.models import gguf as importer

import mlx.core as mx
import pytest
from test_gguf import tiny_model, write_gguf


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(weights, metadata) of a tiny llama GGUF: 2 layers, FFN 128, 4 heads, 2 kv heads."""
    path = write_gguf(tiny_model(), tmp_path_factory.mktemp("g") / "g.gguf")
    return mx.load(str(path), return_metadata=True)


@pytest.mark.parametrize(
    "key,value,said",
    [
        ("tokenizer.ggml.model", "llama", "tokenizer model 'llama' is not supported"),
        ("tokenizer.ggml.pre", "deepseek-llm", "pre-tokenizer 'deepseek-llm'"),
    ],
)
def test_a_tokenizer_the_importer_refuses_is_refused_before_any_tensor_is_read(
    tmp_path, monkeypatch, tiny, key, value, said
):
    """A GGUF whose tokenizer is SentencePiece (`tokenizer.ggml.model = llama`: Llama 2,
    Mistral, TinyLlama files, the most common llama.cpp files) or whose `tokenizer.ggml.pre` the
    importer does not reproduce was refused only after every tensor had been read and decoded
    (minutes and gigabytes for a 7B K-quant file through the gguf package; 14 s and 1 GB for
    SmolLM2 as Q5_1), though the header alone says it: as the architecture, a split file and a
    mixture of experts are refused from the header."""
    weights, meta = tiny
    mx.save_gguf(str(tmp_path / "t.gguf"), weights, {**meta, key: value})

    def read(*args, **kwargs):
        raise AssertionError("the tensors were read before the tokenizer was refused")

    monkeypatch.setattr(importer, "read_gguf", read)
    with pytest.raises(UsageError, match=said) as e:
        importer.gguf_to_mlx_lm(tmp_path / "t.gguf", tmp_path / "out")
    assert key == "tokenizer.ggml.pre" or str(tmp_path / "t.gguf") in str(e.value)
    assert not (tmp_path / "out").exists()


def test_a_gguf_file_not_named_gguf_is_read_as_one(tmp_path, monkeypatch, tiny):
    """Ollama keeps each model as a GGUF file named by its digest, without a suffix
    (`~/.ollama/models/blobs/sha256-6a1a...`), and llama.cpp's `-m` takes any name: `--model`
    such a file (and `mlx_ifp.load`) was refused, "is a file, not an mlx-lm model folder (...
    a GGUF file must be named *.gguf)", though its first four bytes say GGUF. A file of another
    kind is still refused in that one line."""
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    weights, meta = tiny
    blob = tmp_path / "blobs" / "sha256-6a1a2eb6d15622bf3c96857206351ba97e1af16c30d7a74e"
    blob.parent.mkdir()
    mx.save_gguf(str(tmp_path / "t.gguf"), weights, meta)
    (tmp_path / "t.gguf").rename(blob)
    assert mlx_ifp.check_model(str(blob)) == "gguf"
    model, tok = mlx_ifp.load(str(blob))
    ids = mx.array([tok.encode("the quick brown fox")])
    assert model(ids).shape[-1] == 300
    (tmp_path / "notes").write_text("my notes, not a model\n")
    with pytest.raises(UsageError, match="is a file, not an mlx-lm model folder"):
        mlx_ifp.check_model(str(tmp_path / "notes"))
