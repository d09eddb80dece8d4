"""Review (s39): leads on `finetune`, `eval`, `plot`, `export`, `generate` and the server.
Each test failed on the code it was written against, for the reason in its docstring; all run
on tiny random models (or none).

- `finetune --help` said a resumed run writes to the folder it resumes "unless -o names
  another": an `output:` in the --config YAML names another too (mlx_lm writes to its config's
  `adapter_path` whatever `--resume-adapter-file` it starts from; tests/test_review_s36_cmds.py
  fixes that behaviour).
- `eval --adapter NAME=DIR` of a folder trained for another model, and `plot overlap --groups N`
  past the model's layer count, were refused only after the corpus build (minutes when none is
  cached).
- The server's /health counters were added to from the worker thread without the lock the
  request side holds when it drops cancelled jobs: `+=` from both sides could lose a count.
- `finetune --val-every 0` (validation off) still warned that valid.jsonl is missing ("no
  validation loss").
- `export --mask-source full --keep 0.5` wrote the whole model without a word (`generate` ran
  it, its footer saying 100%): the budget was silently ignored.
"""

import asyncio
import os
import time

import mlx_ifp
from mlx_ifp import UsageError
from mlx_ifp.cli.evaluate import eval_command
from mlx_ifp.cli.finetune import finetune_command
from mlx_ifp.serve.scheduler import Job, Scheduler
from mlx_ifp.train import finetune

import pytest
from test_finetune import Tok, cfg_for, make_data
from test_review_s32_cli import cli
from tiny import finetune_folder, save_folder, tiny_model

# --- 1. where a resumed run writes, as --help says it ----------------------------------------


def test_finetune_help_says_a_yaml_output_wins_over_the_resumed_folder():
    """The help named -o only; `-c run.yaml --resume COPY` writes to the YAML's output."""
    text = " ".join(finetune_command.__doc__.split())
    assert "unless -o or the --config YAML's output names another" in text, text


# --- 2. refused before the corpus build -------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_folder(tiny_model("llama"), tmp_path_factory.mktemp("s39") / "model")


def no_build(monkeypatch, tmp_path):
    import mlx_ifp.data

    built = []
    monkeypatch.setattr(mlx_ifp.data, "build", lambda *a, **k: built.append(1) or tmp_path)
    return built


def test_eval_adapter_of_another_model_is_refused_before_the_corpus_build(
    folder, tmp_path, monkeypatch
):
    """It was refused inside the evaluation, after the build of minutes."""
    other = finetune_folder(tiny_model("llama", seed=1), tmp_path / "ft", k=48)
    built = no_build(monkeypatch, tmp_path)
    with pytest.raises(UsageError, match="another model"):
        eval_command(model=str(folder), adapter=[f"ft={other}"], sources="full", limit=1)
    assert not built


def test_plot_overlap_groups_past_the_layers_is_refused_before_the_corpus_build(
    folder, tmp_path, monkeypatch
):
    """`--groups 10` of a 3-layer model: refused only inside the overlap, after the build."""
    built = no_build(monkeypatch, tmp_path)
    run = cli("plot", "overlap", "--model", folder, "-o", tmp_path / "o.png", "--groups", 10)
    assert run.returncode == 2, run.stderr
    assert run.stderr == "Error: --groups must be between 1 and 3\n", run.stderr
    assert not built


# --- 3. the server's counters ------------------------------------------------------------------


class SlowReads(dict):
    """A counter dict whose reads take a while: a `+=` outside the lock loses counts."""

    def __getitem__(self, key):
        value = super().__getitem__(key)
        time.sleep(0.002)
        return value


def test_health_counters_lose_no_count_across_threads():
    """The worker counted a job it cancelled without the lock; `pending()` (the request side:
    /health, every submit) counted the cancelled jobs it drops under it. Each job is counted
    once, by one side or the other, so the total must be every job."""
    sched = Scheduler(max_queue=10_000)
    sched.stats = SlowReads(sched.stats)
    loop = asyncio.new_event_loop()
    n = 40

    def selfcancelling():
        job = Job("a", lambda: iter(()), loop)

        def work():  # cancelled while it runs: the worker counts it
            job.cancel()
            yield "x"

        job.work = work
        return job

    sched.start()
    try:
        for _ in range(n):
            sched.submit(selfcancelling())
            gone = Job("b", lambda: iter(()), loop)
            gone.cancel()  # its client left while it waited: whoever sees it first counts it
            sched.submit(gone)
            sched.pending()
        deadline = time.time() + 60
        while sched.pending() and time.time() < deadline:
            time.sleep(0.01)
    finally:
        sched.close()
        loop.close()
    assert sched.stats["cancelled"] == 2 * n, dict(sched.stats)
    assert sched.stats["running"] == 0


# --- 4. no validation, no warning about its file -----------------------------------------------


def test_no_valid_jsonl_warning_with_validation_off(tmp_path, capsys):
    """`--val-every 0` has no validation loss, yet was told there would be none."""
    data = make_data(tmp_path / "d")
    os.remove(os.path.join(data, "valid.jsonl"))
    for val_every, warned in ((0, False), (1, True)):
        out = tmp_path / f"o{val_every}"
        finetune(cfg_for(data, out, iters=1, val_every=val_every), tiny_model("llama"), Tok())
        assert ("valid.jsonl is missing" in capsys.readouterr().err) is warned, val_every


# --- 5. a budget beside a source that keeps every channel -------------------------------------


@pytest.mark.parametrize("command", ["export", "generate", "chat"])
def test_keep_with_mask_source_full_is_refused(folder, tmp_path, monkeypatch, command):
    """`export` wrote the unpruned model as if --keep 0.5 had been taken; `generate` and
    `chat` ran it unpruned. Refused before the model loads, as other ignored flags are."""
    out = tmp_path / "slim"
    args = {"export": ["-o", out], "generate": ["-p", "t5", "-m", 2], "chat": []}[command]
    loads = []
    real = mlx_ifp.load
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: loads.append(1) or real(*a, **k))
    run = cli(command, "--model", folder, "--mask-source", "full", "--keep", "0.5", *args)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr.startswith("Error: --mask-source full keeps every channel"), run.stderr
    assert len(run.stderr.splitlines()) == 1 and not loads and not out.exists()


def test_mask_source_full_alone_or_at_keep_one_still_runs(folder, tmp_path):
    for i, keep in enumerate(([], ["--keep", "1.0"])):
        run = cli(
            "export", "--model", folder, "--mask-source", "full", *keep, "-o", tmp_path / f"{i}"
        )
        assert run.returncode == 0, run.stderr
    run = cli("generate", "--model", folder, "--mask-source", "full", "-p", "t5", "-m", 2)
    assert run.returncode == 0, run.stderr
