"""`generate`, `export`, `info`, `plot` and `eval`: odd but plausible input found in the
thirty-second session's review to give a traceback, to be refused only after the work, or to be
silently read as something else. Each refusal is one `Error:` line and exit code 2."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from mlx_ifp.cli import app
from mlx_ifp.evaluation import instructions

import pytest
from bad_world import one_error
from corpus import fake_corpus
from tiny import save_folder, tiny_model
from typer.testing import CliRunner

LONG = "n" * 300  # longer than any file system takes as one name (255 bytes)
BAD_UTF8 = "t5 \udcff"  # argv bytes b"t5 \xff" as Python decodes them (surrogateescape)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("s32cli")
    with pytest.MonkeyPatch.context() as mp:
        corpus = fake_corpus(root, mp)
    return {"model": save_folder(tiny_model("llama"), root / "model"), "corpus": corpus}


def cli(*args, cwd: Path | None = None):
    """The CLI in-process; a result ``one_error`` reads (an uncaught exception is exit code 1)."""
    old = Path.cwd()
    os.chdir(cwd or old)
    try:
        run = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    finally:
        os.chdir(old)
    if run.exception is not None and not isinstance(run.exception, SystemExit):
        raise run.exception  # a traceback: show it
    return SimpleNamespace(returncode=run.exit_code, stderr=run.stderr, stdout=run.stdout)


# ------------------------------------------------ text that is not UTF-8, names that are too long


@pytest.mark.parametrize(
    "args, flag",
    [
        (["generate", "-p", BAD_UTF8], "--prompt"),
        (["generate", "-p", "t5", "--task", BAD_UTF8], "--task"),
        (["generate", "-p", "t5", "--system-prompt", BAD_UTF8], "--system-prompt"),
        (["export", "-o", "out", "--prompt", BAD_UTF8], "--prompt"),
        (["export", "-o", "out", "--task", BAD_UTF8], "--task"),
    ],
    ids=["generate-prompt", "generate-task", "generate-system", "export-prompt", "export-task"],
)
def test_text_that_is_not_utf8_is_one_error_line(world, tmp_path, args, flag):
    """Was the tokenizer's `TypeError: TextEncodeInput must be Union[...]` traceback."""
    extra = ["-m", "2"] if args[0] == "generate" else ["--keep", "0.5"]
    run = cli(args[0], "--model", world["model"], *args[1:], *extra, cwd=tmp_path)
    assert f"{flag} is not UTF-8 text" in one_error(run)
    assert list(tmp_path.iterdir()) == []


