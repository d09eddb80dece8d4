"""Review (s48, hsmall): three leftovers of this session's reviews.

- `mlx_ifp serve`: llama.cpp's `dynatemp_range` (> 0: dynamic temperature) was taken and
  dropped silently; now a 400 naming it, unless it is off (<= 0, as llama.cpp reads it). Its
  `top_n_sigma` (<= 0 off) and `typical_p` (>= 1 off) were refused at values llama.cpp takes
  as off (`top_n_sigma: 0`, `typical_p: 1.2`); now taken.
- `tools/make_chat.py corpus` dropped validation rows of an unknown group silently (the
  training rows of one were refused); now one line, exit code 2, nothing written.
- `mlx_ifp finetune --resume RUN --data OTHER` (another folder than the run trained on) went
  on without a word; now a one-line warning naming both folders (not a refusal: data moves).

Every test here fails on the code it was written against, for the reason in its docstring,
but the guards (said in their docstrings).
"""

import gzip
import json
import shutil
import sys
from pathlib import Path

from mlx_ifp.cli import main
from mlx_ifp.serve.schemas import APIError, Limits, parse_request

import pytest
from bad_world import words_data
from tiny import save_folder, tiny_model

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_chat  # noqa: E402

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
LIMITS = Limits(max_tokens_limit=300)


@pytest.mark.parametrize("value", [0.5, 2])
def test_dynatemp_range_on_is_a_400(value):
    """`dynatemp_range` > 0 asks for dynamic temperature: it was taken, a plain reply."""
    with pytest.raises(APIError) as info:
        parse_request({**CHAT, "dynatemp_range": value}, True, LIMITS)
    e = info.value
    assert e.status == 400 and e.param == "dynatemp_range", e.message
    assert "dynatemp_range" in e.message and "not supported" in e.message, e.message


@pytest.mark.parametrize(
    "name, value",
    [("dynatemp_range", 0), ("dynatemp_range", 0.0), ("dynatemp_range", -1.0),
     ("top_n_sigma", 0), ("top_n_sigma", -2.5), ("typical_p", 1.2), ("typical_p", 1)],
)  # fmt: skip
def test_llama_cpp_off_values_are_taken(name, value):
    """What llama.cpp's samplers take as off (its temp-ext applies a range > 0 only, top-n-sigma
    a value > 0, typical a value < 1): `top_n_sigma: 0` and `typical_p: 1.2` were refused
    (`dynatemp_range: 0` was taken before: a guard)."""
    assert parse_request({**CHAT, name: value}, True, LIMITS).temperature == 0


@pytest.mark.parametrize(
    "name, value", [("top_n_sigma", 1e-3), ("typical_p", 0.99), ("typical_p", "1"),
                    ("top_n_sigma", True), ("dynatemp_range", float("nan"))],
)  # fmt: skip
def test_llama_cpp_on_or_odd_values_stay_refused(name, value):
    """A guard: a value that turns the sampler on, or no number, is still a 400."""
    with pytest.raises(APIError) as info:
        parse_request({**CHAT, name: value}, True, LIMITS)
    assert info.value.status == 400 and info.value.param == name


def test_chat_eval_refuses_validation_rows_of_no_known_group(tmp_path, monkeypatch, capsys):
    """Training rows fine, one validation row of group "poetry": it was dropped from the
    evaluation corpus without a word (exit 0, both folders written)."""
    row = {"topic": "t", "prompt": "p", "completion": "c", "response": "r", "form": "percent"}
    answers = tmp_path / "answers"
    answers.mkdir()
    for split, group in (("train", "math"), ("valid", "poetry")):
        line = json.dumps({**row, "group": group, "split": split}) + "\n"
        (answers / f"{split}.jsonl.gz").write_bytes(gzip.compress(line.encode()))
    data = tmp_path / "corpus"
    (data / "sft").mkdir(parents=True)
    (data / "sft" / "train.jsonl").write_text("")
    (data / "manifest.json").write_text("{}")
    out, ev = tmp_path / "out", tmp_path / "eval"
    argv = ["make_chat.py", "corpus", "--answers", str(answers), "--corpus", str(out)]
    monkeypatch.setattr(sys, "argv", [*argv, "--eval", str(ev), "--data", str(data)])
    with pytest.raises(SystemExit) as info:
        make_chat.main()
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and "poetry" in err[-1] and "valid" in err[-1], err
    assert "Traceback" not in "\n".join(err)
    assert not out.exists() and not ev.exists()


SMALL = ["--iters", "1", "--batch-size", "2", "--max-seq-length", "32", "--val-every", "0"]


def finetune(capsys, *args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as e:
        main(["finetune", *args])
    out = capsys.readouterr()
    return e.value.code, out.err + out.out


def test_resume_on_another_data_folder_is_said(tmp_path, capsys):
    """`--resume RUN --data MOVED`: the run went on reading MOVED without a word."""
    model = save_folder(tiny_model("llama"), tmp_path / "model")
    data = words_data(tmp_path / "data")
    moved = tmp_path / "moved"
    shutil.copytree(data, moved)
    out = tmp_path / "o"
    first = ["--model", str(model), "--data", str(data), "-o", str(out), *SMALL]
    code, said = finetune(capsys, *first)
    assert code == 0, said[-1500:]
    code, said = finetune(capsys, "--resume", str(out), "--iters", "2")  # its own data: no word
    assert code == 0 and "Warning" not in said, said[-1500:]
    code, said = finetune(capsys, "--resume", str(out), "--data", str(moved), "--iters", "3")
    assert code == 0, said[-1500:]
    warned = [line for line in said.splitlines() if line.startswith("Warning:")]
    assert len(warned) == 1 and str(data.resolve()) in warned[0], said[-1500:]
    assert str(moved.resolve()) in warned[0], warned
    assert json.loads((out / "trainer_state.json").read_text())["step"] == 3
