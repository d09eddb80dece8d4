"""Review of `finetune` and `export` edges (found in review).

- resumed into another --output with --iters at the checkpoint's step: nothing was written,
  yet the path was returned (the CLI said "Saved"); --iters below it did the same.
- --output the data folder: the checkpoint replaced it, deleting train.jsonl; a folder of
  other files (a model) was replaced whole too. `export -o` the source model's folder (or one
  above it), or a folder of other files, deleted them the same way.
- valid.jsonl with fewer rows than one batch: an error naming neither file nor split, even
  with --val-every 0 (no validation).
- a 'domain' that is not a string: 0 read as no domain, a list crashed the mask probe.
"""

import json
from pathlib import Path

from mlx_ifp import UsageError, export, load
from mlx_ifp.train import finetune

import pytest
from test_finetune import Tok, cfg_for, make_data
from tiny import save_folder, tiny_model


def state(out):
    return json.loads((Path(out) / "trainer_state.json").read_text())


def test_resume_with_no_step_left_writes_the_output(tmp_path):
    data = make_data(tmp_path / "d")
    finetune(cfg_for(data, tmp_path / "a", iters=2), tiny_model("llama"), Tok())
    cfg = cfg_for(data, tmp_path / "b", iters=2, resume=str(tmp_path / "a"))
    out = finetune(cfg, tiny_model("llama"), Tok())
    assert state(out)["step"] == 2 and state(out)["history"] == state(tmp_path / "a")["history"]
    with pytest.raises(UsageError, match="past --iters 1"):
        cfg = cfg_for(data, tmp_path / "c", iters=1, resume=str(tmp_path / "a"))
        finetune(cfg, tiny_model("llama"), Tok())
    assert not (tmp_path / "c").exists()


def test_finetune_output_never_replaces_data_or_other_files(tmp_path):
    data = make_data(tmp_path / "d")
    other = tmp_path / "model"
    other.mkdir()
    (other / "config.json").write_text("{}")
    for out in (data, tmp_path, other):
        with pytest.raises(UsageError, match="data folder|other files"):
            finetune(cfg_for(data, out, iters=1), tiny_model("llama"), Tok())
    assert (Path(data) / "train.jsonl").is_file() and (other / "config.json").is_file()


def test_a_small_valid_split_is_named_and_not_needed_without_validation(tmp_path):
    data = make_data(tmp_path / "d", n_valid=2)
    with pytest.raises(UsageError, match=r"valid\.jsonl has 2 usable examples"):
        finetune(cfg_for(data, tmp_path / "a", iters=1, val_every=1), tiny_model("llama"), Tok())
    assert finetune(cfg_for(data, tmp_path / "b", iters=1), tiny_model("llama"), Tok()).is_dir()


@pytest.mark.parametrize("domain", [0, ["math"], True])
def test_a_domain_that_is_not_text_is_one_error(tmp_path, domain):
    data = Path(make_data(tmp_path / "d"))
    rows = (data / "valid.jsonl").read_text().splitlines()
    rows[1] = json.dumps({**json.loads(rows[1]), "domain": domain})
    (data / "valid.jsonl").write_text("\n".join(rows) + "\n")
    with pytest.raises(UsageError, match=r"valid\.jsonl, line 2: 'domain' must be a string"):
        finetune(cfg_for(str(data), tmp_path / "a", iters=1), tiny_model("llama"), Tok())


def test_export_never_replaces_its_source_or_a_folder_of_other_files(tmp_path):
    src = save_folder(tiny_model("llama", intermediate_size=72), tmp_path / "m" / "model")
    net, tok = load(str(src))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("user data")
    for out in (src, src.parent, mine):
        with pytest.raises(UsageError, match="source model|other files"):
            export(net, tok, out)
    assert (src / "config.json").is_file() and (mine / "notes.txt").read_text() == "user data"
    assert export(net, tok, src / "slim").is_dir() and export(net, tok, src / "slim").is_dir()
