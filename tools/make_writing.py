"""Writing instructions answered by the dense model, and a corpus that trains on them.

    python tools/make_writing.py prompts [-n 1000] [--valid 100] -o PROMPTS.jsonl  (dict-gcide)
    python tools/make_writing.py answer --prompts PROMPTS.jsonl -o DIR      (the dense replies)
    python tools/make_writing.py corpus --answers DIR --corpus OUT --eval EVAL [--data CORPUS]

Instructions such as "Write a short poem about a kettle.".

The corpus asks for no creative writing (poems, letters, stories, messages); a probe of 32
hand-written writing instructions (``docs/results/writing_probe/``) found the shipped default
twice as far from dense there as on the corpus's domains. ``prompts`` fills templates with
common GCIDE nouns (one token each, as the ``general`` questions), leaving out every content word
of the probe's prompts and the README's examples, so the probe stays held out; the first ``-n``
are for training, the next ``--valid`` for validation (other nouns). ``answer`` writes
``train.jsonl.gz`` and ``valid.jsonl.gz`` with the dense model's greedy replies (float32, any
device; resumable: a rerun goes on from ``partial.jsonl``). ``corpus``
copies a built corpus with the training rows appended to its SFT train split (domain ``prose``,
source ``writing``), and writes EVAL: a one-domain corpus (the ``prose`` slot) whose valid split
is the validation rows and whose test split is the probe, for ``tools/eval_task_masks.py --data
EVAL --domains prose``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
HERE = Path(__file__).resolve().parent.parent
PROBE = HERE / "docs/results/writing_probe"
TEMPLATES = (
    "Write a short poem about {a} {w}.",
    "Write a short story about {a} {w}.",
    "Write a paragraph describing {a} {w}.",
    "Write a letter to a friend about {a} {w}.",
    "Write a product description for {a} {w}.",
    "Write a children's rhyme about {a} {w}.",
    "Write a persuasive paragraph about why {a} {w} matters.",
    "Write a diary entry about a day with {a} {w}.",
    "Write a short speech in praise of {a} {w}.",
    "Write a riddle whose answer is {a} {w}.",
)
TEMPLATES2 = (  # the second set (thirty-seventh session): other forms, other nouns
    "Write a haiku about {a} {w}.",
    "Write a limerick about {a} {w}.",
    "Write a short fable with {a} {w} in it.",
    "Write a thank-you note for {a} {w}.",
    "Write a short dialogue between two friends about {a} {w}.",
    "Write a news headline and a short article about {a} {w}.",
    "Write the opening paragraph of a mystery story involving {a} {w}.",
    "Write a bedtime story about {a} {w}.",
    "Write a short blog post about {a} {w}.",
    "Write a motivational message inspired by {a} {w}.",
    "Write a funny social media post about {a} {w}.",
    "Write an email to a colleague about {a} {w}.",
    "Describe {a} {w} to someone who has never seen one.",
    "Write the chorus of a song about {a} {w}.",
    "Write a short toast that mentions {a} {w}.",
    "Write a polite complaint letter about {a} {w}.",
    "Write a short review of {a} {w}.",
    "Write a sonnet about {a} {w}.",
    "Write a postcard message from a trip that mentions {a} {w}.",
    "Write a short scene for a play about {a} {w}.",
)
TEMPLATES3 = (  # the third set (fortieth session): longer forms, other registers, other nouns
    "Write a three-paragraph essay about {a} {w}.",
    "Write a cover letter for a job that involves {a} {w}.",
    "Write a short story in which {a} {w} goes missing.",
    "Write a free-verse poem from the point of view of {a} {w}.",
    "Write step-by-step instructions for looking after {a} {w}.",
    "Write a radio advertisement for {a} {w}.",
    "Write a short speech for a school assembly about {a} {w}.",
    "Write a letter of apology to a neighbour about {a} {w}.",
    "Write a travel journal entry about finding {a} {w}.",
    "Write a short ghost story about {a} {w}.",
    "Write a tongue twister about {a} {w}.",
    "Write an acrostic poem about {a} {w}.",
    "Write a short science fiction story about {a} {w}.",
    "Write an invitation to a party with {a} {w} as its theme.",
    "Write a short monologue spoken by {a} {w}.",
    "Write a humorous eulogy for {a} {w}.",
    "Write three jokes about {a} {w}.",
    "Write a short fairy tale about {a} {w}.",
    "Write a short opinion piece about {a} {w}.",
    "Write a letter to your future self that mentions {a} {w}.",
)
SETS = {1: TEMPLATES, 2: TEMPLATES2, 3: TEMPLATES3}
#: forms kept for validation only, chosen before any reply was read, so that a set's validation
#: asks for forms never trained on: the second set's fable, motivational message, song chorus and
#: play scene; the third's science fiction story, monologue, eulogy and opinion piece
HELD = {2: (2, 9, 13, 19), 3: (12, 14, 15, 18)}
_WORD = re.compile(r"[a-z]+")


def banned() -> set[str]:
    """Content words of the probe's prompts and the README's examples: never a topic here."""
    sys.path.insert(0, str(PROBE))
    from mlx_ifp.data.readers import EXCLUDED

    from make import PROMPTS  # the probe's own prompt list

    return {w for p in PROMPTS for w in _WORD.findall(p.lower()) if len(w) > 3} | EXCLUDED


def prompts(
    tokenizer, n: int, valid: int, seed: int = 0, skip: int = 0, kind: int = 1
) -> list[dict]:
    """``n + valid`` seeded writing instructions about distinct common nouns.

    ``skip`` leaves out the first nouns of the seeded order (an earlier set's), ``kind`` picks
    the template set; a set with held forms (``HELD``) validates on those forms alone."""
    from mlx_ifp.data.corpus import GCIDE
    from mlx_ifp.data.readers import gcide_nouns

    ban = banned()
    one = lambda w: len(tokenizer.encode(" " + w, add_special_tokens=False)) == 1  # noqa: E731
    nouns = [w for w in gcide_nouns(GCIDE) if one(w) and w not in ban]
    rng = random.Random(f"{seed}:writing")
    rng.shuffle(nouns)
    out = []
    templates = SETS[kind]
    if kind != 1:  # the first set's draws stay as they were
        rng = random.Random(f"{seed}:writing:{kind}")
    for i, w in enumerate(nouns[skip : skip + n + valid]):
        a = "an" if w[0] in "aeiou" else "a"
        t = rng.randrange(len(templates))
        held = t in HELD[kind] if kind in HELD else i >= n  # else the last `valid` nouns
        out.append(
            {
                "topic": w,
                "prompt": templates[t].format(a=a, w=w),
                "split": "valid" if held else "train",
            }
        )
    return out


def write_answers(
    prompts_file: Path, out: Path, model: str, max_tokens: int, batch: int, label="writing",
    replies=None, response: str | None = None,
) -> int:  # fmt: skip
    """The dense model's greedy replies (float32 weights, on whatever device MLX uses) to each
    row of ``prompts_file``, written as ``out/train.jsonl.gz`` and ``valid.jsonl.gz`` by the
    rows' ``split``. Resumable: each batch's rows are appended to ``out/partial.jsonl`` as they
    come, and a rerun starts after the rows found there (checked against the prompts; a last
    row cut short by a kill is redone). ``replies(rows, bar)`` (with its ``response`` label)
    writes them instead of the dense model (``pruned_answers.py``: the pruned model's own)."""
    import mlx_ifp
    from mlx_ifp.common import Progress, atomic_file

    from make_general import answer, reply_row

    rows = [json.loads(line) for line in prompts_file.read_text().splitlines() if line]
    out.mkdir(parents=True, exist_ok=True)
    part = out / "partial.jsonl"
    lines = part.read_text().splitlines(keepends=True) if part.exists() else []
    if lines and not lines[-1].endswith("\n"):  # an append cut short (killed): that row redone
        with atomic_file(part) as tmp:
            tmp.write_text("".join(lines[:-1]))
    done = [json.loads(line) for line in lines if line.endswith("\n")]
    if [d["prompt"] for d in done] != [r["prompt"] for r in rows[: len(done)]]:
        raise FileExistsError(f"{part} holds other prompts than {prompts_file}: remove it")
    response = response or f"dense:{model}:greedy:{max_tokens}"
    if len(done) < len(rows):
        if replies is None:
            net, tok = mlx_ifp.load(model, dequantize=True, dtype="float32")
            replies = lambda chunk, bar: answer(net, tok, chunk, max_tokens, batch, bar)  # noqa: E731
        with Progress(label, len(rows), unit="reply") as bar, open(part, "a") as f:
            bar.advance(len(done))
            for start in range(len(done), len(rows), batch):
                chunk = rows[start : start + batch]
                got = replies(chunk, bar)
                new = [reply_row(r, c, response) for r, c in zip(chunk, got, strict=True)]
                f.write("".join(json.dumps(r) + "\n" for r in new))
                f.flush()
                done += new
    for split in ("train", "valid"):
        body = "".join(json.dumps(r) + "\n" for r in done if r["split"] == split)
        with atomic_file(out / f"{split}.jsonl.gz") as tmp:
            tmp.write_bytes(gzip.compress(body.encode(), mtime=0))
    part.unlink()
    return len(done)


def step_args(p: argparse.ArgumentParser) -> None:
    """The options of the answer and corpus steps (shared with make_chat.py)."""
    p.add_argument("--max-tokens", type=int, default=128, help="reply length cap")
    p.add_argument("--batch", type=int, default=128, help="prompts generated at once")
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("-o", "--output", help="prompts: the jsonl; answer: the folder")
    p.add_argument("--answers", help="corpus: the folder `answer` wrote")
    p.add_argument("--corpus", help="corpus: the training corpus to write")
    p.add_argument("--eval", help="corpus: the evaluation corpus to write")
    p.add_argument("--data", help="the corpus to copy (default: mlx_ifp data build's)")


def answer_step(p: argparse.ArgumentParser, a: argparse.Namespace, label="writing") -> None:
    """The answer step (shared with make_chat.py): a bad folder is one line, exit code 2."""
    if not (a.prompts and a.output):
        p.error("answer needs --prompts FILE and -o DIR")
    try:
        n = write_answers(Path(a.prompts), Path(a.output), a.model, a.max_tokens, a.batch, label)
    except (FileExistsError, FileNotFoundError) as e:
        p.error(str(e))  # one line, exit code 2
    print(f"{n} replies -> {a.output}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=("prompts", "answer", "corpus"))
    p.add_argument("-n", type=int, default=1000, help="training prompts")
    p.add_argument("--valid", type=int, default=100, help="validation prompts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip", type=int, default=0, help="prompts: nouns of an earlier set to skip")
    p.add_argument("--templates", type=int, default=1, choices=sorted(SETS), help="template set")
    p.add_argument("--prompts", help="prompts: the file written; answer: the file read")
    step_args(p)
    a = p.parse_args()
    import mlx_ifp
    from mlx_ifp.common import atomic_file

    if a.step == "prompts":
        if not a.output:
            p.error("prompts needs -o FILE")
        tok = mlx_ifp.load(a.model)[1]
        rows = prompts(tok, a.n, a.valid, a.seed, a.skip, a.templates)
        with atomic_file(a.output) as tmp:
            tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"{len(rows)} prompts -> {a.output}")
    elif a.step == "answer":
        answer_step(p, a)
    else:
        if not (a.answers and a.corpus and a.eval):
            p.error("corpus needs --answers DIR, --corpus OUT and --eval EVAL")
        from mlx_ifp.data import build

        from make_facts import write_corpus

        data = Path(a.data) if a.data else build(verbose=False)
        answers, ev = Path(a.answers), Path(a.eval)
        n = write_corpus(answers / "train.jsonl.gz", data, Path(a.corpus), "prose", "writing")
        if ev.exists():
            p.error(f"{ev} exists: give a new folder")
        shutil.copytree(PROBE / "corpus", ev)  # the probe: test split, writing task description
        with gzip.open(answers / "valid.jsonl.gz", "rt", encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        from make_general import write_split

        pairs = [(r["prompt"], (r["completion"], not r.get("truncated"))) for r in rows]
        v = write_split(ev, "prose", "valid", pairs, "writing")  # a cut reply stays marked
        print(f"{n} writing rows -> {a.corpus}; {v} validation rows + the probe -> {ev}")


if __name__ == "__main__":
    main()
