"""Fifty-eighth session, review of ``import mlx_ifp`` as a macOS app or another long-lived host
process uses it, in a locked-down place (helper ``app2``). Each case failed before its fix:

- the cache folder unusable (``MLX_IFP_CACHE`` a file or a read-only folder, or no home folder
  to find it in): on Linux ``import mlx_ifp`` quietly kept MLX's reference BLAS (matmuls ~15x
  slower here; ``blas_status()``: "reference (could not load .../libopenblas.so.0:
  libgfortran.so.5: cannot open shared object file...)"), since the patched copy of
  ``libgfortran.so.5`` that OpenBLAS needs could not be written there. It now loads from an
  anonymous in-memory file (memfd) instead: OpenBLAS as usual, nothing written;
- no ``HOME`` and no entry for this user in the user database (a container run as a bare uid):
  ``import mlx_ifp`` itself died with pathlib's ``RuntimeError: Could not determine home
  directory.`` (a traceback from the BLAS loader's ``cache_dir``); ``cache_dir`` raised it to
  every caller, and ``mlx_ifp info`` crashed. Now the import works, what needs the cache
  (``load()`` of the embedded model) is one ``UsageError`` line naming ``MLX_IFP_CACHE``, and
  ``info``'s cache row says it. Nothing is made in the current folder (no ``./~``);
- the embedded model already in a cache folder that cannot be written, with the package and
  current folders read-only too: ``load()`` and ``generate`` worked and wrote nothing before as
  well (that part is a guard), but on the reference BLAS (the first case); now on OpenBLAS.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.cli import app
from mlx_ifp.common import cache_dir

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
STATUS = "import mlx_ifp; from mlx_ifp.models import blas_status; print(blas_status())"
NO_HOME = """
import pwd
def nobody(uid):
    raise KeyError(f"getpwuid(): uid not found: {uid}")
pwd.getpwuid = nobody
"""


def python(code: str, cwd: Path, prefix=(), **env) -> subprocess.CompletedProcess:
    """``python -c code`` in ``cwd`` (after the command ``prefix``) with this checkout and
    ``env`` (None: unset)."""
    base = {k: v for k, v in os.environ.items() if k not in ("MLX_IFP_BLAS", "MLX_IFP_CACHE")}
    base |= {"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    base = {k: v for k, v in {**base, **env}.items() if v is not None}
    cmd = [*prefix, sys.executable, "-c", code]
    return subprocess.run(cmd, cwd=cwd, env=base, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def usual_blas(tmp_path_factory) -> str:
    """What ``import mlx_ifp`` loads with a fresh cache folder it can write; skipped where that
    needs no patched libgfortran (macOS, Debian's OpenBLAS, ``MLX_IFP_BLAS``'s choices)."""
    root = tmp_path_factory.mktemp("usual")
    run = python(STATUS, root, MLX_IFP_CACHE=str(root / "cache"))
    assert run.returncode == 0, run.stderr[-1500:]
    if not (root / "cache" / "blas" / "libgfortran.so.5").is_file():
        pytest.skip(f"this BLAS needs no patched libgfortran: {run.stdout.strip()}")
    return run.stdout.strip()


def test_a_cache_folder_that_is_a_file_keeps_openblas_and_writes_nothing(tmp_path, usual_blas):
    here, file = tmp_path / "here", tmp_path / "cache"
    here.mkdir()
    file.write_text("not a folder\n")
    run = python(STATUS, here, MLX_IFP_CACHE=str(file))
    assert run.returncode == 0, run.stderr[-1500:]
    assert run.stdout.strip() == usual_blas  # was "reference (could not load ...)"
    assert file.read_text() == "not a folder\n" and list(here.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "here"]


def test_no_home_folder_leaves_the_import_and_openblas_alone(tmp_path, usual_blas):
    code = NO_HOME + STATUS + "\ntry:\n    mlx_ifp.load()\nexcept mlx_ifp.UsageError as e:\n"
    code += "    print('UsageError:', e)\n"
    run = python(code, tmp_path, HOME=None, XDG_CACHE_HOME=None)  # was: RuntimeError, exit 1
    assert run.returncode == 0, run.stderr[-1500:]
    status, error = run.stdout.strip().splitlines()
    assert status == usual_blas
    assert error.startswith("UsageError: cannot use the cache folder ~/.cache/mlx_ifp/embedded")
    assert "MLX_IFP_CACHE" in error and list(tmp_path.iterdir()) == []  # no ./~ made


def test_cache_dir_without_a_home_folder_is_one_line_and_info_says_it(tmp_path, monkeypatch):
    import pwd

    for name in ("HOME", "XDG_CACHE_HOME", "MLX_IFP_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pwd, "getpwuid", lambda uid: {}[uid])  # KeyError: no such user
    monkeypatch.chdir(tmp_path)
    with pytest.raises(mlx_ifp.UsageError, match="set MLX_IFP_CACHE") as e:
        cache_dir("embedded")  # was pathlib's RuntimeError
    assert "\n" not in str(e.value) and list(tmp_path.iterdir()) == []
    run = CliRunner().invoke(app, ["info"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output  # was: the RuntimeError, exit 1
    rows = dict(line.split(None, 1) for line in run.stdout.splitlines() if line[:1] != " ")
    assert rows["cache"].startswith("cannot use the cache folder ~/.cache/mlx_ifp")


APP = """
import mlx_ifp
model, tok = mlx_ifp.load(dequantize=True)
print(repr(mlx_ifp.generate(model, tok, "Name a fruit.", max_tokens=6)))
print(mlx_ifp.models.blas_status())
"""


@pytest.mark.real
def test_a_read_only_cache_package_and_current_folder_still_load_and_generate(
    tmp_path, smollm2_dir
):
    """The embedded model already converted (here: linked into a fresh cache folder); then the
    cache, the package's folder and the current folder read-only: a bind mount (root) or their
    modes (anyone else, who cannot change the checkout's: only the other two)."""
    cache, here = tmp_path / "cache", tmp_path / "here"
    (cache / "embedded").mkdir(parents=True)
    (cache / "embedded" / smollm2_dir.name).symlink_to(smollm2_dir)
    here.mkdir()
    model, tok = mlx_ifp.load(dequantize=True)
    expected = repr(mlx_ifp.generate(model, tok, "Name a fruit.", max_tokens=6))
    folders = [cache, here, ROOT / "mlx_ifp"]
    if os.geteuid() != 0:
        for f in folders[:2]:
            f.chmod(0o555)
        run = python(APP, here, MLX_IFP_CACHE=str(cache))
        for f in folders[:2]:
            f.chmod(0o755)
    elif shutil.which("unshare") is None:
        pytest.skip("root without unshare: no read-only place to try")
    else:
        ro = " && ".join(f"mount --bind {f} {f} && mount -o remount,ro,bind {f}" for f in folders)
        sh = ["unshare", "-m", "--propagation", "private", "sh", "-c", f'{ro} && exec "$@"', "sh"]
        run = python(APP, here, sh, MLX_IFP_CACHE=str(cache))
        if run.returncode and "mount" in run.stderr and "Read-only" not in run.stderr:
            pytest.skip(f"no read-only bind mount here: {run.stderr.strip()[-200:]}")
    assert run.returncode == 0, run.stderr[-1500:]
    reply, status = run.stdout.strip().splitlines()
    assert reply == expected and not status.startswith("reference (could not load")
    assert list(here.iterdir()) == [] and os.listdir(cache / "embedded") == [smollm2_dir.name]
    assert os.listdir(cache) == ["embedded"]
