"""``data build --distill``: a reply cut at its length limit was stored as a whole reply, and
``finetune`` then taught the model to end its turn there, mid-sentence (found by a helper's
review, forty-first session). Such a reply is now marked ``truncated`` and trained without an
end of turn."""

import json

from mlx_ifp.data import corpus as data
from mlx_ifp.train.batches import to_example

from corpus import ByteTokenizer, fake_corpus
from tiny import tiny_model


def test_a_reply_cut_at_max_tokens_is_marked_truncated(tmp_path, monkeypatch, capsys):
    folder = fake_corpus(tmp_path, monkeypatch)
    model, tok = tiny_model("llama"), ByteTokenizer()
    ends, real = iter([True, False, True]), data.greedy_tokens

    def greedy(model, tokenizer, prompt, max_tokens):
        ended = next(ends)
        return real(model, tokenizer, prompt, 2 if ended else max_tokens)[0], ended

    monkeypatch.setattr(data, "greedy_tokens", greedy)
    path = data.distill(folder, model, tok, 3, "tiny", max_tokens=5)
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    assert [r.get("truncated", False) for r in rows] == [False, True, False]
    assert "1 of 3 replies reached 5 tokens" in capsys.readouterr().err


def test_the_real_greedy_loop_says_whether_it_ended():
    model, tok = tiny_model("llama"), ByteTokenizer()
    tokens, ended = data.greedy_tokens(model, tok, "Add two and three.", 4)
    assert len(tokens) == 4 and not ended  # a random model does not stop within four tokens
    assert data.greedy_reply(model, tok, "Add two and three.", 4) == tok.decode(tokens)


def test_a_truncated_reply_is_trained_without_an_end_of_turn():
    tok = ByteTokenizer()
    whole = to_example({"prompt": "hi", "completion": "abc"}, tok, "sft")
    cut = to_example({"prompt": "hi", "completion": "abc", "truncated": True}, tok, "sft")
    assert whole.tokens[-1] == tok.eos_token_id  # was: the cut one too
    assert cut.tokens == whole.tokens[:-1] and cut.offset == whole.offset
