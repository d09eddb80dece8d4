"""`mlx_ifp finetune` against `mlx_lm lora` (forty-fourth session's second review; each test
failed before its fix).

- `val_batches: -1` (mlx_lm: the whole validation set) was refused as "must be >= 1", and
  there was no `--val-batches` flag.
- `finetune -c "~/x.yaml"` (and `--resume "~/run"` with no config) did not expand `~` (data,
  output and the other paths did).
- Under `mlx.launch -n 2`, a bad output folder was checked by rank 0 alone: it printed one
  `Error:` line and left, and rank 1 printed a "connection to a peer was lost" traceback.
- The same for a save that failed on rank 0 (a full disk): the other rank's traceback.
- A Ctrl-C that stopped a run of two ranks printed its "interrupted at step N" line once per
  rank.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import mlx_ifp  # noqa: F401  first: the optimized BLAS before mlx.core
from mlx_ifp import UsageError
from mlx_ifp.cli import app
from mlx_ifp.train import load_config, read_state

import pytest
from test_finetune import Tok, cfg_for, make_data, setup
from typer.testing import CliRunner

HERE = Path(__file__).parent


def test_val_batches_minus_one_scores_the_whole_validation_split(tmp_path):
    from mlx_ifp.train.batches import Batches, load_data
    from mlx_ifp.train.objective import evaluate

    data = make_data(tmp_path / "d", n_valid=12)
    cfg = cfg_for(data, tmp_path / "out", val_batches=-1)  # before: refused
    assert cfg.val_batches == -1
    for bad in (0, -2):  # 0 scores nothing; -2 means nothing
        with pytest.raises(UsageError, match="val_batches"):
            cfg_for(data, tmp_path / "out", val_batches=bad)
    joint, cfg, k = setup(data)
    valid = load_data(data, Tok(), "sft", cfg.max_seq_length, splits=("train", "valid"))[1]
    batches = Batches(valid, 4, 0, 8, None)
    assert batches.per_epoch == 3
    whole = evaluate(joint, batches, -1, k, cfg)
    assert whole["ce"] > 0  # before the config check, -1 scored no batch: a CE of 0
    assert whole == evaluate(joint, batches, 3, k, cfg) != evaluate(joint, batches, 1, k, cfg)


def test_val_batches_flag(tmp_path):
    """`--val-batches -1` is a flag, as in mlx_lm lora (before: "No such option")."""
    run = CliRunner().invoke(app, ["finetune", "--val-batches", "-1", "--data", str(tmp_path)])
    assert run.exit_code == 2
    assert "No such option" not in run.output and "train.jsonl" in run.output, run.output
    run = CliRunner().invoke(app, ["finetune", "--val-batches", "0", "--data", str(tmp_path)])
    assert run.exit_code == 2 and "val_batches" in run.output, run.output
    assert "--val-batches" in CliRunner().invoke(app, ["finetune", "--help"]).output


def test_config_path_expands_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "x.yaml").write_text("iters: 7\nbatch_size: 2\n")
    cfg = load_config("~/x.yaml")  # before: "cannot read config ~/x.yaml: ... No such file"
    assert (cfg.iters, cfg.batch_size) == (7, 2)
    (tmp_path / "run").mkdir()  # `--resume "~/run"` with no config reads its state first
    with pytest.raises(UsageError, match="no trainer_state.json"):  # before: "does not exist"
        read_state("~/run")


def launch(tmp_path, mode: str) -> subprocess.CompletedProcess:
    """Two ranks through mlx.launch (ring, localhost), each running the CLI (``_rank_main``)."""
    from tiny import save_folder, tiny_model

    model = save_folder(tiny_model("llama"), tmp_path / "model")
    make_data(tmp_path / "d")
    env = {**os.environ, "PYTHONPATH": f"{HERE}:{HERE.parent}", "OPENBLAS_NUM_THREADS": "1"}
    main = "from mlx._distributed_utils.launch import main; main()"  # what mlx.launch runs
    cmd = [sys.executable, "-c", main, "--backend", "ring", "-n", "2", "--python", sys.executable]
    cmd += [__file__, mode, str(model), str(tmp_path / "d"), str(tmp_path / "out")]
    try:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired as e:  # a rank left in a collective: it never returns
        pytest.fail(f"{mode}: the ranks hung ({(e.stderr or b'')[-1500:]!r})")


def errors(r: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("Error: ")]


def test_a_bad_output_folder_under_two_ranks_is_one_line(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("not a checkpoint")  # a folder of other files
    r = launch(tmp_path, "refuse")
    said = errors(r)
    assert len(said) == 1 and "folder of other files" in said[0], r.stdout + r.stderr[-3000:]
    assert "Traceback" not in r.stderr and "peer" not in r.stderr, r.stderr[-3000:]
    assert r.stdout.count("rank left with code 2") == 2, r.stdout + r.stderr[-3000:]
    assert (tmp_path / "out" / "notes.txt").is_file()


def test_a_failed_save_on_rank_0_under_two_ranks_is_one_line(tmp_path):
    """Rank 0 alone writes: its save refused (a full disk), the other rank left quietly too
    (before: a "connection to a peer was lost" traceback from the rank waiting for it)."""
    r = launch(tmp_path, "full")
    said = errors(r)
    assert len(said) == 1 and "disk is full; stopped at step 2" in said[0], r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "peer" not in r.stderr, r.stderr[-3000:]
    assert r.stdout.count("rank left with code 2") == 2, r.stdout + r.stderr[-3000:]


def test_ctrl_c_under_two_ranks_is_said_once(tmp_path):
    r = launch(tmp_path, "sigint")
    said = errors(r)
    assert len(said) == 1 and "interrupted at step 1 of 6" in said[0], r.stdout + r.stderr[-3000:]
    assert r.stdout.count("rank left with code 130") == 2, r.stdout + r.stderr[-3000:]
    assert json.loads((tmp_path / "out" / "trainer_state.json").read_text())["step"] == 1


def _rank_main(mode: str, model: str, data: str, out: str) -> None:
    """Rank side: ``mlx_ifp finetune`` in this process; Ctrl-C (mode sigint) reaches rank 1 only,
    during its first step."""
    from mlx_ifp.cli import main
    from mlx_ifp.train import checkpoint, loop

    import mlx.core as mx

    rank = mx.distributed.init().rank()
    if mode == "full" and rank == 0:  # its first save (step 2) finds the disk full

        def full(*args):
            raise UsageError("cannot write: the disk is full")

        checkpoint.save = full
    if mode == "sigint" and rank == 1:
        enter = loop.StopOnSigint.__enter__

        def early(self):
            enter(self)
            self.requested = True
            return self

        loop.StopOnSigint.__enter__ = early
    args = ["finetune", "--model", model, "--data", data, "-o", out, "--iters", "6"]
    args += ["--batch-size", "4", "--max-seq-length", "32", "--val-every", "0", "--save-every", "2"]
    try:
        main(args)
    except SystemExit as e:
        print(f"rank left with code {e.code}", flush=True)


if __name__ == "__main__":
    _rank_main(*sys.argv[1:5])
