"""Review (s46): `mlx_ifp finetune`'s settings against what an `mlx_lm lora` user expects.

- `--lora-layers 99` (or YAML `lora_layers: 99`, or `finetune(cfg)` from the API) on a model of
  fewer layers trained LoRA on every layer in silence and recorded `num_layers: 99`; mlx_lm lora
  refuses it ("Requested to train 99 layers but the model only has 30 layers"). It is now one
  line before anything is written (the default 16 on a smaller model still means every layer;
  a resumed run keeps its checkpoint's count). A resumed run whose count names the same layers
  in another way (30 or -1 on a 30-layer model; 30 on a 28-layer one) was refused as "made with
  other settings: lora_layers 30 (this run: -1)".
- A mistyped YAML key (`learning_rat: 1e-4`, mlx_lm's flag spelling `learning-rate:`) was
  "unknown config key(s): learning_rat" with no word of the key meant: the closest ones are
  named now.
- An `mlx_lm lora` adapter (adapters.safetensors + adapter_config.json) given as `--resume`
  (what the `resume_adapter_file` hint pointed to) or `--init-from`, as its folder or its
  weights file: "not a training checkpoint (no trainer_state.json)", "is a file (give its
  folder)", "no ifp_config.json (not a trained run)": dead ends with no word of what to do.
  Each now says to fuse it into its model (mlx_lm.fuse) and train from the fused model.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import json
from pathlib import Path

import mlx_ifp
from mlx_ifp import UsageError
from mlx_ifp.cli import main
from mlx_ifp.train import finetune, load_config

import mlx.core as mx
import mlx.nn as nn
import pytest
from bad_world import words_data
from mlx_lm.tuner.utils import linear_to_lora_layers
from test_review_s45_hft import SMALL  # the one-step run's flags
from tiny import save_folder, tiny_model

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 3-layer tiny model folder, its data, and an mlx_lm lora adapter of it."""
    root = tmp_path_factory.mktemp("hft3")
    model = save_folder(tiny_model("llama"), root / "model")
    net, _ = mlx_ifp.load(str(model))
    net.freeze()
    lora = {"rank": 8, "scale": 20.0, "dropout": 0.0}
    linear_to_lora_layers(net, 2, lora)
    adapter = root / "mlx_lm_adapter"
    adapter.mkdir()
    weights = dict(nn.utils.tree_flatten(net.trainable_parameters()))
    mx.save_safetensors(str(adapter / "adapters.safetensors"), weights)
    said = {"model": str(model), "fine_tune_type": "lora", "num_layers": 2, "train": True}
    (adapter / "adapter_config.json").write_text(json.dumps({**said, "lora_parameters": lora}))
    return {"model": model, "data": words_data(root / "data"), "adapter": adapter}


def refused(capsys, *args) -> str:
    """``mlx_ifp finetune ARGS`` in this process: exit code 2, one ``Error:`` line (returned)."""
    with pytest.raises(SystemExit) as e:
        main(["finetune", *args])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("Error:") and "Traceback" not in err, err
    return err


def base(world, out) -> list[str]:
    return ["--model", str(world["model"]), "--data", str(world["data"]), "-o", str(out), *SMALL]


def test_more_lora_layers_than_the_model_has_is_refused(world, tmp_path, capsys):
    """`--train lora --lora-layers 4` on a 3-layer model: it trained every layer, silently."""
    err = refused(capsys, *base(world, tmp_path / "o"), "--train", "lora", "--lora-layers", "4")
    assert "lora_layers 4" in err and "3 layers" in err and "-1" in err, err
    assert not (tmp_path / "o").exists()


