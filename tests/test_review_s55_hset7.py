"""tools/make_chat7.py: the seventh instruction set is seeded, holds its held-out forms out of
training (and sets 4, 5, 6's and the writing sets' held-out forms out of it), shares no prompt
and no 8-word run with the earlier sets or the probes, keeps the fact probe's entities out, its
math answers are right by another computation, and its corpus chains on the set-6 corpus."""

import json
import re
import sys
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import chat_checks as C  # noqa: E402
import make_chat  # noqa: E402
import make_chat5  # noqa: E402
import make_chat6  # noqa: E402
import make_chat7  # noqa: E402

MARKS = {  # the words that mark this set's held-out forms, by group
    "math": r"roman numeral|on a map|\b1:\d{4}",
    "code": r"secur|attacker|vulnerab|spreadsheet|excel|google sheets",
    "knowledge": r"analog|beginner",
    "writing": r"plain english|plain language|jargon|\bpitch\b",
}


@pytest.fixture(scope="module")
def full():
    return make_chat7.prompts()


def test_seeded_and_the_shipped_file_regenerates(full):
    small = make_chat7.prompts(40, 12, seed=3)
    assert make_chat7.prompts(40, 12, seed=3) == small != make_chat7.prompts(40, 12, seed=4)
    shipped = (C.RESULTS / "train_chat7" / "prompts.jsonl").read_text()
    assert shipped == "".join(json.dumps(r) + "\n" for r in full)


def test_counts_per_group_and_split_and_no_prompt_twice(full):
    C.counts(full, make_chat7.GROUPS)


def test_held_out_forms_are_validation_only_both_ways(full):
    C.held_both_ways(full, make_chat7, MARKS)


def test_no_earlier_held_out_form_is_trained_on(full):
    """Set 4's and the writing sets' words, set 5's and set 6's marks: in no training prompt."""
    C.no_earlier_held_form(full, C.SET5_MARKS, *C.MARKS6.values())


def test_nothing_an_earlier_set_asks(full):
    earlier = C.earlier_prompts((*C.EARLIER, "train_chat6"))
    C.nothing_earlier_asks(full, make_chat7, earlier, (make_chat, make_chat5, make_chat6))


def test_no_8_word_run_shared_with_the_probes(full):
    """Decontamination, by this code only: the probes' folders are read as text, never shown."""
    assert C.probe_runs(full) == 0


def test_the_fact_probes_entities_and_answers_are_absent(full):
    C.fact_probe_absent(full, make_chat7)


# -- math answers, recomputed another way ------------------------------------------------


def cents(x: Decimal) -> str:
    return f"{x.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"


def from_roman(s: str) -> int:
    value = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    out = 0
    for a, b in zip(s, s[1:] + " ", strict=True):
        out += -value[a] if b != " " and value[b] > value[a] else value[a]
    return out


def at(clock: str) -> datetime:
    return datetime.strptime(clock, "%I:%M %p")


