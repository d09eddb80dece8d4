"""Chat forms, seventh set: new chat requests in the four groups, answered by the dense model.

    python tools/make_chat7.py prompts [-n 400] [--valid 60] [--seed 0] -o PROMPTS.jsonl
    python tools/make_chat7.py answer --prompts PROMPTS.jsonl -o DIR [--batch 128]
    python tools/make_chat7.py corpus --answers DIR --corpus OUT --eval EVAL [--data CORPUS]

The seventh instruction set (fifty-fifth session, for the fifty-sixth): forms none of the
earlier sets asks (``make_writing.py``'s three, ``make_chat.py``'s, ``make_chat5.py``'s,
``make_chat6.py``'s). **math**: rounding, running pace, prime factors, which numbers a number
divides, currency exchange, a temperature's rise, fence posts, when two timetables meet again,
printing and reading time, fractions and decimals in order (each row keeps its exact
``answer``); **code**: pseudocode to code, a shell command explained, a database design, which
library, which language, better names, error handling; **knowledge** (the widest: the
``general`` slot has the highest validation KL): everyday why-questions, a phenomenon step by
step, life before an invention, how two systems differ, a definition with an example and a
counter-example, what to know before doing something, a chain of causes, how landforms form,
what explains a climate, how something changed in a century; **writing**: shorter sentences,
questions to ask, a card's message, an opening line, a note for someone, how to tell someone
something, a paragraph as bullet points. Lists in ``chat7_lists.py`` and ``chat7_forms.py``.

**Held out** (``HELD``, chosen before any reply was written): validation holds these forms
only, training none: math's Roman numerals and map scale; code's security problem in a snippet
and a spreadsheet formula; knowledge's analogy and a beginner-then-expert explanation;
writing's jargon in plain English and an elevator pitch. ``prompts``, ``answer`` and
``corpus`` are ``make_chat.py``'s (its draw loop, ``chat_set.ChatSet``; source ``chat7``):
``corpus --data`` takes a built corpus (the set-6 one, to chain) and writes EVAL.
"""

from __future__ import annotations

import random
import sys
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from math import lcm
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import chat7_forms as F  # noqa: E402
import chat7_lists as L  # noqa: E402
import make_chat  # noqa: E402
from chat_set import ChatSet  # noqa: E402
from make_chat5 import clock  # noqa: E402
from make_chat6 import FENCE, decimal, money  # noqa: E402

GROUPS = make_chat.GROUPS
HELD = {  # forms never trained on: validation only
    "math": ("roman", "mapscale"),
    "code": ("security", "formula"),
    "knowledge": ("analogy", "levels"),
    "writing": ("plain", "pitch"),
}
TRAIN_MATH = "rounding pace factors divisible exchange warming fence meet printing order"
MATH = (*TRAIN_MATH.split(), *HELD["math"])
TEXT = {"code": F.CODE, "knowledge": F.KNOW, "writing": F.WRITE}
SNIPPET = ("naming", "security")  # (language, code): the code follows, fenced
PLACE = {1: "tenth", 2: "hundredth", 3: "thousandth"}
DENOMINATORS = (2, 3, 4, 5, 8, 10)  # fractions in lowest terms, shown as decimals where finite
SHOWN = tuple({Fraction(a, b) for b in DENOMINATORS for a in range(1, b)})
ROMAN = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
         (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))  # fmt: skip


def roman(n: int) -> str:
    """``n`` (1-3999) in Roman numerals: ``MCMXCIV``."""
    out = ""
    for value, letters in ROMAN:
        k, n = divmod(n, value)
        out += letters * k
    return out


def _shown(x: Fraction, r: random.Random) -> str:
    finite = not x.denominator % 3 == 0
    return decimal(x) if finite and r.random() < 0.5 else f"{x.numerator}/{x.denominator}"


