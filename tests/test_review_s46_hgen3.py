"""Review (s46): ``mlx_ifp generate`` against ``mlx_lm generate``'s flags (mlx-lm 0.32.2).

- ``--prefill-response TEXT`` (the reply starts with that text, after the chat template):
  "No such option".
- ``--prompt-cache-file FILE`` (a KV cache ``mlx_lm cache_prompt`` saved, the prompt continuing
  its cached start): "No such option"; now taken, with mlx_lm's refusal of a cache made for
  another model, and one line for a missing or corrupt file, a cache of another shape and the
  flags it cannot take (mlx_lm ignores ``--system-prompt`` and ``--max-kv-size`` beside it).
- ``--trust-remote-code``: "No such option" (``mlx_ifp.load`` takes it); ``--image``,
  ``--quantize-activations`` / ``-qa``, ``--use-default-chat-template`` and ``--verbose False``
  said "No such option" / "unexpected extra argument" with no word of what they are here.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import sys

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.cli import app, main

import mlx.core as mx
import pytest
from bad_world import no_model_load
from mlx_lm.models.cache import make_prompt_cache, save_prompt_cache
from tiny import endless_tokenizer, save_folder, tiny_model
from typer.testing import CliRunner

PROMPT = "t5 t17 t3 t99 t42"
#: a chat template that writes each message's text, then a space
G = ["--mask-source", "griffin"]
PLAIN = "{% for m in messages %}{{ m['content'] }} {% endfor %}"


def loaded(monkeypatch, template: str | None = PLAIN, seen: dict | None = None):
    """``mlx_ifp.load`` gives a tiny llama and an endless word tokenizer (with ``template``)."""
    tok = endless_tokenizer()
    tok._tokenizer.chat_template = template

    def load(*args, **kwargs):
        (seen if seen is not None else {}).update(kwargs)
        return tiny_model("llama"), tok

    monkeypatch.setattr(mlx_ifp, "load", load)
    return tok


def invoke(*args: str):
    run = CliRunner().invoke(app, ["generate", *args])
    reply = run.stdout.split("==========")[0] if run.exit_code == 0 else None
    return run, reply


def test_prefill_response_starts_the_reply(monkeypatch):
    """``--prefill-response "t8 t9"``: no such option. The reply continues the prefilled text,
    as the same tokens sent raw do; the mask reads it as part of the prompt."""
    loaded(monkeypatch)
    run, prefilled = invoke("-p", PROMPT, "--prefill-response", "t8 t9", "-m", "4", *G)
    assert run.exit_code == 0, run.output
    assert "Prompt: 7 tokens" in run.output, run.output
    run, raw = invoke("-p", f"{PROMPT} t8 t9", "--ignore-chat-template", "-m", "4", *G)
    assert run.exit_code == 0 and prefilled == raw, (prefilled, raw)
    run, plain = invoke("-p", PROMPT, "-m", "4", *G)
    assert "Prompt: 5 tokens" in run.output and plain != prefilled


def test_prefill_response_is_refused_where_it_cannot_apply(monkeypatch):
    """Beside --ignore-chat-template, empty, or on a model with no chat template (mlx_lm drops it
    silently there): one line, exit 2."""
    no_model_load(monkeypatch)
    for extra, why in (
        (["--ignore-chat-template"], "--prefill-response needs the chat template"),
        ([], "--prefill-response is empty"),
    ):
        value = "t8" if extra else " "
        run, _ = invoke("-p", PROMPT, "--prefill-response", value, *extra)
        assert run.exit_code == 2 and why in run.output, run.output
    loaded(monkeypatch, template=None)
    run, _ = invoke("-p", PROMPT, "--prefill-response", "t8", "-m", "2", *G)
    assert run.exit_code == 2 and "needs a chat template: the model has none" in run.output


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    model = tiny_model("llama", num_attention_heads=2)  # a head of 32: a KV group of 32
    return save_folder(model, tmp_path_factory.mktemp("hgen3") / "model")


def cache_prompt(folder, path, prompt: str, *extra: str) -> None:
    """``mlx_lm cache_prompt --model FOLDER --prompt PROMPT --prompt-cache-file PATH``, as run."""
    from mlx_lm import cache_prompt as lm

    argv = ["cache_prompt", "--model", str(folder), "--prompt", prompt]
    old, sys.argv = sys.argv, [*argv, "--prompt-cache-file", str(path), *extra]
    try:
        lm.main()
    finally:
        sys.argv = old


def test_a_prompt_cache_file_continues_its_cached_start(folder, tmp_path, capsys):
    """``--prompt-cache-file`` (a cache ``mlx_lm cache_prompt`` saved): no such option. The reply
    is the one to the whole prompt (nothing pruned); --model left out is the cache's model."""
    path = tmp_path / "cache.safetensors"
    cache_prompt(folder, path, "t5 t17 t3")
    capsys.readouterr()
    keep = ["-m", "5", "--keep", "1.0"]
    run, whole = invoke("--model", str(folder), "-p", "t5 t17 t3 t99 t42", *keep)
    assert run.exit_code == 0, run.output
    run, cached = invoke("--prompt-cache-file", str(path), "-p", "t99 t42", *keep)
    assert run.exit_code == 0, run.output
    assert cached == whole and "Prompt: 2 tokens" in run.output, (cached, whole, run.output)
    run, _ = invoke(
        "--model", str(folder), "--prompt-cache-file", str(path), "-p", "t99", "-m", "3"
    )
    assert run.exit_code == 0 and "Mask: griffin" in run.output, run.output  # pruned, slim


