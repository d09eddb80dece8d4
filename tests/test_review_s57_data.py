"""Fifty-seventh session review of `mlx_ifp data build` (helper data); each case failed before.

- `data build -o 'runs/[v2]'` said `Built runs/: ...` (rich read `[v2]` as markup and dropped
  it), and `-o 'runs/x[/v2]'` ended in a `MarkupError` traceback, exit 1, after the whole build;
  off a terminal (a log) the lines were cut at 80 columns: a long path, or the `apt-get install`
  line of the missing prose packages, split in two.
- `data build --distill N` interrupted (Ctrl-C, after hours of replies on a CPU) kept nothing:
  the replies lived in memory until the last one; the rerun began again from the first. Two
  `--distill` into one folder at once both made every reply.
"""

import json
import threading

from mlx_ifp.data import corpus as data

import pytest
from corpus import ByteTokenizer, fake_corpus, fake_sources
from test_review_s47_hlock import set_when_one_waits_on_a_lock
from tiny import tiny_model

# ------------------------------------------------------------- the lines it prints


@pytest.mark.parametrize("name", ["runs/[v2]", "runs/x[/v2]", "x" * 90])
def test_the_built_line_names_the_folder_as_it_is_in_one_line(tmp_path, monkeypatch, capsys, name):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "missing_debian", lambda: ["dict-gcide", "fortunes-min"])
    fake_sources(tmp_path / "src", monkeypatch)
    out = data.build(tmp_path / name, data.BuildConfig())
    lines = capsys.readouterr().err.splitlines()
    assert any(line.startswith(f"Built {out}: gsm8k ") for line in lines), lines
    assert any(line.endswith("--reinstall dict-gcide fortunes-min") for line in lines), lines


# ------------------------------------------------------------------- --distill


def _replies(monkeypatch, stop_at: int = 0) -> list:
    """Count the replies made (a reply of the prompt's first two characters, deterministic);
    Ctrl-C as reply ``stop_at`` begins."""
    made = []

    def greedy(model, tokenizer, prompt, max_tokens=256):
        if len(made) + 1 == stop_at:
            raise KeyboardInterrupt
        made.append(prompt)
        return tokenizer.encode(prompt[:2]), True

    monkeypatch.setattr(data, "greedy_tokens", greedy)
    return made


def test_an_interrupted_distill_keeps_its_replies_and_the_rerun_goes_on(tmp_path, monkeypatch):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    folder = fake_corpus(tmp_path, monkeypatch)
    model, tok = tiny_model("llama"), ByteTokenizer()
    made = _replies(monkeypatch, stop_at=4)
    with pytest.raises(KeyboardInterrupt) as e:
        data.distill(folder, model, tok, 6, "tiny", max_tokens=5)
    said = str(e.value)
    assert "3 of 6 replies kept" in said and "\n" not in said, said
    assert not (folder / "distill" / "train.jsonl").exists()  # never a half file used later
    with (folder / "distill" / data.PARTIAL).open("a") as f:
        f.write('{"prompt": "Sam has')  # a line a kill cut short: dropped
    made = _replies(monkeypatch)
    path = data.distill(folder, model, tok, 6, "tiny", max_tokens=5)
    assert len(made) == 3  # the three not made before
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    whole = tmp_path / "whole"
    fake_corpus(whole, monkeypatch)
    made = _replies(monkeypatch)
    again = data.distill(whole / "corpus", model, tok, 6, "tiny", max_tokens=5)
    assert rows == [json.loads(x) for x in again.read_text().splitlines()] and len(made) == 6
    assert sorted(p.name for p in path.parent.iterdir()) == ["train.jsonl"]  # nothing left


def test_replies_of_another_model_or_forced_are_made_again(tmp_path, monkeypatch):
    """Kept replies are reused for the same model and max_tokens (failed before: all made
    again), never for another or with --force (guards)."""
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    folder = fake_corpus(tmp_path, monkeypatch)
    model, tok = tiny_model("llama"), ByteTokenizer()
    for name, tokens, force in (("tiny", 5, False), ("other", 5, False), ("tiny", 9, False),
                                ("tiny", 5, True)):  # fmt: skip
        _replies(monkeypatch, stop_at=3)  # two kept
        with pytest.raises(KeyboardInterrupt):
            data.distill(folder, model, tok, 4, "tiny", max_tokens=5)
        made = _replies(monkeypatch)
        data.distill(folder, model, tok, 4, name, max_tokens=tokens, force=force)
        reused = (name, tokens, force) == ("tiny", 5, False)
        assert len(made) == (2 if reused else 4), (name, tokens, force, made)
        (folder / "distill" / "train.jsonl").unlink()


def test_two_distills_at_once_make_the_replies_once(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    folder = fake_corpus(tmp_path, monkeypatch)
    model, tok = tiny_model("llama"), ByteTokenizer()
    made = _replies(monkeypatch)
    both_in = threading.Event()
    set_when_one_waits_on_a_lock(both_in, monkeypatch)
    real = data.train_prompts

    def slow(*args):  # the first is answering when the second starts
        both_in.wait(3)
        return real(*args)

    monkeypatch.setattr(data, "train_prompts", slow)
    paths, errors = [], []

    def run():
        try:
            paths.append(data.distill(folder, model, tok, 3, "tiny", max_tokens=5))
        except BaseException as e:
            errors.append(e)

    runs = [threading.Thread(target=run) for _ in range(2)]
    for r in runs:
        r.start()
    for r in runs:
        r.join()
    assert not errors and len(paths) == 2 and len(made) == 3, (errors, made)
    assert "Waiting for another data build of corpus" in capfd.readouterr().err
