"""`data build` over a corpus that holds `--distill` replies (slow to remake: minutes to hours)."""

import json

from mlx_ifp.data import corpus as data

from corpus import fake_corpus


def _distilled(folder) -> str:
    path = folder / "distill" / "train.jsonl"
    path.parent.mkdir(exist_ok=True)
    row = {"prompt": "p", "completion": "c", "domain": "math", "provenance": {"response": "x"}}
    path.write_text(json.dumps(row) + "\n")
    return path.read_text()


def test_a_rebuild_of_the_same_corpus_keeps_its_distilled_replies(tmp_path, monkeypatch):
    """`data build --force` (or a repair of a file cut short) deleted distill/train.jsonl."""
    folder = fake_corpus(tmp_path, monkeypatch)
    rows = _distilled(folder)
    data.build(folder, force=True, verbose=False)
    assert (folder / "distill" / "train.jsonl").read_text() == rows
    (folder / "domains" / "code" / "test.jsonl").write_text("")  # repaired by the next build
    data.build(folder, verbose=False)
    assert (folder / "distill" / "train.jsonl").read_text() == rows
    # a later --distill rewrites the file: the corpus is still whole, not rebuilt
    stamp = (folder / "manifest.json").stat().st_mtime_ns
    (folder / "distill" / "train.jsonl").write_text(rows * 2)
    data.build(folder, verbose=False)
    assert (folder / "manifest.json").stat().st_mtime_ns == stamp


def test_another_split_drops_them_with_a_warning(tmp_path, monkeypatch, capsys):
    """Replies to another seed's training prompts would be test prompts of the new split."""
    folder = fake_corpus(tmp_path, monkeypatch)
    _distilled(folder)
    capsys.readouterr()
    data.build(folder, data.BuildConfig(seed=1), verbose=False)
    assert not (folder / "distill").exists()
    assert "distill/train.jsonl" in capsys.readouterr().err
