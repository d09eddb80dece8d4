"""Review (s36): what `generate` says and does with a given mask or a named predictor.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import os
import socket
import subprocess
import sys

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.core.prompt import encode
from mlx_ifp.inference.generation import footer, select, stream_generate

import pytest
from tiny import endless_tokenizer, tiny_model

PROMPT = " ".join(f"t{i}" for i in [5, 17, 3, 99, 42, 8, 61, 7])


def test_a_given_mask_is_not_reported_as_selected():
    """With ``mask=`` nothing is selected, yet the footer said "computed: select 0.0 ms"."""
    model, tok = tiny_model("llama"), endless_tokenizer()
    mask = select(model, tok, encode(tok, PROMPT), keep=0.5)[1].mask
    *_, last = stream_generate(model, tok, PROMPT, 3, chat_template=False, mask=mask)
    line = next(x for x in footer(last) if x.startswith("Mask:"))
    assert "given" in line and "select" not in line and "computed" not in line, line
    again = list(stream_generate(model, tok, PROMPT, 2, chat_template=False, mask=mask))[-1]
    assert "given, cache hit" in next(x for x in footer(again) if x.startswith("Mask:"))
    fresh = list(stream_generate(model, tok, PROMPT + " t2", 2, chat_template=False, keep=0.5))[-1]
    assert "computed: select" in next(x for x in footer(fresh) if x.startswith("Mask:"))


def cli(*args):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "mlx_ifp", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.real
def test_naming_the_predictor_uses_the_shipped_one(smollm2_dir):
    """``--mask-source predictor`` on the embedded model (which ships one) was refused with
    "needs the adapter folder (--adapter DIR)", though the default already runs it."""
    run = cli("generate", "-p", "What is the capital of France?", "--mask-source", "predictor",
              "-m", "12")  # fmt: skip
    assert run.returncode == 0, run.stderr[-1500:]
    assert "Mask: predictor(" in run.stderr and "with its lora LLM weights" in run.stderr


def test_a_predictor_with_no_folder_says_how_to_give_one_in_python():
    """The Python API's refusal named only the CLI's ``--adapter DIR``."""
    model, tok = tiny_model("llama"), endless_tokenizer()
    with pytest.raises(mlx_ifp.UsageError, match="adapter_path=DIR"):
        mlx_ifp.Pruner(model, tok, keep=0.5, source="predictor")


def _serve(monkeypatch, *args):
    """``mlx_ifp serve ARGS`` in-process, with a tiny model loaded and no server started."""
    from mlx_ifp.cli import app

    import uvicorn
    from typer.testing import CliRunner

    loads = []

    def load(*a, **k):
        loads.append(k.get("adapter_path"))
        return tiny_model("llama"), endless_tokenizer()

    def never_serve(self, *a, **k):
        raise AssertionError("the server started")

    monkeypatch.setattr(mlx_ifp, "load", load)
    monkeypatch.setattr(uvicorn.Server, "run", never_serve)
    with socket.socket() as s:  # a free port
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    return CliRunner().invoke(app, ["serve", "--port", port, *args]), loads


def test_serve_with_the_predictor_named_serves_the_shipped_one(monkeypatch):
    """``serve`` has no ``--adapter``, and ``--mask-source predictor`` loaded no predictor: the
    server then failed with "needs the adapter folder (--adapter DIR)", a flag it lacks."""
    import mlx_ifp.serve

    seen = []

    def registry(*a, **k):  # the model is loaded as it is; its pruners take the shipped one
        seen.append(k["mask_source"])
        raise mlx_ifp.UsageError("stop here")

    monkeypatch.setattr(mlx_ifp.serve, "Registry", registry)
    _, loads = _serve(monkeypatch, "--mask-source", "predictor")
    assert loads == [None] and seen == ["predictor"], (loads, seen)


def test_serve_with_the_predictor_named_for_a_model_without_one_is_one_line(monkeypatch, tmp_path):
    run, loads = _serve(monkeypatch, "--mask-source", "predictor", "--model", str(tmp_path))
    assert run.exit_code == 2 and "ships no predictor" in run.output, run.output
    run, loads = _serve(monkeypatch, "--mask-source", "predictor", "--keep", "1.0")
    assert run.exit_code == 2 and "keeps every channel" in run.output, run.output  # (review)
    assert not loads


def test_a_reply_stops_at_the_models_context():
    """``stream_generate`` checked only the prompt against the context: a reply asked past it
    ran on, past the positions the model was trained for (the server answered a 400)."""
    import warnings

    from mlx_ifp.inference import ContextFull

    model, tok = tiny_model("llama", max_position_embeddings=24), endless_tokenizer()
    n = len(encode(tok, PROMPT))
    run = dict(chat_template=False, keep=1.0)
    with pytest.warns(ContextFull, match="stops at the model's context"):
        rs = list(stream_generate(model, tok, PROMPT, 100, **run))
    assert len(rs) == 24 - n
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no limit asked for: no warning, and the same stop
        assert len(list(stream_generate(model, tok, PROMPT, -1, **run))) == 24 - n
        assert len(list(stream_generate(model, tok, PROMPT, 24 - n, **run))) == 24 - n
        # (s43) qwen2's cache rotates under max_kv_size; llama's own cache never does
        qwen2 = tiny_model("qwen2", max_position_embeddings=24)
        rotating = list(stream_generate(qwen2, tok, PROMPT, 30, max_kv_size=16, **run))
    assert len(rotating) == 30  # a rotating cache: the caller's choice to run past it
    with pytest.warns(ContextFull):  # (the review) one that rotates only past the context
        assert len(list(stream_generate(qwen2, tok, PROMPT, 30, max_kv_size=64, **run))) == 24 - n
    from mlx_lm.models.cache import make_prompt_cache

    cache = make_prompt_cache(model)
    list(stream_generate(model, tok, PROMPT, 4, prompt_cache=cache, **run))
    held = cache[0].offset
    with pytest.warns(ContextFull):  # what the given cache holds counts too
        rs = list(stream_generate(model, tok, PROMPT, 100, prompt_cache=cache, **run))
    assert held > n and len(rs) == 24 - held - n


def test_generate_says_the_context_stop_in_one_line(monkeypatch):
    """What the CLI shows of a library warning was Python's two-line ``file:line: Category``."""
    from mlx_ifp.cli import app

    from typer.testing import CliRunner

    model = tiny_model("llama", max_position_embeddings=24)
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (model, endless_tokenizer()))
    args = ["generate", "-p", PROMPT, "-m", "100", "--keep", "1.0", "--mask-source", "griffin"]
    run = CliRunner().invoke(app, [*args, "--ignore-chat-template"])
    assert run.exit_code == 0, (run.output, run.exception)
    lines = [x for x in run.output.splitlines() if "context" in x]
    assert lines and lines[0].startswith("Warning: the reply stops"), run.output
    assert "ContextFull" not in run.output and "warnings.warn" not in run.output


