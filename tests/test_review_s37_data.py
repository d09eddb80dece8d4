"""Review (s37): the offline corpus (`data build`, `--data`) and `plot` as a user runs them.

Each test failed on the code it was written against, for the reason in its docstring.

- A corpus whose test split was damaged (cut short mid-line, a record of another shape) was
  not an error: `eval` and `plot overlap` without `--domains` skipped that domain with
  "Warning: skipping domain(s) math: no test items" and reported the others as if whole.
- `data build` reused a cached corpus one of whose files had been emptied or cut short (the
  check only asked whether each file listed in manifest.json existed), so running it again
  did not repair the corpus; only `--force` did.
- `plot overlap --mask-source bogus` (or `predictor` without `--adapter`, or an `--adapter`
  folder that is not there) was refused only after the corpus build (minutes when not cached)
  and the model load.
- A gzipped source cut short (the shipped `general.jsonl.gz`, GCIDE's `gcide.dict.dz`) or not
  gzip stopped `data build` with an EOFError / BadGzipFile traceback.
- `--data ~/corpus` and `plot quality --report ~/r.json` with the `~` unexpanded (quoted, or
  `--data=~/corpus`) were "no test items" / "eval report not found", while every output path
  and `finetune`'s data folder expand it.
"""

import json

import mlx_ifp.data
from mlx_ifp import UsageError
from mlx_ifp.data import corpus as data
from mlx_ifp.data import readers
from mlx_ifp.evaluation import run as ev

import pytest
from bad_world import never_called, no_model_load, one_error
from corpus import fake_corpus, fake_sources
from test_review_s32_cli import cli


def _cut(path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


@pytest.mark.parametrize("damage", ["cut", "shape"])
def test_a_damaged_test_split_is_an_error_not_a_skipped_domain(tmp_path, monkeypatch, damage):
    """A test split cut short mid-line (or holding a record of another shape) made the domain
    silently skipped, with a warning that it had no test items."""
    folder = fake_corpus(tmp_path, monkeypatch)
    split = folder / "domains" / "math" / "test.jsonl"
    if damage == "cut":
        _cut(split, 150)
    else:
        split.write_text(json.dumps({"text": "a pretrain row"}) + "\n")
    with pytest.raises(UsageError, match="test.jsonl, line 1"):
        ev.built_domains(folder)
    no_model_load(monkeypatch)
    run = cli("plot", "overlap", "--data", folder, "-o", tmp_path / "o.png")
    assert "test.jsonl, line 1" in one_error(run)
    # a domain the corpus lacks (no file: prose without the Debian packages) is still skipped
    assert "math" in ev.built_domains(fake_corpus(tmp_path / "again", monkeypatch))


@pytest.mark.parametrize("keep", [0, 40])
def test_data_build_repairs_a_cached_corpus_with_a_file_cut_short(tmp_path, monkeypatch, keep):
    """A file of a built corpus emptied or cut short was reused as it was by `data build`."""
    folder = fake_corpus(tmp_path, monkeypatch)
    whole = {p: p.read_bytes() for p in folder.rglob("*.jsonl")}
    split = folder / "domains" / "code" / "test.jsonl"
    _cut(split, keep)
    assert data.build(folder, verbose=False) == folder
    assert split.read_bytes() == whole[split]
    assert {p: p.read_bytes() for p in folder.rglob("*.jsonl")} == whole
    stamp = (folder / "manifest.json").stat().st_mtime_ns
    data.build(folder, verbose=False)  # a whole corpus is still reused, not rebuilt
    assert (folder / "manifest.json").stat().st_mtime_ns == stamp


@pytest.mark.parametrize("damage", ["cut", "not gzip"])
def test_a_gzipped_source_cut_short_is_one_error_line(tmp_path, monkeypatch, damage):
    """`data build` with the shipped general.jsonl.gz (or GCIDE's dict.dz) cut short: a
    traceback (EOFError), or BadGzipFile for a file that is not gzip at all."""
    fake_sources(tmp_path / "src", monkeypatch)
    for gz in (data.GENERAL, tmp_path / "gcide.dict.dz"):
        gz.write_bytes(data.GENERAL.read_bytes()[:200] if damage == "cut" else b"plain text")
    with pytest.raises(UsageError, match="general.jsonl.gz is not a whole gzip file"):
        data.build(tmp_path / "corpus", verbose=False)
    assert not (tmp_path / "corpus").exists()
    (tmp_path / "gcide.index").write_text("aphid\tA\tB\n")
    with pytest.raises(UsageError, match="dict-gcide"):
        readers.gcide_index(tmp_path / "gcide")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--mask-source", "bogus"], "unknown mask source 'bogus'"),
        (["--mask-source", "predictor"], "--adapter"),
        (["--adapter", "/nonexistent/ft"], "/nonexistent/ft"),
    ],
)
def test_plot_overlap_refuses_its_mask_source_before_the_corpus_and_the_model(
    tmp_path, monkeypatch, args, says
):
    """A mask source or adapter folder that cannot work was refused after the corpus build
    (minutes when not cached) and the model load."""
    no_model_load(monkeypatch)
    monkeypatch.setattr(mlx_ifp.data, "build", never_called)
    run = cli("plot", "overlap", "-o", tmp_path / "o.png", *args)
    assert says in one_error(run)
    assert list(tmp_path.iterdir()) == []


def test_a_tilde_in_data_and_report_is_the_home_folder(tmp_path, monkeypatch):
    """`--data '~/corpus'` was no corpus, `--report '~/r.json'` no report: `~` was read as a
    folder named `~` (outputs, models and finetune's data folder expand it)."""
    fake_corpus(tmp_path, monkeypatch)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.load_split("~/corpus", "math")
    assert "math" in ev.built_domains("~/corpus")
    (tmp_path / "corpus" / "tasks.json").write_text(json.dumps({"math": "Add them up."}))
    assert data.tasks("~/corpus")["math"] == "Add them up."
    rows = [
        {"domain": "math", "source": s, "mode": "input", "active_fraction": f, "ppl": p}
        for s, f, p in (("full", 1.0, 3.0), ("random", 0.6, 5.0))
    ]
    (tmp_path / "r.json").write_text(json.dumps({"results": rows}))
    run = cli("plot", "quality", "--report", "~/r.json", "-o", tmp_path / "q.png")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "q.png").stat().st_size > 0
