"""Forty-seventh session review of the first run (the embedded model fetched and converted once
into the cache): two processes converting at once, and a GGUF file this user cannot write (a
read-only mount, another user's file), which ``mx.load`` opens read-write and so cannot read."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from mlx_ifp import UsageError
from mlx_ifp.models import embedded, gguf

import mlx.core as mx
import pytest
from test_faults import real_cached_gguf
from test_gguf import tiny_model as gguf_model
from test_gguf import write_gguf
from test_review_s47_hlock import two_at_once

SMOL = "smollm2-135m-instruct"
ROOT = Path(__file__).resolve().parent.parent


def test_two_first_runs_at_once_convert_once(tmp_path, monkeypatch):
    """The second waits for the first's conversion (a lock) and reads it: one conversion."""
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    gguf_file = write_gguf(gguf_model(), tmp_path / "tiny.gguf")
    monkeypatch.setattr(embedded, "embedded_gguf", lambda n: gguf_file)
    calls = two_at_once(lambda: embedded.embedded_folder(SMOL), embedded, monkeypatch)
    assert len(calls) == 1, calls  # (the two folders: the same, converted; two_at_once checks)


def _readonly_run(folder: Path, code: str) -> subprocess.CompletedProcess:
    """``python -c code`` where ``folder`` cannot be written: a read-only bind mount (root), or
    its files made read-only (anyone else)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    python = [sys.executable, "-c", code]
    if os.geteuid() != 0:
        for f in folder.iterdir():
            f.chmod(0o444)
        return subprocess.run(python, capture_output=True, text=True, env=env, timeout=300)
    if shutil.which("unshare") is None:
        pytest.skip("root without unshare: no read-only place to try")
    mount = f'mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} && exec "$@"'
    cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", mount, "sh", *python]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if "mount" in run.stderr and "Read-only" not in run.stderr and run.returncode:
        pytest.skip(f"no read-only bind mount here: {run.stderr.strip()[-200:]}")
    return run


@pytest.mark.parametrize("which", ["tiny", "real"])
def test_a_gguf_this_user_cannot_write_still_converts(tmp_path, which):
    """mx.load opens a GGUF read-write: a read-only one is read with the gguf package instead,
    into the same weights (the real default model's file too), not refused as unreadable."""
    ro = tmp_path / "ro"
    ro.mkdir()
    if which == "real":
        if (real := real_cached_gguf()) is None:
            pytest.skip("the default model's GGUF is not cached here")
        source = Path(shutil.copy(real, ro / real.name))
    else:
        source = write_gguf(gguf_model(), ro / "tiny.gguf")
    out = tmp_path / "out"
    code = (f"from mlx_ifp.models.gguf import gguf_to_mlx_lm; "
            f"gguf_to_mlx_lm({str(source)!r}, {str(out)!r}); print('converted')")  # fmt: skip
    run = _readonly_run(ro, code)
    assert run.returncode == 0 and "converted" in run.stdout, run.stderr[-1500:]
    writable = tmp_path / "rw.gguf"
    shutil.copy(source, writable)
    made = mx.load(str(out / "model.safetensors"))
    gguf.gguf_to_mlx_lm(writable, tmp_path / "expected")
    expected = mx.load(str(tmp_path / "expected" / "model.safetensors"))
    assert sorted(made) == sorted(expected)
    for name, array in expected.items():
        assert made[name].dtype == array.dtype and mx.array_equal(made[name], array), name


def test_without_the_gguf_package_a_read_only_gguf_is_one_line(tmp_path, monkeypatch):
    source = write_gguf(gguf_model(), tmp_path / "tiny.gguf")
    monkeypatch.setattr(gguf.gguf_decode.os, "access", lambda path, mode: False)
    monkeypatch.setitem(sys.modules, "gguf", None)  # not installed
    with pytest.raises(UsageError, match=r"tiny.gguf is read-only here, .* copy it somewhere"):
        gguf.read_gguf(source)
