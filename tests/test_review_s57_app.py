"""Fifty-seventh session, review of the Python API as an app or an mlx-lm script uses it (helper
``app``). Each case failed before its fix (the guards said so pass either way):

- ``Pruner.prefill(tokens, max_kv_size=...)`` (GRIFFIN's recipe by hand, in the README) with
  ``0``, ``-4``, ``4``, ``2.5``, ``"x"`` or ``True``: on a model whose cache rotates (qwen3) MLX's
  ``ValueError: [broadcast_shapes] Shapes (34,33) and (1,4,34,34) cannot be broadcast`` from
  inside the attention, ``Slice indices must be integers`` or a ``TypeError`` ('<' between int
  and str); ``True`` made a one-token rotating cache and ran; on a llama every value ran
  unchecked. ``generate(..., max_kv_size=0)`` is one line: now ``prefill`` says the same;
- ``Pruner.prefill(tokens, progress=5)``: ``TypeError: 'int' object is not callable`` after the
  first chunk of the dense pass, not naming the argument;
- ``mlx_ifp.export_gguf(slim, tok, 5)`` (or ``None``): pathlib's ``TypeError`` ("expected str,
  bytes or os.PathLike object, not int"), where ``export`` says "the output must be a folder
  path"; ``export_gguf(None, tok, path)``: ``TypeError: vars() argument must have __dict__
  attribute``; ``export_gguf(slim, None, path)``: ``AttributeError: 'NoneType' object has no
  attribute 'backend_tokenizer'``.
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.bench.models import synthetic_tokenizer

import mlx_lm
import pytest
from tiny import bpe_folder, tiny_model

TOKENS = list(range(5, 40))


@pytest.mark.parametrize("arch", ["llama", "qwen3"])
@pytest.mark.parametrize("bad", [0, -4, 4, 2.5, "x", True])
def test_prefill_refuses_a_bad_max_kv_size_in_one_line(arch, bad):
    pruner = mlx_ifp.Pruner(tiny_model(arch), synthetic_tokenizer(128), source="griffin")
    with pytest.raises(mlx_ifp.UsageError, match=r"^max_kv_size must be a whole number .*>= 5"):
        pruner.prefill(TOKENS, max_kv_size=bad)


def test_prefill_with_a_good_max_kv_size_runs_as_before():
    """Guard: a window of 8 (a NumPy int too) still rotates and decodes as mlx-lm does."""
    import numpy as np

    model, tok = tiny_model("qwen3"), synthetic_tokenizer(128)
    pruner = mlx_ifp.Pruner(model, tok, source="griffin")
    texts = []
    for size in (8, np.int64(8)):
        slim, _, cache = pruner.prefill(TOKENS, max_kv_size=size)
        assert cache[0].max_size == 8
        texts.append([r.text for r in mlx_lm.stream_generate(slim, tok, TOKENS[-1:], 4,
                                                             prompt_cache=cache)])  # fmt: skip
    assert texts[0] == texts[1] and len(texts[0]) == 4


def test_prefill_refuses_a_progress_that_is_not_a_function_before_any_work():
    pruner = mlx_ifp.Pruner(tiny_model("llama"), synthetic_tokenizer(128), source="griffin")
    with pytest.raises(mlx_ifp.UsageError, match=r"^progress must be a function"):
        pruner.prefill(TOKENS, step=4, progress=5)
    seen = []
    pruner.prefill(TOKENS, step=16, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (len(TOKENS), len(TOKENS))  # a function still runs


@pytest.fixture(scope="module")
def bpe(tmp_path_factory):
    """A slim model of a tiny llama with a byte-level BPE tokenizer (GGUF export takes it)."""
    model, tok = mlx_ifp.load(str(bpe_folder(tmp_path_factory.mktemp("app") / "src")))
    return mlx_ifp.select(model, tok, "hello there", keep=0.5)[0], tok


@pytest.mark.parametrize("bad", [5, None])
def test_export_gguf_to_no_path_is_one_line(bpe, bad):
    slim, tok = bpe
    with pytest.raises(mlx_ifp.UsageError, match=r"^the output must be a \.gguf file path"):
        mlx_ifp.export_gguf(slim, tok, bad)


def test_export_gguf_without_a_model_or_tokenizer_is_one_line(bpe, tmp_path):
    slim, tok = bpe
    with pytest.raises(mlx_ifp.UsageError, match="not an mlx-lm LLM"):
        mlx_ifp.export_gguf(None, tok, tmp_path / "a.gguf")
    with pytest.raises(mlx_ifp.UsageError, match="tokenizers only.*got NoneType"):
        mlx_ifp.export_gguf(slim, None, tmp_path / "b.gguf")
    assert not list(tmp_path.iterdir())  # nothing written
    assert mlx_ifp.export_gguf(slim, tok, tmp_path / "c.gguf").stat().st_size  # guard: it runs
