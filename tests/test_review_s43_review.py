"""Review (s43) of the forty-third session's own fixes: a local folder named like an embedded
model, and ``is_embedded`` now looking at the file system.

Each test failed on the code it was written against, for the reason in its docstring.
"""

import errno
import os

import mlx_ifp
from mlx_ifp.cli import app
from mlx_ifp.inference.pruner import default_source
from mlx_ifp.models import embedded

from tiny import save_folder, tiny_model
from typer.testing import CliRunner


def test_a_local_folder_named_like_the_embedded_model_stays_itself_after_a_chdir(
    tmp_path, monkeypatch
):
    """`load("SmolLM2-135M-Instruct")` of that folder here, then `os.chdir` elsewhere (a
    notebook's `%cd`): the default source was decided again from the new folder, found no folder
    of the name there and took the *embedded* model's shipped predictor + LoRA: `generate` then
    failed with "the adapters in .../weights/smollm2-135m-instruct were trained for another
    model", exit 2 (a real Hugging Face copy of the model: the same refusal, by its hash)."""
    monkeypatch.chdir(tmp_path)
    save_folder(tiny_model("llama"), tmp_path / "SmolLM2-135M-Instruct")
    model, tok = mlx_ifp.load("SmolLM2-135M-Instruct")
    assert default_source(model) == ("griffin", None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert default_source(model) == ("griffin", None)  # was the shipped predictor
    text = mlx_ifp.generate(model, tok, "t5 t6 t7", max_tokens=3)
    assert text == mlx_ifp.generate(model, tok, "t5 t6 t7", max_tokens=3, mask_source="griffin")


def test_the_embedded_model_keeps_its_predictor_after_a_chdir(tmp_path, monkeypatch):
    """`load("smollm2-135m-instruct")` (the embedded model), then `os.chdir` into a folder that
    holds an mlx-lm folder of that name (an export, `convert -o smollm2-135m-instruct`): the
    loaded embedded model lost its shipped predictor, pruned by GRIFFIN instead."""
    model, _ = mlx_ifp.load("smollm2-135m-instruct")
    shipped = default_source(model)
    assert shipped[0] == "predictor"
    monkeypatch.chdir(tmp_path)
    save_folder(tiny_model("llama"), tmp_path / "smollm2-135m-instruct")
    assert default_source(model) == shipped  # was ("griffin", None)


def test_is_embedded_of_any_name_never_raises(monkeypatch):
    """`is_embedded` stat-ed `NAME/config.json` before it looked at the name: a 300-character
    name raised `OSError: [Errno 36] File name too long`, `~nouser/x` a `RuntimeError` (also
    `default_adapter`, which the API calls on any model name); before the session both were
    False. A folder the user may not search (not root: `PermissionError`) failed every use of
    the embedded default."""
    long_name = "a" * 300
    for name in (long_name, f"{long_name}/b", "~nouser_s43_review/x"):
        assert embedded.is_embedded(name) is False
        assert embedded.default_adapter(name) is None
    real_stat = os.stat

    def denied(path, *args, **kwargs):
        if str(path).endswith("config.json"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", denied)
    assert embedded.is_embedded("smollm2-135m-instruct") is True


def test_a_model_path_of_an_unknown_user_is_one_line():
    """`generate --model '~nouser/m'` (a home folder of no user): a `RuntimeError: Could not
    determine home directory.` traceback, exit 1 (as `--adapter ~nouser/a`, `-o ~nouser/x`)."""
    for args in (
        ("generate", "--model", "~nouser_s43_review/m", "-p", "hi", "-m", "1"),
        ("info", "--model", "~nouser_s43_review/m"),
    ):
        run = CliRunner().invoke(app, list(args))
        assert run.exit_code == 2, (args, run.output, run.exception)
        assert "~nouser_s43_review" in run.output and "Traceback" not in run.output
        assert "home" in run.output
