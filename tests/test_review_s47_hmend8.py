"""Review (s47, hmend8) of the session's change: what a release review found.

- ``chat`` with a mask source that reads its mask off the dense prefill (a plug-in built on
  GRIFFIN's statistic) and re-picks by default (``repicks_by_default``): the carried dense pass
  (``cli.chat.Dense``) took ``repick=None`` for "off", so it gave ``stream_generate`` a mask
  picked once, and no reply was re-picked, while the banner said "re-picked every 16 reply
  tokens" and the same conversation run whole (``generate``, the chat before s47) re-picked.
- ``eval --data``: an item past ``--gen-limit`` (never generated for) that lacks what scoring
  a reply reads was refused, where only the items a reply is generated for need it.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import json

import mlx_ifp
from mlx_ifp.cli.generate import open_model
from mlx_ifp.inference import stream_generate
from mlx_ifp.sources import Griffin, base

import pytest
from test_review_s46_hchatc import LINES, chat, sent, use  # noqa: F401

NAME = "regriffin-s47-hmend8"


class Repicking(Griffin):
    """GRIFFIN as a plug-in that re-picks by default, as the shipped predictor does."""

    def key(self) -> str:
        return NAME

    def repicks_by_default(self, model) -> bool:
        return True


@pytest.fixture
def plugin():
    mlx_ifp.register_source(NAME, lambda **kw: Repicking())
    yield NAME
    base.SOURCES.pop(NAME, None)


def rerun(lines, source: str, m: int) -> tuple[list, list]:
    """Each turn's reply (token ids) and re-picks when the whole conversation runs again."""
    opened = open_model("tiny", None, source, None, None, 1, None, None, None, None)
    net, tok = opened.pop("net"), opened.pop("tokenizer")
    opened.pop("keep_note")
    messages, replies, repicks = [], [], []
    for line in lines:
        messages.append({"role": "user", "content": line})
        rs = list(stream_generate(net, tok, messages, m, **opened))
        messages.append({"role": "assistant", "content": "".join(r.text for r in rs)})
        replies.append([r.token for r in rs])
        repicks.append(rs[-1].prune.repicks)
    return replies, repicks


def test_a_source_that_repicks_by_default_repicks_in_chat(monkeypatch, sent, plugin):  # noqa: F811
    """A dense-prefill source that re-picks by default: the carried pass gave a mask picked
    once (no re-pick: "0 re-picks") where the banner says "re-picked every 16 reply tokens"
    and the whole conversation run again re-picks; now it re-picks as the re-run does."""
    use(monkeypatch)
    run = chat(*LINES[:2], args=["--mask-source", plugin], m=20)
    assert run.exit_code == 0, run.output
    assert "re-picked every 16 reply tokens" in run.output, run.output
    replies, repicks = rerun(LINES[:2], plugin, m=20)
    assert repicks == [1, 1] and [ids for _, ids in sent] == replies
    assert run.output.count(", 1 re-pick;") == 2, run.output


def test_an_item_past_gen_limit_is_not_refused_for_what_generation_reads(cli_world, tmp_path):
    """Two math items, the second's ``answer`` null, ``--gen-limit 1``: only the first is
    generated for, yet the run was refused ("needs a number or a text as its provenance's
    'answer', not None") before any scoring; now the second is scored teacher-forced alone."""
    from test_review_s47_heval3 import EVAL, cli

    model, _ = cli_world
    folder = tmp_path / "mine"
    (folder / "domains" / "math").mkdir(parents=True)
    items = [{"prompt": "t5 t6 t7", "completion": "t8 t9", "provenance": {"answer": a}}
             for a in (4, None)]  # fmt: skip
    (folder / "domains" / "math" / "test.jsonl").write_text(
        "".join(json.dumps(it) + "\n" for it in items)
    )
    out = tmp_path / "r.json"
    run = cli("eval", "--model", model, "--data", folder, "--domains", "math", *EVAL.split(),
              "-o", out)  # fmt: skip
    assert run.exit_code == 0, run.output
    (row,) = json.loads(out.read_text())["results"]
    assert row["n"] == 2 and row["gen_n"] == 1, row
