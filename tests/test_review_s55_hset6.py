"""tools/make_chat6.py: the sixth instruction set is seeded, holds its held-out forms out of
training (and the earlier sets' held-out forms out of it), shares no prompt and no 8-word run
with the earlier sets or the probes, keeps the fact probe's entities out, its math answers
are right by another computation, and its corpus chains on the set-4 and set-5 corpora."""

import json
import re
import statistics
import sys
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import chat_checks as C  # noqa: E402
import make_chat  # noqa: E402
import make_chat5  # noqa: E402
import make_chat6  # noqa: E402

RESULTS = C.RESULTS
MARKS = C.MARKS6  # the words that mark this set's held-out forms, by group


@pytest.fixture(scope="module")
def full():
    return make_chat6.prompts()


@pytest.fixture(scope="module")
def earlier():
    """Every prompt of sets 4 and 5 and of the three writing sets, as shipped."""
    return C.earlier_prompts()


def test_seeded_and_the_shipped_file_regenerates(full):
    small = make_chat6.prompts(40, 12, seed=3)
    assert make_chat6.prompts(40, 12, seed=3) == small != make_chat6.prompts(40, 12, seed=4)
    shipped = (RESULTS / "train_chat6" / "prompts.jsonl").read_text()
    assert shipped == "".join(json.dumps(r) + "\n" for r in full)


def test_counts_per_group_and_split_and_no_prompt_twice(full):
    C.counts(full, make_chat6.GROUPS)


def test_held_out_forms_are_validation_only_both_ways(full):
    C.held_both_ways(full, make_chat6, MARKS)


def test_no_earlier_held_out_form_is_trained_on(full):
    C.no_earlier_held_form(full, C.SET5_MARKS)


def test_nothing_an_earlier_set_asks(full, earlier):
    C.nothing_earlier_asks(full, make_chat6, earlier, (make_chat, make_chat5))


def test_no_8_word_run_shared_with_the_probes(full):
    """Decontamination, by this code only: the probes' folders are read as text, never shown."""
    assert C.probe_runs(full) == 0


def test_the_fact_probes_entities_and_answers_are_absent(full):
    C.fact_probe_absent(full, make_chat6)


# -- math answers, recomputed another way ------------------------------------------------


def cents(x: Decimal) -> str:
    return f"${x.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"


def check(form: str, topic: str, q: str, a: str) -> None:
    n = [int(x) for x in re.findall(r"(?<![\d.$])\d+(?!\.?\d)", q)]
    usd = [Decimal(x) for x in re.findall(r"\$(\d+(?:\.\d\d)?)", q)]
    pct = Decimal(re.search(r"(\d+)%", q).group(1)) / 100 if "%" in q else None
    if form == "receipt":
        bought = re.findall(r"(\d+) [^$]*?at \$(\d+\.\d\d)", q)
        assert len(bought) == 2, q
        assert a == cents(sum(int(k) * Decimal(p) for k, p in bought) * (1 + pct))
    elif topic == "hours":
        assert a == cents(usd[0] * n[0] * n[1] * n[2])
    elif topic == "overtime":
        hours = n[-1]
        assert a == cents(usd[0] * 40 + usd[0] * Decimal("1.5") * (hours - 40))
    elif form == "fuel":
        per, km = n[0], n[2]
        assert a == cents(Decimal(per) / 100 * km * usd[0])
    elif form == "savings":
        have, weeks = usd[0], 0
        while have < usd[2]:
            have, weeks = have + usd[1], weeks + 1
        assert int(a) == weeks
    elif form == "split":
        assert a == cents(usd[0] * (1 + pct) / n[0])
    elif form == "budget":
        left, k = usd[0], 0
        while left >= usd[1]:
            left, k = left - usd[1], k + 1
        assert a == f"{k}, {cents(left)}"
    elif form == "stats":
        xs = n
        want = {"median": statistics.median(xs), "range": max(xs) - min(xs)}
        if topic == "mode":
            assert len(statistics.multimode(xs)) == 1
            want["mode"] = statistics.mode(xs)
        assert int(a) == want[topic]
    elif form == "weekday":
        days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
        start = next(d for d in days if d in q)
        assert a == days[(days.index(start) + n[0]) % 7]
    elif form == "dates":
        a_day, b_day = re.findall(r"([A-Z][a-z]+ \d+)", q)
        at = [datetime.strptime(f"{d} 2025", "%B %d %Y") for d in (a_day, b_day)]
        assert int(a) == (at[1] - at[0]).days > 0
    elif topic == "profit":
        assert a == cents(n[0] * (usd[1] - usd[0]))
    elif topic == "break_even":
        sold = 0
        while sold * usd[1] < usd[0]:
            sold += 1
        assert int(a) == sold
    elif form == "consecutive":
        xs = [int(x) for x in a.split(", ")]
        step = 2 if "even" in q else 1
        assert len(xs) == n[0] and sum(xs) == n[1]
        assert all(y - x == step for x, y in zip(xs, xs[1:], strict=False))
        assert step == 1 or xs[0] % 2 == 0
    elif form == "tiles":
        side = [Decimal(x) for x in re.findall(r"(\d+(?:\.\d+)?) m\b", q)]
        tiles = side[0] * side[1] / (Decimal(n[0]) / 100) ** 2
        assert tiles == int(tiles)
        if topic == "boxes":
            box = int(re.search(r"boxes of (\d+)", q).group(1))
            tiles = (tiles + box - 1) // box
        assert int(a) == tiles
    elif form == "bases":
        word = re.search(r"(?:number|Convert|is) ([0-9A-F]+) ", q).group(1)
        base = {"to_binary": 10, "from_binary": 2, "to_hex": 10, "from_hex": 16}[topic]
        value = int(word, base)
        want = {"to_binary": bin(value)[2:], "to_hex": hex(value)[2:].upper()}
        assert a == want.get(topic, str(value))
    elif form == "score":
        assert Decimal(a.rstrip("%")) == Decimal(n[0]) * 100 / n[1]
    elif form == "recipe":
        people, amount, want = n
        assert a.split()[0] == str(amount * want // people) and amount * want % people == 0
    elif form == "timezone":
        clock_at = re.search(r"(\d+:\d\d [ap]m)", q).group(1)
        off = [float(x) for x in re.findall(r"UTC([+-][\d.]+)", q)]
        there = datetime.strptime(clock_at, "%I:%M %p") + timedelta(hours=off[1] - off[0])
        assert datetime.strptime(a, "%I:%M %p").time() == there.time()
    else:
        raise AssertionError(f"no check for {form}")


def test_math_answers_are_recomputed_independently(full):
    C.math_checked(make_chat6, check, full, seed=6, n=200)


def test_money_and_decimal_helpers():
    from fractions import Fraction

    assert make_chat6.money(Fraction(2025, 2)) == "$10.13" and make_chat6.money(5) == "$0.05"
    assert (
        make_chat6.decimal(Fraction(275, 100)) == "2.75"
        and make_chat6.decimal(Fraction(40)) == "40"
    )


# -- the corpus, chained on a set-4 and a set-5 corpus ------------------------------------


def test_the_corpus_chains_on_the_set5_corpus(tmp_path):
    chain = (("chat", make_chat), ("chat5", make_chat5))
    C.chained_corpus(tmp_path, chain, make_chat6, "make_chat6.py", "chat6")


def test_the_scripts_take_help():
    C.takes_help("make_chat6.py", "chat6_lists.py", "chat6_forms.py")
