"""Review (s36): `mlx_ifp finetune` and `mlx_ifp eval` as a user runs them.

Each test failed on the code it was written against, for the reason in its docstring.

- `eval --mask NAME=M` of a mask a LoRA-trained predictor picked (`generate --save-mask` on the
  embedded model saves one by default) scored it on the bare model, without the LoRA it was
  picked for: the row's numbers were those of another model than `generate --mask M` runs.
- `eval --mask-sources predictor` said to use `--adapter default`, which `eval` refused
  ("--adapter takes NAME=PATH"; `--adapter NAME=default`: "folder not found: default").
- `finetune --ce 0` without distillation (`-c examples/ifp_stage2.yaml --distill 0`) trained
  nothing: the loss was 0.0 at every step and the run reported success.
- `finetune` with a missing data folder, or none (`--data` left out), loaded the model first
  (an embedded model's download, a Hugging Face repo's), then refused.
- `data: ~/corpus/sft` in a `--config` YAML (no shell to expand it) was "data folder not
  found: ~/corpus/sft"; `output: ~/...` and `-o '~/...'` were expanded.
- `finetune -c run.yaml --resume run1` (no -o) wrote the resumed run to the YAML's output, or
  ./ifp_adapters, not to run1 as `--resume run1` alone does.
"""

import json
from pathlib import Path

import mlx_ifp.models
from mlx_ifp import UsageError
from mlx_ifp.cli import app
from mlx_ifp.core import turn_tokens
from mlx_ifp.evaluation import run as ev
from mlx_ifp.models import adapted_copy
from mlx_ifp.sources import make_source
from mlx_ifp.train import finetune, load_config

import pytest
from corpus import ByteTokenizer, fake_corpus
from test_evaluate import numpy_scores
from test_finetune import Tok, cfg_for, make_data
from tiny import finetune_folder, tiny_model
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]


def predictor_mask_eval(tmp_path, monkeypatch):
    """A tiny model, a LoRA-trained predictor's folder and its LoRA'd copy, two code items, the
    predictor's mask for the first (saved), and an eval config that scores that mask file."""
    corpus = fake_corpus(tmp_path, monkeypatch)
    model, tok = tiny_model("llama"), ByteTokenizer()
    folder = finetune_folder(model, tmp_path / "ft", k=48, train="lora")
    lora = adapted_copy(model, folder)
    items = ev.instructions(corpus, "code")[:2]
    source = make_source("predictor", tokenizer=tok, path=folder)
    mask = source.select(lora, turn_tokens(tok, items[0]["prompt"]), 48)
    path = mask.save(tmp_path / "m")
    cfg = ev.EvalConfig(domains=("code",), sources=("full",), mask_files={"m": path}, limit=2,
                        gen_limit=0)  # fmt: skip
    return corpus, model, tok, lora, items, mask, cfg


def mask_row(net, tok, corpus, cfg) -> dict:
    """The eval row of the mask file ``m``."""
    return next(r for r in ev.evaluate(net, tok, corpus, cfg, progress=False)["results"]
                if r["source"] == "m")  # fmt: skip


def test_eval_scores_a_predictors_mask_with_that_predictors_lora(tmp_path, monkeypatch):
    """A mask a LoRA-trained predictor picked was scored on the bare model (no LoRA), though
    `generate --mask` (and `export --mask`) run it with that LoRA, as when it was picked."""
    corpus, model, tok, lora, items, mask, cfg = predictor_mask_eval(tmp_path, monkeypatch)
    row = mask_row(model, tok, corpus, cfg)
    want = numpy_scores(lora, tok, items, [mask] * 2)["nll"]
    bare = numpy_scores(model, tok, items, [mask] * 2)["nll"]
    assert abs(want - bare) > 0.05  # the LoRA matters here
    assert row["nll"] == pytest.approx(want, rel=1e-4)


def test_eval_takes_the_shipped_predictor_as_adapter_default(monkeypatch):
    """`eval --mask-sources predictor` said "--adapter default"; eval refused that spelling
    (not NAME=PATH) and `--adapter NAME=default` ("folder not found: default")."""
    import mlx_ifp.evaluation as evaluation

    seen = []

    def evaluate(net, tokenizer, folder, cfg):
        seen.append(cfg)
        raise UsageError("stop here")

    monkeypatch.setattr(evaluation, "built_domains", lambda folder, domains: ("math",))
    monkeypatch.setattr(evaluation, "evaluate", evaluate)
    monkeypatch.setattr(evaluation, "keep_channels", lambda net, keeps: [])  # no model loaded
    monkeypatch.setattr(evaluation, "check_adapter", lambda path, net: 0)  # (s39: before build)
    monkeypatch.setattr(mlx_ifp, "load", lambda model, **kw: (None, None))
    args = ["eval", "--data", ".", "--limit", "1", "--gen-limit", "0", "--mask-sources"]
    said = CliRunner().invoke(app, [*args, "predictor"]).output
    assert "--adapter NAME=default" in " ".join(said.split()), said
    run = CliRunner().invoke(app, [*args, "full", "--adapter", "shipped=default"])
    assert "stop here" in run.output, run.output
    shipped = Path(seen[0].adapters["shipped"])
    assert shipped == mlx_ifp.models.default_adapter("smollm2-135m-instruct")


