"""Review s53 (hfig53): tools/gguf_llamacpp_check.py's context size and --tokens.

llama.cpp's context was fixed at 512 tokens, so a prompt plus reply past it failed inside
llama_decode with a traceback; a negative --tokens let MLX's greedy reply run unbounded (mlx-lm's
``max_tokens=-1``). The llama_cpp module is a stand-in here (the real bindings are not installed
in CI): it keeps llama.cpp's rule that a context holds at most ``n_ctx`` tokens.
"""

import sys
import types
from pathlib import Path

import mlx_ifp
from mlx_ifp.convert import export_gguf

import mlx.core as mx
import numpy as np
import pytest
from test_gguf_export import random_mask, tiny

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
pytest.importorskip("gguf")
import gguf_llamacpp_check as tool  # noqa: E402


def fake_llama_cpp():
    """Llama over MLX's logits of the same file, refusing more than n_ctx tokens as llama.cpp;
    a KV cache, as llama.cpp's, so a token evaluated after others costs one position (the
    600-word prompt's reply re-read all 3,000 tokens at each token: ~8 s)."""
    from mlx_lm.models.cache import make_prompt_cache

    class Llama:
        def __init__(self, path, n_ctx=512, **_):
            self.model, _tok = mlx_ifp.load(path)
            self.n_ctx = n_ctx
            self.reset()

        def reset(self):
            self.n_tokens, self.ids = 0, []
            self.cache, self.scores = make_prompt_cache(self.model), None

        def token_eos(self):
            return -1

        def eval(self, tokens):
            if self.n_tokens + len(tokens) > self.n_ctx:
                raise RuntimeError("llama_decode returned 1")
            logits = self.model(mx.array([list(tokens)]), cache=self.cache)[0].astype(mx.float32)
            if self.scores is None:
                self.scores = np.zeros((self.n_ctx, logits.shape[-1]), np.float32)
            self.scores[self.n_tokens : self.n_tokens + len(tokens)] = np.array(logits)
            self.ids += list(tokens)
            self.n_tokens = len(self.ids)

        def generate(self, tokens, **_):
            self.reset()
            self.eval(tokens)
            while True:
                t = int(self.scores[self.n_tokens - 1].argmax())
                yield t
                self.eval([t])

    return types.SimpleNamespace(Llama=Llama, __version__="fake")


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    model, tok = tiny("llama")
    slim = mlx_ifp.prune(model, random_mask(model))
    return export_gguf(slim, tok, tmp_path_factory.mktemp("g") / "slim.gguf", "f16")


@pytest.mark.parametrize("words", [10, 600])
def test_check_sizes_the_context_to_the_prompt_and_reply(tiny_gguf, words):
    row = tool.check(fake_llama_cpp(), tiny_gguf, "word " * words, 4)
    assert row["scored_tokens"] > words
    assert row["top1_agreement"] == 1.0 and row["kl_mlx_to_llamacpp"] < 1e-9


@pytest.mark.parametrize("tokens", ["-1", "-40"])
def test_negative_tokens_is_one_line_and_exit_2(monkeypatch, capsys, tokens):
    monkeypatch.setattr(sys, "argv", ["gguf_llamacpp_check.py", "--tokens", tokens])
    monkeypatch.setitem(sys.modules, "llama_cpp", fake_llama_cpp())
    monkeypatch.setattr(
        tool.subprocess, "run", lambda *a, **k: pytest.fail(f"exported, --tokens {tokens}")
    )
    assert tool.main() == 2
    err = capsys.readouterr().err
    assert "--tokens" in err and err.count("\n") == 1
