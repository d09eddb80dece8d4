"""Review of the fifty-first session's changes (``git diff fb470da 593c2bd -- mlx_ifp/``): the
wording of three new one-line messages.

- ``finetune --resume A -o B`` (or ``--init-from A -o B``) where B holds a run: the new warning
  said "this run starts over", though it goes on from A (its step, its weights).
- ``finetune -c`` with a config of two YAML documents: the new one-line error kept PyYAML's
  second half alone, "line 3, column 1: but found another document".
- A model folder without config.json that holds macOS's AppleDouble ``._NAME.gguf`` (written
  next to each file on an exFAT or network drive) named that file as "its GGUF file".
"""

from types import SimpleNamespace

from mlx_ifp import UsageError
from mlx_ifp.cli.finetune import replacing
from mlx_ifp.train import load_config

import pytest


def held_run(tmp_path):
    out = tmp_path / "b"
    out.mkdir()
    (out / "trainer_state.json").write_text("{}")
    return out


@pytest.mark.parametrize("given", ["resume", "init_from"])
def test_a_run_from_another_folder_into_one_that_holds_a_run_is_not_said_to_start_over(
    tmp_path, capsys, given
):
    out, other = held_run(tmp_path), tmp_path / "a"
    cfg = SimpleNamespace(output=str(out), resume=None, init_from=None)
    setattr(cfg, given, str(other))
    replacing(cfg, lambda folder: {"step": 5})
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "step 5" in err[0] and "replaces it" in err[0], err
    assert "starts over" not in err[0] and str(other) in err[0], err


def test_a_new_run_into_a_folder_that_holds_a_run_still_says_it_starts_over(tmp_path, capsys):
    out = held_run(tmp_path)
    replacing(SimpleNamespace(output=str(out), resume=None, init_from=None), lambda f: {"step": 2})
    err = capsys.readouterr().err
    assert "starts over" in err and f"--resume {out}" in err, err


def test_a_config_of_two_yaml_documents_says_so(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text("iters: 1\n---\niters: 2\n")
    with pytest.raises(UsageError) as e:
        load_config(path)
    said = str(e.value)
    assert "\n" not in said and "single document" in said and "line 2" in said, said


def test_a_folder_without_config_names_its_gguf_not_an_appledouble_file(tmp_path):
    from mlx_ifp.models.resolve import check_model

    (tmp_path / "._model.gguf").write_bytes(b"\0" * 4096)  # macOS's resource fork on exFAT
    with pytest.raises(UsageError) as e:
        check_model(str(tmp_path))
    assert "GGUF" not in str(e.value), e.value  # no GGUF file in it
    (tmp_path / "model.gguf").write_bytes(b"GGUF")
    with pytest.raises(UsageError) as e:
        check_model(str(tmp_path))
    assert str(e.value).endswith(f"its GGUF file: {tmp_path / 'model.gguf'})"), e.value


def test_export_gguf_with_a_transformers_tokenizer_without_an_end_token(tmp_path):
    """transformers' ``eos_token_ids`` is its one id, or None where no eos_token is set: the
    fix for the id left None to ``sorted`` (a TypeError from inside)."""
    import copy

    import mlx_ifp

    pytest.importorskip("gguf")
    from test_gguf_export import random_mask, tiny

    model, wrapped = tiny("llama")
    raw = copy.deepcopy(wrapped._tokenizer)
    raw.eos_token = None
    assert raw.eos_token_id is None
    mask = random_mask(model)
    out = mlx_ifp.export_gguf(mlx_ifp.prune(model, mask), raw, tmp_path / "a.gguf", "f16")
    assert out.is_file() and out.stat().st_size > 0


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("a: [1\n", ("line 2", "column 1")),
        ("a: b\n c: d\n", ("line 2", "mapping values are not allowed here")),
        ("a: b\x07\n", ("character 4", "#x0007")),
    ],
    ids=["unclosed-list", "bad-indent", "control-character"],
)
def test_a_serve_tasks_file_that_is_not_yaml_is_one_line(tmp_path, text, fragments):
    """(The review of the whole change: finetune's config got one-line YAML errors this session;
    serve's tasks file, read the same way, still printed PyYAML's several lines naming
    "<unicode string>".)"""
    from mlx_ifp.serve.registry import read_tasks

    path = tmp_path / "tasks.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as err:
        read_tasks(path)
    said = str(err.value)
    assert "\n" not in said and "<unicode string>" not in said, said
    assert said.startswith(f"{path} is not valid YAML"), said
    for fragment in fragments:
        assert fragment in said, said
