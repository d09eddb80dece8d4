"""Write mlx_ifp/data/general.jsonl.gz: general-knowledge questions answered by the dense model.

    python tools/make_general.py [-n 1200] [--max-tokens 128] [--batch 48] [--seed 0]

Questions come from ``mlx_ifp.data.readers.general_questions`` (GCIDE nouns in templates; needs the
``dict-gcide`` Debian package); replies are the dense embedded model's greedy ones, batched. The
file is what ``mlx_ifp data build`` reads for its ``general`` domain (split there by the seed).
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import mlx_ifp
from mlx_ifp.common import Progress, atomic_file
from mlx_ifp.core.prompt import turn_tokens
from mlx_ifp.data import readers
from mlx_ifp.data.corpus import GCIDE


def answer(model, tokenizer, questions: list[dict], max_tokens: int, batch: int, bar) -> list:
    """The dense model's greedy replies (mlx-lm's batched generation), one per question, each
    as (text, ended): False for a reply cut at ``max_tokens`` (stored ``"truncated": true``)."""
    from mlx_lm.generate import batch_generate

    replies = []
    for start in range(0, len(questions), batch):
        chunk = questions[start : start + batch]
        ids = [turn_tokens(tokenizer, q["prompt"]) for q in chunk]
        done = batch_generate(model, tokenizer, ids, max_tokens=max_tokens, return_token_ids=True)
        ends = [len(t) < max_tokens for t in done.token_ids]
        replies += [(r.strip(), e) for r, e in zip(done.texts, ends, strict=True)]
        bar.advance(len(chunk))
    return replies


def reply_row(question: dict, reply: tuple[str, bool], response: str) -> dict:
    """A question with its reply, marked ``truncated`` where the reply was cut."""
    text, ended = reply
    cut = {} if ended else {"truncated": True}
    return {**question, "completion": text, "response": response, **cut}


def corpus_row(domain: str, prompt: str, text: str, ended: bool, provenance: dict) -> dict:
    """One item of a corpus folder's split, a reply cut at --max-tokens marked ``truncated``."""
    row = {"domain": domain, "prompt": prompt, "completion": text, "provenance": provenance}
    return row | ({} if ended else {"truncated": True})


def write_split(out: Path, domain: str, split: str, pairs, source: str) -> int:
    """``(prompt, (text, ended))`` pairs (``answer``'s replies) as the ``split`` of ``domain``'s
    slot in corpus folder ``out``, the layout the eval tools read; a reply cut at --max-tokens is
    marked ``truncated``; written whole, then renamed."""
    folder = out / "domains" / domain
    folder.mkdir(parents=True, exist_ok=True)
    rows = [corpus_row(domain, p, text, ended, {"source": source}) for p, (text, ended) in pairs]
    with atomic_file(folder / f"{split}.jsonl") as tmp:
        tmp.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return len(rows)


def make_probe(doc: str, prompts: dict, tasks: dict, source: str, replier=answer) -> None:
    """A hand-written probe's ``main``: ``-o`` corpus folder, ``--max-tokens``; the dense model's
    greedy replies to each domain's ``prompts`` (16 at a time) as that slot's test split, and
    ``tasks`` as its ``tasks.json``. ``replier`` is ``answer`` (the caller's, so tests swap it)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("-o", "--output", required=True, help="the corpus folder to write")
    p.add_argument("--max-tokens", type=int, default=128)
    a = p.parse_args()
    model, tok = mlx_ifp.load("smollm2-135m-instruct", dequantize=True)
    out, n = Path(a.output), 0
    with Progress("dense replies", total=sum(map(len, prompts.values()))) as bar:
        for domain, texts in prompts.items():
            replies = replier(model, tok, [{"prompt": q} for q in texts], a.max_tokens, 16, bar)
            n += write_split(out, domain, "test", zip(texts, replies, strict=True), source)
    (out / "tasks.json").write_text(json.dumps(tasks, indent=2) + "\n")
    print(f"wrote {n} items to {out}")


def generation_args(p: argparse.ArgumentParser, n: int, output: str) -> None:
    """The options of a self-distilled question file (this tool's and ``make_facts.py``'s)."""
    p.add_argument("-n", type=int, default=n, help="questions")
    p.add_argument("--max-tokens", type=int, default=128, help="reply length cap")
    p.add_argument("--batch", type=int, default=48, help="prompts generated at once")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("-o", "--output", default=output)


def distill(a: argparse.Namespace, label: str, make_questions) -> None:
    """Load ``a.model``, make its questions (``make_questions(tokenizer)``), answer each greedily
    and write them, with the replies, as gzipped jsonl to ``a.output`` (whole, then renamed)."""
    model, tokenizer = mlx_ifp.load(a.model)
    questions = make_questions(tokenizer)
    start = time.perf_counter()
    with Progress(label, len(questions), unit="reply") as bar:
        replies = answer(model, tokenizer, questions, a.max_tokens, a.batch, bar)
    response = f"dense:{a.model}:greedy:{a.max_tokens}"
    rows = [reply_row(q, r, response) for q, r in zip(questions, replies, strict=True)]
    body = "".join(json.dumps(r) + "\n" for r in rows).encode()
    Path(a.output).parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(a.output) as tmp:  # no time stamp or name in the header: the corpus id
        tmp.write_bytes(gzip.compress(body, mtime=0))  # hashes these bytes, one content, one id
    print(f"{len(replies)} replies in {time.perf_counter() - start:.0f} s -> {a.output}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    generation_args(p, 1200, str(readers.GENERAL_FILE))
    a = p.parse_args()
    distill(a, "general", lambda tok: readers.general_questions(GCIDE, tok, a.n, a.seed))


if __name__ == "__main__":
    main()
