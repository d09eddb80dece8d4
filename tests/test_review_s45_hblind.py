"""Review (s45, a task for a mask source that reads no text): refused, as `generate` refuses it.

- `mlx_ifp.generate(model, tok, prompt, mask_source="full", task="T")` (and `static`, `random`,
  `static-act`; `select(..., task=)`, `stream_generate(..., task=)`, a `Pruner` of such a source)
  ran with the source's one mask and the task read by nothing, not a word said, where
  `mlx_ifp generate --mask-source full --task T` is refused ("--mask-source full reads no text:
  leave out --task"). The API now refuses it in one `UsageError` line before any work.
- `mlx_ifp serve --mask-source static --tasks tasks.yaml` with a task text served that task with
  the base id's mask: the text was ignored without a word. It is now refused at start-up, before
  the model loads, in one line naming the task and the source (exit 2); a task given as a mask
  file is still served.

Every test here fails on the code it was written against, for the reason in its docstring,
except the two guards (a source that reads text still takes a task; a mask-file task is served).
"""

import mlx_ifp
from mlx_ifp import UsageError

import pytest
from test_review_s45_hserve4 import serve
from test_serve import word_tokenizer
from tiny import save_folder, tiny_model

PROMPT = "t1 t2 t3 t4"
TASK = "t5 t6 t7"
BLIND = ["full", "static", "random", "static-act"]


@pytest.fixture(scope="module")
def world():
    return tiny_model("llama"), word_tokenizer()


@pytest.mark.parametrize("source", BLIND)
def test_the_api_refuses_a_task_for_a_source_that_reads_no_text(world, source):
    """`generate`/`stream_generate`/`select(..., mask_source=S, task=T)` ran with S's one mask."""
    model, tok = world
    for call in (
        lambda: mlx_ifp.generate(model, tok, PROMPT, max_tokens=2, mask_source=source, task=TASK),
        lambda: next(mlx_ifp.stream_generate(model, tok, PROMPT, mask_source=source, task=TASK)),
        lambda: mlx_ifp.select(model, tok, task=TASK, mask_source=source),
    ):
        with pytest.raises(UsageError) as e:
            call()
        assert str(e.value) == f"mask_source={source!r} reads no text: leave out task="


def test_a_pruner_or_an_instance_that_reads_no_text_refuses_a_task_too(world):
    """A `Pruner` of `static`, or a source instance, took the task and ignored it as well."""
    model, tok = world
    pruner = mlx_ifp.Pruner(model, tok, "static", keep=0.5)
    with pytest.raises(UsageError, match="^mask_source='static' reads no text: leave out task=$"):
        mlx_ifp.select(model, tok, task=TASK, pruner=pruner)
    full = mlx_ifp.make_source("full")
    with pytest.raises(UsageError, match="reads no text: leave out task="):
        mlx_ifp.generate(model, tok, PROMPT, max_tokens=2, mask_source=full, task=TASK)


def test_a_source_that_reads_text_still_takes_a_task(world):
    """Guard: griffin (and the default source) prune for the task, as before."""
    model, tok = world
    info = mlx_ifp.select(model, tok, task=TASK, mask_source="griffin")[1]
    assert info.mask.k < info.mask.d_ffn
    assert mlx_ifp.generate(model, tok, PROMPT, max_tokens=2, task=TASK) is not None


def test_serve_refuses_a_task_text_for_a_source_that_reads_no_text(tmp_path, monkeypatch):
    """`serve --mask-source static --tasks F` served task `code` with the base id's mask."""
    folder = tmp_path / "m"
    save_folder(tiny_model("llama"), folder)
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text(f"code: {TASK}\n")
    run, registry = serve(monkeypatch, folder, "--mask-source", "static", "--tasks", str(tasks))
    assert run.exit_code == 2 and registry is None, run.output
    lines = run.output.strip().splitlines()
    assert lines[-1] == (
        "Error: task 'code' is a task text: --mask-source static reads no text (give the task "
        "a mask file, or name a source that reads text)"
    ), run.output
    assert "Traceback" not in run.output


def test_serve_still_takes_a_mask_file_task_for_such_a_source(tmp_path, monkeypatch):
    """Guard: a task given as a mask file is served at its width beside `--mask-source static`."""
    folder = tmp_path / "m"
    save_folder(tiny_model("llama"), folder)
    model, tok = mlx_ifp.load(str(folder))
    mask = mlx_ifp.select(model, tok, PROMPT, keep=0.25, mask_source="griffin")[1].mask
    mask.save(str(tmp_path / "quarter"))
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text("quarter: {mask: quarter.safetensors}\n")
    run, registry = serve(monkeypatch, folder, "--mask-source", "static", "--tasks", str(tasks))
    assert run.exit_code == 0, run.output
    assert registry.resolve(f"{registry.model_id}:quarter").mask.k == mask.k == 24
