"""Chat forms, fifth set: new chat requests in the four groups, answered by the dense model.

    python tools/make_chat5.py prompts [-n 400] [--valid 60] [--seed 0] -o PROMPTS.jsonl
    python tools/make_chat5.py answer --prompts PROMPTS.jsonl -o DIR [--batch 128]
    python tools/make_chat5.py corpus --answers DIR --corpus OUT --eval EVAL [--data CORPUS]

The fifth instruction set (fifty-second session): forms none of the earlier four sets asks
(``make_writing.py``'s three, ``make_chat.py``'s). **math**: exact computation (products,
division with remainder, powers, roots, GCD/LCM), clock and age problems, dice/coin/marble
probability, counting, the next term of a sequence, circles and volumes, two linear equations,
the better buy, a concept explained with an example (each computed row keeps its exact
``answer``); **code**: Python-centred conversation (a concept, an error message, the Pythonic
way, a small class, type hints, a refactor, which data structure, tooling), shell commands,
algorithms and data structures; **knowledge**: definitions across fields, how a device works,
word and custom origins, examples of a category, which-of-two, what a job involves, what a tool
is for, the rules of a game, an invention; **writing**: slogans, names, proofreading, notes to
a paragraph, a job ad, an agenda, an FAQ, a bio, a notice, a survey. Lists in
``chat5_lists.py`` and ``chat5_forms.py``.

**Held out** (``HELD``, chosen before any reply was written): validation holds these forms
only, training none: math's quadratic equation and work-rate problem; code's unit tests for a
function and git commands; knowledge's meaning of an idiom and what-would-happen-if; writing's
outline and passive-to-active rewrite. ``prompts``, ``answer`` and ``corpus`` are
``make_chat.py``'s (its draw loop with this set's forms, source ``chat5``): ``corpus --data``
takes a built corpus (the set-4 one, to chain) and writes EVAL, the four-slot corpus for
``tools/eval_task_masks.py --data EVAL --domains math,code,general,prose --split valid``.
"""

from __future__ import annotations

import random
import sys
from fractions import Fraction
from math import comb, gcd, perm
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import chat5_forms as F  # noqa: E402
import chat5_lists as L  # noqa: E402
import make_chat  # noqa: E402

GROUPS = make_chat.GROUPS
HELD = {  # forms never trained on: validation only
    "math": ("quadratic", "work"),
    "code": ("tests", "git"),
    "knowledge": ("idiom", "whatif"),
    "writing": ("outline", "voice"),
}
TRAIN_MATH = "arith root gcd clock age probability counting sequence geometry system best_buy"
MATH = (*TRAIN_MATH.split(), "concept", *HELD["math"])
TEXT = {"code": F.CODE, "knowledge": F.KNOW, "writing": F.WRITE}
SNIPPET = ("typehints", "refactor", "tests")  # the listed code follows the phrasing, fenced
SEVERAL = ("grammar", "voice")  # two sentences of the list, one a line


def clock(minutes: int) -> str:
    """Minutes after midnight (any day) as a 12-hour time: ``7:05 pm``."""
    h, m = divmod(minutes % (24 * 60), 60)
    return f"{(h - 1) % 12 + 1}:{m:02d} {'am' if h < 12 else 'pm'}"


def _term(c: int, var: str, first: bool) -> str:
    """``c`` times ``var`` as a term of a sum: ``3x``, ``- y``, ``+ 12``."""
    body = (str(abs(c)) if abs(c) != 1 or not var else "") + var
    if first:
        return ("-" if c < 0 else "") + body
    return f"{'-' if c < 0 else '+'} {body}"


def _sum(*terms: tuple[int, str]) -> str:
    out = [(c, v) for c, v in terms if c]
    return " ".join(_term(c, v, i == 0) for i, (c, v) in enumerate(out))


