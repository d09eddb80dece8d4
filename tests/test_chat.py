"""``mlx_ifp chat``: the conversation goes to the model turn by turn, ``r`` starts over, a turn
that fails is dropped and the chat goes on; and a real conversation on the embedded model."""

import importlib

import mlx_ifp
from mlx_ifp.cli import app

import pytest
from test_serve import word_tokenizer
from tiny import tiny_model
from typer.testing import CliRunner

TEMPLATE = "{% for m in messages %}{{ m['content'] }} {% endfor %}"


@pytest.fixture
def turns(monkeypatch):
    """The message lists each turn sent to ``stream_generate`` (a tiny model is loaded): given
    as such, or formatted by ``chat`` into the tokens it sent (those a carried cache lacks)."""
    chat_module = importlib.import_module("mlx_ifp.cli.chat")

    def load(*args, **kwargs):
        tok = word_tokenizer()
        tok._tokenizer.chat_template = TEMPLATE
        return tiny_model("llama"), tok

    sent, real, formatted, tokens = [], mlx_ifp.stream_generate, [], chat_module.chat_tokens

    def formats(tokenizer, messages, *args, **kwargs):
        formatted[:] = [[dict(m) for m in messages]]
        return tokens(tokenizer, messages, *args, **kwargs)

    def spy(model, tokenizer, prompt, *args, **kwargs):
        given = bool(prompt) and isinstance(prompt[0], dict)
        sent.append([dict(m) for m in prompt] if given else formatted.pop())
        yield from real(model, tokenizer, prompt, *args, **kwargs)

    monkeypatch.setattr(mlx_ifp, "load", load)
    monkeypatch.setattr(mlx_ifp, "stream_generate", spy)
    monkeypatch.setattr(chat_module, "chat_tokens", formats)
    return sent


def chat(*lines: str, args=()):
    args = ["chat", "--mask-source", "griffin", "-m", "4", *args]
    return CliRunner().invoke(app, args, input="".join(f"{x}\n" for x in lines))


def test_each_turn_sends_the_conversation_so_far(turns):
    run = chat("t5 t6", "t7", "q", args=["--system-prompt", "t9"])
    assert run.exit_code == 0, run.output
    assert [[m["role"] for m in t] for t in turns] == [
        ["system", "user"],
        ["system", "user", "assistant", "user"],
    ]
    first, second = turns
    assert second[:2] == first and second[3]["content"] == "t7"
    assert second[2]["content"].strip()  # the first reply, as it was streamed
    assert run.output.count("parameters active") == 2


def test_r_starts_a_new_conversation_and_q_or_the_end_of_input_stops(turns):
    run = chat("t5", "r", "t8")  # no q: the input ends
    assert run.exit_code == 0, run.output
    assert [[m["content"] for m in t if m["role"] == "user"] for t in turns] == [["t5"], ["t8"]]
    assert "a new conversation" in run.output


def test_a_turn_that_fails_is_dropped_and_the_chat_goes_on(turns, monkeypatch):
    spy = mlx_ifp.stream_generate

    def once_refused(model, tokenizer, prompt, *args, **kwargs):
        if len(turns) == 0 and not getattr(once_refused, "done", False):
            once_refused.done = True
            raise mlx_ifp.UsageError("the prompt is longer than the model's context")
        yield from spy(model, tokenizer, prompt, *args, **kwargs)

    monkeypatch.setattr(mlx_ifp, "stream_generate", once_refused)
    run = chat("t5", "t6", "q")
    assert run.exit_code == 0, run.output
    assert "Error: the prompt is longer" in run.output  # r: only with earlier turns (below)
    assert [[m["content"] for m in t] for t in turns] == [["t6"]]  # t5 was dropped


def test_bad_flags_are_one_line_before_the_model_loads(monkeypatch):
    from bad_world import no_model_load

    no_model_load(monkeypatch)
    for args in (["--temp", "-1"], ["--keep", "0"], ["--repick", "-2"], ["--adapter", ""]):
        run = CliRunner().invoke(app, ["chat", *args], input="q\n")
        assert run.exit_code == 2 and run.output.startswith("Error: "), (args, run.output)