def test_argv_bytes_that_are_not_utf8_end_to_end(world):
    run = subprocess.run(
        [sys.executable.encode(), b"-m", b"mlx_ifp", b"generate", b"--model",
         str(world["model"]).encode(), b"-p", b"t5 \xff t6", b"-m", b"2"],
        capture_output=True, timeout=300, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert "--prompt is not UTF-8 text" in one_error(run)


@pytest.mark.parametrize(
    "args",
    [
        ["info", "--model", LONG],
        ["generate", "--model", LONG, "-p", "hi"],
        ["generate", "--model", "{model}", "-p", "t5", "--mask", LONG],
        ["generate", "--model", "{model}", "-p", "t5", "--task", "@" + LONG],
        ["export", "--model", "{model}", "-o", LONG, "--keep", "0.5"],
        ["plot", "quality", "--report", "r.json", "-o", LONG + ".png"],
    ],
    ids=["info-model", "generate-model", "generate-mask", "generate-task-file", "export-output",
         "plot-output"],
)  # fmt: skip
def test_a_file_name_too_long_is_one_error_line(world, tmp_path, args):
    """Was `OSError: [Errno 36] File name too long` from `Path.exists()`, a traceback."""
    run = cli(*[a.replace("{model}", str(world["model"])) for a in args], cwd=tmp_path)
    assert "file name too long" in one_error(run)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------ export: which model


@pytest.mark.parametrize(
    "flag", ["--prompt", "--task", "--mask", "--mask-source"], ids=lambda f: f.strip("-")
)
def test_export_with_an_empty_selection_flag_is_refused(world, tmp_path, flag):
    """`--prompt ""` (an unset shell variable) exported the whole unpruned model, exit 0."""
    run = cli("export", "--model", world["model"], "-o", tmp_path / "slim", flag, "")
    assert f"{flag} is empty" in one_error(run)
    assert list(tmp_path.iterdir()) == []


def test_export_with_only_a_mask_source_is_slim(world, tmp_path):
    """`--mask-source static` alone was ignored: the whole model, not the slim one at the
    default keep 0.5 its help promises ("static without [--task or --prompt]")."""
    run = cli("export", "--model", world["model"], "-o", tmp_path / "s", "--mask-source", "static")
    assert run.returncode == 0, run.stderr
    config = json.loads((tmp_path / "s" / "config.json").read_text())
    assert config["intermediate_size"] == 48 and config["mlx_ifp"]["mask_source"] == "static"
    run = cli("export", "--model", world["model"], "-o", tmp_path / "g", "--mask-source", "griffin")
    assert "selects from text" in one_error(run)
    assert not (tmp_path / "g").exists()


# --------------------------------------------------------------------- generate: --(save-)mask


def test_generate_save_mask_onto_a_folder_sidecar_is_refused_before_generating(world, tmp_path):
    """Only the .safetensors was checked first: with `m.json` a folder the reply was generated
    and printed, then the save failed."""
    (tmp_path / "m.json").mkdir()
    run = cli("generate", "--model", world["model"], "-p", "t5 t6", "-m", "3", "--save-mask",
              tmp_path / "m")  # fmt: skip
    assert "m.json is a folder" in one_error(run)
    assert run.stdout == ""  # nothing generated
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


@pytest.mark.parametrize("flag", ["--mask", "--save-mask", "--mask-source", "--adapter"])
def test_generate_with_an_empty_mask_flag_is_refused(world, flag):
    """`--mask ""` ran GRIFFIN instead, `--save-mask ""` saved nothing: both silently."""
    run = cli("generate", "--model", world["model"], "-p", "t5", "-m", "2", flag, "")
    assert f"{flag} is empty" in one_error(run)
    assert run.stdout == ""


# ------------------------------------------------------------------------------ eval and plot


def eval_rows(world, tmp_path, *extra, sources="full,random"):
    out = tmp_path / "r.json"  # (a repeated --mask-sources adds up since the s45 review)
    run = cli("eval", "--model", world["model"], "--data", world["corpus"], "--domains", "math",
              "--mask-sources", sources, "--limit", "2", "--gen-limit", "0", "-o", out,
              *extra)  # fmt: skip
    assert run.returncode == 0, run.stderr
    return [(r["source"], r["k"], r["mode"]) for r in json.loads(out.read_text())["results"]]


def test_eval_modes_both_as_its_help_says(world, tmp_path):
    """`--modes` says "input, task or both"; `both` was `unknown mode 'both'`."""
    rows = eval_rows(world, tmp_path, "--keep", "0.5", "--modes", "both", sources="griffin")
    assert rows == [("griffin", 48, "input"), ("griffin", 48, "task")]


def test_eval_one_budget_spelled_twice_runs_once(world, tmp_path):
    """`--keep 0.5,.5` evaluated the same budget twice: two identical rows per source."""
    rows = eval_rows(world, tmp_path, "--keep", "0.5,.5,0.50", "--modes", "input")
    assert rows == [("full", 96, "static"), ("random", 48, "static")]


def test_plot_overlap_records_the_prompts_it_compared(world, tmp_path):
    """`-n 1000` on a split of a few items: the JSON and the title said 1000 prompts."""
    out = tmp_path / "o.png"
    run = cli("plot", "overlap", "--model", world["model"], "--data", world["corpus"], "-o", out,
              "-n", "1000", "--mask-source", "random")  # fmt: skip
    assert run.returncode == 0, run.stderr
    result = json.loads(out.with_suffix(".json").read_text())
    counts = {d: len(instructions(world["corpus"], d)) for d in result["domains"]}
    assert result["n_per_domain"] == counts and result["n"] == max(counts.values()) < 1000


# ------------------------------------------------ a saved predictor mask brings its LoRA back


def test_a_mask_a_trained_predictor_picked_runs_with_that_predictors_lora(world, tmp_path):
    """`--save-mask` from a predictor + LoRA, then `--mask` alone: the same slim model (its
    LoRA applied), so the same greedy reply; it used to run the bare model's slice."""
    import mlx_ifp

    from tiny import finetune_folder

    adapter = finetune_folder(mlx_ifp.load(str(world["model"]))[0], tmp_path / "adapter", 48)
    common = ["generate", "--model", world["model"], "-p", "t5 t6 t7", "-m", "6", "--repick", "0"]
    first = cli(*common, "--adapter", adapter, "--save-mask", tmp_path / "m")
    assert first.returncode == 0, first.stderr
    again = cli(*common, "--mask", tmp_path / "m")
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert "with its lora LLM weights applied" in again.stderr
