"""tools/make_chat.py: the fourth instruction set (chat forms) is seeded, holds its held-out forms
out of training, and its corpus puts each group's rows in the fitting domain slot."""

import gzip
import json
import re
import sys
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import chat_lists  # noqa: E402
import make_chat  # noqa: E402


@pytest.fixture(scope="module")
def rows():
    return make_chat.prompts(40, 12, seed=3)


def test_prompts_are_seeded(rows):
    assert make_chat.prompts(40, 12, seed=3) == rows
    assert make_chat.prompts(40, 12, seed=4) != rows


def test_each_group_has_its_counts_and_no_prompt_twice(rows):
    counts = Counter((r["group"], r["split"]) for r in rows)
    assert counts == {
        (g, s): n for g in make_chat.GROUPS for s, n in (("train", 40), ("valid", 12))
    }
    assert len({r["prompt"] for r in rows}) == len(rows)
    full = make_chat.prompts()  # the shipped sizes: 400 + 60 per group
    assert Counter(r["split"] for r in full) == {"train": 1600, "valid": 240}
    assert len({r["prompt"] for r in full}) == 1840


def test_held_out_forms_are_validation_only(rows):
    full = make_chat.prompts()
    for r in full:
        held = make_chat.HELD[r["group"]]
        mark = r["form"] in held or r.get("lang") in held or r.get("to") in held
        assert (r["split"] == "valid") == mark, r
    train = [r["prompt"] for r in full if r["split"] == "train"]
    assert not [p for p in train if "Rust" in p or "time complexity" in p or "Big O" in p]
    assert not [p for p in train if "ten-year-old" in p or "misconception" in p]
    assert not [p for p in train if "pros and cons" in p or "main points" in p]
    valid_forms = {(r["group"], r["form"]) for r in full if r["split"] == "valid"}
    for group, held in make_chat.HELD.items():  # every held form is asked about
        forms = {f for g, f in valid_forms if g == group}
        assert {h for h in held if h in make_chat.forms(group)} <= forms


def test_math_answers_are_well_formed():
    import random

    r = random.Random(0)
    for form in make_chat.MATH:
        for _ in range(200):
            prompt, answer = make_chat.math_form(form, r)
            assert "{" not in prompt and prompt.endswith(("?", "."))
            if form == "fraction" and "+" in prompt:
                a, b = prompt[len("What is ") : -1].split(" + ")
                assert Fraction(answer) == Fraction(a) + Fraction(b)
            elif form == "convert":
                float(answer)  # kilometres to miles: two decimals
            elif form == "ratio":
                x, y = map(int, answer.split(" and "))
                assert x > 0 and y > 0
            else:
                assert str(int(answer)) == answer, (form, prompt, answer)
            if form == "linear":  # the answer solves the equation
                a, sign, b, c = re.search(r"(\d+)x ([+-]) (\d+) = (-?\d+)", prompt).groups()
                value = int(a) * int(answer) + (int(b) if sign == "+" else -int(b))
                assert value == int(c), prompt
            if form == "average":
                nums = [int(n) for n in re.findall(r"\d+", prompt)]
                assert sum(nums) == int(answer) * len(nums)


def test_every_debug_snippet_has_its_bug_once():
    for lang, code, (good, bad) in chat_lists.SNIPPETS:
        assert code.count(good) == 1 and good != bad, (lang, code)
    r = make_chat.code_form("debug", __import__("random").Random(1))
    assert "```" in r["prompt"]


def fake_answers(folder: Path, rows: list[dict]) -> Path:
    """An ``answer`` output folder for ``rows``: each row with a made-up reply, by split."""
    folder.mkdir()
    for split in ("train", "valid"):
        body = "".join(
            json.dumps({**r, "completion": f"reply {i}", "response": "fake"}) + "\n"
            for i, r in enumerate(rows)
            if r["split"] == split
        )
        (folder / f"{split}.jsonl.gz").write_bytes(gzip.compress(body.encode()))
    return folder


