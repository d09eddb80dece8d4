"""Review (s39, --task): `generate --task T` with a mask source that reads no text.

Each test marked so failed on the code it was written against, for the reason in its docstring.

- `generate --mask-source static --task T` (or static-act, random, full: any source whose
  `uses_text` is False) ran, the task silently ignored (the mask is the same without it), where
  `export` refuses it ("--mask-source static reads no text: leave out --task").
- `chat` takes no `--task` (its mask comes from the first message): refused by the parser.
"""

import mlx_ifp

import pytest
from test_review_s32_cli import cli
from tiny import save_folder, tiny_model


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_folder(tiny_model("llama"), tmp_path_factory.mktemp("s39t") / "model")


def counted_loads(monkeypatch):
    loads = []
    real = mlx_ifp.load
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: loads.append(1) or real(*a, **k))
    return loads


@pytest.mark.parametrize("source", ["static", "static-act", "random", "full"])
def test_generate_refuses_a_task_the_source_does_not_read(folder, monkeypatch, source):
    """Was exit 0: the reply generated with the task ignored. Now one line, exit 2, as export
    says it, before the model loads."""
    loads = counted_loads(monkeypatch)
    run = cli("generate", "--model", folder, "--mask-source", source, "--task", "math",
              "-p", "t5", "-m", 2)  # fmt: skip
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr == f"Error: --mask-source {source} reads no text: leave out --task\n"
    assert not loads


def test_generate_refuses_a_task_file_the_source_does_not_read(folder, tmp_path, monkeypatch):
    """`--task @FILE` (the task's example prompts) too."""
    examples = tmp_path / "task.txt"
    examples.write_text("t5 t17\nt3 t99\n")
    loads = counted_loads(monkeypatch)
    run = cli("generate", "--model", folder, "--mask-source", "static", "--task", f"@{examples}",
              "-p", "t5", "-m", 2)  # fmt: skip
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr == "Error: --mask-source static reads no text: leave out --task\n"
    assert not loads


def test_generate_still_takes_a_task_for_a_source_that_reads_it(folder):
    """The default (GRIFFIN on a model with no predictor) and a named griffin read the task;
    static without --task still runs."""
    for args in ([], ["--mask-source", "griffin"]):
        run = cli("generate", "--model", folder, *args, "--task", "math", "-p", "t5", "-m", 2)
        assert run.returncode == 0, run.stderr
    run = cli("generate", "--model", folder, "--mask-source", "static", "-p", "t5", "-m", 2)
    assert run.returncode == 0, run.stderr


def test_chat_takes_no_task(folder, monkeypatch):
    """`chat` has no --task (the first message is the task): the parser refuses it (a guard,
    not a failing-first case), before the model loads."""
    loads = counted_loads(monkeypatch)
    run = cli("chat", "--model", folder, "--mask-source", "static", "--task", "math")
    assert run.returncode == 2 and "--task" in run.stderr and not loads, run.stderr
