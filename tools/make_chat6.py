"""Chat forms, sixth set: new chat requests in the four groups, answered by the dense model.

    python tools/make_chat6.py prompts [-n 400] [--valid 60] [--seed 0] -o PROMPTS.jsonl
    python tools/make_chat6.py answer --prompts PROMPTS.jsonl -o DIR [--batch 128]
    python tools/make_chat6.py corpus --answers DIR --corpus OUT --eval EVAL [--data CORPUS]

The sixth instruction set (fifty-fifth session): forms none of the earlier sets asks
(``make_writing.py``'s three, ``make_chat.py``'s, ``make_chat5.py``'s). **math**: multi-step
everyday word problems (a receipt with sales tax, pay with overtime, a trip's fuel cost,
weeks of saving, a bill split with a tip, how many I can buy and the change, median / range /
mode of a list, the weekday in N days, days between two dates, profit and break-even,
consecutive numbers, tiles for a floor, binary and hexadecimal, a score as a percentage; each
row keeps its exact ``answer``); **code**: languages other than Python as conversation (a
function to a given name and examples, an error message, a regex explained, an HTTP status,
SQL over given tables, a config file, comments, what a snippet prints, a language concept);
**knowledge**: answers in a format (bullet points, one or two sentences or N words, a numbered
list of stages, a comparison table, an expert's level), who someone was, effects of one thing
on another, what an acronym stands for; **writing**: work on a given text (a tone, the
sentiment of a comment, a question answered from a passage) and short practical pieces
(captions, saying no politely, references, titles, other words for a phrase). Lists in
``chat6_lists.py`` and ``chat6_forms.py``.

**Held out** (``HELD``, chosen before any reply was written): validation holds these forms
only, training none: math's recipe scaled and time-zone question; code's code review and data
conversion (CSV / JSON / YAML / XML); knowledge's timeline and quiz; writing's reply to an
email and names, places, dates or numbers pulled out of a text. ``prompts``, ``answer`` and
``corpus`` are ``make_chat.py``'s (its draw loop, source ``chat6``): ``corpus --data`` takes
a built corpus (the set-5 one, to chain) and writes EVAL, the four-slot corpus for
``tools/eval_task_masks.py --data EVAL --domains math,code,general,prose --split valid``.
"""

from __future__ import annotations

import random
import sys
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import chat5_lists  # noqa: E402
import chat6_forms as F  # noqa: E402
import chat6_lists as L  # noqa: E402
import make_chat  # noqa: E402
from chat_set import ChatSet  # noqa: E402
from make_chat5 import clock  # noqa: E402

GROUPS = make_chat.GROUPS
HELD = {  # forms never trained on: validation only
    "math": ("recipe", "timezone"),
    "code": ("review", "convert"),
    "knowledge": ("timeline", "quiz"),
    "writing": ("reply", "extract"),
}
TRAIN_MATH = "receipt pay fuel savings split budget stats weekday dates profit consecutive"
MATH = (*TRAIN_MATH.split(), "tiles", "bases", "score", *HELD["math"])
TEXT = {"code": F.CODE, "knowledge": F.KNOW, "writing": F.WRITE}
SNIPPET = ("comments", "output", "review")  # (language, code): the code follows, fenced
FENCE = {"C#": "csharp", "C++": "cpp"}
WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NAMES = chat5_lists.NAMES


def money(x: Fraction | int) -> str:
    """An amount in cents as dollars, rounded half up to the cent: ``$12.50``."""
    cents = Decimal(x.numerator) / Decimal(x.denominator) if isinstance(x, Fraction) else x
    cents = Decimal(cents).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"${cents / 100:.2f}"


def decimal(x: Fraction) -> str:
    """A fraction with a finite decimal expansion, exactly: ``12.5``, ``40``."""
    d = Decimal(x.numerator) / Decimal(x.denominator)
    return f"{d.normalize():f}"


