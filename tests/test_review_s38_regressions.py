"""Review (s38) of the session's own fixes: valid calls the new ``pruner=`` check refused. Each
test failed on the code it was written against, for the reason in its docstring; all run on
tiny random models.

- ``generate``/``select`` with ``pruner=`` and the very ``mask_source`` name the pruner was
  made from were refused when the source's class names itself otherwise (a plug-in registered
  under another name, or one with no ``name`` of its own): the check compared the name given
  with ``pruner.source.name``, not with the name the pruner was made from.
- ``keep=`` said again beside a pruner made with ``align=`` was refused: the pruner's own budget
  was resolved without its alignment (29 channels, not the pruner's 32).
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp import Pruner, UsageError
from mlx_ifp.sources import MaskSource, register_source

import mlx.core as mx
import pytest
from tiny import endless_tokenizer, tiny_model

P = "t5 t6 t7"


class _Unnamed(MaskSource):  # no name of its own: its key is its class's
    def scores(self, model, tokens):
        return mx.ones((3, 96))


class _Ones(MaskSource):
    name = "ones"

    def scores(self, model, tokens):
        return mx.ones((3, 96))


register_source("s38r-unnamed", lambda **_: _Unnamed())
register_source("s38r-alias", lambda **_: _Ones())  # registered under another name


@pytest.fixture(scope="module")
def tiny():
    return tiny_model("llama"), endless_tokenizer()


def _calls(model, tok, pruner, **kw):
    return [
        lambda: mlx_ifp.select(model, tok, P, pruner=pruner, **kw)[1].mask.k,
        lambda: mlx_ifp.generate(model, tok, P, max_tokens=2, pruner=pruner, **kw),
    ]


@pytest.mark.parametrize("name", ["s38r-unnamed", "s38r-alias"])
def test_a_pruner_runs_beside_the_source_name_it_was_made_from(tiny, name):
    """Refused: "the pruner's mask source is 'ones', not 's38r-alias'" (the same call without
    ``pruner=`` runs that very source)."""
    model, tok = tiny
    pruner = Pruner(model, tok, source=name, keep=0.5)
    for call in _calls(model, tok, pruner, mask_source=name):
        call()
    with pytest.raises(UsageError, match="pruner"):  # another source is still refused
        mlx_ifp.select(model, tok, P, pruner=pruner, mask_source="griffin")


def test_a_pruners_own_keep_said_again_runs_beside_its_alignment(tiny):
    """Refused: "the pruner keeps 32 FFN channels per layer, not 29 (keep=0.3, align=1)"."""
    model, tok = tiny
    pruner = Pruner(model, tok, source="griffin", keep=0.3, align=32)
    assert pruner.k == 32
    for kw in (dict(keep=0.3), dict(keep=0.3, align=32), dict(keep=32)):
        for call in _calls(model, tok, pruner, **kw):
            call()
    for kw in (dict(keep=0.5), dict(keep=0.3, align=64)):  # another budget: still refused
        with pytest.raises(UsageError, match="pruner keeps 32"):
            mlx_ifp.select(model, tok, P, pruner=pruner, **kw)


@pytest.mark.real
def test_a_predictor_folder_given_as_none_is_the_shipped_one(smollm2_dir):
    """``Pruner(m, t, "predictor", adapter_path=None)`` (a folder option left unset, as code
    passing its own optional argument through does) on the embedded model is the shipped
    predictor, as with no folder at all; it said the source needs a folder."""
    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    for key in ("path", "adapter", "adapter_path"):
        pruner = mlx_ifp.Pruner(model, tok, "predictor", keep=0.5, **{key: None})
        assert pruner.source.key().startswith("predictor"), key
