"""The forty-third session's review of `bench`, `plot`, `info`, `chat` and the examples: each
test failed before its fix; all but the chat ones run on tiny random models."""

import mlx_ifp  # first: the optimized BLAS before mlx.core
import mlx_ifp.models
from mlx_ifp.bench import run as bench_run

import mlx.core as mx
import mlx.nn as nn
import mlx_lm
import pytest
from tiny import save_folder
from tiny import tiny_model as tiny


def _as(model, dtype):
    model.update(
        nn.utils.tree_map(
            lambda p: p.astype(dtype) if mx.issubdtype(p.dtype, mx.floating) else p,
            model.parameters(),
        )
    )
    return model


def test_bench_e_runs_the_folder_through_mlx_ifp_in_the_dtype_mlx_lm_runs_it(tmp_path, monkeypatch):
    """`bench --dtype bfloat16` (or float16) on CPU: (e) timed the exported folder through
    mlx_lm in bfloat16 but through mlx_ifp in float32 (`load`'s CPU default), so its "mlx_ifp
    / mlx_lm decode, same folder" ratio measured the dtype (1.32 on SmolLM2 here)."""
    src = save_folder(_as(tiny(), mx.bfloat16), tmp_path / "src")
    net, tok = mlx_ifp.load(str(src), dtype="bfloat16")  # as `bench --dtype bfloat16` loads
    slim, _ = mlx_ifp.select(net, tok, task="t5 t6 t7", mask_source="griffin", keep=0.5)
    seen = {}
    real_lm, real_ifp = mlx_lm.load, mlx_ifp.models.load

    def spy(name, real):
        def load(*args, **kwargs):
            out = real(*args, **kwargs)
            seen.setdefault(name, bench_run._dtype(out[0]))  # (mlx_ifp's own load calls mlx_lm's)
            return out

        return load

    monkeypatch.setattr(mlx_ifp.models, "load", spy("mlx_ifp", real_ifp))
    monkeypatch.setattr(mlx_lm, "load", spy("mlx_lm", real_lm))
    out = bench_run._exported(slim, tok, [3, 4, 5, 6], 2, 1, lambda _: None)
    assert {"e_mlx_lm", "e_mlx_ifp"} <= out.keys()
    assert seen == {"mlx_lm": mx.bfloat16, "mlx_ifp": mx.bfloat16}, seen


class _Stop(Exception):
    pass


def test_bench_says_what_it_loads_before_the_silent_load(monkeypatch):
    """`bench --model qwen2.5-coder-1.5b-instruct` (the README's command) loaded for 23 s, and
    `--preset 1b` built its random weights for 19 s, with nothing on the terminal: the first
    line came after it, "[  23.3s] (a) dense source"."""
    for kwargs, word in ((dict(preset="tiny"), "tiny"), (dict(model="some-model"), "some-model")):
        lines, before = [], []

        def build(*args, lines=lines, before=before, **kw):
            before.extend(lines)
            raise _Stop

        monkeypatch.setattr(bench_run, "build", build)
        try:
            bench_run.bench(**kwargs, prompt_tokens=8, gen_tokens=2, trials=1, log=lines.append)
        except _Stop:
            pass
        assert any(word in line for line in before), before


def test_a_served_task_naming_a_mask_saved_in_the_current_folder_is_not_its_text(
    tmp_path, monkeypatch
):
    """examples/serve_tasks.yaml takes "the path of a saved mask (`mlx_ifp generate
    --save-mask NAME`)". After the README's `generate ... --save-mask python_task` (in the
    repository root), `py: python_task` in that file was served as the task text
    "python_task" without a word: relative paths are relative to the YAML (examples/), and a
    bare name found nowhere is a task text; the mask was picked from the file's name."""
    from mlx_ifp.common import UsageError
    from mlx_ifp.serve.registry import read_tasks

    (tmp_path / "python_task.safetensors").write_bytes(b"x")  # `--save-mask python_task`
    (tmp_path / "python_task.json").write_text("{}")
    (tmp_path / "examples").mkdir()
    yaml = tmp_path / "examples" / "tasks.yaml"
    yaml.write_text("py: python_task\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="current folder"):
        read_tasks(yaml)
    yaml.write_text("py: ../python_task\ncode: python\n")  # relative to the YAML; a plain word
    assert read_tasks(yaml) == {
        "py": {"mask": str(tmp_path / "examples" / "../python_task.safetensors")},
        "code": {"task": "python"},
    }
