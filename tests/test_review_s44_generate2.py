"""Review (s44, second pass): ``mlx_ifp generate`` against what a user of ``mlx_lm generate``
expects.

- ``generate --keep 1.0 --repick 4`` (``stream_generate(..., keep=1.0, repick=4)``): nothing is
  pruned, yet the reply ran dense re-pick passes that could change nothing, and the footer said
  "nothing pruned" and "Re-picked the mask 2 times".
- ``generate --repick 4 --mask-source static`` (a source that reads no text, so cannot re-pick;
  ``chat`` the same) was refused only after the model loaded.
- ``--task @FILE.JSONL`` (upper-case suffix) was read as plain lines: each JSON object a prompt.
- ``mlx_lm generate``'s ``--extra-eos-token`` and ``--chat-template-config`` were missing (and
  the API had no ``extra_eos_tokens=`` / ``chat_template_config=``).

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import json

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp import UsageError
from mlx_ifp.cli import app
from mlx_ifp.cli.generate import task_examples

import pytest
from bad_world import no_model_load
from tiny import endless_tokenizer, tiny_model
from typer.testing import CliRunner

PROMPT = "t5 t17 t3 t99 t42"
#: a chat template reading an extra argument: ``flag`` adds a token before the turns
FLAGGED = "{% if flag %}t9 {% endif %}{% for m in messages %}{{ m['content'] }} {% endfor %}"


def loaded(monkeypatch, template: str | None = None):
    """``mlx_ifp.load`` gives a tiny llama and an endless word tokenizer (with ``template``)."""
    tok = endless_tokenizer()
    if template is not None:
        tok._tokenizer.chat_template = template
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (tiny_model("llama"), tok))
    return tok


def reply(*args, **kwargs):
    model, tok = tiny_model("llama"), kwargs.pop("tok", None) or endless_tokenizer()
    return list(mlx_ifp.stream_generate(model, tok, PROMPT, *args, **kwargs))


@pytest.mark.parametrize("keep", [1.0, 96])  # a fraction, a count of every channel
def test_nothing_pruned_makes_no_re_picks(keep):
    """``keep=1.0, repick=4``: two dense re-pick passes, ``prune.repicks == 2``."""
    kw = dict(mask_source="griffin", repick=4, chat_template=False)
    assert reply(12, keep=keep, **kw)[-1].prune.repicks == 0
    assert reply(12, keep=48, **kw)[-1].prune.repicks == 2  # pruned: re-picked as asked
    with pytest.raises(UsageError, match="cannot re-pick"):  # still refused, pruned or not
        reply(12, keep=keep, mask_source="static", repick=4, chat_template=False)


def test_the_footer_of_an_unpruned_reply_claims_no_re_picks(monkeypatch):
    """The footer said "(nothing pruned)" and "Re-picked the mask 2 times during the reply"."""
    loaded(monkeypatch)
    args = ["generate", "-p", PROMPT, "--keep", "1.0", "--repick", "4", "-m", "12"]
    run = CliRunner().invoke(app, [*args, "--mask-source", "griffin", "--ignore-chat-template"])
    assert run.exit_code == 0, run.output
    assert "nothing pruned" in run.output and "Re-picked" not in run.output, run.output


@pytest.mark.parametrize("command", ["generate", "chat"])
@pytest.mark.parametrize("source", ["static", "random", "full"])
def test_repick_with_a_source_that_reads_no_text_is_refused_before_the_load(
    monkeypatch, command, source
):
    """``--repick 4 --mask-source static``: the model loaded, then the refusal."""
    no_model_load(monkeypatch)
    args = [command, "--repick", "4", "--mask-source", source]
    args += ["-p", "hi"] if command == "generate" else []
    args += ["--keep", "1.0"] if source == "full" else []
    run = CliRunner().invoke(app, args, input="q\n")
    assert run.exit_code == 2, (run.output, run.exception)
    assert "--repick" in run.output and source in run.output, run.output


def test_an_upper_case_jsonl_suffix_is_read_as_json_lines(tmp_path):
    """``@TASK.JSONL``: each line's JSON text was an example prompt, braces and all."""
    lines = [{"prompt": "Reverse a list."}, {"prompt": "Sort.", "completion": "sorted(d)"}]
    path = tmp_path / "TASK.JSONL"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert task_examples(path) == ["Reverse a list.", lines[1]]


