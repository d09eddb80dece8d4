"""Issue 14, fuzzing: a fast 50-case slice of every target of ``tools/fuzz.py`` (the jsonl and
chat loader, the mask and predictor loaders, the GGUF header reader, the server's requests)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import fuzz  # noqa: E402


@pytest.mark.parametrize("target", sorted(fuzz.TARGETS))
def test_fuzz_slice(target):
    result = fuzz.run_target(target, examples=50)
    assert result["finding"] is None, result["finding"]
    assert result["cases"] >= 25  # hypothesis may stop early on small spaces


def test_a_finding_is_reported(monkeypatch):
    def crash(lines, stage):
        raise KeyError("boom")

    monkeypatch.setitem(fuzz.TARGETS, "broken", (crash, fuzz.TARGETS["jsonl_and_chat_records"][1]))
    result = fuzz.run_target("broken", examples=5)
    assert result["finding"] and result["finding"]["errors"][0].startswith("KeyError")
