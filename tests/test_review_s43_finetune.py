"""`mlx_ifp finetune` as a user runs it on their own data (forty-third session's review; each
test failed before its fix).

- `--init-from FULL_RUN` in a run with the LLM frozen (the default) loaded the full run's LLM
  weights into the model, trained the predictor against them and saved the predictor alone: the
  folder's predictor then ran on the untrained LLM (`generate --adapter`, `--resume`).
- `--init-from RUN --start-step N` of a LoRA run's checkpoint with another `lora_scale` loaded
  its LoRA at this run's scale: the run started from another model than the one it continues,
  without a word (`--resume` refuses another scale; a pack's scale, such as the shipped one's 17
  of its trained 20, may be an inference setting and is not compared).
- `predictor: {backbone: PATH}` with a relative PATH was saved as typed: `generate --adapter`,
  `eval --adapter`, `export --adapter` and `--resume` from another folder could not find it.
"""

import json
import os

import mlx_ifp  # noqa: F401  first: the optimized BLAS before mlx.core
from mlx_ifp import UsageError
from mlx_ifp.sources.predictor import load_predictor
from mlx_ifp.train import finetune, load_config

import pytest
from test_finetune import Tok, cfg_for, history, make_data
from tiny import save_folder, tiny_model


def state(out) -> dict:
    return json.loads((out / "trainer_state.json").read_text())


@pytest.mark.parametrize("trained", ["full", "lora"])
def test_init_from_a_run_that_trained_the_llm_into_a_frozen_run_is_refused(tmp_path, trained):
    """A frozen run neither trains nor saves the LLM: the full run's weights were trained on,
    then lost (the LoRA run's refused only as 'does not fit this model and settings')."""
    data = make_data(tmp_path / "d")
    kw = {"learning_rate": 1e-2, "lora_layers": -1} if trained == "lora" else {}
    first = finetune(
        cfg_for(data, tmp_path / "a", iters=2, train=trained, **kw), tiny_model(), Tok()
    )
    cfg = cfg_for(data, tmp_path / "b", iters=4, init_from=str(first), start_step=2)
    with pytest.raises(UsageError, match=f"trained the LLM too \\(train {trained}\\).*--train"):
        finetune(cfg, tiny_model(), Tok())
    assert not (tmp_path / "b").exists()
    again = cfg_for(
        data, tmp_path / "c", iters=4, init_from=str(first), start_step=2, train=trained, **kw
    )
    assert len(history(finetune(again, tiny_model(), Tok()))) == 2  # its own kind: as before


def test_init_from_a_lora_run_of_another_scale_is_refused(tmp_path):
    """The LoRA's delta is scale * B A: loaded at another scale, the run starts from another
    model (a SmolLM2-tokenizer tiny model: validation at the continued step 4 read 9.71 as the
    run ended, 10.74 at scale 5)."""
    data = make_data(tmp_path / "d")
    kw = dict(train="lora", lora_layers=-1, learning_rate=1e-2)
    first = finetune(cfg_for(data, tmp_path / "a", iters=2, **kw), tiny_model(), Tok())
    cont = dict(iters=4, init_from=str(first), start_step=2, **kw)
    with pytest.raises(UsageError, match="lora_scale 20 \\(this run: 5\\).*set lora_scale: 20"):
        finetune(cfg_for(data, tmp_path / "b", lora_scale=5.0, **cont), tiny_model(), Tok())
    assert len(history(finetune(cfg_for(data, tmp_path / "c", **cont), tiny_model(), Tok()))) == 2
    pack = tmp_path / "pack"  # as shipped: no trainer state, the scale set for inference
    pack.mkdir()
    for name in ("predictor.safetensors", "adapters.safetensors", "ifp_config.json"):
        (pack / name).write_bytes((first / name).read_bytes())
    adapter = json.loads((first / "adapter_config.json").read_text())
    adapter["lora_parameters"]["scale"] = 17.0
    (pack / "adapter_config.json").write_text(json.dumps(adapter))
    cont["init_from"] = str(pack)  # trained on at the scale it trained at: as before
    assert len(history(finetune(cfg_for(data, tmp_path / "e", **cont), tiny_model(), Tok()))) == 2


def test_a_relative_predictor_backbone_is_found_from_any_folder(tmp_path, monkeypatch):
    """`predictor: {backbone: bb}` (a folder beside the YAML, run from there): the run's
    ifp_config.json and trainer state said "bb", so the folder was looked for wherever
    `generate --adapter RUN` or `--resume RUN` ran: `Error: model not found: bb`."""
    data = make_data(tmp_path / "d")
    save_folder(tiny_model("llama", seed=3), tmp_path / "bb")
    monkeypatch.chdir(tmp_path)
    cfg = cfg_for(data, tmp_path / "run", iters=2, predictor={"backbone": "bb", "rank": 8})
    out = finetune(cfg, tiny_model(), Tok())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chdir(elsewhere)
    saved = json.loads((out / "ifp_config.json").read_text())["predictor"]["backbone"]
    assert saved == str(tmp_path / "bb")
    assert load_predictor(out, tiny_model()).config.backbone == str(tmp_path / "bb")
    resumed = {**state(out)["config"], "iters": 3, "resume": str(out)}  # `--resume RUN --iters 3`
    finetune(load_config(None, **resumed), tiny_model(), Tok())
    assert state(out)["step"] == 3


def test_init_from_a_run_with_another_predictor_block_names_the_settings(tmp_path):
    """(forty-third session, a helper's lead) ``--init-from`` a run whose predictor has other
    settings (the shipped folder's with `finetune`'s default block) said only
    "predictor.safetensors: offset is not a parameter of that shape": which settings differ,
    and where to copy them from, went unsaid."""
    data = make_data(tmp_path / "d")
    first = finetune(cfg_for(data, tmp_path / "a", iters=2), tiny_model(), Tok())
    cfg = cfg_for(data, tmp_path / "b", iters=4, init_from=str(first), start_step=2)
    cfg.predictor = {**cfg.predictor, "rank": 4}
    with pytest.raises(UsageError, match=r"predictor rank 8 there, 4 here.*ifp_config\.json"):
        finetune(cfg, tiny_model(), Tok())


def test_text_records_in_the_default_stage_point_to_pretrain(tmp_path):
    """(forty-third session, a helper's lead) `mlx_lm lora`'s `{"text"}` data in `finetune`'s
    default stage 2 was refused without saying which stage takes it."""
    data = make_data(tmp_path / "d", text=True)
    with pytest.raises(UsageError, match=r"line 1: stage 2 \(sft\).*--stage pretrain"):
        finetune(cfg_for(data, tmp_path / "o", iters=2), tiny_model(), Tok())
    cfg = cfg_for(data, tmp_path / "p", iters=2, stage="pretrain")
    run = finetune(cfg, tiny_model(), Tok())
    assert len(history(run)) == 2


def test_short_validation_texts_with_pack_are_named_for_what_they_are(tmp_path, capsys):
    """(forty-third session, a helper's lead) ``--stage pretrain --pack`` packs the training
    split only: validation texts no longer than one chunk were all dropped with the hint
    "(--pack joins texts into full rows)", though --pack was on, then "valid.jsonl is missing
    or empty", though it held records."""
    from mlx_ifp.train.batches import load_data

    data = make_data(tmp_path / "d", text=True)
    train, valid, _ = load_data(data, Tok(), "pretrain", 32, packed=True, chunk=24)
    err = capsys.readouterr().err
    assert train and not valid
    assert "--pack joins" not in err and "missing or empty" not in err, err
    assert "valid.jsonl" in err and "never packed" in err and "no scoreable examples" in err, err
