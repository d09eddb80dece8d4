"""Review (s47, hmend10) of ``core.spaced_reply``: a continuation whose first token starts with
several spaces (code indentation: a prefill ``"def f():\\n"``, the reply ``"    return 1"``).
mlx-lm's streaming detokenizers drop one leading space of the reply; ``spaced_reply`` put it back
only when the first piece had no space left, so ``"ĠĠĠ"`` (3 spaces, streamed as 2) + ``" return"``
came out with 3 spaces, not 4: Python code a space short (an IndentationError)."""

from types import SimpleNamespace

from mlx_ifp.core import spaced_reply

import pytest


def tokenizer(kind: str, words: list[str]):
    """``words`` as single tokens (byte-level ``Ġ`` or SentencePiece ``▁`` pieces)."""
    from mlx_lm.tokenizer_utils import (
        BPEStreamingDetokenizer,
        SPMStreamingDetokenizer,
        TokenizerWrapper,
    )
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token=words[0]))
    if kind == "bpe":
        tok.decoder, detok = decoders.ByteLevel(), BPEStreamingDetokenizer
    else:  # Llama 2's decoder: the first piece's space stripped
        steps = [decoders.Replace("▁", " "), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
        tok.decoder, detok = decoders.Sequence(steps), SPMStreamingDetokenizer
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=words[-1])
    return TokenizerWrapper(fast, detokenizer_class=detok)


def streamed(tok, ids: list[int]) -> str:
    """The reply's text as mlx-lm streams it (its detokenizer), through ``spaced_reply``."""
    det = tok.detokenizer
    det.reset()
    records = []
    for i in ids:
        det.add_token(i)
        records.append(SimpleNamespace(token=i, text=det.last_segment))
    det.finalize()
    records[-1].text += det.last_segment
    return "".join(r.text for r in spaced_reply(records, tok))


@pytest.mark.parametrize(
    "kind, words, ids, want",
    [
        ("bpe", ["ĠĠĠ", "Ġreturn", "Ġ1", "x"], [0, 1, 2], "    return 1"),  # failed: 3 spaces
        ("bpe", ["ĠĠ", "Ġx", "y"], [0, 1], "   x"),  # failed: "  x"
        ("spm", ["▁▁▁", "▁return", "▁1", "x"], [0, 1, 2], "    return 1"),  # failed: 3 spaces
        ("bpe", ["Ġ", "Ġx", "y"], [0, 1], "  x"),  # a lone space, held back: guard
        ("bpe", ["Ġa", "Ġb", "y"], [0, 1], " a b"),  # one space: guard
        ("spm", ["▁a", "▁b", "y"], [0, 1], " a b"),  # guard
        ("bpe", ["a", "Ġb", "y"], [0, 1], "a b"),  # no space: none added (guard)
    ],
)
def test_leading_spaces_all_kept(kind, words, ids, want):
    tok = tokenizer(kind, words)
    assert tok.decode(ids).lstrip(" ") == want.lstrip(" ")
    assert streamed(tok, ids) == want
