"""Write named-entity questions answered by the dense model, and a corpus that trains on them too.

    python tools/make_facts.py [-n 1000] [-o docs/results/train_facts/facts.jsonl.gz]
    python tools/make_facts.py --corpus OUT [--facts FILE] [--data CORPUS]

The corpus's ``general`` questions are about common nouns ("What is a toughness?"); none asks
for a fact about a named thing, and the fact probe (``tools/fact_probe.py``) found the trained
masks drop the channels that recall such facts. This makes those questions: instance nouns of
WordNet (people, places, works, battles, buildings; ``apt-get install wordnet-base``) whose names
are at most two tokens of the model's vocabulary (a proxy for "well known"), in a few templates,
each answered greedily by the dense model (self-distillation: stage 2 learns its distribution).
Names or glosses that mention any word of the fact probe's questions or answers are left out,
so the probe stays held out. ``--corpus`` copies a built corpus (the default one from the cache)
and appends the questions to its SFT training split only: validation and test stay as built.
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

WORDNET = Path("/usr/share/wordnet/data.noun")
#: lexicographer files of WordNet's nouns -> (kind, templates)
KINDS = {
    18: ("person", ("Who was {x}?", "What is {x} known for?", "Tell me about {x}.")),
    15: ("place", ("Where is {x}?", "Tell me about {x}.", "What is {x} known for?")),
    17: ("object", ("What is {x}?", "Tell me about {x}.")),
    4: ("event", ("What was {x}?", "Tell me about {x}.")),
    6: ("artifact", ("What is {x}?", "Tell me about {x}.")),
    10: ("work", ("What is {x}?", "Who wrote {x}?")),
    14: ("group", ("What is {x}?", "Tell me about {x}.")),
}
# the rest split evenly over the other kinds; kinds with too few names left are topped up from the
# others, so the result leans to people (the bans below remove most glosses with "city",
# "river", "country" or "star": 53% people and 30% places in the shipped file)
SHARES = {"person": 0.4, "place": 0.35}
TEMPLATES = dict(KINDS.values())  # kind -> its question templates
#: words of the README's example prompts (as ``data.readers.EXCLUDED``): never a name here
README_WORDS = {"france", "paris", "capital", "city", "sea", "haiku", "list", "dict", "python"}
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")
_STOP = {"what", "which", "who", "the", "is", "of", "in", "are", "does", "do", "how", "many"}
_STOP |= {"there", "was", "by", "a", "an", "at", "to", "our", "on", "known", "as", "for", "and"}


def probe_words() -> set[str]:
    """The content words of the fact probe's questions, answers and aliases (lower case)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from fact_probe import FACTS

    words = set()
    for question, prefix, answer, aliases in FACTS:
        for text in (question, prefix, answer, *aliases):
            words |= {w.lower() for w in _WORD.findall(text)}
    return words - _STOP


