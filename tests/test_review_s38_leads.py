"""Review (s38): leads on mask files, a ``pruner=`` beside other arguments, ``Pruner``'s source
options, and the prefill step. Each test failed on the code it was written against, for the
reason in its docstring; all run on tiny random models.

- A mask file whose sidecar names no source model (written by hand, or saved from a ``Mask``
  made without one) was applied to any model of its shape without a word.
- ``generate``/``select`` with ``pruner=`` ignored ``keep``, ``align`` and ``mask_source``.
- ``Pruner(...)`` ignored keywords no mask source reads (``pruner=``, ``mask_source=``, a
  misspelt ``kep=``, ``path=`` for GRIFFIN, options beside a source instance).
- ``prefill_step_size`` 0, negative or not a number, and ``Pruner.prefill(step=0)``, were
  tracebacks (``range()`` arg 3, a KV cache that "could not trim", a reshape).
"""

import json
import warnings

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp import Mask, Pruner, UsageError
from mlx_ifp.sources import MaskSource, register_source

import mlx.core as mx
import pytest
from test_review_s32_cli import cli
from tiny import endless_tokenizer, finetune_folder, save_folder, tiny_model

P = "t5 t6 t7"


@pytest.fixture(scope="module")
def tiny():
    return tiny_model("llama"), tiny_model("llama", seed=1), endless_tokenizer()


def _strip_model(mask: Mask, path, empty: bool = False):
    """``mask`` saved at ``path`` with its sidecar's source model removed (or emptied)."""
    st = mask.save(path)
    sidecar = st.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    if empty:
        meta["model"] = {}
    else:
        del meta["model"]
    sidecar.write_text(json.dumps(meta))
    return st


# --- 1. a mask file that names no source model -----------------------------------------------


@pytest.mark.parametrize("empty", [False, True])
def test_a_mask_file_naming_no_model_is_not_applied_silently(tiny, tmp_path, empty):
    """The check against the model is skipped for such a file (``check_fingerprint`` of {}):
    it was loaded for, and pruned, another model of the same shape without a word."""
    a, b, tok = tiny
    mask = mlx_ifp.select(a, tok, P, mask_source="griffin")[1].mask
    with pytest.raises(UsageError, match="another model"):  # the file that names its model
        Mask.load(mask.save(tmp_path / "named"), b)
    st = _strip_model(mask, tmp_path / "bare", empty)
    with pytest.warns(UserWarning, match="names no source model"):
        back = Mask.load(st, b)
    assert mx.array_equal(back.indices, mask.indices).item()  # still loaded, as it was
    with pytest.warns(UserWarning, match="names no source model"):
        mlx_ifp.prune(b, Mask.load(st))  # loaded without the model, checked when used
    made = Mask(mask.indices, mask.d_ffn)  # in Python without a model: the maker's choice
    with warnings.catch_warnings():  # a file naming its model, and a mask made in Python: quiet
        warnings.simplefilter("error")
        mlx_ifp.prune(a, Mask.load(mask.save(tmp_path / "named"), a))
        mlx_ifp.prune(a, made)


def test_generate_with_a_mask_file_naming_no_model_warns_in_one_line(tmp_path):
    """The CLI ran it as any other mask."""
    model = tiny_model("llama")
    folder = save_folder(model, tmp_path / "model")
    net, tok = mlx_ifp.load(str(folder))
    mask = mlx_ifp.select(net, tok, P, mask_source="griffin")[1].mask
    st = _strip_model(mask, tmp_path / "bare")
    run = cli("generate", "--model", folder, "--mask", st, "-p", P, "-m", "2")
    assert run.returncode == 0, run.stderr
    lines = [x for x in run.stderr.splitlines() if "names no source model" in x]
    assert len(lines) == 1 and lines[0].startswith("Warning: "), run.stderr


# --- 2. a pruner beside keep, align or mask_source ------------------------------------------


def _calls(model, tok, pruner, **kw):
    return [
        lambda: mlx_ifp.select(model, tok, P, pruner=pruner, **kw),
        lambda: mlx_ifp.generate(model, tok, P, max_tokens=2, pruner=pruner, **kw),
    ]


