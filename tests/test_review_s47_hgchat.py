"""Review (s47): ``mlx_ifp chat --mask-source griffin`` keeps a dense KV cache across turns.

GRIFFIN (the default source of every model but the embedded SmolLM2) ran the whole conversation
through the unpruned model at every turn to read its mask off that pass, so a turn's wait grew
with the conversation (the line after each reply: "prompt 238 tokens" at the fourth message).
Its statistic is a sum over tokens, so the chat now carries the dense pass (its KV cache and the
statistic, ``cli.chat.Dense``): a turn prefills densely only the tokens the cache lacks (the last
reply as the template writes it, the new message), the mask is read off everything observed, and
after the reply the cache is cut back to the prompt. The greedy replies are those of the re-run,
token for token; ``r``, ``--repick``, ``--system-prompt``, a refused or stopped turn, a window
(``--max-kv-size``: past it, the whole conversation as before) keep working.

Every test here fails on the code it was written against (each turn prefilled the whole
conversation), but the one that guards a full window, which runs the whole conversation as before.
"""

import mlx_ifp
from mlx_ifp.cli import app
from mlx_ifp.cli.generate import open_model
from mlx_ifp.inference import stream_generate

import pytest
from test_chat import TEMPLATE
from test_review_s45_hchat2 import REFUSES_T6
from test_review_s46_hchatc import (  # noqa: F401
    LINES,
    REWRITES,
    chat,
    prompts,
    sent,
    stop_second_reply,
    use,
)
from typer.testing import CliRunner

GRIFFIN = ["--mask-source", "griffin"]


def rerun(lines, m=6, start=(), model="tiny", **options):
    """Each turn's reply (token ids) and prompt size when the whole conversation runs again."""
    opened = open_model(model, None, "griffin", None, None, 1, None, None, None, 0)
    net, tok = opened.pop("net"), opened.pop("tokenizer")
    opened.pop("keep_note")
    messages, replies, whole, masks = list(start), [], [], []
    for line in lines:
        messages.append({"role": "user", "content": line})
        rs = list(stream_generate(net, tok, messages, m, **opened, **options))
        messages.append({"role": "assistant", "content": "".join(r.text for r in rs)})
        replies.append([r.token for r in rs])
        whole.append(rs[-1].prompt_tokens)
        masks.append(rs[-1].prune.mask.indices.tolist())
    return replies, whole, masks


@pytest.fixture
def masks(sent, monkeypatch):  # noqa: F811
    """Each turn's mask (its channels per layer), as ``stream_generate`` picked or was given it."""
    got, spy = [], mlx_ifp.stream_generate

    def picked(*args, **kwargs):
        for r in spy(*args, **kwargs):
            yield r
        got.append(r.prune.mask.indices.tolist())

    monkeypatch.setattr(mlx_ifp, "stream_generate", picked)
    return got


def lacked(whole):
    """The tokens a turn lacks: the conversation's growth, and the last prompt token (observed,
    then cut off the cache, as the re-run's dense prefill does, for the slim model to feed)."""
    return whole[:1] + [b - a + 1 for a, b in zip(whole, whole[1:], strict=False)]


@pytest.mark.parametrize(("template", "splits"), [(TEMPLATE, False), (REWRITES, False),
                                                   (TEMPLATE, True)])  # fmt: skip
@pytest.mark.parametrize("more", [[], ["--repick", "2"], ["--system-prompt", "t9"]])
def test_griffin_replies_as_the_rerun_from_what_it_lacks(monkeypatch, sent, masks,  # noqa: F811
                                                         template, splits, more):  # fmt: skip
    """Turns 2-4 prefilled the whole conversation; now only its growth, the replies unchanged."""
    use(monkeypatch, template, splits)
    run = chat(*LINES, args=[*GRIFFIN, *more])
    assert run.exit_code == 0, run.output
    start = [{"role": "system", "content": "t9"}] if "t9" in more else []
    options = {"repick": 2} if "2" in more else {"repick": 0}
    replies, whole, picked = rerun(LINES, start=start, **options)
    assert [ids for _, ids in sent] == replies and masks == picked  # the same channels too
    assert prompts(run) == lacked(whole), (prompts(run), whole)
    assert all(a < b for a, b in zip(prompts(run)[1:], whole[1:], strict=True))