def entities(path: Path = WORDNET) -> list[dict]:
    """WordNet's instance nouns of ``KINDS``: ``{"name", "kind", "gloss"}``, in file order."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(" ") or " @i " not in line:
                continue
            fields = line.split(" ")
            lex = int(fields[1])
            if lex not in KINDS:
                continue
            lemmas = [fields[4 + 2 * i].replace("_", " ") for i in range(int(fields[3], 16))]
            lemmas = [re.sub(r"\(.*\)$", "", w) for w in lemmas]  # "Tyre(a)" markers
            gloss = line.split("| ", 1)[1].strip() if "| " in line else ""
            kind = KINDS[lex][0]
            # a person is asked about by full name ("Albert Einstein", not "Einstein")
            full = max(lemmas, key=lambda w: len(w.split())) if kind == "person" else lemmas[0]
            out.append({"name": lemmas[0], "full": full, "kind": kind, "gloss": gloss})
    return out


def questions(tokenizer, n: int, seed: int = 0, path: Path = WORDNET) -> list[dict]:
    """``n`` seeded questions about well-known named things, none touching the fact probe."""
    banned = probe_words() | README_WORDS
    by_kind: dict[str, list[dict]] = {}
    seen = set()
    for e in entities(path):
        words = {w.lower() for w in _WORD.findall(f"{e['full']} {e['name']} {e['gloss']}")}
        if e["name"].lower() in seen or not e["name"][:1].isupper() or words & banned:
            continue
        if len(tokenizer.encode(" " + e["name"], add_special_tokens=False)) > 2:
            continue
        seen.add(e["name"].lower())
        by_kind.setdefault(e["kind"], []).append(e)
    rng = random.Random(f"{seed}:facts")
    rest = [k for k in by_kind if k not in SHARES]
    chosen, spare = [], []
    for kind, items in sorted(by_kind.items()):
        share = SHARES.get(kind, (1 - sum(SHARES.values())) / max(len(rest), 1))
        rng.shuffle(items)
        chosen += items[: round(n * share)]
        spare += items[round(n * share) :]
    rng.shuffle(spare)
    chosen += spare[: max(n - len(chosen), 0)]  # kinds with too few names: filled from the rest
    out = []
    for e in chosen:
        templates = TEMPLATES[e["kind"]]
        prompt = templates[rng.randrange(len(templates))].format(x=e["full"])
        out.append({"topic": e["full"], "kind": e["kind"], "prompt": prompt})
    rng.shuffle(out)
    return out[:n]


def write_corpus(
    facts: Path, data: Path, out: Path, domain: str | dict = "general", source: str = "facts"
) -> int:
    """Copy corpus ``data`` to ``out`` with the facts (or another distilled file: ``domain``,
    ``source``) appended to ``sft/train.jsonl``; ``domain`` a dict: each row's corpus domain
    by its ``group`` (``make_chat.py``'s four groups)."""
    from mlx_ifp.data.corpus import formats
    from mlx_ifp.data.readers import example

    if out.exists():
        raise FileExistsError(f"{out} exists: give a new folder")
    with gzip.open(facts, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    if isinstance(domain, dict) and (bad := [r for r in rows if r.get("group") not in domain]):
        got = repr(bad[0]["group"]) if "group" in bad[0] else "missing"
        raise ValueError(f"{facts}: a row's group is {got}, not one of {', '.join(domain)}")
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(data, tmp)
        with open(tmp / "sft" / "train.jsonl", "a", encoding="utf-8") as f:
            for r in rows:  # the corpus's own record and SFT shape, as `data build` writes them
                slot = domain[r["group"]] if isinstance(domain, dict) else domain
                args = (slot, source, r["topic"], r["prompt"], r["completion"])
                record = formats(example(*args, response=r["response"]))["completions"]
                cut = {"truncated": True} if r.get("truncated") else {}  # no end of turn
                f.write(json.dumps({**record, **cut}) + "\n")
        manifest = json.loads((tmp / "manifest.json").read_text())
        manifest[source] = {"file": str(facts), "train": len(rows)}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # never a half-written corpus
        raise
    tmp.rename(out)
    return len(rows)


def main() -> None:
    from make_general import generation_args

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    generation_args(p, 1000, "docs/results/train_facts/facts.jsonl.gz")
    p.add_argument("--corpus", help="write a corpus folder with the facts in its SFT train split")
    p.add_argument("--facts", default="docs/results/train_facts/facts.jsonl.gz")
    p.add_argument("--data", help="the corpus to copy (default: mlx_ifp data build's)")
    a = p.parse_args()
    if a.corpus:
        from mlx_ifp.data import build

        data = Path(a.data) if a.data else build(verbose=False)
        try:
            print(f"{write_corpus(Path(a.facts), data, Path(a.corpus))} facts -> {a.corpus}")
        except (FileExistsError, FileNotFoundError) as e:
            p.error(str(e))  # one line, exit code 2
        return
    if not WORDNET.is_file():
        p.error(f"no {WORDNET}: apt-get install wordnet-base")
    from make_general import distill

    distill(a, "facts", lambda tok: questions(tok, a.n, a.seed))


if __name__ == "__main__":
    main()