def _arith(r: random.Random) -> tuple[str, str, str]:
    pick = r.choice
    kind = pick(("product", "division", "power"))
    if kind == "product":
        a, b = r.randint(12, 99), r.randint(12, 99)
        t = ("What is {a} × {b}?", "Calculate {a} times {b}.", "Can you multiply {a} by {b}?")
        return kind, pick(t).format(a=a, b=b), str(a * b)
    if kind == "division":
        d = r.randint(3, 12)
        n = r.choice([v for v in range(100, 1000) if v % d])
        t = (
            "What is {n} divided by {d}, with the remainder?",
            "Divide {n} by {d}. What are the quotient and the remainder?",
        )
        return kind, pick(t).format(n=n, d=d), f"{n // d} remainder {n % d}"
    b = r.randint(2, 12)
    e = r.randint(2, {2: 10, 3: 6}.get(b, 4))
    t = ("What is {b} to the power of {e}?", "Calculate {b}^{e}.", "How much is {b} raised to {e}?")
    return kind, pick(t).format(b=b, e=e), str(b**e)


def math_form(form: str, r: random.Random) -> tuple[str, str, str | None]:
    """One math prompt of ``form``: (topic, prompt, exact answer or None)."""
    pick = r.choice
    if form == "arith":
        return _arith(r)
    if form == "root":
        if r.random() < 0.6:
            k = pick([v for v in range(2, 41) if v != 9])  # 81: the fact probe's question
            return (
                "square",
                pick(("What is the square root of {n}?", "Find √{n}.")).format(n=k * k),
                str(k),
            )
        k = r.randint(2, 12)
        return "cube", f"What is the cube root of {k**3}?", str(k)
    if form == "gcd":
        if r.random() < 0.5:
            g, x, y = r.randint(2, 15), r.randint(2, 12), r.randint(2, 12)
            a, b = g * x, g * y
            if a == b:
                b += g
            q = pick(
                (
                    "What's the highest common factor of {a} and {b}?",
                    "Find the GCD of {a} and {b}.",
                )
            )
            return "gcd", q.format(a=a, b=b), str(gcd(a, b))
        a, b = r.sample(range(4, 31), 2)
        q = pick(
            (
                "What is the smallest number that both {a} and {b} divide into?",
                "Find the LCM of {a} and {b}.",
            )
        )
        return "lcm", q.format(a=a, b=b), str(a * b // gcd(a, b))
    if form == "clock":
        start = r.randint(6 * 12, 22 * 12) * 5
        if r.random() < 0.5:
            h, m = r.randint(1, 4), 5 * r.randint(0, 11)
            what = pick(
                (
                    "A movie starts at {s} and lasts {d}. What time does it end?",
                    "I leave at {s} and the trip takes {d}. When do I arrive?",
                )
            )
            d = f"{h} hour{'s' * (h > 1)}" + (f" and {m} minutes" if m else "")
            return "end", what.format(s=clock(start), d=d), clock(start + 60 * h + m)
        end = start + 5 * r.randint(7, 80)
        q = f"How many minutes are there between {clock(start)} and {clock(end)}?"
        return "between", q, str(end - start)
    if form == "age":
        a, b = r.sample(L.NAMES, 2)
        if r.random() < 0.5:
            young, d = r.randint(4, 40), r.randint(2, 30)
            q = (
                f"{a} is {d} years older than {b}. Together their ages add up to "
                f"{2 * young + d}. How old is {b}?"
            )
            return "sum", q, str(young)
        s, m = r.randint(3, 15), r.randint(2, 3)
        k = pick([v for v in range(m + 1, 7) if s * (v - m) % (m - 1) == 0])
        y = s * (k - m) // (m - 1)
        q = (
            f"{a} is {k} times as old as {b}. In {y} years, {a} will be {m} times as old as "
            f"{b}. How old is {b} now?"
        )
        return "times", q, str(s)
    if form == "probability":
        kind = pick(("dice", "die", "coins", "marbles"))
        if kind == "dice":
            s = r.randint(2, 12)
            n = 6 - abs(s - 7)
            return (
                kind,
                f"What is the probability of rolling a total of {s} with two dice?",
                str(Fraction(n, 36)),
            )
        if kind == "die":
            k = r.randint(1, 5)
            q = f"What is the probability of rolling a number greater than {k} on a six-sided die?"
            return kind, q, str(Fraction(6 - k, 6))
        if kind == "coins":
            n = r.randint(2, 6)
            k = r.randint(0, n)
            q = f"If I flip a fair coin {n} times, what is the probability of exactly {k} heads?"
            return kind, q, str(Fraction(comb(n, k), 2**n))
        g, y = r.randint(2, 9), r.randint(2, 9)
        if r.random() < 0.5:
            q = (
                f"A bag holds {g} green and {y} yellow marbles. I draw one at random. What is "
                "the probability that it is green?"
            )
            return kind, q, str(Fraction(g, g + y))
        q = (
            f"A bag holds {g} green and {y} yellow marbles. I draw two without putting the "
            "first back. What is the probability that both are green?"
        )
        return kind, q, str(Fraction(g * (g - 1), (g + y) * (g + y - 1)))
    if form == "counting":
        kind = pick(("choose", "orders", "handshakes", "outfits", "pins"))
        if kind == "choose":
            n, k = r.randint(5, 15), r.randint(2, 4)
            q = f"How many ways can I choose {k} people from a group of {n}?"
            return kind, q, str(comb(n, k))
        if kind == "orders":
            n = r.randint(3, 8)
            return (
                kind,
                f"In how many different orders can {n} books stand on a shelf?",
                str(perm(n)),
            )
        if kind == "handshakes":
            n = r.randint(4, 30)
            q = f"{n} people each shake hands once with everyone else. How many handshakes is that?"
            return kind, q, str(comb(n, 2))
        if kind == "outfits":
            a, b, c = r.randint(2, 8), r.randint(2, 6), r.randint(2, 5)
            q = (
                f"I have {a} shirts, {b} pairs of trousers and {c} hats. How many different "
                "outfits of one of each can I make?"
            )
            return kind, q, str(a * b * c)
        k = r.randint(3, 6)
        if r.random() < 0.5:
            return (
                kind,
                f"How many {k}-digit PIN codes can be made from the digits 0-9?",
                str(10**k),
            )
        q = f"How many {k}-digit PIN codes can be made from the digits 0-9 if no digit repeats?"
        return kind, q, str(perm(10, k))
    if form == "sequence":
        kind = pick(("arithmetic", "geometric", "squares", "fibonacci"))
        if kind == "arithmetic":
            a, d = r.randint(-20, 30), pick([v for v in range(-9, 13) if v])
            seq = [a + i * d for i in range(5)]
        elif kind == "geometric":
            a, q = r.randint(1, 6), r.randint(2, 4)
            seq = [a * q**i for i in range(5)]
        elif kind == "squares":
            a = r.randint(1, 15)
            seq = [(a + i) ** 2 for i in range(5)]
        else:
            seq = [r.randint(1, 6), r.randint(1, 9)]
            while len(seq) < 6:
                seq.append(seq[-1] + seq[-2])
        shown = ", ".join(map(str, seq[:-1]))
        t = (
            "What comes next: {s}, ...?",
            "Find the next term of the sequence {s}.",
            "What is the next number in this pattern: {s}?",
        )
        return kind, pick(t).format(s=shown), str(seq[-1])
    if form == "geometry":
        kind = pick(("circle", "circumference", "box", "cube", "cylinder", "sphere"))
        x, h = r.randint(2, 15), r.randint(2, 20)
        pi = " Give the answer in terms of π."
        if kind == "circle":
            return kind, f"A circle has a radius of {x} cm. What is its area?{pi}", f"{x * x}π"
        if kind == "circumference":
            q = f"A circle is {2 * x} m across. What is its circumference?{pi}"
            return kind, q, f"{2 * x}π"
        if kind == "box":
            w = r.randint(2, 15)
            q = f"A box measures {x} cm by {w} cm by {h} cm. What is its volume?"
            return kind, q, str(x * w * h)
        if kind == "cube":
            return kind, f"A cube has edges {x} cm long. What is its volume?", str(x**3)
        if kind == "cylinder":
            q = f"A cylinder has a radius of {x} cm and a height of {h} cm. What is its volume?{pi}"
            return kind, q, f"{x * x * h}π"
        x = 3 * r.randint(1, 5)
        return (
            kind,
            f"A sphere has a radius of {x} m. What is its volume?{pi}",
            f"{4 * x**3 // 3}π",
        )
    if form == "system":
        x, y = r.randint(-10, 10), r.randint(-10, 10)
        while True:
            a, b, c, d = (pick([v for v in range(-5, 6) if v]) for _ in range(4))
            if a * d - b * c:
                break
        e1 = f"{_sum((a, 'x'), (b, 'y'))} = {a * x + b * y}"
        e2 = f"{_sum((c, 'x'), (d, 'y'))} = {c * x + d * y}"
        t = ("Solve the system of equations: {e1} and {e2}.", "Find x and y if {e1} and {e2}.")
        return "system", pick(t).format(e1=e1, e2=e2), f"x = {x}, y = {y}"
    if form == "best_buy":
        (item, unit, box), k = pick(L.GOODS), pick((50, 100, 250))
        s1, s2 = r.sample(range(1, 9), 2)
        base = r.randint(40, 150)  # cents per k units, each size's price within 20% of it
        p1, p2 = (s * base * r.randint(80, 120) // 100 for s in (s1, s2))
        if p1 * s2 == p2 * s1:
            p2 += 7
        best = s1 if Fraction(p1, s1) < Fraction(p2, s2) else s2
        q = (
            f"A {s1 * k} {unit} {box} of {item} costs ${p1 / 100:.2f} and a {s2 * k} {unit} "
            f"{box} costs ${p2 / 100:.2f}. Which is the better buy?"
        )
        return item, q, f"{best * k} {unit}"
    if form == "concept":
        t = pick(
            (
                "Explain {t} with an example.",
                "What is {t}? Show me a simple example.",
                "Can you help me understand {t}? Use an example.",
            )
        )
        c = pick(L.MATH_CONCEPTS)
        return c, t.format(t=c), None
    if form == "quadratic":  # held
        while True:
            p, q, a = r.randint(-9, 9), r.randint(-9, 9), pick((1, 1, 1, 2, 3))
            if p or q:
                break
        eq = f"{_sum((a, 'x^2'), (-a * (p + q), 'x'), (a * p * q, ''))} = 0"
        t = ("Solve {eq}.", "Find the roots of {eq}.", "What values of x satisfy {eq}?")
        return "quadratic", pick(t).format(eq=eq), ", ".join(map(str, sorted({p, q})))
    # work (held): rates added
    a, b = r.sample(L.NAMES, 2)
    x, y = r.sample(range(2, 13), 2)
    kind = pick(("paint", "taps", "crew"))
    if kind == "paint":
        q = (
            f"{a} can paint a fence in {x} hours and {b} can paint it in {y} hours. How long "
            "will it take them working together?"
        )
    elif kind == "taps":
        q = (
            f"One tap fills a tank in {x} minutes and another fills it in {y} minutes. How "
            "long does it take with both open?"
        )
    else:
        w, w2 = r.sample(range(2, 13), 2)
        d = pick([v for v in range(2, 41) if w * v % w2 == 0])  # a whole number of days
        q = f"If {w} workers build a wall in {d} days, how many days would {w2} workers take?"
        return kind, q, str(Fraction(w * d, w2))
    return kind, q, str(Fraction(x * y, x + y))


def text_form(group: str, form: str, r: random.Random) -> dict:
    """One prompt of a code, knowledge or writing ``form``: a phrasing and its slot item(s)."""
    phrasings, name = TEXT[group][form]
    items = getattr(L, name, None) or getattr(F, name)
    t = r.choice(phrasings)
    if form in SNIPPET:
        code = r.choice(items)
        return {"prompt": f"{t}\n\n```python\n{code}\n```", "topic": code.splitlines()[0]}
    if form in SEVERAL:
        s = r.sample(items, 2)
        return {"prompt": t.format(s="\n".join(s)), "topic": s[0][:60]}
    s = r.choice(items)
    topic = s if isinstance(s, str) else " / ".join(s)
    return {"prompt": t.format(s=s), "topic": topic[:60]}


def forms(group: str) -> tuple[str, ...]:
    return MATH if group == "math" else tuple(TEXT[group])


def draw(group: str, form: str, r: random.Random) -> dict:
    """One prompt row of ``group`` and ``form`` (without its split); math's exact ``answer``."""
    if group == "math":
        topic, prompt, answer = math_form(form, r)
        return {"prompt": prompt, "topic": topic, **({} if answer is None else {"answer": answer})}
    return text_form(group, form, r)


def is_held(row: dict) -> bool:
    return row["form"] in HELD[row["group"]]


def prompts(n: int = 400, valid: int = 60, seed: int = 0) -> list[dict]:
    """``n`` training and ``valid`` validation prompts per group, seeded (``chat5``), each
    prompt once; validation draws the held-out forms only, training every other form."""
    return make_chat.fill(n, valid, seed, "chat5", forms, draw, is_held)


if __name__ == "__main__":
    make_chat.main(prompts, __doc__, "chat5")
