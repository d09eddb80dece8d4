"""mlx_ifp.data.cached_build and missing_domains: the one cached corpus, the domains it lacks."""

from mlx_ifp.common import UsageError
from mlx_ifp.data import DOMAINS, cached_build, missing_domains

import pytest


def build(root, name, domains=DOMAINS):
    folder = root / "data" / name
    for d in domains:
        (folder / "domains" / d).mkdir(parents=True)
        (folder / "domains" / d / "train.jsonl").write_text("{}\n")
    (folder / "manifest.json").write_text("{}")
    return folder


def test_the_one_cached_build_is_found(tmp_path, monkeypatch):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path))
    with pytest.raises(UsageError, match="run `mlx_ifp data build`"):
        cached_build()
    (tmp_path / "data" / "v1-seed0-half").mkdir()  # a build cut short: no manifest, not a corpus
    one = build(tmp_path, "v1-seed0-1111")
    assert cached_build() == one


def test_several_cached_builds_are_refused_not_picked_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path))
    build(tmp_path, "v1-seed0-09e7", domains=("math", "code", "science", "general"))
    build(tmp_path, "v1-seed0-33ae")
    with pytest.raises(UsageError, match="2 corpora .*v1-seed0-09e7, v1-seed0-33ae.*--data"):
        cached_build()


def test_missing_domains_names_what_a_build_without_the_prose_packages_lacks(tmp_path):
    assert missing_domains(build(tmp_path, "whole")) == []
    partial = build(tmp_path, "partial", domains=("math", "code", "science", "general"))
    assert missing_domains(partial) == ["prose"]
