"""Review (s57, ftdata): three gaps of `finetune` and `plot`.

- `mlx_ifp finetune --resume RUN` after RUN's train.jsonl changed (rows added, or a row edited
  in place) went on without a word over other data (its saved data position indexes the
  shuffled order of the examples it finds). Now the run keeps, in `trainer_state.json`'s
  `data_files`, the bytes, records and sha256 of each split file it read (hashed as it is
  read: no second pass over a big file), and a resumed run says in one warning line which file
  changed and how; it still goes on (data moves and grows, and mlx_lm lora and torchtune resume
  over whatever data they are given). A run saved before keeps none: resumed silently, as before.
- Reading and tokenizing a big train.jsonl showed nothing before step 1. Now the shared
  `Progress` shows `reading D/train.jsonl` (MB read, records; a bar on a terminal, plain lines
  in a log) for a file of `BIG_FILE` bytes or more, on rank 0 and not with `quiet`;
  `read_jsonl` reports (records, bytes) to a hook every 1,000 records and at the end.
- `mlx_ifp plot --help`: its --data did not say what is read when it is left out (eval's does).

Every test fails on the code it was written against, for the reason in its docstring.
"""

import hashlib
import json
from pathlib import Path

from mlx_ifp.cli import app
from mlx_ifp.train import FinetuneConfig, batches

import typer
from bad_world import words_data
from test_finetune import Tok
from test_review_s48_hsmall import SMALL, finetune
from tiny import save_folder, tiny_model


def warnings_in(said: str) -> list[str]:
    return [line for line in said.splitlines() if line.startswith("Warning:")]


def state(run: Path) -> dict:
    return json.loads((run / "trainer_state.json").read_text())


def test_resume_over_a_changed_train_file_is_said(tmp_path, capsys, monkeypatch):
    """Rows added to train.jsonl, then one row edited in place (the same size): each resume went
    on without a word, the run kept no record of the files it read (a KeyError here first), and
    its first read showed no status line."""
    model = save_folder(tiny_model("llama"), tmp_path / "model")
    data = words_data(tmp_path / "data")
    train, out = data / "train.jsonl", tmp_path / "o"
    monkeypatch.setattr(batches, "BIG_FILE", 0, raising=False)  # every file "big": a status line
    code, said = finetune(capsys, "--model", str(model), "--data", str(data), "-o", str(out),
                          *SMALL)  # fmt: skip
    assert code == 0, said[-1500:]
    reading = [line for line in said.splitlines() if line.startswith(f"reading {train}: ")]
    kept, digest = state(out)["data_files"], hashlib.sha256(train.read_bytes()).hexdigest()
    assert kept["train.jsonl"] == {"bytes": train.stat().st_size, "records": 12, "sha256": digest}
    assert kept["valid.jsonl"]["records"] == 4
    code, said = finetune(capsys, "--resume", str(out), "--iters", "2")  # unchanged: no word
    assert code == 0 and not warnings_in(said), said[-1500:]

    rows = train.read_text().splitlines(keepends=True)
    train.write_text("".join(rows + rows[:2]))  # grown: 14 records
    code, said = finetune(capsys, "--resume", str(out), "--iters", "3")
    assert code == 0, said[-1500:]
    (line,) = warnings_in(said)
    assert f"{train} changed since the run read it" in line, line
    assert "12 records" in line and "; now 14 records" in line, line
    assert state(out)["step"] == 3 and state(out)["data_files"]["train.jsonl"]["records"] == 14

    size, before = train.stat().st_size, state(out)["data_files"]["train.jsonl"]["sha256"]
    train.write_text(train.read_text().replace("t9 t8", "t8 t9", 1))  # edited in place
    after = hashlib.sha256(train.read_bytes()).hexdigest()
    assert train.stat().st_size == size and after != before
    code, said = finetune(capsys, "--resume", str(out), "--iters", "4")
    assert code == 0, said[-1500:]
    (line,) = warnings_in(said)
    assert line.count(f"14 records, {size:,} bytes") == 2, line
    assert f"sha256 {before[:12]}; now" in line and f"sha256 {after[:12]})" in line, line
    assert state(out)["step"] == 4
    assert reading and "12 records" in reading[-1], said[-800:]  # the run's first read, shown


