"""Review (s46): ``mlx_ifp chat`` keeps a KV cache across turns, as ``mlx_lm.chat`` does.

- Every turn ran the whole conversation through ``stream_generate`` again, so a turn's wait
  before its first reply token grew with the conversation (~140 prompt tok/s on the 2-core CPU:
  a 2,000-token conversation cost ~14 s a turn); ``mlx_lm.chat`` keeps a ``prompt_cache``. Now
  the chat carries one (``cli.chat.Carried``): a turn prefills only the tokens of the
  conversation the cache lacks, the cache cut back where the chat template writes the last
  reply otherwise than it was generated. With one slim model and no re-pick the greedy replies
  are those of the re-run, token for token; ``r`` empties the cache; a message the template or
  the context refuses, or Ctrl-C stops, leaves it holding the kept conversation only;
  ``--max-kv-size`` still rotates; the line after each reply counts the tokens this turn
  prefilled. GRIFFIN, whose recipe prefills each turn through the unpruned model (and without
  ``--repick`` reads its mask off that pass over the whole conversation), still runs the whole
  conversation each turn.

Every test here fails on the code it was written against (each turn's prompt was the whole
conversation), but two that guard what must not change: GRIFFIN's whole conversation (since the
s47 review GRIFFIN carries its dense pass: that test now says so), and a rotated window that must
be cut back, which runs the whole conversation as before.
"""

import re

import mlx_ifp
from mlx_ifp.cli import app
from mlx_ifp.cli.generate import open_model
from mlx_ifp.inference import stream_generate
from mlx_ifp.sources.predictor import PredictorConfig, new_predictor, save_predictor

import pytest
from test_chat import TEMPLATE
from test_review_s45_hchat2 import REFUSES_T6
from test_serve import word_tokenizer
from tiny import finetune_folder, tiny_model
from typer.testing import CliRunner

#: the chat template writes each reply as ``t2``, not as it was generated: the cache must be cut
REWRITES = (
    "{% for m in messages %}{% if m['role'] == 'assistant' %}t2 {% else %}"
    "{{ m['content'] }} {% endif %}{% endfor %}"
)
LINES = ["t5 t6", "t7", "t8 t9 t10", "t11"]
PROMPT = re.compile(r"\[prompt (\d+) tokens, ")


def tokenizer(template: str = TEMPLATE, splits: bool = False):
    """Words ``t0 .. t127``, the end token ``t1``; ``splits``: ``word_tokenizer``'s, which reads
    ``t17`` as ``t1`` and the unknown ``7`` (replies then come back otherwise as text)."""
    from mlx_lm.tokenizer_utils import TokenizerWrapper
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = word_tokenizer()
    if not splits:  # the end token a word of its own: every reply comes back as it was
        words = Tokenizer(models.WordLevel({f"t{i}": i for i in range(128)}, unk_token="t0"))
        words.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        end = AddedToken("t1", single_word=True, special=True)
        tok = TokenizerWrapper(PreTrainedTokenizerFast(tokenizer_object=words, eos_token=end))
    tok._tokenizer.chat_template = template
    return tok


@pytest.fixture
def sent(monkeypatch):
    """Each turn's (prompt, reply token ids) as ``stream_generate`` was given and gave them."""
    got, real = [], mlx_ifp.stream_generate

    def spy(model, tokenizer, prompt, *args, **kwargs):
        got.append((list(prompt), []))
        for r in real(model, tokenizer, prompt, *args, **kwargs):
            got[-1][1].append(r.token)
            yield r

    monkeypatch.setattr(mlx_ifp, "stream_generate", spy)
    return got


def use(monkeypatch, template=TEMPLATE, splits=False, **model):
    tok = lambda: tokenizer(template, splits)  # noqa: E731
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (tiny_model(**model), tok()))


@pytest.fixture
def predictor(monkeypatch, tmp_path):
    """A finetune folder whose predictor reads GRIFFIN statistics (as the shipped one does, so
    it re-picks by default), for the tiny llama ``load`` returns."""
    folder = finetune_folder(tiny_model("llama"), tmp_path / "ft", 48, train="frozen")
    save_predictor(new_predictor(tiny_model("llama"), PredictorConfig(head="griffin")), folder)
    use(monkeypatch)
    return folder


