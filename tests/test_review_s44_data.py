"""`data build` and `plot quality`: an unwritable corpus folder found before the work, and a
report's rows of the wrong types refused in one line (forty-fourth session, found by review)."""

import json
import shutil

from mlx_ifp.common import UsageError
from mlx_ifp.data import corpus as data
from mlx_ifp.evaluation.plots import plot_quality

import pytest
from corpus import ByteTokenizer, fake_corpus, fake_sources


def test_distill_into_an_unwritable_corpus_is_refused_before_any_reply(tmp_path, monkeypatch):
    """`data build --distill N` on a read-only cache generated every reply (hours on a CPU),
    then failed writing distill/train.jsonl with an OSError traceback."""
    from tiny import tiny_model

    folder = fake_corpus(tmp_path, monkeypatch)
    (folder / "distill").write_text("not a folder")  # (a read-only mount, for root too)
    replies = []
    monkeypatch.setattr(data, "greedy_tokens", lambda *a, **k: replies.append(1) or ([5], True))
    with pytest.raises(UsageError, match="cannot write"):
        data.distill(folder, tiny_model("llama"), ByteTokenizer(), 3, "tiny", max_tokens=5)
    assert replies == []


def test_a_build_into_an_unwritable_cache_is_refused_before_the_sources_are_read(
    tmp_path, monkeypatch
):
    """Without -o the cache folder was checked only after every source was read (about
    1.5 min); -o was checked first."""
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    fake_sources(tmp_path / "src", monkeypatch)
    built = data.build(verbose=False)
    shutil.rmtree(built)
    built.write_text("in the way")  # where the build goes cannot take a folder
    read = []
    monkeypatch.setattr(data, "gather", lambda *a, **k: read.append(1) or {})
    with pytest.raises(UsageError, match="not a folder"):
        data.build(verbose=False)
    assert read == []


def _row(**values):
    row = {"domain": "math", "source": "griffin", "mode": "input", "active_fraction": 0.7}
    return {**row, "ppl": 5.0, **values}


@pytest.mark.parametrize(
    "bad",
    [
        {"ppl": "5.0"},  # drawn as a category: a wrong figure, exit 0
        {"ppl": True},  # drawn as 1.0
        {"ppl": [1, 2]},
        {"active_fraction": None},
        {"source": None},
    ],
)
def test_plot_quality_refuses_rows_whose_values_are_not_numbers_or_texts(tmp_path, bad):
    """A hand-edited report: a traceback (ValueError, TypeError), or a figure that drew a text
    value as a category."""
    report = {"results": [_row(source="full", mode="static", active_fraction=1.0, ppl=3.0)]}
    report["results"].append(_row(**bad))
    out = tmp_path / "q.png"
    with pytest.raises(UsageError, match="needs numbers for ppl and active_fraction"):
        plot_quality(json.loads(json.dumps(report)), out)
    assert not out.exists()
