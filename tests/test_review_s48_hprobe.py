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
