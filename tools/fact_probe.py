"""Held-out fact recall of pruned arms: greedy replies to 40 short factual questions.

Also the rank and NLL of each answer after a forced prefix ("The capital of Japan is" ->
" Tokyo").

The README's first prompt ("What is the capital of France?") is one of the 40; the rest are
written here: no question is one of the `general` domain's, and no answer is one of its topics
(`tests/test_fact_probe.py`). A fact counts as recalled when the greedy reply names it (or an
alias). The table also counts the facts the dense model itself recalls, and how many of those
each arm keeps. Replies run as `generate` runs them (the predictor re-picks every 16 tokens).

    python tools/fact_probe.py -o docs/results/fact_probe/shipped.json
    python tools/fact_probe.py --run rw25=runs/k0.5-rw25/stage2 --run static=runs/k0.5-static/stage2
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

# (question, forced prefix, answer, aliases also accepted in the greedy reply)
FACTS = [
    ("What is the capital of France?", "The capital of France is", "Paris", ()),
    ("What is the capital of Japan?", "The capital of Japan is", "Tokyo", ()),
    ("What is the capital of Italy?", "The capital of Italy is", "Rome", ()),
    ("What is the capital of Germany?", "The capital of Germany is", "Berlin", ()),
    ("What is the capital of Spain?", "The capital of Spain is", "Madrid", ()),
    ("What is the capital of Russia?", "The capital of Russia is", "Moscow", ()),
    ("What is the capital of Egypt?", "The capital of Egypt is", "Cairo", ()),
    ("What is the capital of England?", "The capital of England is", "London", ()),
    ("What is the capital of China?", "The capital of China is", "Beijing", ()),
    ("What is the capital of Australia?", "The capital of Australia is", "Canberra", ()),
    ("What is the chemical symbol for gold?", "The chemical symbol for gold is", "Au", ()),
    ("What is the chemical formula of water?", "The chemical formula of water is", "H2O", ()),
    ("Which planet is known as the Red Planet?", "The Red Planet is", "Mars", ()),
    ("What is the largest planet in our solar system?", "The largest planet is", "Jupiter", ()),
    ("What is the closest star to Earth?", "The closest star to Earth is the", "Sun", ()),
    ("Who wrote Romeo and Juliet?", "Romeo and Juliet was written by", "William", ("Shakespeare",)),
    ("Who wrote Pride and Prejudice?", "Pride and Prejudice was written by", "Jane", ("Austen",)),
    ("Who painted the Mona Lisa?", "The Mona Lisa was painted by", "Leonardo", ("da Vinci",)),
    (
        "Who developed the theory of relativity?",
        "The theory of relativity was developed by",
        "Albert",
        ("Einstein",),
    ),
    (
        "Who was the first president of the United States?",
        "The first president of the United States was",
        "George",
        ("Washington",),
    ),
    ("Who discovered penicillin?", "Penicillin was discovered by", "Alexander", ("Fleming",)),
    (
        "What gas do plants absorb from the air?",
        "Plants absorb",
        "carbon",
        ("carbon dioxide", "CO2"),
    ),
    ("At what temperature in Celsius does water boil?", "Water boils at", "100", ()),
    ("At what temperature in Fahrenheit does water freeze?", "Water freezes at", "32", ()),
    ("How many legs does a spider have?", "A spider has", "eight", ("8 legs",)),
    ("How many days are in a week?", "A week has", "seven", ("7 days",)),
    ("How many continents are there?", "There are", "seven", ("7 continents",)),
    ("What is the square root of 81?", "The square root of 81 is", "9", ("nine",)),
    ("What is the largest ocean on Earth?", "The largest ocean on Earth is the", "Pacific", ()),
    ("What is the longest river in Africa?", "The longest river in Africa is the", "Nile", ()),
    ("Which mountain is the tallest?", "The tallest mountain is", "Mount", ("Everest",)),
    ("What language is spoken in Brazil?", "The language spoken in Brazil is", "Portuguese", ()),
    ("What is the main language of Mexico?", "The main language of Mexico is", "Spanish", ()),
    ("What is the currency of Japan?", "The currency of Japan is the", "yen", ()),
    ("Which organ pumps blood through the body?", "Blood is pumped by the", "heart", ()),
    ("What is the hardest natural substance?", "The hardest natural substance is", "diamond", ()),
    ("What is the largest mammal?", "The largest mammal is the", "blue", ("blue whale",)),
    ("In which country are the pyramids of Giza?", "The pyramids of Giza are in", "Egypt", ()),
    ("What do bees make?", "Bees make", "honey", ()),
    ("What is the opposite of hot?", "The opposite of hot is", "cold", ()),
]


def named(reply: str, fact) -> bool:
    """The greedy reply names the answer (or an alias), as a whole word, any case."""
    _, _, answer, aliases = fact
    return any(re.search(rf"\b{re.escape(w)}\b", reply, re.I) for w in (answer, *aliases))


def forced(slim, tok, question: str, prefix: str, answer: str) -> tuple[int, float]:
    """Rank (1 = top) of the answer's first token after the prefix, and the answer's NLL."""
    from mlx_ifp.core import format_chat, messages_for

    import mlx.core as mx

    head = format_chat(tok, messages_for(question))  # the prompt text `generate` runs
    ctx = tok.encode(head + prefix, add_special_tokens=False)
    full = tok.encode(head + prefix + " " + answer, add_special_tokens=False)
    assert full[: len(ctx)] == ctx, (prefix, answer)  # the answer's tokens follow the prefix's
    logp = slim(mx.array([full]))[0].astype(mx.float32)
    logp = logp - mx.logsumexp(logp, axis=-1, keepdims=True)
    ans = full[len(ctx) :]
    rows = logp[len(ctx) - 1 : len(full) - 1]
    nll = -mx.take_along_axis(rows, mx.array(ans)[:, None], axis=1).sum().item()
    first = rows[0]
    rank = int((first > first[ans[0]]).sum().item()) + 1
    return rank, nll


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--keep", default="0.5")
    p.add_argument("-m", "--max-tokens", type=int, default=24, help="greedy reply length")
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also a finetune output (its predictor + LoRA), repeatable",
    )
    p.add_argument(
        "--cross",
        action="store_true",
        help="also each predictor's masks on the bare source, and GRIFFIN's masks with its LoRA",
    )
    p.add_argument("--no-unpruned", action="store_true", help="leave out the LoRAs unpruned")
    p.add_argument("--no-default", action="store_true", help="leave out the shipped default")
    p.add_argument("-n", type=int, default=len(FACTS), help="the first N facts only")
    p.add_argument("-o", "--output", help="also write the report as JSON here")
    a = p.parse_args()
    runs = [r.split("=", 1) for r in a.run]
    if any(len(r) != 2 or not Path(r[1]).is_dir() for r in runs):
        p.error("--run takes NAME=DIR, DIR a finetune output folder")

    import mlx_ifp
    from mlx_ifp.common import atomic_file

    base, tok = mlx_ifp.load(a.model)
    # name -> (model, the pruner that cuts its slim models, the pruner that picks the mask)
    arms = {"dense": (base, mlx_ifp.Pruner(base, tok, source="full", keep=1.0), None)}
    griffin = mlx_ifp.Pruner(base, tok, source="griffin", keep=a.keep)
    arms[f"GRIFFIN {a.keep}"] = (base, griffin, None)
    adapters = [] if a.no_default else [("shipped", "default")]
    for name, path in adapters + runs:
        tuned, _ = mlx_ifp.load(a.model, adapter_path=path)
        pred = mlx_ifp.Pruner(tuned, tok, "predictor", keep=a.keep)
        arms[f"{name} {a.keep}"] = (tuned, pred, None)
        if not a.no_unpruned:
            unpruned = mlx_ifp.Pruner(tuned, tok, "full", keep=1.0)
            arms[f"{name} LoRA, unpruned"] = (tuned, unpruned, None)
        if a.cross:  # which of the two loses a fact: the mask, or the LoRA? (one mask a prompt)
            arms[f"{name} mask, no LoRA"] = (base, griffin, pred)
            lora_griffin = mlx_ifp.Pruner(tuned, tok, "griffin", keep=a.keep)
            arms[f"GRIFFIN mask + {name} LoRA"] = (tuned, lora_griffin, lora_griffin)
    facts = FACTS[: a.n]
    report = {"model": a.model, "keep": a.keep, "max_tokens": a.max_tokens, "arms": {}}
    for name, (model, pruner, picker) in arms.items():
        items = []
        for fact in facts:
            q, prefix, answer, _ = fact
            mask = picker.slim_for(q)[1].mask if picker is not None else None
            kw = {"max_tokens": a.max_tokens, "pruner": pruner, "mask": mask}
            reply = mlx_ifp.generate(model, tok, q, **kw)
            slim = pruner.slim_from_mask(mask)[0] if mask is not None else pruner.slim_for(q)[0]
            rank, nll = forced(slim, tok, q, prefix, answer)
            items.append({"q": q, "reply": reply, "named": named(reply, fact), "rank": rank})
            items[-1]["nll"] = round(nll, 4)
        report["arms"][name] = items
        print(f"{name}: {sum(i['named'] for i in items)}/{len(items)} named", flush=True)
    rows = table(report["arms"])
    print("\n".join(rows))
    if a.output:
        report["table"] = rows
        with atomic_file(a.output) as tmp:
            Path(tmp).write_text(json.dumps(report, indent=1) + "\n")
        print(f"Wrote {a.output}")


def table(arms: dict) -> list[str]:
    """Markdown rows: recalled in the reply (all, and of the dense model's), forced-answer rank."""
    known = [i["named"] for i in arms["dense"]]
    rows = [
        "| arm | named (all) | of dense's | answer top-1 | top-10 | median rank | answer NLL |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, items in arms.items():
        n, ranks = len(items), sorted(i["rank"] for i in items)
        kept = sum(i["named"] for i, k in zip(items, known, strict=True) if k)
        nll = sum(i["nll"] for i in items) / n
        rows.append(
            f"| {name} | {sum(i['named'] for i in items)}/{n} | {kept}/{sum(known)} | "
            f"{sum(r == 1 for r in ranks)}/{n} | {sum(r <= 10 for r in ranks)}/{n} | "
            f"{ranks[n // 2]} | {nll:.3f} |"
        )
    return rows


if __name__ == "__main__":
    main()
