"""Leads from the forty-first session's helpers, fixed here.

- ``finetune --max-seconds S`` counted only the training steps' own time: validation and
  checkpoint writing ran on top, so a run sized to a slot overran it (on a GPU, validation
  every 25 steps is a good share of the time).
"""

import json
import types
from pathlib import Path

from mlx_ifp.train import finetune, loop

from test_finetune import Tok, cfg_for, make_data
from tiny import tiny_model


def test_max_seconds_counts_validation_too(tmp_path, monkeypatch):
    now = [0.0]

    def clock() -> float:
        now[0] += 0.001  # a step's own time: a millisecond
        return now[0]

    real = loop.evaluate

    def slow_validation(*args, **kwargs):
        now[0] += 100.0  # a validation of 100 s
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=clock))
    monkeypatch.setattr(loop, "evaluate", slow_validation)
    data, out = make_data(tmp_path / "d"), tmp_path / "o"
    finetune(cfg_for(data, out, iters=6, val_every=2, max_seconds=150), tiny_model("llama"), Tok())
    state = json.loads((Path(out) / "trainer_state.json").read_text())
    # validations at steps 0 and 2 (100 s each): past 150 s after step 3
    assert state["step"] == 3, state["step"]  # was 6: the steps alone took 0.01 s


def test_the_distilling_tools_mark_a_cut_reply_and_the_corpus_keeps_the_mark(tmp_path):
    """``tools/make_general.py`` / ``make_writing.py`` / ``make_facts.py``: a reply cut at
    ``--max-tokens`` was stored (and trained, with an end of turn) as a whole reply."""
    import gzip
    import sys

    from mlx_ifp.train.batches import to_example

    from test_serve import word_tokenizer

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    import make_facts
    import make_general

    class Bar:
        def advance(self, n):
            pass

    model, tok = tiny_model("llama"), word_tokenizer()
    questions = [{"topic": "t9", "prompt": "t5 t6 t7"}, {"topic": "t8", "prompt": "t8 t9"}]
    replies = make_general.answer(model, tok, questions, 3, 2, Bar())
    assert [ended for _, ended in replies] == [False, False]  # a random model runs on
    rows = [make_general.reply_row(q, r, "dense") for q, r in zip(questions, replies, strict=True)]
    assert all(r["truncated"] is True for r in rows)
    data = tmp_path / "corpus"
    (data / "sft").mkdir(parents=True)
    (data / "sft" / "train.jsonl").write_text("")
    (data / "manifest.json").write_text("{}")
    facts = tmp_path / "facts.jsonl.gz"
    ended = {**rows[1], "truncated": False}
    facts.write_bytes(
        gzip.compress("".join(json.dumps(r) + "\n" for r in (rows[0], ended)).encode())
    )
    make_facts.write_corpus(facts, data, tmp_path / "out")
    lines = (tmp_path / "out" / "sft" / "train.jsonl").read_text().splitlines()
    train = [json.loads(x) for x in lines]
    assert [r.get("truncated", False) for r in train] == [True, False]
    assert to_example(train[0], tok, "sft").tokens[-1] != tok.eos_token_id
