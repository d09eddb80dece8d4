"""Chat forms: everyday chat requests in four groups, answered by the dense model, and a corpus.

    python tools/make_chat.py prompts [-n 400] [--valid 60] [--seed 0] -o PROMPTS.jsonl
    python tools/make_chat.py answer --prompts PROMPTS.jsonl -o DIR [--batch 128]
    python tools/make_chat.py corpus --answers DIR --corpus OUT --eval EVAL [--data CORPUS]

The fourth instruction set (forty-eighth session), after ``make_writing.py``'s three: what chat
users ask that the corpus lacks. **math**: conversational arithmetic with concrete seeded numbers
(percentages, discounts, unit conversions, a linear equation, speed/distance/time, fractions,
area/perimeter, percent change, ratios; each row keeps its ``answer``); **code**: other
languages than Python, SQL, regexes, HTML/CSS, explaining, debugging or translating a snippet,
concepts; **knowledge**: why/how/what-is-the-difference questions about nature, the body,
technology and everyday things, history and places; **writing**: advice, tips, plans,
summaries, rewrites, emails. Slot lists are in ``chat_lists.py``.

``prompts`` writes ``-n`` training and ``--valid`` validation prompts per group (seeded, no
prompt twice), each with its ``group`` and ``form``. **Held out** (``HELD``, chosen before any
reply was written): validation holds these forms only and training none of them: math's
averages and simple interest; code's time-complexity question and every prompt in Rust;
knowledge's "explain to a ten-year-old" and "common misconceptions"; writing's pros and cons
and a paragraph's main points. ``answer`` is ``make_writing.py``'s (float32, any device,
batched, resumable). ``corpus`` copies a built corpus with the training rows appended to its SFT
train split, each group in its slot (``SLOT``: math, code, general, prose; source ``chat``), and
writes EVAL: a four-domain corpus whose valid splits are the validation rows, for
``tools/eval_task_masks.py --data EVAL --domains math,code,general,prose --split valid``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import sys
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import chat_lists as L  # noqa: E402
from make_general import corpus_row  # noqa: E402
from make_writing import answer_step, step_args  # noqa: E402

GROUPS = ("math", "code", "knowledge", "writing")
SLOT = {"math": "math", "code": "code", "knowledge": "general", "writing": "prose"}
HELD = {  # forms (and code's language) never trained on: validation only
    "math": ("average", "interest"),
    "code": ("complexity", "Rust"),
    "knowledge": ("child", "misconceptions"),
    "writing": ("pros_cons", "main_points"),
}
TASKS = {  # the evaluation corpus's task descriptions, one per slot
    "math": "Answer the math question step by step and end with the final answer.",
    "code": "You are an expert programmer. Answer the programming question with correct code "
    "and a short explanation.",
    "general": "You are a helpful assistant with broad general knowledge. Answer the question "
    "accurately and clearly.",
    "prose": "You are a helpful assistant. Give practical advice, or write, summarize or "
    "rewrite the text the user asks for.",
}
ITEMS = ("shirt", "pair of shoes", "jacket", "lamp", "backpack", "bike", "watch", "chair")
FENCE = {"C++": "cpp", "C#": "csharp", "HTML/CSS": "html"}


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def _eq(a: int, b: int, c: int) -> str:
    return f"{a}x {'+' if b > 0 else '-'} {abs(b)} = {c}"


def math_form(form: str, r: random.Random) -> tuple[str, str]:
    """One math prompt of ``form`` with seeded numbers, and its answer (text)."""
    pick = r.choice
    if form == "percent":
        p, n = pick((5, 10, 15, 20, 25, 30, 40, 50, 75)), 20 * r.randint(1, 50)
        t = (
            "What is {p}% of {n}?",
            "How much is {p} percent of {n}?",
            "What is a {p}% tip on a ${n} bill?",
        )
        return pick(t).format(p=p, n=n), _num(p * n // 100)
    if form == "discount":
        x, p, it = 20 * r.randint(1, 25), pick((10, 15, 20, 25, 30, 40, 50)), pick(ITEMS)
        t = (
            "A {it} costs ${x} and is {p}% off. What is the sale price?",
            "I want a {it} that costs ${x}, but it's {p}% off today. How much will I pay?",
        )
        return pick(t).format(it=it, x=x, p=p), _num(x * (100 - p) // 100)
    if form == "convert":
        n = r.randint(2, 60)
        kind = pick(("km", "mi", "c", "f", "kg", "lb", "in", "h"))
        if kind in ("c", "f"):
            k = r.randint(-4, 20)
            c, f = 5 * k, 9 * k + 32
            if kind == "c":
                return f"What is {c} degrees Celsius in Fahrenheit?", _num(f)
            return f"Convert {f} degrees Fahrenheit to Celsius.", _num(c)
        q, factor = {
            "km": ("Convert {n} kilometres to miles.", 0.621371),
            "mi": ("How many kilometres is {n} miles?", 1.609344),
            "kg": ("How many pounds is {n} kg?", 2.204623),
            "lb": ("Convert {n} pounds to kilograms.", 0.453592),
            "in": ("How many centimetres are in {n} inches?", 2.54),
            "h": ("How many minutes are in {n} hours?", 60),
        }[kind]
        return q.format(n=n), _num(round(n * factor, 2))
    if form == "linear":
        x, a, b = r.choice([v for v in range(-12, 13) if v]), r.randint(2, 9), r.randint(-20, 20)
        b = b or 7
        eq = _eq(a, b, a * x + b)
        t = ("Solve for x: {eq}.", "How do I solve {eq}?", "What is x if {eq}?")
        return pick(t).format(eq=eq), _num(x)
    if form == "speed":
        s, h = 5 * r.randint(6, 24), r.randint(2, 6)
        return pick(
            (
                (f"A train travels {s * h} km in {h} hours. What is its average speed?", _num(s)),
                (f"If I drive at {s} km/h for {h} hours, how far do I go?", _num(s * h)),
                (f"How long does it take to cover {s * h} km at {s} km/h?", _num(h)),
            )
        )
    if form == "fraction":
        a, b = r.randint(1, 5), r.randint(2, 9)
        if r.random() < 0.5:
            k = r.randint(2, 12)
            return f"What is {a}/{b} of {b * k}?", _num(a * k)
        c, d = r.randint(1, 5), r.randint(2, 9)
        return f"What is {a}/{b} + {c}/{d}?", str(Fraction(a, b) + Fraction(c, d))
    if form == "area":
        w, h = r.randint(3, 30), r.randint(3, 30)
        return pick(
            (
                (f"What is the area of a rectangle {w} m long and {h} m wide?", _num(w * h)),
                (
                    f"My garden is {w} m by {h} m. How much fence goes all around it?",
                    _num(2 * (w + h)),
                ),
                (
                    f"A triangle's base is {2 * w} cm and its height {h} cm. What is its area?",
                    _num(w * h),
                ),
                (f"How many square feet is a room {w} feet by {h} feet?", _num(w * h)),
            )
        )
    if form == "change":
        a, p, it = 20 * r.randint(1, 30), pick((5, 10, 15, 20, 25, 40, 50)), pick(ITEMS)
        if r.random() < 0.5:
            q = f"The price of a {it} went from ${a} to ${a * (100 + p) // 100}. By what percent "
            return q + "did it go up?", _num(p)
        return (
            f"A {it} went from ${a} to ${a * (100 - p) // 100}. What percent cheaper is it?",
            _num(p),
        )
    if form == "ratio":
        a, b, k = r.randint(1, 5), r.randint(1, 5), 10 * r.randint(1, 20)
        q = f"Split ${(a + b) * k} between two people in the ratio {a}:{b}. How much does each get?"
        return q, f"{a * k} and {b * k}"
    if form == "average":  # held
        nums = [r.randint(40, 100) for _ in range(r.randint(3, 6))]
        nums[-1] += -sum(nums) % len(nums)
        t = (
            "What is the average of {s}?",
            "My test scores are {s}. What is my average?",
            "Find the mean of {s}.",
        )
        return pick(t).format(s=", ".join(map(str, nums))), _num(sum(nums) // len(nums))
    # interest (held)
    p, rate, y = 100 * r.randint(5, 100), pick((2, 3, 4, 5, 6, 8, 10)), r.randint(1, 10)
    t = (
        "What is the simple interest on ${p} at {rate}% a year for {y} years?",
        "If I put ${p} in a savings account at {rate}% simple interest, how much interest do I "
        "earn in {y} years?",
    )
    return pick(t).format(p=p, rate=rate, y=y), _num(p * rate * y // 100)


MATH = tuple("percent discount convert linear speed fraction area change ratio".split())
MATH += ("average", "interest")  # held
CODE, KNOW, WRITE = L.CODE, L.KNOW, L.WRITE
KINDS = ("NATURE", "BODY", "THING", "EVENT", "PLACE")


def code_form(form: str, r: random.Random) -> dict:
    """One code prompt of ``form`` (its language in ``lang``; a translation's target too)."""
    t = r.choice(CODE[form])
    if form in ("function", "howto", "program"):
        lang, task = r.choice(L.LANGS), r.choice(L.TASKS)
        return {"prompt": t.format(lang=lang, task=task), "topic": task, "lang": lang}
    if form in ("sql", "regex", "web"):
        lang, items = {
            "sql": ("SQL", L.SQL),
            "regex": ("regex", L.REGEX),
            "web": ("HTML/CSS", L.WEB),
        }[form]
        task = r.choice(items)
        return {"prompt": t.format(task=task), "topic": task, "lang": lang}
    if form == "concept":
        x, y = r.choice(L.CONCEPTS)
        return {"prompt": t.format(x=x, y=y), "topic": f"{x} / {y}"}
    lang, code, (good, bad) = r.choice(L.SNIPPETS)
    y = r.choice([g for g in L.LANGS if g != lang]) if form == "translate" else ""
    body = code.replace(good, bad) if form == "debug" else code
    fence = FENCE.get(lang, lang.lower())
    prompt = t.format(lang=lang, y=y) + f"\n\n```{fence}\n{body}\n```"
    return {
        "prompt": prompt,
        "topic": code.splitlines()[0],
        "lang": lang,
        **({"to": y} if y else {}),
    }


def know_form(form: str, r: random.Random) -> dict:
    phrasings, lists = KNOW[form]
    t = r.choice(phrasings)
    if form == "difference":
        x, y = r.choice(L.PAIRS)
        return {"prompt": t.format(x=x, y=y), "topic": f"{x} / {y}"}
    topic = r.choice([w for k in (lists or KINDS) for w in getattr(L, k)])
    return {"prompt": t.format(t=topic), "topic": topic}


def write_form(form: str, r: random.Random) -> dict:
    phrasings, name = WRITE[form]
    s = r.choice(getattr(L, name))
    topic = s if isinstance(s, str) else " / ".join(s)
    return {"prompt": r.choice(phrasings).format(s=s), "topic": topic[:60]}


def draw(group: str, form: str, r: random.Random) -> dict:
    """One prompt row of ``group`` and ``form`` (without its split)."""
    if group == "math":
        prompt, answer = math_form(form, r)
        return {"prompt": prompt, "topic": form, "answer": answer}
    return {"code": code_form, "knowledge": know_form, "writing": write_form}[group](form, r)


def is_held(row: dict) -> bool:
    held = HELD[row["group"]]
    return row["form"] in held or row.get("lang") in held or row.get("to") in held


def forms(group: str) -> tuple[str, ...]:
    return tuple({"math": MATH, "code": CODE, "knowledge": KNOW, "writing": WRITE}[group])


def prompts(n: int = 400, valid: int = 60, seed: int = 0) -> list[dict]:
    """``n`` training and ``valid`` validation prompts per group, seeded, each prompt once;
    validation draws the held-out forms only, training every other form."""
    return fill(n, valid, seed, "chat", forms, draw, is_held)


def fill(n: int, valid: int, seed: int, tag: str, forms, draw, is_held) -> list[dict]:
    """The draws of a set (``tag``; ``make_chat5.py``'s too): per group, forms picked at
    random from ``forms(group)``, a row from ``draw(group, form, rng)``, its split by
    ``is_held(row)``, until ``n`` training and ``valid`` validation prompts, each prompt once."""
    out, seen = [], set()
    for group in GROUPS:
        r = random.Random(f"{seed}:{tag}:{group}")
        names = forms(group)
        want = {"train": n, "valid": valid}
        for _ in range(200 * (n + valid)):
            if not any(want.values()):
                break
            form = r.choice(names)
            row = {"group": group, "form": form, **draw(group, form, r)}
            split = "valid" if is_held(row) else "train"
            if want[split] and row["prompt"] not in seen:
                seen.add(row["prompt"])
                want[split] -= 1
                out.append({**row, "split": split})
        if any(want.values()):
            raise ValueError(f"{group}: only {n - want['train']} + {valid - want['valid']} prompts")
    return out


def valid_rows(answers: Path) -> list[dict]:
    """The validation rows; a ``ValueError`` where one's group is not one of ``GROUPS``."""
    path = answers / "valid.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    if bad := [r for r in rows if r.get("group") not in GROUPS]:
        got = repr(bad[0]["group"]) if "group" in bad[0] else "missing"
        raise ValueError(f"{path}: a row's group is {got}, not one of {', '.join(GROUPS)}")
    return rows


def write_eval(answers: Path, ev: Path, source: str = "chat") -> dict[str, int]:
    """The validation rows as the valid split of a four-slot corpus folder ``ev``."""
    rows = valid_rows(answers)
    tmp = ev.with_name(f".{ev.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    counts = {}
    for group in GROUPS:
        slot = SLOT[group]
        mine = [
            corpus_row(
                slot,
                r["prompt"],
                r["completion"],
                not r.get("truncated"),
                {"source": source, "form": r["form"]},
            )
            for r in rows
            if r["group"] == group
        ]
        (tmp / "domains" / slot).mkdir(parents=True)
        (tmp / "domains" / slot / "valid.jsonl").write_text(
            "".join(json.dumps(m) + "\n" for m in mine)
        )
        counts[slot] = len(mine)
    (tmp / "tasks.json").write_text(json.dumps(TASKS, indent=2) + "\n")
    tmp.rename(ev)
    return counts


def main(make=prompts, doc: str = __doc__, source: str = "chat") -> None:
    """The command line (``make_chat5.py``'s too: its ``make`` prompts, its ``source``)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("step", choices=("prompts", "answer", "corpus"))
    p.add_argument("-n", type=int, default=400, help="training prompts per group")
    p.add_argument("--valid", type=int, default=60, help="validation prompts per group")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prompts", help="answer: the prompts file read")
    p.add_argument("--source", default=source, help=f"corpus: the rows' source ({source})")
    step_args(p)
    a = p.parse_args()
    source = a.source  # (another label: the pruned model's replies, tools/pruned_answers.py)
    from mlx_ifp.common import atomic_file

    if a.step == "prompts":
        if not a.output:
            p.error("prompts needs -o FILE")
        try:
            rows = make(a.n, a.valid, a.seed)
        except ValueError as e:
            p.error(str(e))
        with atomic_file(a.output) as tmp:
            tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"{len(rows)} prompts -> {a.output}")
    elif a.step == "answer":
        answer_step(p, a, source)
    else:
        if not (a.answers and a.corpus and a.eval):
            p.error("corpus needs --answers DIR, --corpus OUT and --eval EVAL")
        from make_facts import write_corpus

        answers, ev = Path(a.answers), Path(a.eval)
        if ev.exists():
            p.error(f"{ev} exists: give a new folder")
        if a.data:
            data = Path(a.data)
        else:
            from mlx_ifp.data import build

            data = build(verbose=False)
        try:
            valid_rows(answers)  # before anything is written, as write_corpus its training rows
            n = write_corpus(answers / "train.jsonl.gz", data, Path(a.corpus), SLOT, source)
            v = write_eval(answers, ev, source)
        except (FileExistsError, FileNotFoundError, ValueError) as e:
            p.error(str(e))  # one line, exit code 2
        print(f"{n} {source} rows -> {a.corpus}; validation rows {v} -> {ev}")


if __name__ == "__main__":
    main()