def chat(*lines, args=(), m=6):
    args = ["chat", "-m", str(m), *[str(a) for a in args]]
    return CliRunner().invoke(app, args, input="".join(f"{x}\n" for x in [*lines, "q"]))


def rerun(lines, m=6, adapter=None, source=None, keep=None, **options):
    """The replies (token ids) of running the whole conversation each turn, as chat did."""
    opened = open_model("tiny", adapter, source, None, keep, 1, None, None, None, 0)
    net, tok = opened.pop("net"), opened.pop("tokenizer")
    opened.pop("keep_note")
    messages, replies, fed = [], [], []
    for line in lines:
        messages.append({"role": "user", "content": line})
        rs = list(stream_generate(net, tok, messages, m, repick=0, **opened, **options))
        messages.append({"role": "assistant", "content": "".join(r.text for r in rs)})
        replies.append([r.token for r in rs])
        fed.append(rs[-1].prompt_tokens)
    return replies, fed


def prompts(run) -> list[int]:
    return [int(x.group(1)) for x in PROMPT.finditer(run.output)]


@pytest.mark.parametrize(("template", "splits"), [(TEMPLATE, False), (REWRITES, False),
                                                   (TEMPLATE, True)])  # fmt: skip
@pytest.mark.parametrize("flags", [["static"], ["static", "--keep", "1.0"], ["random"]])
def test_a_cached_chat_replies_as_running_the_whole_conversation_again(
    monkeypatch, sent, template, splits, flags
):
    """Every turn ran the whole conversation again (its prompt growing turn by turn): with a
    cache, no greedy token may change, where the template rewrites the replies too."""
    use(monkeypatch, template, splits)
    source, *more = flags
    run = chat(*LINES, args=["--mask-source", source, *more])
    assert run.exit_code == 0, run.output
    replies, whole = rerun(LINES, source=source, keep=more[1] if more else None)
    assert [ids for _, ids in sent] == replies
    counts = prompts(run)
    assert counts == [len(p) for p, _ in sent]  # the tokens fed, each turn
    assert counts[0] == whole[0] and all(
        c < w for c, w in zip(counts[1:], whole[1:], strict=True)
    ), counts
    if (template, splits) == (TEMPLATE, False):  # each reply comes back as it was generated
        assert counts[1:] == [1, 3, 1], counts  # the new message only


def test_the_predictor_without_repick_replies_as_the_rerun(predictor, sent):
    """The shipped predictor's kind, ``--repick 0``: one slim model, cached, the same tokens."""
    run = chat(*LINES, args=["--adapter", predictor, "--repick", "0"])
    assert run.exit_code == 0, run.output
    assert [ids for _, ids in sent] == rerun(LINES, adapter=str(predictor))[0]
    assert prompts(run)[1:] == [1, 3, 1], run.output


def test_a_re_picking_chat_prefills_only_the_new_message(predictor, sent):
    """The default re-picks every 16 reply tokens: turn 2 ran all 2 + 20 + 1 tokens again."""
    runs = [chat("t5 t6", "t7", args=["--adapter", predictor], m=20) for _ in range(2)]
    assert runs[0].exit_code == 0, runs[0].output
    assert runs[0].output.count("1 re-pick;") == 2  # the mask moved along each reply
    assert prompts(runs[0]) == [2, 1], runs[0].output  # t7 only
    assert [ids for _, ids in sent[:2]] == [ids for _, ids in sent[2:]]  # deterministic
    assert [len(ids) for _, ids in sent] == [20] * 4


def test_r_empties_the_cache(monkeypatch, sent):
    """``r`` must start from nothing: the same first message gives the same reply."""
    use(monkeypatch)
    run = chat("t5 t6", "t7", "r", "t5 t6", args=["--mask-source", "static"])
    assert run.exit_code == 0, run.output
    assert prompts(run) == [2, 1, 2], run.output  # t7 on the cache; then from nothing
    assert sent[2][1] == sent[0][1], run.output


def test_a_message_the_template_refuses_leaves_the_cache_as_it_was(monkeypatch, sent):
    """The refused message must not stay in the cache: the chat goes on as without it."""
    use(monkeypatch, REFUSES_T6)
    run = chat("t5", "t5 t6", "t7", args=["--mask-source", "static"])
    assert run.exit_code == 0 and "the chat template refuses" in run.output, run.output
    assert [ids for _, ids in sent] == rerun(["t5", "t7"], source="static")[0]
    assert prompts(run)[1] == 1  # t7 only