def test_the_corpus_puts_each_group_in_its_slot(tmp_path):
    from make_facts import write_corpus

    data = tmp_path / "corpus"
    (data / "sft").mkdir(parents=True)
    for split in ("train", "valid", "test"):
        (data / "sft" / f"{split}.jsonl").write_text(json.dumps({"prompt": split}) + "\n")
    (data / "manifest.json").write_text("{}")
    rows = make_chat.prompts(2, 1, seed=0)
    answers = fake_answers(tmp_path / "answers", rows)
    out = tmp_path / "out"
    assert write_corpus(answers / "train.jsonl.gz", data, out, make_chat.SLOT, "chat") == 8
    added = [json.loads(x) for x in (out / "sft" / "train.jsonl").read_text().splitlines()][1:]
    by_prompt = {r["prompt"]: r["group"] for r in rows}
    slots = {"math": "math", "code": "code", "knowledge": "general", "writing": "prose"}
    assert Counter(a["domain"] for a in added) == {s: 2 for s in slots.values()}
    for a in added:
        assert a["domain"] == slots[by_prompt[a["prompt"]]]
        assert a["provenance"]["source"] == "chat"
    assert (out / "sft" / "valid.jsonl").read_text() == json.dumps({"prompt": "valid"}) + "\n"
    ev = tmp_path / "eval"
    assert make_chat.write_eval(answers, ev) == {s: 1 for s in slots.values()}
    for group, slot in slots.items():
        (got,) = [json.loads(x) for x in (ev / "domains" / slot / "valid.jsonl").open()]
        assert got["domain"] == slot and by_prompt[got["prompt"]] == group
    assert set(json.loads((ev / "tasks.json").read_text())) == set(slots.values())


def test_write_corpus_keeps_one_domain_for_a_text(tmp_path):
    """The earlier callers (facts, writing) pass one domain for every row, as before."""
    from make_facts import write_corpus

    data = tmp_path / "corpus"
    (data / "sft").mkdir(parents=True)
    (data / "sft" / "train.jsonl").write_text("")
    (data / "manifest.json").write_text("{}")
    row = {"topic": "t", "prompt": "p", "completion": "c", "response": "r", "group": "math"}
    facts = tmp_path / "f.jsonl.gz"
    facts.write_bytes(gzip.compress((json.dumps(row) + "\n").encode()))
    write_corpus(facts, data, tmp_path / "out", "prose", "writing")
    (got,) = [json.loads(x) for x in (tmp_path / "out" / "sft" / "train.jsonl").open()]
    assert got["domain"] == "prose"


def test_answer_resumes_after_the_rows_already_written(tmp_path, monkeypatch):
    """``write_answers`` (make_writing's, make_chat's ``answer``) skips the rows in
    ``partial.jsonl`` and answers the rest only."""
    import mlx_ifp

    import make_general
    import make_writing

    rows = make_chat.prompts(2, 1, seed=0)[:5]
    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "a"
    out.mkdir()
    done = [make_general.reply_row(r, ("old", True), "x") for r in rows[:2]]
    (out / "partial.jsonl").write_text("".join(json.dumps(d) + "\n" for d in done))
    asked = []

    def fake_answer(model, tok, chunk, max_tokens, batch, bar):
        asked.extend(q["prompt"] for q in chunk)
        return [("new", False)] * len(chunk)

    loads = []
    monkeypatch.setattr(make_general, "answer", fake_answer)
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: loads.append(k) or (None, None))
    assert make_writing.write_answers(src, out, "m", 8, 2) == 5
    assert asked == [r["prompt"] for r in rows[2:]]
    assert loads == [{"dequantize": True, "dtype": "float32"}]  # float32 on any device
    assert not (out / "partial.jsonl").exists()
    got = []
    for split in ("train", "valid"):
        with gzip.open(out / f"{split}.jsonl.gz", "rt") as f:
            got += [json.loads(x) for x in f]
    assert sorted(g["completion"] for g in got) == ["new", "new", "new", "old", "old"]
    assert sum(bool(g.get("truncated")) for g in got) == 3
    bad = tmp_path / "b"
    bad.mkdir()
    (bad / "partial.jsonl").write_text(json.dumps({"prompt": "other"}) + "\n")
    with pytest.raises(FileExistsError):
        make_writing.write_answers(src, bad, "m", 8, 2)
