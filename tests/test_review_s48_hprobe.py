"""Forty-eighth session review (hprobe): the probe scripts under docs/results/ write corpora the
eval tools read (a reply is text, not make_general.answer's ``(text, ended)`` pair)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import mlx_ifp

ROOT = Path(__file__).resolve().parents[1]


def _run_make(script: str, out: Path, monkeypatch) -> None:
    """Run ``docs/results/<script>``'s main with the model and the dense replies stubbed: every
    third reply cut at --max-tokens (``ended`` False)."""
    spec = importlib.util.spec_from_file_location("probe_make", ROOT / "docs/results" / script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    def answer(model, tok, items, max_tokens, batch, bar):
        bar.advance(len(items))
        return [(f"reply to {it['prompt'][:20]}", i % 3 != 2) for i, it in enumerate(items)]

    monkeypatch.setattr(mod, "answer", answer)
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (None, None))
    monkeypatch.setattr(sys, "argv", ["make.py", "-o", str(out)])
    mod.main()


def test_writing_probe_make_writes_text_replies(tmp_path, monkeypatch):
    """The writing probe's make.py stored each reply as a JSON list ``[text, ended]`` since
    make_general.answer began returning pairs (forty-first session): its corpus no longer
    scored."""
    from mlx_ifp.evaluation.run import instructions

    _run_make("writing_probe/make.py", tmp_path / "c", monkeypatch)
    items = instructions(str(tmp_path / "c"), "prose", "test")
    assert len(items) == 32
    assert all(isinstance(it["completion"], str) for it in items)
    assert items[0]["completion"].startswith("reply to Write a short poem")
    assert [bool(it.get("truncated")) for it in items[:3]] == [False, False, True]


def test_probe4_make_writes_four_domain_slots(tmp_path, monkeypatch):
    """probe4/make.py: 12 items in each of the four slots the eval tools name, text replies,
    the cut ones marked, and its own task descriptions."""
    from mlx_ifp.data import tasks
    from mlx_ifp.evaluation.run import instructions

    out = tmp_path / "c"
    _run_make("probe4/make.py", out, monkeypatch)
    for d in ("math", "code", "general", "prose"):
        items = instructions(str(out), d, "test")
        assert len(items) == 12
        assert all(isinstance(it["completion"], str) for it in items)
        assert [bool(it.get("truncated")) for it in items[:3]] == [False, False, True]
    assert tasks(str(out))["prose"].startswith("You are a skilled writer")
    assert json.loads((out / "tasks.json").read_text()).keys() == {
        "math",
        "code",
        "general",
        "prose",
    }


def test_make_writing_corpus_writes_its_validation_split(tmp_path, monkeypatch):
    """``make_writing.py corpus``: the writing probe's ``write_split`` (which it reuses) took
    ``(prompt, (text, ended))`` pairs since its fix above, but make_writing still passed
    ``(prompt, text)``: "too many values to unpack" for every writing set (found when the
    forty-eighth session's chat-forms run rebuilt the three writing corpora on the device)."""
    import gzip

    from mlx_ifp.evaluation.run import instructions

    data = tmp_path / "data"  # a one-row corpus in the layout make_facts.write_corpus copies
    (data / "sft").mkdir(parents=True)
    (data / "manifest.json").write_text("{}")
    row = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    for split in ("train", "valid"):
        (data / "sft" / f"{split}.jsonl").write_text(json.dumps(row) + "\n")
    answers = tmp_path / "answers"
    answers.mkdir()
    for split, n in (("train", 2), ("valid", 3)):
        rows = [
            {"prompt": f"Write a haiku about a {split} {i}.", "completion": f"Poem {i}.",
             "topic": "haiku", "response": "dense", "split": split}
            | ({"truncated": True} if i == 1 else {})
            for i in range(n)
        ]  # fmt: skip
        with gzip.open(answers / f"{split}.jsonl.gz", "wt") as f:
            f.write("".join(json.dumps(r) + "\n" for r in rows))
    ev = tmp_path / "eval"
    tool = ROOT / "tools/make_writing.py"
    args = ["corpus", "--answers", str(answers), "--data", str(data)]
    args += ["--corpus", str(tmp_path / "corpus"), "--eval", str(ev)]
    spec = importlib.util.spec_from_file_location("make_writing_tool", tool)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(sys, "argv", ["make_writing.py", *args])
    mod.main()
    items = instructions(str(ev), "prose", "valid")
    assert [it["completion"] for it in items] == ["Poem 0.", "Poem 1.", "Poem 2."]
    assert [bool(it.get("truncated")) for it in items] == [False, True, False]


def test_probe5_make_writes_four_domain_slots(tmp_path, monkeypatch):
    """probe5/make.py (written blind to the chat forms): 16 items in each of the four slots,
    text replies, the cut ones marked."""
    from mlx_ifp.evaluation.run import instructions

    out = tmp_path / "c"
    _run_make("probe5/make.py", out, monkeypatch)
    for d in ("math", "code", "general", "prose"):
        items = instructions(str(out), d, "test")
        assert len(items) == 16
        assert all(isinstance(it["completion"], str) for it in items)
        assert [bool(it.get("truncated")) for it in items[:3]] == [False, False, True]
