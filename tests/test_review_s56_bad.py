"""Review of bad input (fifty-sixth session, helper ``bad``): the API a macOS app calls and
``eval --repick``. Each case failed before its fix:

- ``mlx_ifp.Pruner(None, tok)`` (or a model's name, a ``(model, tokenizer)`` tuple, a number):
  a ``TypeError`` from deep in ``core/slicing.py`` ("'NoneType' object is not iterable",
  "cannot create weak reference to 'str' object"), where ``generate`` / ``select`` say
  "model must be an mlx-lm model" in one line;
- ``Pruner.for_mask(model, tok, "m.safetensors")`` (a path, None, ``select``'s tuple): an
  ``AttributeError`` ("'str' object has no attribute 'check'");
- ``eval --repick N`` where no row can re-pick (``--mask-sources static``, ``--modes task``):
  refused only after the model loaded and the corpus was built (42 s on a fresh cache with the
  embedded model), where the flags alone decide it.
"""

import mlx_ifp
from mlx_ifp.cli import app

import pytest
from tiny import tiny_model
from typer.testing import CliRunner


@pytest.mark.parametrize("bad", [None, "smollm2-135m-instruct", 5, "TUPLE"])
def test_pruner_of_no_model_is_one_line(bad):
    model = tiny_model("llama")
    bad = (model, None) if bad == "TUPLE" else bad
    with pytest.raises(mlx_ifp.UsageError, match="not an mlx-lm LLM"):
        mlx_ifp.Pruner(bad, None, "random", keep=0.5)


@pytest.mark.parametrize("bad", [None, "m.safetensors", "TUPLE"])
def test_pruner_for_mask_of_no_mask_is_one_line(bad):
    model = tiny_model("llama")
    bad = (model, None) if bad == "TUPLE" else bad
    with pytest.raises(mlx_ifp.UsageError, match="an mlx_ifp.Mask, got"):
        mlx_ifp.Pruner.for_mask(model, None, bad)


@pytest.mark.parametrize(
    "args",
    [
        ["--mask-sources", "static,full", "--keep", "0.5"],
        ["--mask-sources", "griffin", "--modes", "task", "--keep", "0.5"],
        ["--mask-sources", "griffin", "--keep", "1.0"],
    ],
)
def test_eval_repick_with_no_row_to_repick_refused_before_the_load(cli_world, monkeypatch, args):
    model, corpus = cli_world

    def no_load(*_, **__):
        raise AssertionError("the model was loaded before the refusal")

    monkeypatch.setattr(mlx_ifp, "load", no_load)
    run = CliRunner().invoke(
        app,
        ["eval", "--model", str(model), "--data", str(corpus), "--domains", "math",
         "--limit", "2", "--gen-limit", "0", "--repick", "3", *args],
    )  # fmt: skip
    assert run.exit_code == 2, run.output
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "no row here has one to re-pick" in lines[0], run.stderr