def check(form: str, topic: str, q: str, a: str) -> None:  # noqa: C901 (one branch a form)
    n = [int(x) for x in re.findall(r"(?<![\d.:])-?\d+(?![\d:]|\.\d)", q)]
    if topic == "decimals":
        x = Fraction(re.search(r"(\d+\.\d+)", q).group(1))
        place = re.search(r"nearest (tenth|hundredth|thousandth)|to (one|\d) decimal", q)
        k = {"one": 1, "tenth": 1, "hundredth": 2, "thousandth": 3}.get(place[1] or place[2])
        k = k or int(place[2])
        whole = int(x * 10**k + Fraction(1, 2))  # half up
        assert Fraction(a) == Fraction(whole, 10**k) and len(a.split(".")[1]) == k, (q, a)
    elif topic == "whole":
        unit = {"ten": 10, "hundred": 100, "thousand": 1000}[q.split()[-1].rstrip(".")]
        assert int(a) % unit == 0 and -unit / 2 < int(a) - n[0] <= unit / 2, (q, a)
    elif form == "factors":
        ps = [int(p) for p in a.split(" x ")]
        prod = 1
        for p in ps:
            prod *= p
            assert all(p % d for d in range(2, p)), p
        assert prod == n[0] and ps == sorted(ps)
    elif form == "divisible":
        d = int(re.search(r"by (\d+):", q)[1])
        xs = [int(x) for x in q.split(": ")[1].rstrip("?").split(", ")]
        assert a == ", ".join(str(x) for x in xs if x / d == x // d) and a
    elif form == "order":
        shown = q.split(": ")[1].rstrip(".").split(", ")
        got = a.split(", ")
        assert sorted(got) == sorted(shown) and len({Fraction(s) for s in shown}) == 4
        assert all(Fraction(x) < Fraction(y) for x, y in zip(got, got[1:], strict=False))
    elif topic == "to_roman":
        pattern = r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})"
        assert re.fullmatch(pattern, a) and from_roman(a) == n[0], (q, a)
    elif topic == "from_roman":
        assert int(a) == from_roman(re.search(r"numeral ([IVXLCDM]+)\?", q).group(1))
    elif form == "mapscale":
        scale = Decimal(re.search(r"1:(\d+)", q).group(1))
        x = Decimal(re.search(r"(\d+(?:\.\d+)?) (?:cm|km)", q).group(1))
        want = x * scale / 100000 if topic == "to_km" else x * 100000 / scale
        assert Decimal(a.split()[0]) == want and a.split()[1] == topic[3:]
    elif form == "pace":
        km, minutes, *sec = n
        total = 60 * minutes + (sec[0] if sec else 0)
        m, s = a.split()[0].split(":")
        assert 60 * int(m) + int(s) == Decimal(total) / km and a.endswith(" per km")
    elif topic == "to_usd":
        rate = Decimal(re.search(r"\$(\d+\.\d\d)", q).group(1))
        assert a == "$" + cents(rate * n[0])
    elif topic == "from_usd":
        rate = Decimal(re.search(r"\$(\d+\.\d\d)", q).group(1))
        usd = Decimal(re.search(r"for \$(\d+)\?", q).group(1))
        assert (
            a.split()[0] == cents(usd / rate)
            and re.search(r"How many (.+) do I", q)[1] == a.split(" ", 1)[1]
        )
    elif form == "warming":
        t0, rate = (int(x) for x in re.findall(r"(-?\d+)(?:°C| degrees)", q))
        clocks = re.findall(r"(\d+:\d\d [ap]m)", q)
        hours = (at(clocks[1]) - at(clocks[0])) / timedelta(hours=1)
        assert a == f"{t0 + rate * round(hours)}°C" and hours == round(hours) > 0
    elif form == "fence":
        w, h, k = n
        posts = {(x, 0) for x in range(0, w + 1, k)} | {(x, h) for x in range(0, w + 1, k)}
        posts |= {(0, y) for y in range(0, h + 1, k)} | {(w, y) for y in range(0, h + 1, k)}
        assert int(a) == len(posts)
    elif form == "meet":
        a_min, b_min = n[:2]
        start = at(re.search(r"(\d+:\d\d [ap]m)", q).group(1))
        wait = next(t for t in range(1, 10000) if t % a_min == 0 and t % b_min == 0)
        assert at(a).time() == (start + timedelta(minutes=wait)).time()
    elif topic == "printing":
        per, copies, pages = n
        assert Decimal(a.split()[0]) == Decimal(copies * pages) / per and a.endswith("minutes")
    elif topic == "reading":
        speed, total, done = n
        assert Decimal(a.split()[0]) == Decimal(total - done) / speed and a.endswith("hours")
    else:
        raise AssertionError(f"no check for {form} / {topic}")


def test_math_answers_are_recomputed_independently(full):
    C.math_checked(make_chat7, check, full, seed=7, n=300)


def test_roman_numerals():
    assert [make_chat7.roman(n) for n in (4, 9, 14, 40, 90, 400, 1994, 3999)] == [
        "IV", "IX", "XIV", "XL", "XC", "CD", "MCMXCIV", "MMMCMXCIX"
    ]  # fmt: skip


# -- the corpus, chained on the set-4, set-5 and set-6 corpora ----------------------------


def test_the_corpus_chains_on_the_set6_corpus(tmp_path):
    chain = (("chat", make_chat), ("chat5", make_chat5), ("chat6", make_chat6))
    C.chained_corpus(tmp_path, chain, make_chat7, "make_chat7.py", "chat7")


def test_the_scripts_take_help():
    C.takes_help("make_chat7.py", "chat7_lists.py", "chat7_forms.py", "chat_set.py")