def test_a_task_and_a_mask_together_are_refused():
    """With ``mask=`` and ``task=`` the task was silently ignored (the CLI refuses the pair)."""
    model, tok = tiny_model("llama"), endless_tokenizer()
    mask = select(model, tok, encode(tok, PROMPT), keep=0.5)[1].mask
    with pytest.raises(mlx_ifp.UsageError, match="a task or a mask"):
        select(model, tok, task="t1 t2", mask=mask)
    with pytest.raises(mlx_ifp.UsageError, match="a task or a mask"):
        list(stream_generate(model, tok, PROMPT, 2, task="t1 t2", mask=mask))


@pytest.mark.parametrize("kw", [{"system_prompt": 5}, {"chat_template": "no"}])
def test_a_system_prompt_or_template_flag_of_another_type_is_refused(kw):
    """``system_prompt=5`` was accepted and ``chat_template="no"`` read as True."""
    model, tok = tiny_model("llama"), endless_tokenizer()
    with pytest.raises(mlx_ifp.UsageError, match="system_prompt must be a str"):
        list(stream_generate(model, tok, PROMPT, 2, keep=1.0, **kw))


def test_numpy_numbers_are_taken_as_mlx_lm_takes_them():
    """``max_tokens=np.int64(3)``, ``temp=np.float32(0)``: refused as not numbers."""
    import numpy as np

    model, tok = tiny_model("llama"), endless_tokenizer()
    kw = dict(chat_template=False, keep=1.0, temp=np.float32(0.5), top_k=np.int64(5))
    rs = list(stream_generate(model, tok, PROMPT, np.int64(3), **kw))
    assert len(rs) == 3
    kw = dict(keep=0.5, mask_source="griffin", repick=np.int64(2), chat_template=False)
    kw.update(repetition_penalty=np.float32(1.1), repetition_context_size=np.int64(8))
    assert len(list(stream_generate(model, tok, PROMPT, 4, **kw))) == 4  # (the review's)