def test_a_run_saved_without_data_files_resumes_as_before(tmp_path, capsys):
    """A checkpoint of an older run (no `data_files`) over a grown train.jsonl: resumed without
    a word, as before; its next save records the files (it did not)."""
    model = save_folder(tiny_model("llama"), tmp_path / "model")
    data = words_data(tmp_path / "data")
    out = tmp_path / "o"
    code, said = finetune(capsys, "--model", str(model), "--data", str(data), "-o", str(out),
                          *SMALL)  # fmt: skip
    assert code == 0, said[-1500:]
    old = state(out)
    old.pop("data_files", None)
    (out / "trainer_state.json").write_text(json.dumps(old))
    with open(data / "train.jsonl", "a") as f:
        f.write(json.dumps({"prompt": "t3 t4", "completion": "t5"}) + "\n")
    code, said = finetune(capsys, "--resume", str(out), "--iters", "2")
    assert code == 0 and not warnings_in(said), said[-1500:]
    assert state(out)["data_files"]["train.jsonl"]["records"] == 13


def test_read_jsonl_reports_progress_to_a_hook(tmp_path):
    """2,500 records (and a blank line): `read_jsonl` took no hook (a TypeError)."""
    path = tmp_path / "train.jsonl"
    lines = [json.dumps({"text": f"{i} {i + 1}"}) + "\n" for i in range(2500)]
    path.write_text("".join(lines[:1200]) + "\n" + "".join(lines[1200:]))
    calls, seen = [], {}
    records = batches.read_jsonl(path, progress=lambda n, done: calls.append((n, done)), seen=seen)
    assert len(records) == 2500 and [n for n, _ in calls] == [1000, 2000, 2500]
    done = [b for _, b in calls]
    assert done == sorted(done) and done[0] == sum(map(len, lines[:1000]))
    assert done[-1] == path.stat().st_size
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert seen == {"bytes": path.stat().st_size, "records": 2500, "sha256": digest}
    converted = batches.read_jsonl(path, each=lambda r: r["text"].split()[0])
    assert converted[:3] == ["0", "1", "2"] and len(converted) == 2500


def test_a_big_split_file_shows_a_status_line(tmp_path, monkeypatch, capsys):
    """train.jsonl over BIG_FILE, read with `shown` (a finetune run, rank 0, not quiet): no
    line while it was read and tokenized (`load_data` took no `shown`: a TypeError)."""
    folder = tmp_path / "d"
    folder.mkdir()
    train = folder / "train.jsonl"
    row = json.dumps({"text": " ".join(map(str, range(2, 60)))}) + "\n"
    train.write_text(row * 6000)  # 1.1 MB
    (folder / "valid.jsonl").write_text(row * 4)  # small: no line
    monkeypatch.setattr(batches, "BIG_FILE", 1 << 20, raising=False)
    batches.load_data(folder, Tok(), "pretrain", 64, shown=True)
    err = capsys.readouterr().err
    shown = [line for line in err.splitlines() if line.startswith("reading ")]
    assert shown and all(line.startswith(f"reading {train}: ") for line in shown), err
    assert "finished, MB 1/1" in shown[-1] and "6,000 records" in shown[-1], shown
    batches.load_data(folder, Tok(), "pretrain", 64)  # not shown (the library's default)
    assert "reading " not in capsys.readouterr().err
    from mlx_ifp.train.config import data_settings  # (it was in batches)

    model = tiny_model("llama")
    for quiet in (False, True):
        cfg = FinetuneConfig(data=str(folder), quiet=quiet)
        assert data_settings(cfg, Tok(), model)["shown"] is not quiet


def test_plot_help_says_what_data_left_out_reads():
    """`plot --help`: "--data  Corpus folder (overlap)." said nothing of what is read without
    it (the corpus cached by `data build`, built if missing, as eval's --data says)."""
    commands = typer.main.get_command(app).commands
    helps = {
        name: next(p.help for p in commands[name].params if p.name == "data")
        for name in ("plot", "eval")
    }
    assert "default: build or reuse the cached one" in helps["eval"]  # (a guard: as it was)
    assert "default: build or reuse the cached one" in helps["plot"], helps["plot"]
    assert "overlap" in helps["plot"]
