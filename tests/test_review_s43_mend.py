"""Forty-third session: outputs where no file can be made, though ``os.access`` says yes."""

import os

from mlx_ifp import UsageError
from mlx_ifp.common import check_writable

import pytest


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_an_output_in_proc_is_refused_before_any_work():
    # as root os.access(W_OK) is true for /proc, where no file can be made: the mask was
    # written only after the whole generation, as a FileNotFoundError traceback
    with pytest.raises(UsageError, match=r"cannot write /proc/x\.safetensors"):
        check_writable("/proc/x.safetensors")


def test_a_writable_folder_is_left_as_it_was(tmp_path):
    assert check_writable(tmp_path / "m.safetensors") == tmp_path / "m.safetensors"
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind


def test_a_gguf_end_of_turn_token_stops_a_reply_as_llama_cpp_does(tmp_path, monkeypatch):
    """(a helper's lead) llama.cpp stops on ``tokenizer.ggml.eot_token_id`` / ``eom_token_id``
    as on the EOS: a GGUF whose end of turn is not its EOS (Llama 3 Instruct's <|eot_id|> beside
    <|end_of_text|>) was converted with the EOS alone, and its replies ran past the turn."""
    from mlx_ifp.models.gguf import gguf_to_mlx_lm

    import mlx.core as mx
    import mlx_lm
    import test_gguf

    meta = test_gguf.tokenizer_meta
    extra = {f"tokenizer.ggml.{k}_token_id": mx.array(v, dtype=mx.uint32) for k, v in
             (("eot", 3), ("eom", 4))}  # fmt: skip
    monkeypatch.setattr(test_gguf, "tokenizer_meta", lambda n=300: {**meta(n), **extra})
    path = test_gguf.write_gguf(test_gguf.tiny_model("llama"), tmp_path / "m.gguf")
    _, tokenizer = mlx_lm.load(str(gguf_to_mlx_lm(path, tmp_path / "out")))
    assert tokenizer.eos_token_id == 2 and set(tokenizer.eos_token_ids) == {2, 3, 4}


def test_a_literal_newline_escape_in_the_prompt_is_read_as_mlx_lm_reads_it():
    """(a helper's lead) ``mlx_lm generate -p "a\\nb"`` prompts "a", a newline, "b": the README
    says ``generate`` takes mlx-lm's flags, but the backslash went to the model as it was."""
    from mlx_ifp.cli.generate import read_prompt

    assert read_prompt("Write:\\n1. a\\tb") == "Write:\n1. a\tb"
    assert read_prompt("two\nlines") == "two\nlines"