def test_more_lora_layers_in_a_yaml_is_refused(world, tmp_path, capsys):
    """YAML `lora_layers: 99`: the same silent run."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("train: lora\nlora_layers: 99\n")
    err = refused(capsys, "-c", str(cfg), *base(world, tmp_path / "o"))
    assert "lora_layers 99" in err and "3 layers" in err, err
    assert not (tmp_path / "o").exists()


def test_more_lora_layers_from_the_api_is_a_usage_error(world, tmp_path):
    """`finetune(cfg)` with lora_layers 5 on a 3-layer model: trained, no word."""
    cfg = load_config(
        model=str(world["model"]),
        data=str(world["data"]),
        output=str(tmp_path / "o"),
        train="lora",
        lora_layers=5,
        iters=1,
        batch_size=2,
        max_seq_length=32,
        val_every=0,
        quiet=True,
    )
    with pytest.raises(UsageError, match="lora_layers 5"):
        finetune(cfg)
    assert not (tmp_path / "o").exists()


def test_a_resumed_run_may_name_its_lora_layers_as_every_layer(world, tmp_path, capsys):
    """A run of `--lora-layers 3` (every layer of this model) resumed with `--lora-layers -1`
    (as the 1.5B recipe now names every layer): "made with other settings: lora_layers 3
    (this run: -1)". The same layers train: it resumes. The default 16 still means every layer."""
    out = tmp_path / "o"
    with pytest.raises(SystemExit) as e:
        main(["finetune", *base(world, out), "--train", "lora", "--lora-layers", "3"])
    assert e.value.code == 0, capsys.readouterr().err[-600:]
    more = ["--iters", "2", "--train", "lora", "--lora-layers", "-1"]
    with pytest.raises(SystemExit) as e:
        main(["finetune", *base(world, out)[:6], "--resume", str(out), *SMALL[2:], *more])
    assert e.value.code == 0, capsys.readouterr().err[-600:]
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["step"] == 2


TYPOS = [
    ("learning_rat: 1.0e-4", "learning_rate"),
    ("learning-rate: 1.0e-4", "learning_rate"),  # mlx_lm lora's flag, as a key
    ("itres: 10", "iters"),
    ("lora_rnak: 4", "lora_rank"),
]


@pytest.mark.parametrize("line, meant", TYPOS, ids=[t[0].split(":")[0] for t in TYPOS])
def test_a_mistyped_yaml_key_names_the_key_meant(tmp_path, line, meant):
    """`learning_rat: 1e-4`: "unknown config key(s): learning_rat", no word of learning_rate."""
    (tmp_path / "c.yaml").write_text(f"data: d\n{line}\n")
    with pytest.raises(UsageError) as e:
        load_config(tmp_path / "c.yaml")
    said = str(e.value)
    assert line.split(":")[0] in said and f"did you mean {meant}" in said, said
    assert "\n" not in said


def test_every_shipped_config_parses():
    """Every key of the shipped configs (examples/, docs/results/) is still a setting."""
    files = [*ROOT.glob("examples/*.yaml"), *ROOT.glob("docs/results/**/*.yaml")]
    files = [f for f in files if f.name != "serve_tasks.yaml"]  # serve's tasks, not a run
    assert len(files) > 40
    for path in files:
        load_config(path)


def mlx_lm_paths(world) -> dict:
    return {"folder": world["adapter"], "file": world["adapter"] / "adapters.safetensors"}


@pytest.mark.parametrize("flag", ["--resume", "--init-from"])
@pytest.mark.parametrize("given", ["folder", "file"])
def test_an_mlx_lm_adapter_says_to_fuse_it(world, tmp_path, capsys, flag, given):
    """An `mlx_lm lora` adapter as --resume (the resume_adapter_file hint's word) or --init-from:
    "not a training checkpoint (no trainer_state.json)", "is a file (give its folder)", "no
    ifp_config.json (not a trained run)", with no word of what to do with it."""
    path = mlx_lm_paths(world)[given]
    err = refused(capsys, *base(world, tmp_path / "o"), "--train", "lora", flag, str(path))
    assert "mlx_lm lora adapter" in err and "mlx_lm.fuse" in err, err
    assert f"--adapter-path {world['adapter']}" in err and "--model" in err, err
    assert not (tmp_path / "o").exists()


def test_resume_adapter_file_in_a_yaml_says_to_fuse_an_mlx_lm_adapter(world, tmp_path):
    """YAML `resume_adapter_file:` said "is resume here (a checkpoint folder)", and --resume
    then refused the mlx_lm adapter: its hint now says what to do with one."""
    (tmp_path / "c.yaml").write_text(f"resume_adapter_file: {world['adapter']}\n")
    with pytest.raises(UsageError) as e:
        load_config(tmp_path / "c.yaml")
    assert "is resume" in str(e.value) and "mlx_lm.fuse" in str(e.value), str(e.value)
