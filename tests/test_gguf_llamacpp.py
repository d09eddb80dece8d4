"""llama.cpp (llama-cpp-python) loads our exported GGUF: same logits as MLX, and it generates."""

import mlx_ifp
from mlx_ifp.convert import export_gguf

import mlx.core as mx
import numpy as np
import pytest
from test_gguf_export import random_mask, tiny

pytest.importorskip("gguf")
llama_cpp = pytest.importorskip("llama_cpp")
TOKENS = [1, 40, 7, 250, 99, 3, 17, 2, 5, 120, 64]


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_llama_cpp_same_logits_and_generates(tmp_path, arch):
    model, tok = tiny(arch)
    slim = mlx_ifp.prune(model, random_mask(model))
    path = export_gguf(slim, tok, tmp_path / "slim.gguf", "f16")
    llm = llama_cpp.Llama(str(path), n_ctx=64, n_threads=1, logits_all=True, verbose=False)
    llm.eval(TOKENS)
    got = np.array(llm.scores[: len(TOKENS)])
    expected = np.array(slim(mx.array([TOKENS]))[0])
    assert np.abs(got - expected).max() < 2e-2 * np.abs(expected).max()
    out = llm.create_completion("the quick", max_tokens=5, temperature=0.0)
    assert out["usage"]["completion_tokens"] >= 1