def test_a_bad_prompt_cache_file_is_one_line(folder, tmp_path, monkeypatch):
    """A missing or corrupt file, a cache made for another model (by its metadata, or its shape),
    a quantized cache's other --kv-bits and the flags it cannot take: one line, exit 2."""
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a cache" * 10)
    other = tmp_path / "other.safetensors"  # made by a 1-layer model, its metadata lost
    small = tiny_model("llama", num_hidden_layers=1)
    cache = make_prompt_cache(small)
    small(mx.array([[5, 6]]), cache=cache)
    save_prompt_cache(str(other), cache, {})
    heads = tmp_path / "heads.safetensors"  # 3 layers, but 4 KV heads, not 2
    wide = tiny_model("llama", num_attention_heads=4, num_key_value_heads=4)
    wide_cache = make_prompt_cache(wide)
    wide(mx.array([[5, 6]]), cache=wide_cache)
    save_prompt_cache(str(heads), wide_cache, {})
    theirs = tmp_path / "theirs.safetensors"
    save_prompt_cache(str(theirs), cache, {"model": "someone/else", "tokenizer_config": "{}"})
    four = tmp_path / "four.safetensors"
    cache_prompt(folder, four, "t5 t17 t3", "--kv-bits", "4", "--kv-group-size", "32",
                 "--quantized-kv-start", "0")  # fmt: skip
    model = ["--model", str(folder), "-p", "t9", "-m", "2", "--prompt-cache-file"]
    for args, why in (
        ([str(tmp_path / "none")], "no such file"),
        ([str(tmp_path)], "not a file"),
        ([str(bad)], "is not a KV cache saved by mlx_lm cache_prompt"),
        ([str(theirs)], "was made for someone/else, not"),
        ([str(other)], "holds a KV cache for another model (1 layers; this one has 3"),
        ([str(heads)], "holds a KV cache for another model (3 layers; this one has 3, or"),
        ([str(four), "--kv-bits", "8"], "--kv-bits 8: --prompt-cache-file's cache has 4"),
        ([str(four), "--kv-group-size", "64"], "--kv-group-size 64: --prompt-cache-file's"),
        ([""], "--prompt-cache-file is empty"),
    ):
        run, _ = invoke(*model, *args)
        assert run.exit_code == 2 and why in run.output, (args, run.output)
        assert "Traceback" not in run.output
    no_model_load(monkeypatch)  # refused before the load
    for flag in (["--system-prompt", "s"], ["--max-kv-size", "64"], ["--prefill", "dense"],
                 ["--draft-model", str(folder)]):  # fmt: skip
        run, _ = invoke(*model, str(four), *flag)
        assert run.exit_code == 2 and f"not with {flag[0]}" in run.output, (flag, run.output)


def test_the_prompt_cache_and_the_prefill_response_go_together(monkeypatch, tmp_path):
    """With both, the text sent starts at the user turn's text (mlx_lm cuts at the prefilled
    reply's, dropping the prompt): here the question, the reply's head and its start."""
    tok = loaded(monkeypatch, "{% for m in messages %}<{{ m['role'] }}> {{ m['content'] }} "
                 "{% endfor %}")  # fmt: skip
    model = tiny_model("llama")
    cache = make_prompt_cache(model)
    model(mx.array([tok.encode("<user> t5 t17", add_special_tokens=False)]), cache=cache)
    path = tmp_path / "c.safetensors"
    save_prompt_cache(str(path), cache, {"model": "tiny", "tokenizer_config": "{}"})
    args = [*G, "--model", "tiny", "--prompt-cache-file", str(path), "-p", "t3", "-m", "2"]
    run, _ = invoke(*args, "--prefill-response", "t8")
    assert run.exit_code == 0 and "Prompt: 3 tokens" in run.output, run.output  # t3 <assistant> t8
    run, _ = invoke(*args)
    assert run.exit_code == 0 and "Prompt: 1 tokens" in run.output, run.output  # t3 (no reply)


def test_trust_remote_code_reaches_the_load(monkeypatch):
    """``--trust-remote-code`` (``mlx_lm generate``'s): no such option."""
    seen = {}
    loaded(monkeypatch, seen=seen)
    run, _ = invoke("-p", PROMPT, "-m", "1", "--trust-remote-code", *G)
    assert run.exit_code == 0 and seen.get("trust_remote_code") is True, run.output
    run, _ = invoke("-p", PROMPT, "-m", "1", *G)
    assert run.exit_code == 0 and seen.get("trust_remote_code") is False


@pytest.mark.parametrize(
    "args, said",
    [
        (["--image", "x.png"], "mlx_lm generate's --image: not supported"),
        (["-qa"], "mlx_lm generate's --quantize-activations: not supported"),
        (["--quantize-activations"], "mlx_lm generate's --quantize-activations: not supported"),
        (["--use-default-chat-template"], "ignores it too: leave it out"),
        (["--verbose", "False"], "mlx_lm's --verbose False is --quiet"),
    ],
)
def test_mlx_lm_generate_flags_not_taken_say_what_they_are(args, said, capsys):
    """mlx_lm generate's other flags: "No such option: --image" and no more."""
    with pytest.raises(SystemExit) as e:
        main(["generate", "-p", "hi", *args])
    err = capsys.readouterr().err
    assert e.value.code == 2 and said in err and len(err.strip().splitlines()) == 1, err


def test_the_help_names_the_new_flags():
    """The --help of generate shows the flags, and what the mask reads with them."""
    run = CliRunner().invoke(app, ["generate", "--help"], env={"COLUMNS": "200"})
    text = " ".join(run.output.replace("│", " ").split())
    for flag in ("--prefill-response", "--prompt-cache-file", "--trust-remote-code"):
        assert flag in text, flag
    assert "reads it as part of the prompt" in text and "new prompt text alone" in text