def test_r_starts_griffin_from_nothing(monkeypatch, sent):  # noqa: F811
    use(monkeypatch)
    run = chat("t5 t6", "t7", "r", "t5 t6", args=GRIFFIN)
    assert run.exit_code == 0, run.output
    replies, whole, _ = rerun(["t5 t6", "t7"])
    assert prompts(run) == [*lacked(whole), whole[0]], run.output
    assert [ids for _, ids in sent] == [*replies, replies[0]]


def test_a_message_the_template_refuses_leaves_griffin_as_without_it(monkeypatch, sent):  # noqa: F811
    use(monkeypatch, REFUSES_T6)
    run = chat("t5", "t5 t6", "t7", args=GRIFFIN)
    assert run.exit_code == 0 and "the chat template refuses" in run.output, run.output
    replies, whole, _ = rerun(["t5", "t7"])
    assert [ids for _, ids in sent] == replies and prompts(run) == lacked(whole), run.output


def test_a_message_past_the_context_leaves_griffin_as_without_it(monkeypatch, sent):  # noqa: F811
    """Refused before any dense work, in the words of before (not "N in the prompt cache")."""
    use(monkeypatch, max_position_embeddings=24)
    lines = ["t5 t6", "t7 " * 30, "t8 " * 22, "t9"]  # fits; alone too long; fills it; fits
    run = chat(*lines, args=GRIFFIN, m=4)
    assert run.exit_code == 0 and "Traceback" not in run.output, run.output
    errors = [x for x in run.output.splitlines() if "Error:" in x]
    assert len(errors) == 2 and all("context is 24" in x for x in errors), errors
    assert "has 36 tokens;" in errors[0] and "has 28 tokens;" in errors[1], errors  # as before
    replies, whole, _ = rerun(["t5 t6", "t9"], m=4)
    assert [ids for _, ids in sent if ids] == replies and prompts(run) == lacked(whole)


def test_a_griffin_reply_stopped_midway_leaves_nothing_of_its_turn(monkeypatch, sent):  # noqa: F811
    stop_second_reply(monkeypatch, sent)
    run = chat("t5 t6", "t7", "t8", args=GRIFFIN)
    assert run.exit_code == 0 and "(stopped)" in run.output, run.output
    replies, whole, _ = rerun(["t5 t6", "t8"])
    assert [sent[0][1], sent[2][1]] == replies and prompts(run) == lacked(whole), run.output


@pytest.mark.parametrize("window", [8, 64])
def test_griffin_in_a_window(monkeypatch, sent, window):  # noqa: F811
    """``--max-kv-size``: the cache carried while the window holds the conversation; once the
    reply rotated it (it cannot be cut back), the whole conversation, as before."""
    use(monkeypatch, arch="qwen2")  # (mlx-lm's llama makes its own cache: no window)
    run = chat(*LINES, args=[*GRIFFIN, "--max-kv-size", window])
    assert run.exit_code == 0 and "Error" not in run.output, run.output
    replies, whole, _ = rerun(LINES, max_kv_size=window, repick=0)
    assert [ids for _, ids in sent] == replies
    assert prompts(run) == (whole if window == 8 else lacked(whole)), run.output


@pytest.mark.real
def test_griffin_on_the_embedded_model_replies_as_the_rerun(monkeypatch, sent, masks):  # noqa: F811
    """SmolLM2, four messages, greedy: the fourth turn prefilled 238 tokens before."""
    lines = ["What is the capital of France?", "Tell me more about its history.",
             "What are its most famous museums?",
             "Which one should I visit first, and why?"]  # fmt: skip
    args = ["chat", "-m", "24", *GRIFFIN]
    run = CliRunner().invoke(app, args, input="".join(f"{x}\n" for x in [*lines, "q"]))
    assert run.exit_code == 0, run.output
    replies, whole, picked = rerun(lines, m=24, model="smollm2-135m-instruct", repick=0)
    assert [ids for _, ids in sent] == replies and masks == picked
    assert prompts(run) == lacked(whole), (prompts(run), whole)