@pytest.mark.parametrize(
    "config, why",
    [("{bad", "not JSON"), ("[1]", "JSON object"), ('"x"', "JSON object"), ("null", "JSON obj")],
)
def test_a_bad_chat_template_config_is_one_line_before_the_load(monkeypatch, config, why):
    """``--chat-template-config`` was no option of ``generate``."""
    no_model_load(monkeypatch)
    run = CliRunner().invoke(app, ["generate", "-p", "hi", "--chat-template-config", config])
    assert run.exit_code == 2, (run.output, run.exception)
    errors = [line for line in run.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "--chat-template-config" in errors[0] and why in errors[0]
    assert "Traceback" not in run.output


def test_the_chat_template_config_reaches_the_template_and_the_mask():
    """``chat_template_config=`` was an unknown generation option; the mask must read the turn
    formatted with the same arguments (here: one more token)."""
    kw = dict(mask_source="griffin", keep=48, repick=0, prefill="slim")
    runs = {}
    for flag in (False, True):
        tok = endless_tokenizer()
        tok._tokenizer.chat_template = FLAGGED
        runs[flag] = reply(2, tok=tok, chat_template_config={"flag": flag}, **kw)[-1]
    assert runs[True].prompt_tokens == runs[False].prompt_tokens + 1
    assert runs[True].prune.mask.text_hash != runs[False].prune.mask.text_hash
    with pytest.raises(UsageError, match="chat_template_config"):
        reply(2, chat_template_config=[1], chat_template=False)
    with pytest.raises(UsageError, match="chat_template_config"):  # the template is not applied
        reply(2, chat_template_config={"flag": True}, chat_template=False)
    with pytest.raises(UsageError, match="tokenize"):  # format_chat's own argument
        reply(2, chat_template_config={"tokenize": True})
    with pytest.raises(UsageError, match="no chat template"):  # nothing to take them
        reply(2, chat_template_config={"flag": True})
    as_json = reply(2, tok=tok, chat_template_config='{"flag": true}', **kw)[-1]  # mlx_lm's text
    assert as_json.prune.mask.text_hash == runs[True].prune.mask.text_hash


def test_generate_passes_the_chat_template_config(monkeypatch):
    """``--chat-template-config '{"flag": true}'``: no such option."""
    loaded(monkeypatch, FLAGGED)
    prompts = {}
    for config in ('{"flag": false}', '{"flag": true}'):
        args = ["generate", "-p", PROMPT, "-m", "2", "--chat-template-config", config]
        run = CliRunner().invoke(app, [*args, "--mask-source", "griffin"])
        assert run.exit_code == 0, run.output
        prompts[config] = [ln for ln in run.output.splitlines() if ln.startswith("Prompt:")][0]
    assert prompts['{"flag": true}'].startswith("Prompt: 6 tokens"), prompts
    assert prompts['{"flag": false}'].startswith("Prompt: 5 tokens"), prompts
    no_model_load(monkeypatch)  # the raw prompt has no template to take them
    args = ["generate", "-p", "hi", "--chat-template-config", '{"flag": true}']
    run = CliRunner().invoke(app, [*args, "--ignore-chat-template"])
    assert run.exit_code == 2 and "--chat-template-config needs the chat" in run.output, run.output
    run = CliRunner().invoke(
        app, ["generate", "-p", "hi", "--chat-template-config", '{"tokenize": 1}']
    )
    assert run.exit_code == 2 and "--chat-template-config cannot set tokenize" in run.output


def test_generate_refuses_a_chat_template_config_the_model_cannot_take(monkeypatch):
    """No such option; a template that raises on the arguments: one line, not a traceback."""
    raising = "{% if flag %}{{ raise_exception('no flag here') }}{% endif %}" + FLAGGED
    for template, why in ((None, "no chat template"), (raising, "no flag here")):
        loaded(monkeypatch, template)
        args = ["generate", "-p", "t5", "--chat-template-config", '{"flag": true}']
        run = CliRunner().invoke(app, [*args, "--mask-source", "griffin"])
        assert run.exit_code == 2 and why in run.output, (run.output, run.exception)
        assert "--chat-template-config" in run.output, run.output


def greedy_words(n: int, **kw) -> list[str]:
    return [r.text.strip() for r in reply(n, mask_source="griffin", chat_template=False, **kw)]


def test_extra_eos_tokens_end_the_reply():
    """``extra_eos_tokens=`` was an unknown generation option."""
    words = greedy_words(8)
    stop = next(w for w in words[2:] if w not in words[:2])  # a word first made third or later
    at = words.index(stop)
    out = reply(8, mask_source="griffin", chat_template=False, extra_eos_tokens=[stop])
    assert len(out) == at + 1 and out[-1].finish_reason == "stop", (words, stop)
    by_id = reply(8, mask_source="griffin", chat_template=False, extra_eos_tokens=[stop[1:]])
    assert len(by_id) == at + 1  # a number is a token id, as mlx_lm reads it
    tok = endless_tokenizer()
    reply(2, tok=tok, chat_template=False, extra_eos_tokens=[stop])
    assert tok.eos_token_ids == set()  # the caller's tokenizer is left as it was
    with pytest.raises(UsageError, match="not a token"):
        reply(2, chat_template=False, extra_eos_tokens=["not-a-word"])
    with pytest.raises(UsageError, match="extra_eos_tokens"):
        reply(2, chat_template=False, extra_eos_tokens="t5")  # a str, not a list of them


def test_generate_takes_extra_eos_tokens(monkeypatch):
    """``--extra-eos-token`` (repeatable) was no option of ``generate``."""
    words = greedy_words(8)
    stop = next(w for w in words[2:] if w not in words[:2])
    loaded(monkeypatch)
    args = ["generate", "-p", PROMPT, "-m", "8", "--mask-source", "griffin"]
    args += ["--ignore-chat-template", "--extra-eos-token", "t0", "--extra-eos-token", stop]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    assert f"Generation: {words.index(stop) + 1} tokens" in run.output, (words, run.output)
    run = CliRunner().invoke(app, [*args, "--extra-eos-token", "nope"])
    assert run.exit_code == 2 and "nope" in run.output and "not a token" in run.output