def _numbers(form: str, r: random.Random) -> tuple[str, str, str]:
    pick = r.choice
    if form == "rounding":
        if r.random() < 0.5:
            k, x = r.randint(1, 3), Decimal(r.randint(10**5, 10**7)) / 10**5
            q = pick(("Round {x} to {k} decimal places.", "What is {x} rounded to the nearest "
                      "{p}?")).format(x=x, k=k, p=PLACE[k])  # fmt: skip
            if k == 1:
                q = q.replace("1 decimal places", "one decimal place")
            return "decimals", q, str(x.quantize(Decimal(1).scaleb(-k), ROUND_HALF_UP))
        unit, n = pick((10, 100, 1000)), r.randint(1000, 999999)
        word = {10: "ten", 100: "hundred", 1000: "thousand"}[unit]
        return "whole", f"Round {n} to the nearest {word}.", str((n + unit // 2) // unit * unit)
    if form == "factors":
        ps = sorted(pick((2, 2, 3, 3, 5, 7, 11, 13)) for _ in range(r.randint(3, 5)))
        n = 1
        for p in ps:
            n *= p
        q = pick(("Write {n} as a product of prime factors.", "What is the prime factorization "
                  "of {n}?", "Break {n} down into its prime factors.")).format(n=n)  # fmt: skip
        return "factors", q, " x ".join(map(str, ps))
    if form == "divisible":
        d = pick((3, 4, 6, 9, 11))
        xs = r.sample(range(100, 1000), 5)
        xs[r.randrange(5)] = d * r.randint(12, 999 // d)
        if all(x % d == 0 for x in xs):
            xs[0] += 1
        shown = ", ".join(map(str, xs))
        q = f"Which of these numbers are divisible by {d}: {shown}?"
        return f"by_{d}", q, ", ".join(str(x) for x in xs if x % d == 0)
    if form == "order":
        xs = r.sample(sorted(SHOWN), 4)
        shown = [_shown(x, r) for x in xs]
        q = pick(("Put these in order from smallest to largest: {s}.", "Sort these numbers "
                  "from least to greatest: {s}.")).format(s=", ".join(shown))  # fmt: skip
        return "order", q, ", ".join(s for _, s in sorted(zip(xs, shown, strict=True)))
    if form == "roman":  # held
        n = r.choice((r.randint(1, 100), r.randint(100, 3999)))
        if r.random() < 0.5:
            return "to_roman", f"Write {n} in Roman numerals.", roman(n)
        return "from_roman", f"What number is the Roman numeral {roman(n)}?", str(n)
    # mapscale (held): map distance to real distance, or back
    s, cm = pick((25000, 50000, 100000, 200000, 250000)), Fraction(r.randint(12, 180), 10)
    if r.random() < 0.5:
        q = f"On a map with a scale of 1:{s}, two towns are {decimal(cm)} cm apart. How far apart "
        q += "are they in reality, in km?"
        return "to_km", q, f"{decimal(cm * s / 100000)} km"
    km = cm * s / 100000
    q = f"A trail is {decimal(km)} km long. How long is it on a map at 1:{s}, in cm?"
    return "to_cm", q, f"{decimal(cm)} cm"


def math_form(form: str, r: random.Random) -> tuple[str, str, str]:
    """One math prompt of ``form``: (topic, prompt, exact answer)."""
    pick = r.choice
    if form in ("rounding", "factors", "divisible", "order", "roman", "mapscale"):
        return _numbers(form, r)
    if form == "pace":
        km, pace = pick((5, 8, 10, 12, 15, 21)), r.randint(240, 420)
        t = km * pace
        took = f"{t // 60} minutes" + (f" {t % 60} seconds" if t % 60 else "")
        q = pick(("I ran {km} km in {t}. What was my pace per km?", "A {km} km run took me "
                  "{t}. What is that per kilometre?"))  # fmt: skip
        return "pace", q.format(km=km, t=took), f"{pace // 60}:{pace % 60:02d} per km"
    if form == "exchange":
        one, many, cents = pick(L.CURRENCIES)
        if r.random() < 0.5:
            n = 10 * r.randint(2, 80)
            q = f"If one {one} is worth {money(cents)}, how many US dollars are {n} {many}?"
            return "to_usd", q, money(n * cents)
        usd = 10 * r.randint(2, 120)
        q = f"One {one} costs {money(cents)}. How many {many} do I get for ${usd}?"
        return "from_usd", q, f"{money(Fraction(100 * 100 * usd, cents))[1:]} {many}"
    if form == "warming":
        t0, rate, h0 = r.randint(-15, 5), pick((1, 2, 3, 4)), r.randint(4, 9)
        h = r.randint(2, 8)
        q = f"At {clock(60 * h0)} it was {t0}°C, and it warmed by {rate} degrees an hour. What "
        q += f"was it at {clock(60 * (h0 + h))}?"
        return "warming", q, f"{t0 + rate * h}°C"
    if form == "fence":
        k = pick((2, 3, 4, 5))
        w, h = k * r.randint(3, 20), k * r.randint(3, 20)
        q = f"A rectangular {pick(L.FIELDS7)} is {w} m by {h} m. Fence posts go every {k} m "
        q += "along its edge, with one at each corner. How many posts are needed?"
        return "fence", q, str(2 * (w + h) // k)
    if form == "meet":
        a, b = r.sample((6, 8, 9, 10, 12, 15, 18, 20, 24, 25, 30, 40, 45), 2)
        start = 5 * r.randint(12 * 5, 12 * 10)
        q = f"One bus leaves every {a} minutes and another every {b} minutes. Both leave at "
        q += f"{clock(start)}. When do they next leave together?"
        return "meet", q, clock(start + lcm(a, b))
    # printing: minutes to print copies, or hours left to read a book
    if r.random() < 0.5:
        p, n, c = pick((10, 20, 25, 40, 50)), r.randint(4, 40), r.randint(2, 30)
        q = f"A printer does {p} pages a minute. How long does it take to print {c} copies of "
        q += f"a report of {n} pages?"
        return "printing", q, f"{decimal(Fraction(c * n, p))} minutes"
    speed, total = pick((20, 25, 40, 50)), 10 * r.randint(15, 60)
    done = 5 * r.randint(1, total // 5 - 1)
    q = f"I read {speed} pages an hour. My book has {total} pages and I have read {done}. "
    q += "How many hours until I finish?"
    return "reading", q, f"{decimal(Fraction(total - done, speed))} hours"


SET = ChatSet("chat7", HELD, MATH, math_form, TEXT, (L, F), F.EXTRA, SNIPPET, FENCE)
forms, prompts = SET.forms, SET.prompts  # as make_chat6.py names them


if __name__ == "__main__":
    make_chat.main(prompts, __doc__, "chat7")