def test_what_a_pruner_fixes_is_not_silently_overridden(tiny):
    """Each was ignored: the pruner's own budget (48 of 96) and source (GRIFFIN) were used."""
    a, _, tok = tiny
    pruner = Pruner(a, tok, source="griffin", keep=0.5)
    for kw in (dict(keep=0.25), dict(keep=24), dict(align=32), dict(mask_source="static")):
        for call in _calls(a, tok, pruner, **kw):
            with pytest.raises(UsageError, match="pruner") as e:
                call()
            assert "\n" not in str(e.value), kw
    # its own budget and source, said again, run (a count, a text, a fraction)
    for kw in (dict(keep=0.5), dict(keep=48), dict(keep="0.5"), dict(mask_source="griffin")):
        for call in _calls(a, tok, pruner, **kw):
            call()
    src = mlx_ifp.make_source("static")
    mine = Pruner(a, tok, source=src, keep=0.5)
    assert mlx_ifp.select(a, tok, P, pruner=mine, mask_source=src)[1].mask.source == "static"
    # a given mask fixes the channels whatever the pruner's budget (the server's task masks)
    mask = mlx_ifp.select(a, tok, P, mask_source="griffin", keep=0.25)[1].mask
    assert mlx_ifp.select(a, tok, mask=mask, pruner=pruner, keep=0.25)[1].mask.k == 24


# --- 3. Pruner's options: only those its source reads ----------------------------------------


class _Plug(MaskSource):
    name = "s38-plug"

    def __init__(self, level=0):
        self.level = level

    def scores(self, model, tokens):
        return mx.ones((3, 96))


register_source("s38-plug", lambda level=0, **_: _Plug(level))


def test_pruner_refuses_keywords_its_source_does_not_read(tiny, tmp_path):
    """Each was accepted and ignored: ``Pruner(m, t, pruner=p, keep=0.25)`` made a GRIFFIN
    pruner; ``mask_source="static"`` (``generate``'s name) made the default one."""
    a, _, tok = tiny
    p = Pruner(a, tok, source="griffin", keep=0.5)
    for kw in (
        dict(pruner=p, keep=0.25),
        dict(mask_source="static"),
        dict(source="griffin", kep=0.25),
        dict(source="random", seeed=3),
        dict(source="griffin", seed=3),
        dict(path="somewhere"),  # the default here is GRIFFIN, which reads no folder
        dict(source=mlx_ifp.make_source("random"), seed=3),
    ):
        with pytest.raises(UsageError, match="Pruner") as e:
            Pruner(a, tok, **kw)
        assert "\n" not in str(e.value)
    # the options a source reads still reach it
    assert Pruner(a, tok, source="random", seed=3).source.key() == "random(seed=3)"
    Pruner(a, tok, source="static-act", calibration="t1 t2 t3")
    assert Pruner(a, tok, source="s38-plug", level=2).source.level == 2  # a plug-in's own
    folder = finetune_folder(a, tmp_path / "frozen", 48, train="frozen")
    for key in ("path", "adapter", "adapter_path"):
        Pruner(a, tok, source="predictor", keep=48, **{key: str(folder)})


# --- 4. the prefill step ---------------------------------------------------------------------


@pytest.mark.parametrize("step", [0, -1, "x", 1.5])
@pytest.mark.parametrize("source", ["griffin", "static"])  # dense and slim prefill
def test_a_bad_prefill_step_is_one_line(tiny, step, source):
    a, _, tok = tiny
    with pytest.raises(UsageError, match="prefill_step_size") as e:
        mlx_ifp.generate(a, tok, P, max_tokens=2, mask_source=source, prefill_step_size=step)
    assert "\n" not in str(e.value)


def test_pruner_prefill_refuses_a_step_below_one(tiny):
    a, _, tok = tiny
    pruner = Pruner(a, tok, source="griffin")
    for step in (0, -2):
        with pytest.raises(UsageError, match="step"):
            pruner.prefill([5, 6, 7], step=step)
    assert mlx_ifp.generate(a, tok, P, max_tokens=2, mask_source="griffin", prefill_step_size=1)