def test_a_run_with_nothing_to_learn_from_is_refused(tmp_path):
    """ce 0 and distill 0 (`-c examples/ifp_stage2.yaml --distill 0`): the loss was 0.0 at
    every step, nothing trained, and the run said it saved a trained predictor."""
    with pytest.raises(UsageError, match="ce and distill are both 0"):
        load_config(str(ROOT / "examples" / "ifp_stage2.yaml"), distill=0.0)
    run = CliRunner().invoke(app, ["finetune", "--ce", "0", "-o", str(tmp_path / "o")])
    assert run.exit_code == 2 and "ce and distill are both 0" in run.output, run.output
    load_config(None, ce=0.0, distill=1.0)  # distillation alone is a loss


@pytest.mark.parametrize("data", ["missing", "none", "file"])
def test_a_missing_data_folder_is_refused_before_the_model_loads(tmp_path, monkeypatch, data):
    """The model (an embedded model's 1.1 GB download, a Hugging Face repo) was loaded before
    the data folder was looked at."""

    def load(*a, **kw):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(mlx_ifp.models, "load", load)
    (tmp_path / "f.jsonl").write_text("{}\n")
    folder = {"missing": str(tmp_path / "nope"), "none": "", "file": str(tmp_path / "f.jsonl")}
    monkeypatch.chdir(tmp_path)
    cfg = load_config(None, data=folder[data], output=str(tmp_path / "o"), quiet=True)
    with pytest.raises(UsageError, match="data folder|train.jsonl"):
        finetune(cfg)
    assert not (tmp_path / "o").exists()


def test_a_tilde_in_the_configs_paths_is_expanded(tmp_path, monkeypatch):
    """`data: ~/corpus` in a YAML was "data folder not found: ~/corpus" (no shell expands it
    there), while `output: ~/...` was expanded."""
    monkeypatch.setenv("HOME", str(tmp_path))
    make_data(tmp_path / "corpus")
    yaml = tmp_path / "run.yaml"
    yaml.write_text("data: ~/corpus\noutput: ~/out\n")
    cfg = load_config(str(yaml), iters=1, batch_size=4, max_seq_length=32, val_every=0,
                      quiet=True, predictor=dict(layers=2, rank=8))  # fmt: skip
    out = finetune(cfg, tiny_model("llama"), Tok())
    assert Path(out).expanduser() == tmp_path / "out"
    state = json.loads((tmp_path / "out" / "trainer_state.json").read_text())
    assert state["config"]["data"] == str(tmp_path / "corpus")
    cfg_for(str(tmp_path / "corpus"), tmp_path / "o2")  # a plain path is unchanged


def test_a_run_resumed_with_its_config_writes_where_it_was_resumed_from(tmp_path, monkeypatch):
    """`finetune -c run.yaml --resume run1` (no -o, no output in the YAML) wrote the resumed
    run to ./ifp_adapters, replacing whatever run was there and leaving run1 at its old step;
    without -c the same resume writes to run1. (An output the YAML names wins: the test below.)"""
    import mlx_ifp.train

    seen = []
    monkeypatch.setattr(mlx_ifp.train, "finetune", lambda cfg: seen.append(cfg) or tmp_path)
    monkeypatch.setattr(mlx_ifp.train, "read_state", lambda p: {"config": {}})  # (run1: none)
    monkeypatch.chdir(tmp_path)
    run1 = tmp_path / "run1"
    for yaml in ("iters: 8\n",):
        (tmp_path / "run.yaml").write_text(yaml)
        args = ["finetune", "-c", "run.yaml", "--resume", str(run1)]
        run = CliRunner().invoke(app, args)
        assert run.exit_code == 0, run.output
        assert seen[-1].output == str(run1) and seen[-1].iters == 8
        CliRunner().invoke(app, [*args, "-o", str(tmp_path / "run2")])
        assert seen[-1].output == str(tmp_path / "run2")  # -o still wins