def test_a_conversation_with_the_embedded_model():
    run = CliRunner().invoke(app, ["chat", "-m", "24"],
                             input="What is the capital of France?\nq\n")  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "Paris" in run.output
    assert "pruned by predictor smollm2-135m-instruct" in run.output
    assert "94.7M of 134.5M parameters active" in run.output


def test_a_tokenizer_with_no_chat_template_is_refused_before_the_loop(turns, monkeypatch):
    load = mlx_ifp.load

    def no_template(*args, **kwargs):
        net, tok = load(*args, **kwargs)
        tok._tokenizer.chat_template = None
        return net, tok

    monkeypatch.setattr(mlx_ifp, "load", no_template)
    run = chat("t5", "q")
    assert run.exit_code == 2, run.output
    assert run.output.startswith("Error: ") and "chat template" in run.output, run.output
    assert len(run.output.strip().splitlines()) == 1 and not turns


def test_input_that_is_not_utf8_drops_the_message_and_the_chat_goes_on(turns):
    # a UTF-8 locale's stdin decodes strictly (the C.UTF-8 one escapes): both must go on
    run = CliRunner().invoke(app, ["chat", "--mask-source", "griffin", "-m", "4"],
                             input=b"t5 \xff\xfe\nt6\nq\n")  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "not UTF-8" in run.output and "dropped" in run.output
    assert [[m["content"] for m in t] for t in turns] == [["t6"]]


def test_the_end_of_input_ends_the_prompt_line(turns):
    run = chat("t5")  # Ctrl-D: the shell's prompt must not follow ">> " on its line
    assert run.exit_code == 0, run.output
    assert run.output.endswith(">> \n"), repr(run.output[-40:])


def test_the_banner_says_how_the_mask_is_picked_and_what_is_kept(turns):
    banner = {  # griffin reads each turn's whole conversation off its dense prefill
        "griffin": "whole conversation", "static": "one mask for every message",
        "full": "unpruned", "griffin --keep 1": "unpruned", "griffin --keep 1.0": "unpruned",
        "griffin --repick 2": "from your first message",
    }  # fmt: skip
    for flags, words in banner.items():
        name, *more = flags.split()
        run = chat("q", args=["--mask-source", name, *more])
        first = run.output.splitlines()[0]
        assert run.exit_code == 0 and words in first and " 1 of the" not in first, (flags, first)


def test_a_setting_every_turn_would_refuse_is_refused_before_the_loop(turns):
    run = chat("t5", "t6", "q", args=["--mask-source", "static", "--repick", "2"])
    assert run.exit_code == 2 and run.output.startswith("Error: "), run.output
    assert "--repick" in run.output and "dropped" not in run.output and not turns


def test_past_the_context_r_is_offered_only_when_earlier_turns_fill_it(turns, monkeypatch):
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (tiny_model(max_position_embeddings=12),
                                                           turns_tokenizer()))  # fmt: skip
    run = chat(
        "t5 " * 12, "t5 t6", "t7 t8 t9 t10 t11 t12", "q"
    )  # alone too long; fits; fills the context
    assert run.exit_code == 0, run.output
    alone, full = [x for x in run.output.splitlines() if "context" in x]
    assert "r starts over" not in alone and "r starts over" in full, run.output
    assert [m["content"] for m in turns[-1] if m["role"] == "user"] == [
        "t5 t6",
        "t7 t8 t9 t10 t11 t12",
    ]


def turns_tokenizer(refuses: str = ""):
    tok = word_tokenizer()
    tok._tokenizer.chat_template = refuses + TEMPLATE
    return tok


def test_a_template_that_refuses_a_system_message_is_one_line_before_the_loop(turns, monkeypatch):
    refuses = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system role') }}"
    refuses += "{% endif %}"
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (tiny_model(), turns_tokenizer(refuses)))
    for cmd in (["chat"], ["generate", "-p", "t5"]):  # Gemma's templates do this
        args = [*cmd, "--mask-source", "griffin", "--system-prompt", "t9"]
        run = CliRunner().invoke(app, args, input="t5\nq\n")
        assert run.exit_code == 2 and "Error: --system-prompt" in run.output, (cmd, run.output)
        assert "no system role" in run.output and not turns