def _money_math(form: str, r: random.Random) -> tuple[str, str, str]:
    pick = r.choice
    if form == "receipt":
        (a, many_a, pa), (b, many_b, pb) = r.sample(L.SHOP, 2)
        na, nb, tax = r.randint(1, 5), r.randint(1, 4), pick((5, 6, 7, 8, 9, 10))
        q = (
            f"I buy {na} x {a} at {money(pa)} each and {nb} x {b} at {money(pb)} each. Sales "
            f"tax is {tax}%. What is my total?"
        )
        if r.random() < 0.5:
            q = (
                f"What do {na} {many_a if na > 1 else a} at {money(pa)} and {nb} "
                f"{many_b if nb > 1 else b} at {money(pb)} cost with {tax}% sales tax added?"
            )
        return "receipt", q, money(Fraction((na * pa + nb * pb) * (100 + tax), 100))
    if form == "pay":
        who, rate, hours = pick(NAMES), r.randint(12, 35), r.randint(41, 55)
        if r.random() < 0.5:
            h, d, w = r.randint(4, 10), r.randint(3, 6), r.randint(2, 4)
            q = f"{who} earns ${rate} an hour, {h} hours a day, {d} days a week. How much is "
            q += f"that in {w} weeks?"
            return "hours", q, money(100 * rate * h * d * w)
        q = (
            f"{who} is paid ${rate} an hour for the first 40 hours of a week and time and a "
            f"half after that. How much does {who} earn for {hours} hours?"
        )
        return "overtime", q, money(Fraction(100 * rate * (80 + 3 * (hours - 40)), 2))
    if form == "fuel":
        per, km, price = r.randint(5, 12), 50 * r.randint(2, 16), r.randint(120, 210)
        q = (
            f"My car uses {per} litres of fuel per 100 km and fuel costs {money(price)} a "
            f"litre. What will a {km} km trip cost in fuel?"
        )
        return "fuel", q, money(Fraction(per * km * price, 100))
    if form == "savings":
        have, each, goal = 10 * r.randint(0, 30), 5 * r.randint(3, 20), 100 * r.randint(4, 30)
        goal = max(goal, have + 2 * each)
        q = (
            f"I have ${have} saved and put away ${each} every week. How many weeks until I "
            f"have at least ${goal}?"
        )
        return "savings", q, str(-(-(goal - have) // each))
    if form == "split":
        n, cents, tip = (
            r.randint(2, 8),
            100 * r.randint(30, 240) + pick((0, 50)),
            pick((10, 15, 18, 20)),
        )
        q = f"Dinner for {n} comes to {money(cents)} and we add a {tip}% tip. How much does each "
        q += "of us pay if we split it evenly?"
        return "split", q, money(Fraction(cents * (100 + tip), 100 * n))
    # budget: how many I can buy, and the change
    (item, _, price), cash = pick(L.SHOP), 10 * r.randint(2, 10)
    if price > 100 * cash:
        cash = 50
    n = 100 * cash // price
    q = f"I have ${cash} and each {item} costs {money(price)}. How many can I buy, and how much "
    q += "money is left?"
    return "budget", q, f"{n}, {money(100 * cash - n * price)}"


def math_form(form: str, r: random.Random) -> tuple[str, str, str]:
    """One math prompt of ``form``: (topic, prompt, exact answer)."""
    pick = r.choice
    if form in ("receipt", "pay", "fuel", "savings", "split", "budget"):
        return _money_math(form, r)
    if form == "stats":
        kind = pick(("median", "range", "mode"))
        xs = [r.randint(1, 60) for _ in range(pick((5, 7, 9)))]
        if kind == "mode":
            xs[1] = xs[4] = xs[-1]
            xs = [x for x in xs if xs.count(x) < 3 or x == xs[-1]]
        shown = ", ".join(map(str, xs))
        value = {"median": sorted(xs)[len(xs) // 2], "range": max(xs) - min(xs)}.get(kind)
        return kind, f"What is the {kind} of {shown}?", str(xs[-1] if value is None else value)
    if form == "weekday":
        day, n = r.randrange(7), r.randint(10, 400)
        t = (
            "If today is {d}, what day of the week will it be in {n} days?",
            "{n} days from a {d}, which day of the week is it?",
        )
        return "weekday", pick(t).format(d=WEEK[day], n=n), WEEK[(day + n) % 7]
    if form == "dates":
        a = date(2025, 1, 1) + timedelta(days=r.randrange(300))
        b = a + timedelta(days=r.randint(5, 360 - (a - date(2025, 1, 1)).days + 4))
        t = (
            "How many days are there from {a} to {b}, 2025?",
            "Counting from {a} to {b} 2025, how many days is that?",
        )
        show = lambda d: f"{d:%B} {d.day}"  # noqa: E731
        return "dates", pick(t).format(a=show(a), b=show(b)), str((b - a).days)
    if form == "profit":
        thing, n = pick(L.MADE), r.randint(12, 80)
        cost, sell = r.randint(40, 300), r.randint(120, 600)
        sell = max(sell, cost + 25)
        if r.random() < 0.5:
            q = (
                f"I make {n} {thing} for {money(cost)} each and sell them all at {money(sell)} "
                "each. What is my profit?"
            )
            return "profit", q, money(n * (sell - cost))
        spent = 100 * r.randint(40, 400)
        q = (
            f"I spent {money(spent)} on materials and sell {thing} at {money(sell)} each. How "
            "many do I have to sell to cover my costs?"
        )
        return "break_even", q, str(-(-spent // sell))
    if form == "consecutive":
        k, step = pick((2, 3, 4, 5)), pick((1, 2))
        first = r.randint(3, 120) * (step if step == 2 else 1)
        xs = [first + step * i for i in range(k)]
        what = {1: "consecutive whole numbers", 2: "consecutive even numbers"}[step]
        q = f"The sum of {k} {what} is {sum(xs)}. What are they?"
        return what.split()[1], q, ", ".join(map(str, xs))
    if form == "tiles":
        t, w, h = pick((20, 25, 30, 40, 50)), r.randint(4, 20), r.randint(4, 20)
        n = w * h
        side = (decimal(Fraction(x * t, 100)) for x in (w, h))
        q = "How many {} cm square tiles do I need to cover a floor {} m by {} m?".format(t, *side)
        if r.random() < 0.5:
            box = pick((8, 10, 12, 15))
            return (
                "boxes",
                q[:-1] + f", if tiles come in boxes of {box}? How many boxes?",
                str(-(-n // box)),
            )
        return "tiles", q, str(n)
    if form == "bases":
        n = r.randint(5, 255)
        kind = pick(("to_binary", "from_binary", "to_hex", "from_hex"))
        q, a = {
            "to_binary": (f"Convert {n} to binary.", f"{n:b}"),
            "from_binary": (f"What is the binary number {n:b} in decimal?", str(n)),
            "to_hex": (f"What is {n} in hexadecimal?", f"{n:X}"),
            "from_hex": (f"Convert the hexadecimal number {n:X} to decimal.", str(n)),
        }[kind]
        return kind, q, a
    if form == "score":
        total = pick((20, 25, 40, 50, 80))
        got = r.randint(total // 3, total)
        t = (
            "I got {g} out of {t} on an exam. What percentage is that?",
            "A team won {g} of its {t} games. What percent of its games did it win?",
        )
        return "score", pick(t).format(g=got, t=total), decimal(Fraction(100 * got, total)) + "%"
    if form == "recipe":  # held
        dish, what, unit, each = pick(L.RECIPES)
        n, m = r.sample(range(2, 13), 2)
        q = f"A recipe for {dish} that serves {n} needs {each * n} {unit} of {what}. How many "
        q += f"{dict(g='grams', ml='millilitres')[unit]} do I need to serve {m}?"
        return dish, q, f"{each * m} {unit}"
    # timezone (held): the time there, same or next or previous day
    (a, oa), (b, ob) = r.sample(L.CITIES, 2)
    start = 5 * r.randrange(24 * 12)
    zone = lambda o: f"UTC{'+' if o >= 0 else '-'}{abs(o):g}"  # noqa: E731
    q = f"When it is {clock(start)} in {a} ({zone(oa)}), what time is it in {b} ({zone(ob)})?"
    return "timezone", q, clock(start + round(60 * (ob - oa)))


SET = ChatSet("chat6", HELD, MATH, math_form, TEXT, (L, F), F.EXTRA, SNIPPET, FENCE)
text_form, forms, draw, is_held, prompts = (
    SET.text_form,
    SET.forms,
    SET.draw,
    SET.is_held,
    SET.prompts,
)


if __name__ == "__main__":
    make_chat.main(prompts, __doc__, "chat6")