def test_a_message_past_the_context_is_refused_and_the_cache_kept(monkeypatch, sent):
    """Past the context: one line, the message dropped, the next turn as without it."""
    use(monkeypatch, max_position_embeddings=24)
    lines = ["t5 t6", "t7 " * 30, "t8 " * 22, "t9"]  # fits; alone too long; fills it; fits
    run = chat(*lines, args=["--mask-source", "static"], m=4)
    assert run.exit_code == 0 and "Traceback" not in run.output, run.output
    errors = [x for x in run.output.splitlines() if "Error:" in x]
    assert len(errors) == 2 and all("context is 24" in x for x in errors), errors
    assert "by itself" in errors[0] and "r starts over" in errors[1], errors
    assert [ids for _, ids in sent if ids] == rerun(["t5 t6", "t9"], m=4, source="static")[0]
    assert prompts(run) == [2, 1], run.output  # t9 only: the cache holds the kept turn


def stop_second_reply(monkeypatch, sent) -> None:
    """Chat with a Ctrl-C raised at the third token of the second reply."""
    use(monkeypatch)
    spy = mlx_ifp.stream_generate

    def stopped(*args, **kwargs):
        for i, r in enumerate(spy(*args, **kwargs)):
            if len(sent) == 2 and i == 2:
                raise KeyboardInterrupt
            yield r

    monkeypatch.setattr(mlx_ifp, "stream_generate", stopped)


def test_a_reply_stopped_midway_leaves_nothing_of_its_turn(monkeypatch, sent):
    """Ctrl-C in the second reply: its message and the tokens fed for it must not stay."""
    stop_second_reply(monkeypatch, sent)
    run = chat("t5 t6", "t7", "t8", args=["--mask-source", "static"])
    assert run.exit_code == 0 and "(stopped)" in run.output, run.output
    assert [sent[0][1], sent[2][1]] == rerun(["t5 t6", "t8"], source="static")[0]
    assert prompts(run) == [2, 1], run.output  # t8 only


@pytest.mark.parametrize("template", [TEMPLATE, REWRITES])
def test_a_rotating_cache_carries_on_past_its_window(monkeypatch, sent, template):
    """``--max-kv-size 8``: the window fills in the first turn. It carries on where the
    template writes the replies as generated, as ``mlx_lm.chat``'s does; where it must be cut
    back (it cannot once rotated) the turn runs the whole conversation, as before."""
    use(monkeypatch, template, arch="qwen2")  # (mlx-lm's llama makes its own cache: no window)
    run = chat(*LINES, args=["--mask-source", "static", "--max-kv-size", 8])
    assert run.exit_code == 0 and "Error" not in run.output, run.output
    replies, whole = rerun(LINES, source="static", max_kv_size=8)
    if template == TEMPLATE:
        assert prompts(run) == [2, 1, 3, 1], run.output
    else:  # a new cache each turn: as running the whole conversation again
        assert prompts(run) == whole and [ids for _, ids in sent] == replies, run.output


def test_griffin_carries_its_dense_pass(monkeypatch, sent):
    """GRIFFIN reads its mask off the dense pass of the whole conversation: since the s47 review
    that pass is carried (``cli.chat.Dense``, tests/test_review_s47_hgchat.py); the slim model
    is sent the prompt's last token, the rest prefilled densely."""
    use(monkeypatch)
    run = chat(*LINES[:2], args=["--mask-source", "griffin"])
    assert run.exit_code == 0, run.output
    assert [p for p, _ in sent] == [[6], [7]]  # t6, t7: once a message list each


def test_the_embedded_model_prefills_only_the_new_message():
    """The shipped predictor, re-picking: turn 2 ran the whole conversation again (69 tokens)."""
    lines = "What is the capital of France?\nAnd of Italy?\nq\n"
    run = CliRunner().invoke(app, ["chat", "-m", "17"], input=lines)
    assert run.exit_code == 0, run.output
    first, second = prompts(run)  # the new turn, as the template writes it: 15 tokens
    assert first == 37 and second <= 15, run.output  # (14 after a reply that ended itself)
    assert run.output.count("1 re-pick") == 2 and "94.7M of 134.5M" in run.output, run.output