@pytest.mark.parametrize(
    "value, expected", [("no", False), ("false", False), ("on", True), ("yes", True)]
)
def test_a_quoted_yes_or_no_in_the_config_is_a_boolean(tmp_path, value, expected):
    """(the helper's lead) `pack: "no"` in a YAML config is a str, and a non-empty str is true:
    the run packed its texts though the config said no."""
    from mlx_ifp.train import load_config

    path = tmp_path / "run.yaml"
    path.write_text(f'stage: pretrain\npack: "{value}"\ngrad_checkpoint: "{value}"\n')
    cfg = load_config(str(path))
    assert cfg.pack is expected and cfg.grad_checkpoint is expected


def test_a_config_flag_that_is_not_a_boolean_is_refused(tmp_path):
    from mlx_ifp.train import load_config

    path = tmp_path / "run.yaml"
    path.write_text("pack: maybe\n")
    with pytest.raises(UsageError, match="pack must be true or false"):
        load_config(str(path))


def test_eval_of_a_mask_on_a_model_that_already_carries_its_lora(tmp_path, monkeypatch):
    """(the session's review) The model loaded with the predictor's folder already carries its
    LoRA: the new carry-over applied it a second time ("Can't convert layer of type
    LoRALinear to LoRA")."""
    corpus, model, tok, lora, items, mask, cfg = predictor_mask_eval(tmp_path, monkeypatch)
    row = mask_row(lora, tok, corpus, cfg)
    assert row["nll"] == pytest.approx(numpy_scores(lora, tok, items, [mask] * 2)["nll"], rel=1e-4)
    other = adapted_copy(model, finetune_folder(model, tmp_path / "ft2", k=48, seed=3))
    with pytest.raises(UsageError, match="evaluate on the model loaded without adapters"):
        ev.evaluate(other, tok, corpus, cfg, progress=False)


def test_eval_refuses_a_mask_whose_predictor_is_gone_before_the_model_loads(tmp_path, monkeypatch):
    """(the session's review) A predictor's mask whose folder was moved is refused (its LoRA
    belongs with it), but only inside the scoring, after the model had loaded."""
    import shutil

    import mlx_ifp.evaluation as evaluation

    model, tok = tiny_model("llama"), ByteTokenizer()
    folder = finetune_folder(model, tmp_path / "ft", k=48, train="lora")
    mask = make_source("predictor", tokenizer=tok, path=folder).select(model, [1, 2, 3], 48)
    path = mask.save(tmp_path / "m")
    shutil.rmtree(folder)
    loads = []
    monkeypatch.setattr(evaluation, "built_domains", lambda folder, domains: ("math",))
    monkeypatch.setattr(mlx_ifp, "load", lambda model, **kw: loads.append(model))
    args = ["eval", "--data", ".", "--limit", "1", "--gen-limit", "0", "--mask", f"m={path}"]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 2 and "which is not there" in run.output, run.output
    assert not loads


@pytest.mark.parametrize(
    "yaml, flags, expected",
    [
        ("resume: {r}\n", [], "r"),  # resume in the config: where it is
        ("output: {b}\n", ["--resume", "{r}"], "b"),  # the config's output wins
        ("", ["--resume", "{r}"], "r"),
        ("output: {b}\n", ["--resume", "{r}", "-o", "{c}"], "c"),
    ],
)
def test_where_a_resumed_run_writes(tmp_path, monkeypatch, yaml, flags, expected):
    """(the session's review) A `resume:` in the config wrote to `./ifp_adapters`; an `output:`
    in the config lost to `--resume`, which then replaced the run resumed from."""
    import mlx_ifp.train as train

    where = {k: str(tmp_path / k) for k in "rbc"}
    seen = []
    monkeypatch.setattr(train, "finetune", lambda cfg: seen.append(cfg) or cfg.output)
    monkeypatch.setattr(train, "read_state", lambda folder: {"config": {"output": "elsewhere"}})
    path = tmp_path / "run.yaml"
    path.write_text(yaml.format(**where))
    args = [f.format(**where) for f in flags]
    run = CliRunner().invoke(app, ["finetune", "-c", str(path), *args])
    assert run.exit_code == 0, (run.output, run.exception)
    assert seen[0].output == where[expected]


def test_pack_with_stage_2_is_refused_with_the_settings():
    """(the helper's lead) `--pack --stage sft` was refused only once the data was read, after
    the model had loaded."""
    with pytest.raises(UsageError, match="pack joins plain texts"):
        load_config(None, pack=True, stage="sft")
    load_config(None, pack=True, stage="pretrain")