@pytest.mark.parametrize("mlx", [False, True])
def test_a_full_disk_is_one_line_not_a_traceback(monkeypatch, tmp_path, mlx):
    """A write the file system refuses (a full disk) ended ``generate --save-mask`` with a
    traceback; MLX's own writer words it as a ``RuntimeError`` (the review reproduced it on a
    full tmpfs: "[write] Unable to write 8 bytes to file.")."""
    import errno

    from mlx_ifp.cli import app

    import mlx.core as mx
    from typer.testing import CliRunner

    def full(path, *a, **k):
        if mlx:
            raise RuntimeError("[write] Unable to write 8 bytes to file.")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    model = tiny_model("llama")
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (model, endless_tokenizer()))
    monkeypatch.setattr(mx, "save_safetensors", full)
    out = tmp_path / "m.safetensors"
    args = [
        "generate",
        "-p",
        PROMPT,
        "-m",
        "2",
        "--mask-source",
        "griffin",
        "--save-mask",
        str(out),
    ]
    run = CliRunner().invoke(app, [*args, "--ignore-chat-template"])
    assert run.exit_code == 2, (run.output, run.exception)
    said = "Unable to write" if mlx else "No space left"
    assert "Error: cannot write" in run.output and said in run.output, run.output
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_a_file_that_cannot_be_read_is_not_said_to_be_unwritable(monkeypatch, tmp_path):
    """(the review) Permission denied on reading ``--task @FILE`` was reported as "cannot
    write"."""
    import errno

    from mlx_ifp.cli import app
    from mlx_ifp.cli import generate as cli_generate

    from typer.testing import CliRunner

    def denied(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    model = tiny_model("llama")
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (model, endless_tokenizer()))
    monkeypatch.setattr(cli_generate, "task_examples", denied)
    task = tmp_path / "t.txt"
    run = CliRunner().invoke(app, ["generate", "-p", PROMPT, "--task", f"@{task}"])
    assert run.exit_code == 2, (run.output, run.exception)
    assert "Permission denied" in run.output and "cannot write" not in run.output, run.output


def test_two_threads_building_one_pruner_share_the_first(monkeypatch):
    """(the session's review) Two threads that both missed the shared registry each built a
    Pruner and kept their own: two caches (and two LoRA copies) for one model and budget."""
    import threading

    from mlx_ifp.inference import generation as gen

    both = threading.Barrier(2)

    class Slow(gen.Pruner):  # both threads are inside the build at once
        def __init__(self, *a, **k):
            both.wait(10)
            super().__init__(*a, **k)

    monkeypatch.setattr(gen, "Pruner", Slow)
    model, tok = tiny_model("llama"), endless_tokenizer()
    got = []
    threads = [
        threading.Thread(target=lambda: got.append(gen.get_pruner(model, tok, "griffin", 0.25)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(got) == 2 and got[0] is got[1]
    assert gen.get_pruner(model, tok, "griffin", 0.25) is got[0]
    gen.forget(model)
