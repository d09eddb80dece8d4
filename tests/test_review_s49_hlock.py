"""Forty-ninth session review (helper hlock).

GGUF import: a llama or qwen2 file whose ``{arch}.rope.dimension_count`` is not the head size
(rope over part of each head) converted without a word, and mlx-lm then ropes the whole head: a
silently different model. It is now refused in one line from the header, before any tensor is
read (llama.cpp refuses it for llama, "invalid n_rot").

``mlx_ifp data build``: two builds at once into the same folder both did the whole work and
raced in the final folder swap. They now take turns on the cache lock GGUF conversion uses
(``common.cache_lock``): the second says so, naming the first's pid, waits, then reuses the
first's folder; a lock file left by a dead process stops no one.
"""

import hashlib
import json
import os
import subprocess
import sys
import threading

from mlx_ifp import common
from mlx_ifp.common import UsageError
from mlx_ifp.data import corpus as data
from mlx_ifp.models import gguf

import mlx.core as mx
import pytest
from corpus import fake_sources
from test_gguf import tiny_model, write_gguf
from test_review_s47_hlock import set_when_one_waits_on_a_lock

# --------------------------------------------------------------- lead 1: partial rope in GGUF


def with_rope(tmp_path, arch: str, dims: int):
    """The tiny model's GGUF (head size 64 / 4 = 16) with ``{arch}.rope.dimension_count``."""
    path = write_gguf(tiny_model(arch), tmp_path / f"{arch}.gguf", arch=arch)
    arrays, meta = mx.load(str(path), return_metadata=True)
    meta[f"{arch}.rope.dimension_count"] = mx.array(dims, dtype=mx.uint32)
    mx.save_gguf(str(path), arrays, meta)
    return path


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_partial_rope_is_refused_from_the_header(tmp_path, monkeypatch, arch):
    path = with_rope(tmp_path, arch, 8)

    def no_tensors(*a, **k):
        raise AssertionError("tensors read before the header's refusal")

    monkeypatch.setattr(gguf, "read_gguf", no_tensors)
    with pytest.raises(UsageError) as e:
        gguf.gguf_to_mlx_lm(path, tmp_path / "out")
    said = str(e.value)
    assert f"{arch}.rope.dimension_count 8 is not the head size 16" in said, said
    assert "\n" not in said and not (tmp_path / "out").exists()


def test_rope_over_the_whole_head_converts(tmp_path):
    path = with_rope(tmp_path, "llama", 16)
    out = gguf.gguf_to_mlx_lm(path, tmp_path / "out")
    assert json.loads((out / "config.json").read_text())["head_dim"] == 16


# ------------------------------------------------------ lead 2: two data builds at once


def test_two_data_builds_at_once_do_the_work_once(tmp_path, monkeypatch, capfd):
    fake_sources(tmp_path / "src", monkeypatch)
    real, calls = data.gather, []
    both_in = threading.Event()
    set_when_one_waits_on_a_lock(both_in, monkeypatch)

    def slow_gather(*args, **kwargs):
        calls.append(threading.current_thread().name)
        if len(calls) == 2:
            both_in.set()
        both_in.wait(3)  # the other build's chance to start its work too (none, once locked)
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "gather", slow_gather)
    out, folders, errors = tmp_path / "corpus", [], []

    def build():
        try:
            folders.append(data.build(out, data.BuildConfig(), verbose=False))
        except BaseException as e:  # (a race lost in the folder swap, before the lock)
            errors.append(e)

    runs = [threading.Thread(target=build, name="first")]
    runs[0].start()
    while not calls:  # the first is reading its sources
        runs[0].join(0.01)
    runs.append(threading.Thread(target=build, name="second"))
    runs[1].start()
    for run in runs:
        run.join()
    assert not errors and calls == ["first"], (calls, errors)
    assert folders == [out, out] and data._manifest_digest(out / "manifest.json")
    said = capfd.readouterr().err
    assert f"Waiting for another data build of corpus (pid {os.getpid()})..." in said, said


def test_a_lock_left_by_a_dead_process_does_not_block_the_build(tmp_path, monkeypatch, capfd):
    """The holder killed (SIGKILL) while it builds: the lock goes with it; its pid stays in the
    lock file and the next build neither waits nor names it."""
    fake_sources(tmp_path / "src", monkeypatch)
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))  # the lock's place (s50: not
    out = tmp_path / "corpus"  # beside the output), named by the output's resolved path
    lock = (
        tmp_path / "cache" / "locks" / hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
    )
    holder = (
        "import sys, time; from pathlib import Path; from mlx_ifp.common import cache_lock\n"
        "with cache_lock(Path(sys.argv[1]), 'test'):\n"
        "    print('held', flush=True); time.sleep(600)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    lock.parent.mkdir(parents=True)
    p = subprocess.Popen([sys.executable, "-c", holder, str(lock)], stdout=subprocess.PIPE, env=env)
    try:
        assert p.stdout.readline().strip() == b"held"
        lock = lock.with_name(f".{lock.name}.lock")
        assert lock.read_text().strip() == str(p.pid)  # the maker's pid, for a waiter to name
    finally:
        p.kill()
        p.wait()
    assert data.build(out, data.BuildConfig(), verbose=False) == out
    assert "Waiting" not in capfd.readouterr().err
    assert lock.read_text().strip() == str(os.getpid())


def test_the_lock_names_the_holders_pid_to_a_waiter(tmp_path, capfd):
    """The message a GGUF conversion's waiter prints names the holder too (one mechanism)."""
    target, held, done = tmp_path / "thing", threading.Event(), threading.Event()

    def hold():
        with common.cache_lock(target, "process preparing thing"):
            held.set()
            done.wait(3)

    first = threading.Thread(target=hold)
    first.start()
    held.wait(3)
    threading.Timer(0.2, done.set).start()
    with common.cache_lock(target, "process preparing thing"):
        pass
    first.join()
    said = capfd.readouterr().err
    assert f"Waiting for another process preparing thing (pid {os.getpid()})..." in said
