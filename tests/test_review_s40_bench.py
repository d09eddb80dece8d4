"""bench's variant (e) exports its slim model into the cache folder, not the system's temp."""

import tempfile

import mlx_ifp.convert
import mlx_ifp.core
from mlx_ifp.bench import run as bench_run

import pytest


class _Stop(Exception):
    pass


def test_variant_e_exports_under_the_cache(tmp_path, monkeypatch):
    cache, system_tmp = tmp_path / "cache", tmp_path / "systmp"
    system_tmp.mkdir()
    monkeypatch.setenv("MLX_IFP_CACHE", str(cache))
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))  # a small /tmp (tmpfs)
    seen = []

    def export(slim, tok, path, dtype=None):
        seen.append(path)
        raise _Stop

    monkeypatch.setattr(mlx_ifp.convert, "export", export)
    monkeypatch.setattr(mlx_ifp.core, "origin", lambda *a, **k: {})
    with pytest.raises(_Stop):
        bench_run._exported(None, None, "hi", 1, 1, lambda *a: None)
    assert seen and str(seen[0]).startswith(str(cache)), seen
    assert not list(system_tmp.iterdir())
    assert not [p for p in cache.rglob("*") if p.is_dir() and p.name.startswith(".bench")]
