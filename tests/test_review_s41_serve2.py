"""``mlx_ifp serve``'s log-probabilities and ``logit_bias`` under review (forty-first session).

A tiny random llama with a byte-level BPE tokenizer (one token per byte, GPT-2's stand-ins),
so that a token can hold part of a character, as SmolLM2's do for "日本" or an emoji.
"""

import json

from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import GenRequest, Limits

import openai
import pytest
from test_serve import KEEP, Server, is_openai_error, post
from tiny import tiny_model

E2, X98 = 0xE2, 0x98  # the first two bytes of "☕" (U+2615): neither is a character alone
FORCE = {str(E2): 100, str(X98): 99}  # E2 chosen every step, 0x98 the runner-up


def byte_tokenizer():
    """Bytes 0..255 as tokens 0..255 (GPT-2's printable stand-ins, no merges), eos 256."""
    from mlx_lm.tokenizer_utils import TokenizerWrapper
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    shown = [*range(33, 127), *range(161, 173), *range(174, 256)]
    stand_in = {b: b for b in shown} | {
        b: 256 + i for i, b in enumerate(b for b in range(256) if b not in shown)
    }
    vocab = {chr(stand_in[b]): b for b in range(256)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<eos>"])
    return TokenizerWrapper(PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>"))


@pytest.fixture(scope="module")
def bytes_server():
    model, tok = tiny_model("llama", vocab_size=300), byte_tokenizer()
    assert tok.encode("☕", add_special_tokens=False) == [0xE2, 0x98, 0x95]
    assert tok.decode([E2]) == "\ufffd"
    server = Server(create_app(Registry(model, tok, "tiny", keep=KEEP), Limits(timeout_s=30)))
    yield server
    server.stop()


@pytest.fixture
def client(bytes_server):
    return openai.OpenAI(base_url=bytes_server.url + "/v1", api_key="none", max_retries=0)


def test_chat_logprob_bytes_of_part_of_a_character_are_the_tokens_own(client):
    """OpenAI's ``bytes`` are there to put back a character split over tokens; a token holding
    one byte of "☕" was sent as U+FFFD's bytes [239, 191, 189] (its decoded text's)."""
    r = client.chat.completions.create(
        model="tiny",
        messages=[{"role": "user", "content": "ab"}],
        max_tokens=3,
        logit_bias=FORCE,
        logprobs=True,
        top_logprobs=2,
    )
    content = r.choices[0].logprobs.content
    assert [c.token for c in content] == ["\ufffd"] * 3
    assert [c.bytes for c in content] == [[E2]] * 3  # was [[239, 191, 189]] * 3
    assert [[a.bytes for a in c.top_logprobs] for c in content] == [[[E2], [X98]]] * 3


def test_completions_top_logprobs_keep_the_likelier_of_two_tokens_of_one_text(client):
    """Two alternatives that both decode to U+FFFD are one key of the completions' object:
    it held the runner-up's log-probability, not the chosen token's."""
    r = client.completions.create(
        model="tiny", prompt="ab", max_tokens=2, logit_bias=FORCE, logprobs=2
    )
    lp = r.choices[0].logprobs
    assert lp.tokens == ["\ufffd"] * 2
    assert [top["\ufffd"] for top in lp.top_logprobs] == lp.token_logprobs  # was 0x98's


def test_a_huge_logit_bias_token_id_is_a_400_not_a_500(bytes_server):
    """A key of 5000 digits: Python's int() refuses strings past 4300 digits (ValueError),
    which came back as a 500 "internal error" with a traceback in the log."""
    body = {"model": "tiny", "prompt": "ab", "max_tokens": 1, "logit_bias": {"1" * 5000: 1}}
    status, answer = post(bytes_server.url, json.dumps(body).encode(), "/v1/completions")
    assert status == 400 and is_openai_error(answer), (status, answer)
    assert answer["error"]["param"] == "logit_bias"


def test_token_text_reads_a_sentencepiece_byte_fallback():
    from mlx_ifp.core import token_text  # the helper the fix added

    class Spm:  # "<0xE2>": SentencePiece's byte fallback, decoded alone to U+FFFD
        def decode(self, ids):
            return {5: "\ufffd", 6: "Paris"}[ids[0]]

        def convert_ids_to_tokens(self, i):
            return {5: "<0xE2>", 6: "▁Paris"}[i]

    assert token_text(Spm(), 5) == ("\ufffd", [E2])
    assert token_text(Spm(), 6) == (" Paris", list(b" Paris"))


def test_sentencepiece_tokens_keep_their_leading_space_in_logprobs():
    """Llama's and Mistral's "▁t37" decoded alone is "t37": the completions' tokens of the
    reply " t37 t37 ..." were "t37", "t37", ... (their text_offset 0, 4, ... pointing at the
    spaces), and joined (or their bytes put together) were not the text sent."""
    from test_review_s34_serve import spm_tokenizer

    reg = Registry(tiny_model("llama"), spm_tokenizer(), "tiny", keep=KEEP)
    pieces = list(reg.generate(GenRequest("tiny", "t5 t6 t7", False, max_tokens=4, logprobs=1)))
    text, tokens = "".join(p.text for p in pieces), [t for p in pieces for t in p.logprobs]
    assert text.startswith(" t") and len(tokens) == 4, (text, tokens)
    assert "".join(t["token"] for t in tokens) == text  # was "t37t37t17t17"
    assert bytes(b for t in tokens for b in t["bytes"]).decode() == text
    assert all(text[t["offset"] :].startswith(t["token"]) for t in tokens)
