"""Model loading, `generate` and `info`: odd but plausible input found in the thirty-fourth
session's review to be read as something else, refused only after the slow work, or said in
the wrong words. Each refusal is one `Error:` line and exit code 2. No test reaches the network."""

import os
import subprocess
import sys
from pathlib import Path

import mlx_ifp
from mlx_ifp import UsageError

import mlx_lm
import pytest
import typer
from bad_world import never_called, no_model_load, one_error
from test_review_s32_cli import cli
from tiny import save_folder, tiny_model

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_folder(tiny_model("llama"), tmp_path_factory.mktemp("s34") / "model")


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


# ----------------------------------------------------------------- model names and load arguments


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_model_name_is_refused_not_read_as_the_current_folder(model, name, monkeypatch):
    """`--model "$M"` with M unset loaded whatever model folder the shell stood in (Path("") is
    "."), and elsewhere said "Error:  is not an mlx-lm model folder"."""
    monkeypatch.chdir(model)
    with pytest.raises(UsageError, match="model name is empty"):
        mlx_ifp.check_model(name)
    with pytest.raises(UsageError, match="model name is empty"):
        mlx_ifp.load(name)
    assert "model name is empty" in one_error(cli("generate", "--model", name, "-p", "t5"))


def test_a_file_that_is_not_a_gguf_is_not_called_a_folder(model):
    """`--model folder/config.json` said "... is not an mlx-lm model folder (no config.json)"."""
    with pytest.raises(UsageError, match="config.json is a file, not an mlx-lm model folder"):
        mlx_ifp.check_model(str(model / "config.json"))


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"dtype": "float64"}, "dtype must be"),
        ({"adapter_path": "/no/such/adapter"}, "adapter folder not found"),
        ({"adapter_path": "default"}, "no default adapter ships with"),
    ],
    ids=["dtype", "adapter-missing", "default-adapter-of-a-folder"],
)
def test_load_refuses_bad_arguments_before_loading_the_model(model, monkeypatch, kwargs, says):
    """They were refused only after mlx_lm.load had read the weights (and, for a .gguf or the
    embedded model, after the conversion had been written into the cache)."""
    monkeypatch.setattr(mlx_lm, "load", never_called)
    with pytest.raises(UsageError, match=says):
        mlx_ifp.load(str(model), **kwargs)


# ------------------------------------------------------------------------------------ generate


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--system-prompt", "be brief", "--ignore-chat-template"],
         ["--system-prompt", "--ignore-chat-template"]),
        (["--task", "math", "--repick", "4"], ["--repick", "--task"]),
        (["--task", ""], ["--task is empty"]),
    ],
    ids=["system-prompt-raw", "repick-with-task", "empty-task"],
)  # fmt: skip
def test_flags_that_cannot_go_together_are_refused_in_flag_words_before_the_load(
    model, monkeypatch, flags, says
):
    """Each was refused only after the model had loaded, in the API's words ("system_prompt,
    or chat_template=True", "repick re-picks...", "the prompt (or task) is empty")."""
    no_model_load(monkeypatch)
    line = one_error(cli("generate", "--model", model, "-p", "t5", *flags))
    assert all(s in line for s in says), line


def _help(command: str, param: str) -> str:
    group = typer.main.get_command(mlx_ifp.cli.app)
    (p,) = [p for p in group.commands[command].params if p.name == param]
    return " ".join(p.help.split())


def test_mask_source_help_names_the_shipped_predictor_as_the_embedded_default():
    """The help said "Default: predictor with --adapter, else griffin", but the default model
    runs its shipped predictor (+ LoRA) with neither flag given."""
    text = _help("generate", "mask_source")
    assert "shipped" in text


def test_max_tokens_help_says_minus_one_is_no_limit(model):
    """-m -1 runs to the end token (as the API and mlx-lm do); the help did not say so."""
    assert "-1" in _help("generate", "max_tokens")


def test_adapter_default_is_the_shipped_adapter_as_in_the_api(monkeypatch, tmp_path):
    """`--adapter default` loaded the shipped LoRA (load's "default") but read the predictor from
    ./default: "no predictor in <cwd>/default"."""
    seen = {}

    def fake_load(model, **kw):
        seen.update(kw)
        raise UsageError("stop here")

    monkeypatch.setattr(mlx_ifp, "load", fake_load)
    monkeypatch.chdir(tmp_path)
    assert "stop here" in one_error(cli("generate", "-p", "hi", "--adapter", "default"))
    from mlx_ifp.models import default_adapter

    assert seen["adapter_path"] == str(default_adapter("smollm2-135m-instruct"))


def test_adapter_default_of_a_model_without_one_is_refused_before_the_load(model, monkeypatch):
    no_model_load(monkeypatch)
    run = cli("generate", "--model", model, "-p", "t5", "--adapter", "default")
    assert "no default adapter ships with" in one_error(run)


def test_ctrl_c_during_the_reply_ends_its_line_before_the_error(model, monkeypatch):
    """Ctrl-C mid-reply left the cursor after the last piece: "...t5 t5Error: interrupted" on a
    terminal, where stdout and stderr share the screen."""
    from types import SimpleNamespace

    def interrupted(*_, **__):
        yield SimpleNamespace(text="t5 t6", token=5)  # (a response: its text and token)
        raise KeyboardInterrupt

    monkeypatch.setattr(mlx_ifp, "stream_generate", interrupted)
    run = cli("generate", "--model", model, "-p", "t5", "--mask-source", "griffin")
    assert run.returncode == 130 and "Error: interrupted" in run.stderr
    assert run.stdout == "t5 t6\n"


# ---------------------------------------------------------------------------------------- info


def test_info_reports_an_unusable_cache_instead_of_failing(tmp_path, monkeypatch):
    """`info` is where one looks when the cache is wrong; it stopped at the cache row with the
    error, showing nothing else."""
    (tmp_path / "a_file").write_text("x")
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "a_file" / "cache"))
    run = cli("info")
    assert run.returncode == 0, run.stderr
    (row,) = [line for line in run.stdout.splitlines() if line.startswith("cache ")]
    assert "a_file" in row and "cannot use" in row
    assert "shipped predictors" in run.stdout


@pytest.mark.parametrize("flags", [["--model", ""], ["--preset", " "]], ids=["model", "preset"])
def test_bench_refuses_an_empty_model_or_preset_before_benchmarking(monkeypatch, flags):
    """`bench --model ""` benchmarked the embedded default model, as if no model had been named
    (`--model "$M"` with M unset); `--preset ""` did the same."""
    import mlx_ifp.bench

    monkeypatch.setattr(mlx_ifp.bench, "bench", never_called)
    assert f"{flags[0]} is empty" in one_error(cli("bench", *flags))


# -------------------------------------------------------------------------------------- compat


@pytest.mark.parametrize(
    "statement",
    ["import mlx_ifp.ffn", "from mlx_ifp.ffn import count", "from mlx_ifp.sources import griffin"],
)
def test_an_old_import_path_warns_under_the_default_warning_filters(statement):
    """The warning was attributed to `sys:1` (an importlib frame), so Python's default filters,
    which show DeprecationWarning only for code in __main__, never showed it to a script."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env["PYTHONPATH"] = str(ROOT)
    run = subprocess.run(
        [sys.executable, "-c", statement], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "<string>:1: DeprecationWarning: mlx_ifp." in run.stderr, run.stderr
