"""A walk through README.md as a new user (fortieth session).

- ``generate --task ... --keep 0.33 --save-mask M`` then ``generate --mask M`` (the README's
  two commands) printed "Warning: the predictor ... was trained to keep 507 ..., not 768": a
  given mask with a named (or its predictor's) mask source went to the shared pruner at the
  default budget 0.5, not at the mask's own width, which the mask fixes. In the Python API,
  ``generate(mask=M, mask_source="predictor")`` on the embedded model so took the keep-0.5
  predictor's LoRA for a mask the keep-0.33 one picked.
"""

import warnings

import mlx_ifp
from mlx_ifp.core import ffn
from mlx_ifp.inference import KeepMismatch

import mlx.core as mx
import numpy as np
import pytest
from test_review_s35_walk import cli  # CliRunner in a folder: a subprocess's view
from tiny import predictor_world


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny llama and a predictor + LoRA trained (as recorded) at 32 of its 96 channels."""
    return predictor_world(tmp_path_factory.mktemp("s40"), k=32)


def test_a_saved_mask_of_a_predictor_off_keep_half_runs_without_a_budget_warning(tiny, tmp_path):
    folder, _, _, adapter = tiny
    common = ("--model", folder, "-m", "3", "--quiet", "--ignore-chat-template")
    saved = cli("generate", *common, "--adapter", adapter, "-p", "t5 t6", "--save-mask", "m",
                cwd=tmp_path)  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    assert "trained to keep" not in saved.stderr  # its own budget: 32
    again = cli("generate", *common, "--mask", "m", "-p", "t7 t8", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "trained to keep" not in again.stderr, again.stderr  # was: "..., not 48"


def test_a_given_mask_with_a_named_source_takes_the_pruner_of_its_width(tiny):
    folder, _, tok, adapter = tiny
    lora, _ = mlx_ifp.load(str(folder), adapter_path=str(adapter))
    _, info = mlx_ifp.select(lora, tok, "t5 t6 t7", mask_source="predictor", keep=32)
    assert info.mask.k == 32
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mlx_ifp.generate(lora, tok, "t9", max_tokens=2, mask=info.mask, mask_source="predictor")
        slim, _ = mlx_ifp.select(lora, tok, mask=info.mask, mask_source="predictor")
    assert not [w for w in caught if issubclass(w.category, KeepMismatch)], caught[0].message
    x = mx.array([[5, 9, 3, 7]])
    with ffn.masked(lora, info.mask.dense()):
        expect = lora(x)
    np.testing.assert_allclose(np.array(slim(x)), np.array(expect), atol=1e-4, rtol=1e-4)


@pytest.mark.real
def test_a_keep_033_mask_named_predictor_is_cut_with_the_keep_033_lora(smollm2_dir):
    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    _, picked = mlx_ifp.select(model, tok, "Name a prime number.", keep=0.33)
    assert picked.mask.k == 507
    own, _ = mlx_ifp.select(model, tok, mask=picked.mask)  # its predictor's LoRA (mask_owner)
    named, _ = mlx_ifp.select(model, tok, mask=picked.mask, mask_source="predictor")
    x = mx.array([[1, 504, 3213, 30]])
    np.testing.assert_array_equal(np.array(named(x)), np.array(own(x)))  # was: keep 0.5's LoRA


@pytest.mark.real
def test_the_server_cuts_a_mask_file_from_its_pickers_model_as_generate_does(smollm2_dir, tmp_path):
    """A task given as a mask file was cut from the serving source's model: on the embedded
    model, a GRIFFIN mask (picked on the bare model) ran with the shipped keep-0.5 LoRA, where
    ``generate --mask`` runs it bare; start-up warned it was "cut without" a LoRA it then got."""
    from mlx_ifp.serve.registry import Registry
    from mlx_ifp.serve.schemas import GenRequest

    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    _, info = mlx_ifp.select(model, tok, "Name a prime number.", mask_source="griffin")
    info.mask.save(str(tmp_path / "gr"))
    _, k33 = mlx_ifp.select(model, tok, "Name a prime number.", keep=0.33)  # + its own LoRA
    k33.mask.save(str(tmp_path / "k33"))
    tasks = {name: {"mask": str(tmp_path / f"{name}.safetensors")} for name in ("gr", "k33")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = Registry(model, tok, "smollm2", mask_source=None, tasks=tasks)
    assert not [w for w in caught if "cut without" in str(w.message)]
    chat = [{"role": "user", "content": "Name a river."}]
    req = GenRequest(model="smollm2:gr", prompt=chat, chat=True, max_tokens=12)
    served = "".join(p.text for p in reg.generate(req))
    mask = mlx_ifp.Mask.load(str(tmp_path / "gr.safetensors"), model)
    assert served == mlx_ifp.generate(model, tok, chat, max_tokens=12, mask=mask)
    req = GenRequest(model="smollm2:k33", prompt=chat, chat=True, max_tokens=12)
    served = "".join(p.text for p in reg.generate(req))
    assert served == mlx_ifp.generate(model, tok, chat, max_tokens=12, mask=k33.mask)
