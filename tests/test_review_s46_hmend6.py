"""Review (s46, the session's change): ``generate --prompt-cache-file`` beside mlx-lm's.

- A prompt cache whose metadata names a blank model (``{"model": ""}``, ``" "``: a cache saved
  by hand with ``save_prompt_cache``) was refused as made for another model, in a line that
  named none and asked for ``--model`` with an empty value (`was made for  , not
  smollm2-135m-instruct: give --model   (or leave --model out)`), even with ``--model`` left
  out; a blank name names no model, as a cache with no ``model`` key (which runs) names none.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.cli import app

import mlx.core as mx
import pytest
from mlx_lm.models.cache import make_prompt_cache, save_prompt_cache
from tiny import endless_tokenizer, tiny_model
from typer.testing import CliRunner


@pytest.mark.parametrize("name", ["", " "])
@pytest.mark.parametrize("given", [[], ["--model", "tiny"]])
def test_a_blank_model_in_the_cache_names_no_model(monkeypatch, tmp_path, name, given):
    """``{"model": ""}``: refused as another model's, naming none; now run as one with no
    model recorded (the default model, or the one given)."""
    tok = endless_tokenizer()
    tok._tokenizer.chat_template = None
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (tiny_model("llama"), tok))
    cache = make_prompt_cache(model := tiny_model("llama"))
    model(mx.array([[5, 17, 3]]), cache=cache)
    path = tmp_path / "c.safetensors"
    save_prompt_cache(str(path), cache, {"model": name, "tokenizer_config": "{}"})
    args = ["generate", *given, "--prompt-cache-file", str(path), "-p", "t9", "-m", "2"]
    run = CliRunner().invoke(app, [*args, "--mask-source", "griffin"])
    assert run.exit_code == 0 and "made for" not in run.output, run.output
    assert "Prompt: 1 tokens" in run.output, run.output
