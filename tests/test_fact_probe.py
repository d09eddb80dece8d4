"""tools/fact_probe.py: its facts are held out and well formed, and its scoring reads them right."""

import gzip
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("fact_probe", ROOT / "tools" / "fact_probe.py")
fact_probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fact_probe)


def test_facts_are_not_general_domain_questions_or_topics():
    with gzip.open(ROOT / "mlx_ifp" / "data" / "general.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    prompts = {r["prompt"].strip().lower() for r in rows}
    topics = {r["topic"].strip().lower() for r in rows}
    for question, _, answer, aliases in fact_probe.FACTS:
        assert question.lower() not in prompts
        assert {w.lower() for w in (answer, *aliases)}.isdisjoint(topics), question


def test_a_reply_names_the_answer_only_as_a_whole_word():
    paris = fact_probe.FACTS[0]
    assert fact_probe.named("It is PARIS, of course.", paris)
    assert not fact_probe.named("Parisian cafes are famous.", paris)
    romeo = next(f for f in fact_probe.FACTS if "Romeo" in f[0])
    assert fact_probe.named("Romeo and Juliet is by Shakespeare.", romeo)
    assert not fact_probe.named("It was written in Verona.", romeo)


@pytest.mark.real
def test_dense_smollm2_ranks_paris_first_and_each_answer_follows_its_prefix(smollm2_dir):
    import mlx_ifp

    import mlx.core as mx

    model, tok = mlx_ifp.load(str(smollm2_dir))
    rank, nll = fact_probe.forced(model, tok, *fact_probe.FACTS[0][:3])
    assert rank == 1 and nll < 0.5, (rank, nll)
    # a wrong answer ranks lower and costs more
    rank_x, nll_x = fact_probe.forced(
        model, tok, fact_probe.FACTS[0][0], "The capital of France is", "Madrid"
    )
    assert rank_x > 1 and nll_x > nll

    def flat(x):  # the loop checks the tokenizer's alignment: any model's logits serve
        return mx.zeros((*x.shape, model.args.vocab_size))

    for question, prefix, answer, _ in fact_probe.FACTS:  # the assert inside forced: tokens align
        fact_probe.forced(flat, tok, question, prefix, answer)
