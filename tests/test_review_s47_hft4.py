"""Review (s47): `mlx_ifp finetune` as an `mlx_lm lora` user runs it on their own data.

- `--test` (mlx_lm lora: score test.jsonl after training, "Test loss, Test ppl") and YAML
  `test: true` were refused with "test: no test split is read (eval scores a run)"; but `eval`
  reads a built corpus's per-domain splits, and on a user's own folder says "has no test items
  for any domain (run `mlx_ifp data build`)": no command scored the user's test split. `--test`
  (and `--test-batches`, `test`/`test_batches` in a YAML) now score it after training, with the
  run's hard masks at its keep; at keep 1.0 it is the dense model's reply CE. A missing or too
  small test split is refused before any step; `--resume RUN --test` scores a finished run.
- `--steps-per-report N` was refused with "every step is reported": in a log (stderr not a
  terminal) a line comes every tenth of the run or 10 s. The line now says so, and that every
  step's loss is in trainer_state.json.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import json
import math
import re

import mlx_ifp
from mlx_ifp.cli import main
from mlx_ifp.train.batches import load_split

import mlx.core as mx
import mlx.nn as nn
import pytest
from bad_world import words_data
from tiny import save_folder, tiny_model

SMALL = ["--iters", "1", "--batch-size", "2", "--max-seq-length", "32", "--val-every", "0"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny model folder and a data folder with train, valid and test splits (test: 6
    examples, 3 whole batches of 2: mlx_lm too scores whole batches only)."""
    root = tmp_path_factory.mktemp("hft4")
    model = save_folder(tiny_model("llama"), root / "model")
    data = words_data(root / "data")
    rows = [{"prompt": f"t{i + 3} t{i + 40} t7", "completion": f"t{i + 9} t8 t{i + 60}"}
            for i in range(6)]  # fmt: skip
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return {"model": model, "data": data}


def run(capsys, *args) -> tuple[int, str]:
    """``mlx_ifp finetune ARGS`` in this process: (exit code, stderr + stdout)."""
    with pytest.raises(SystemExit) as e:
        main(["finetune", *args])
    out = capsys.readouterr()
    return e.value.code, out.err + out.out


def refused(capsys, *args) -> str:
    code, said = run(capsys, *args)
    err = said.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("Error:") and "Traceback" not in err, err
    return err


def base(world, out, data=None) -> list[str]:
    data = data or world["data"]
    return ["--model", str(world["model"]), "--data", str(data), "-o", str(out), *SMALL]


def test_ce(said: str) -> tuple[float, float]:
    """The (CE, ppl) of the run's one test line."""
    found = re.findall(r"test CE ([\d.]+), ppl ([\d.]+)", said)
    assert len(found) == 1, said[-1500:]
    return tuple(map(float, found[0]))


test_ce.__test__ = False  # a helper, not a test


def dense_reply_ce(world) -> float:
    """The dense model's mean CE over the reply tokens of test.jsonl, one example at a time."""
    model, tok = mlx_ifp.load(str(world["model"]))
    total = count = 0.0
    for e in load_split(world["data"], "test", tok, "sft", 32):
        x = mx.array([e.tokens])
        ce = nn.losses.cross_entropy(model(x[:, :-1]), x[:, 1:])[0]
        total += ce[e.offset - 1 :].sum().item()
        count += len(e.tokens) - e.offset
    return total / count


def test_test_flag_scores_the_test_split_as_the_dense_model_at_keep_1(world, tmp_path, capsys):
    """`--test` (mlx_lm lora's test loss and ppl after training): "No such option: --test".
    At keep 1.0 with the LLM frozen, every channel is kept: the dense model's reply CE."""
    code, said = run(capsys, *base(world, tmp_path / "o"), "--keep", "1.0", "--test",
                     "--test-batches", "-1")  # fmt: skip
    assert code == 0, said[-1500:]
    ce, ppl = test_ce(said)
    assert ce == pytest.approx(dense_reply_ce(world), abs=2e-4)
    assert ppl == pytest.approx(math.exp(ce), rel=1e-3)


def test_test_with_no_test_split_is_refused_before_any_step(world, tmp_path, capsys):
    """`--test` where the folder has no test.jsonl (mlx_lm: "Test set not found or empty"):
    one line naming the file, before anything is trained or written."""
    data = words_data(tmp_path / "d")
    err = refused(capsys, *base(world, tmp_path / "o", data), "--test")
    assert "test.jsonl" in err and "missing" in err, err
    assert not (tmp_path / "o").exists()


def test_test_split_smaller_than_a_batch_is_refused_before_any_step(world, tmp_path, capsys):
    """A test split of 1 example at --batch-size 2: refused first, not after the training."""
    data = words_data(tmp_path / "d")
    (data / "test.jsonl").write_text(json.dumps({"prompt": "t3", "completion": "t4"}) + "\n")
    err = refused(capsys, *base(world, tmp_path / "o", data), "--test")
    assert "test.jsonl" in err and "fewer than one batch" in err, err
    assert not (tmp_path / "o").exists()


def test_test_batches_without_test_is_refused(world, tmp_path, capsys):
    """`--test-batches 2` alone would score nothing: one line that says it is for --test."""
    err = refused(capsys, *base(world, tmp_path / "o"), "--test-batches", "2")
    assert "--test-batches would be ignored" in err and "--test" in err, err


def test_a_finished_run_resumed_with_test_is_scored(world, tmp_path, capsys):
    """`finetune --resume RUN --test` on a finished run (mlx_lm lora --test --adapter-path RUN):
    no step is trained, the test split is scored with the run's predictor."""
    out = tmp_path / "o"
    code, said = run(capsys, *base(world, out))
    assert code == 0, said[-1500:]
    before = (out / "predictor.safetensors").read_bytes()
    code, said = run(capsys, "--resume", str(out), "--test")
    assert code == 0, said[-1500:]
    test_ce(said)
    assert json.loads((out / "trainer_state.json").read_text())["step"] == 1
    assert (out / "predictor.safetensors").read_bytes() == before


def test_test_in_a_yaml_is_read(world, tmp_path, capsys):
    """mlx_lm lora's YAML `test: true` / `test_batches: 1`: "unknown config key(s): test"."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("test: true\ntest_batches: 1\n")
    code, said = run(capsys, "-c", str(cfg), *base(world, tmp_path / "o"))
    assert code == 0, said[-1500:]
    test_ce(said)


def test_steps_per_report_says_how_often_a_log_line_comes(world, tmp_path, capsys):
    """`--steps-per-report 10`: "every step is reported"; in a log (stderr not a terminal) a
    line comes every tenth of the run or 10 s. The line says so, and where every step's loss is."""
    err = refused(capsys, *base(world, tmp_path / "o"), "--steps-per-report", "10")
    assert "every step is reported" not in err, err
    assert "trainer_state.json" in err and "10 s" in err, err
