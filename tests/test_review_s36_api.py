"""Review (s36): the public Python API as a macOS app would use it.

- ``mask_source="predictor"`` (``Pruner(source="predictor")``) on the embedded model was refused
  with "needs a trained predictor: --adapter DIR", CLI flags a Python caller has no way to give,
  though the default runs that very predictor and ``--mask-source predictor`` now does too.
- Threads calling ``generate`` / ``select`` without a ``pruner=`` share one registry of pruners;
  another thread evicting a key between its lookup and its move to the end raised ``KeyError``
  (and ``forget`` iterated it while others changed it: "OrderedDict mutated during iteration").
- ``Pruner.slim_for`` refused NumPy and MLX arrays of token ids ("a str or a list of str"), which
  ``Pruner.prefill``, ``select`` and ``generate`` take.
- A model or tokenizer of the wrong kind (a model name for the model, a str or None for the
  tokenizer) got through to an ``AttributeError`` / ``TypeError`` / ``LookupError`` traceback in
  ``generate`` and ``export`` (the latter after writing the weights).
- ``mask == other_mask`` raised MLX's "Only length-1 arrays can be converted to Python scalars"
  (the dataclass's ``==`` compared the index arrays), and so did ``mask in masks``.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import threading

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.inference import generation

import mlx.core as mx
import numpy as np
import pytest
from tiny import endless_tokenizer, save_folder, tiny_model

PROMPT = "t5 t17 t3 t99 t42"


@pytest.mark.real
def test_naming_the_shipped_predictor_in_the_api_runs_it(smollm2_dir):
    """``mask_source="predictor"`` on the embedded model was refused (it named CLI flags); it is
    the predictor the default runs, and gives the default's mask."""
    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    prompt = "What is the capital of France?"
    _, named = mlx_ifp.select(model, tok, prompt, mask_source="predictor")
    _, default = mlx_ifp.select(model, tok, prompt)
    assert named.mask.source.startswith("predictor(") and named.mask == default.mask
    assert "with its lora LLM weights applied" in named.note
    pruner = mlx_ifp.Pruner(model, tok, source="predictor", keep=0.33)
    assert "k0.33" in str(pruner.source.path) and pruner.model is not model
    text = mlx_ifp.generate(model, tok, prompt, max_tokens=6, mask_source="predictor")
    assert text.strip()


def test_the_shared_pruners_survive_another_thread_evicting_them(monkeypatch):
    """Between ``get_pruner``'s lookup of a pruner and its ``move_to_end``, another thread's calls
    evicted the key: ``KeyError`` out of ``generate``. The other thread is started in between (in
    the lookup's check of the pruner) and given 0.3 s, unless the registry makes it wait."""

    class Fake:
        spy = None

        def __init__(self, model, tokenizer, source, budget):
            self.model, self.tokenizer, self.source = model, tokenizer, source

        def changed(self):  # (s43) the model's weights: never changed here
            return False

        @property
        def source_model(self):
            if Fake.spy is not None:
                spy, Fake.spy = Fake.spy, None
                spy.start()
                spy.join(0.3)
            return self.model

    monkeypatch.setattr(generation, "_PRUNERS", type(generation._PRUNERS)())
    monkeypatch.setattr(generation, "Pruner", Fake)
    model, tok = tiny_model("llama"), endless_tokenizer()
    first = generation.get_pruner(model, tok, None, 0.5)
    others = [k + 1 for k in range(generation.MAX_PRUNERS + 1)]  # channel counts: other keys
    Fake.spy = threading.Thread(
        target=lambda: [generation.get_pruner(model, tok, None, k) for k in others]
    )
    spy = Fake.spy
    assert generation.get_pruner(model, tok, None, 0.5) is first
    spy.join()
    generation.forget(model)
    assert not generation._PRUNERS


def test_slim_for_takes_arrays_of_token_ids():
    """``Pruner.slim_for(np.array(ids))`` was refused as "not a str or a list of str", though
    ``prefill`` and ``select`` take arrays (mlx-lm's prompts are often ``mx.array``s)."""
    model, tok = tiny_model("llama"), endless_tokenizer()
    pruner = mlx_ifp.Pruner(model, tok, source="griffin")
    ids = [5, 17, 3, 99]
    _, first = pruner.slim_for(ids)
    for arr in (np.array(ids), mx.array(ids)):
        _, info = pruner.slim_for(arr)
        assert info.cache_hit and info.mask is first.mask
    with pytest.raises(mlx_ifp.UsageError, match="vocabulary"):
        pruner.slim_for(np.array([5, 500]))


@pytest.mark.parametrize(
    "args",
    [
        ("smollm2-135m-instruct", "tok"),  # the model's name for the model
        ("model", "smollm2-135m-instruct"),  # a str has .encode: it passed the check
    ],
)
def test_generate_refuses_a_model_or_tokenizer_of_the_wrong_kind(args):
    """``generate("name", tok, ...)`` raised ``AttributeError`` ('str' ... 'named_modules'); a str
    as the tokenizer ``TypeError`` (str.encode has no ``add_special_tokens``)."""
    model, tok = tiny_model("llama"), endless_tokenizer()
    real = {"model": model, "tok": tok}
    m, t = (real.get(a, a) if isinstance(a, str) else a for a in args)
    with pytest.raises(mlx_ifp.UsageError, match="mlx_ifp.load"):
        mlx_ifp.generate(m, t, PROMPT, max_tokens=2)
    with pytest.raises(mlx_ifp.UsageError):
        mlx_ifp.select(m, t, PROMPT, mask_source="griffin")


@pytest.mark.parametrize("tok", [None, "tokenizer"])
def test_export_refuses_a_tokenizer_of_the_wrong_kind_before_writing(tmp_path, tok):
    """``export(slim, None, out)`` wrote the weights, then raised ``AttributeError``
    ('NoneType' object has no attribute 'save_pretrained')."""
    model, _ = mlx_ifp.load(str(save_folder(tiny_model("llama"), tmp_path / "m")))
    with pytest.raises(mlx_ifp.UsageError, match="tokenizer"):
        mlx_ifp.export(model, tok, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_masks_compare_with_eq(tmp_path):
    """``mask == other`` raised MLX's "Only length-1 arrays can be converted to Python scalars";
    a mask read back from its file is equal to the one saved, another prompt's is not."""
    model, tok = tiny_model("llama"), endless_tokenizer()
    one = mlx_ifp.select(model, tok, PROMPT, mask_source="griffin")[1].mask
    two = mlx_ifp.select(model, tok, "t9 t6 t7 t100", mask_source="griffin")[1].mask
    assert one.digest() != two.digest()
    assert one != two and not one == two
    assert mlx_ifp.Mask.load(one.save(tmp_path / "m"), model) == one
    assert one in [two, one] and two not in [one]
    wide = mlx_ifp.Mask(mx.concatenate([one.indices, one.indices[:, :1] * 0], 1), one.d_ffn)
    assert one != wide and one != "mask"
