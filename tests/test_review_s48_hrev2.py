"""Review (s48, hrev2) of the chat-forms tools (tools/make_chat.py, make_writing.py's answer step):

- ``make_chat.py corpus`` on an answers folder whose rows have no ``group`` (make_writing's, the
  facts') or another one: a ``KeyError`` traceback from ``make_facts.write_corpus``'s dict of
  domains; now one line, exit code 2, nothing written.
- ``answer`` is resumable from ``partial.jsonl``, but a run killed while it appended a batch
  (the device's time limit) leaves a cut last line: the rerun failed with a ``JSONDecodeError``
  traceback, every reply lost unless the file was mended by hand; now the cut row is redone.

Every test here fails on the code it was written against.
"""

import gzip
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_chat  # noqa: E402
import make_general  # noqa: E402
import make_writing  # noqa: E402


def corpus(tmp_path: Path) -> Path:
    data = tmp_path / "corpus"
    (data / "sft").mkdir(parents=True)
    (data / "sft" / "train.jsonl").write_text("")
    (data / "manifest.json").write_text("{}")
    return data


@pytest.mark.parametrize("group", [None, "poetry"])
def test_chat_corpus_refuses_rows_of_no_known_group(tmp_path, monkeypatch, capsys, group):
    """Rows without a group (another tool's answers) or of another group: a traceback."""
    row = {"topic": "t", "prompt": "p", "completion": "c", "response": "r", "split": "train"}
    row |= {} if group is None else {"group": group}
    answers = tmp_path / "answers"
    answers.mkdir()
    for split in ("train", "valid"):
        (answers / f"{split}.jsonl.gz").write_bytes(gzip.compress(json.dumps(row).encode()))
    out, ev = tmp_path / "out", tmp_path / "eval"
    argv = ["make_chat.py", "corpus", "--answers", str(answers), "--corpus", str(out)]
    monkeypatch.setattr(sys, "argv", [*argv, "--eval", str(ev), "--data", str(corpus(tmp_path))])
    with pytest.raises(SystemExit) as info:
        make_chat.main()
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and "group" in err[-1], err
    assert "Traceback" not in "\n".join(err)
    assert not out.exists() and not ev.exists()


def test_answer_resumes_after_a_cut_last_line(tmp_path, monkeypatch):
    """A batch's append cut short by a kill: the whole rows are kept, the cut one redone."""
    import mlx_ifp

    rows = make_chat.prompts(2, 1, seed=0)[:4]
    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "a"
    out.mkdir()
    done = [json.dumps(make_general.reply_row(r, ("old", True), "x")) for r in rows[:3]]
    (out / "partial.jsonl").write_text(done[0] + "\n" + done[1] + "\n" + done[2][:25])
    asked = []

    def fake_answer(model, tok, chunk, max_tokens, batch, bar):
        asked.extend(q["prompt"] for q in chunk)
        return [("new", True)] * len(chunk)

    monkeypatch.setattr(make_general, "answer", fake_answer)
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (None, None))
    assert make_writing.write_answers(src, out, "m", 8, 2) == 4
    assert asked == [r["prompt"] for r in rows[2:]]
    got = []
    for split in ("train", "valid"):
        with gzip.open(out / f"{split}.jsonl.gz", "rt") as f:
            got += [json.loads(x) for x in f]
    assert sorted((g["prompt"], g["completion"]) for g in got) == sorted(
        (r["prompt"], "old" if i < 2 else "new") for i, r in enumerate(rows)
    )
