"""tools/make_chat5.py: the fifth instruction set is seeded, holds its held-out forms out of
training (and the earlier sets' held-out forms out of it), asks nothing the earlier sets ask,
keeps the fact probe's entities out, its math answers are right, and its corpus chains on
the set-4 corpus."""

import itertools
import json
import random
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import chat_lists  # noqa: E402
import make_chat  # noqa: E402
import make_chat5  # noqa: E402
from test_review_s48_hset4 import fake_answers  # noqa: E402

RESULTS = ROOT / "docs" / "results"


@pytest.fixture(scope="module")
def full():
    return make_chat5.prompts()


def test_prompts_are_seeded_and_the_shipped_file_regenerates(full):
    small = make_chat5.prompts(40, 12, seed=3)
    assert make_chat5.prompts(40, 12, seed=3) == small
    assert make_chat5.prompts(40, 12, seed=4) != small
    body = "".join(json.dumps(r) + "\n" for r in full)
    assert (RESULTS / "train_chat5" / "prompts.jsonl").read_text() == body
    set4 = "".join(json.dumps(r) + "\n" for r in make_chat.prompts())  # fill() kept set 4's draws
    assert (RESULTS / "train_chat4" / "prompts.jsonl").read_text() == set4


def test_each_group_has_its_counts_and_no_prompt_twice(full):
    counts = Counter((r["group"], r["split"]) for r in full)
    assert counts == {
        (g, s): n for g in make_chat5.GROUPS for s, n in (("train", 400), ("valid", 60))
    }
    assert len({r["prompt"] for r in full}) == len(full) == 1840
    for r in full:
        assert {"group", "form", "topic", "split", "prompt"} <= set(r), r
        assert r["group"] == "code" or "{" not in r["prompt"], r
        if r["group"] == "math":
            assert ("answer" in r) == (r["form"] != "concept"), r


def test_held_out_forms_are_validation_only_both_ways(full):
    for r in full:
        assert (r["split"] == "valid") == (r["form"] in make_chat5.HELD[r["group"]]), r
    by = Counter((r["group"], r["form"]) for r in full if r["split"] == "valid")
    for group, held in make_chat5.HELD.items():
        for form in held:  # about half of the 60 each
            assert 20 <= by[group, form] <= 40, (group, form, by[group, form])
    train = {(r["group"], r["form"]) for r in full if r["split"] == "train"}
    for group in make_chat5.GROUPS:  # every training form is drawn
        assert {f for g, f in train if g == group} == set(make_chat5.forms(group)) - set(
            make_chat5.HELD[group]
        )


def test_this_sets_held_out_forms_are_never_trained_on(full):
    """The held-out forms by the words that mark them, not by their ``form`` label."""
    marks = r"\bgit\b|pytest|unittest|test cases|\btests?\b|expression|someone says|"
    marks += r"in a sentence|would happen|imagine|"
    marks += r"what if|outline|active voice|passive|x\^2|workers|tap fills|working together"
    train = [r["prompt"] for r in full if r["split"] == "train"]
    assert not [p for p in train if re.search(marks, p, re.I)]
    valid = [r["prompt"] for r in full if r["split"] == "valid"]
    assert all(re.search(marks, p, re.I) for p in valid)


def _earlier_held_words() -> list[str]:
    """Words that mark set 4's held-out forms and the writing sets' held-out forms."""
    set4 = ["average", "mean of", "interest", "complexity", "big o", "rust", "ten-year-old"]
    set4 += ["child", "misconception", "get wrong", "pros and cons", "pros", "cons"]
    set4 += ["main points", "key takeaways"]
    writing = ["fable", "motivational", "chorus", "song", "scene", "science fiction"]
    return set4 + writing + ["monologue", "eulogy", "opinion piece"]


def test_no_earlier_held_out_form_is_trained_on(full):
    words = _earlier_held_words()
    for r in full:
        if r["split"] == "train":
            low = r["prompt"].lower()
            hit = [w for w in words if re.search(rf"\b{re.escape(w)}\b", low)]
            assert not hit, (hit, r["prompt"])


def test_nothing_an_earlier_set_asks(full):
    import make_writing

    for group in make_chat5.GROUPS:  # other form names than set 4's
        assert not set(make_chat5.forms(group)) & set(make_chat.forms(group)), group
    mine = {r["prompt"] for r in full}
    assert not mine & {r["prompt"] for r in make_chat.prompts()}
    for folder in ("train_writing", "train_writing2", "train_writing3"):
        rows = (RESULTS / folder / "prompts.jsonl").read_text().splitlines()
        assert not mine & {json.loads(x)["prompt"] for x in rows}, folder
    heads = [t.split("{")[0].strip().lower() for s in make_writing.SETS.values() for t in s]
    assert not [p for p in mine for h in heads if p.lower().startswith(h)]
    old = {
        w.lower()
        for k in ("NATURE", "BODY", "THING", "EVENT", "PLACE", "CAUSED")
        for w in getattr(chat_lists, k)
    }
    old |= {w.lower() for pair in chat_lists.PAIRS for w in pair} | {
        t.lower() for t in chat_lists.TASKS
    }
    topics = {r["topic"].lower() for r in full if r["group"] in ("knowledge", "code")}
    assert not topics & old, topics & old
    set4_valid = [r["prompt"] for r in make_chat.prompts() if r["split"] == "valid"]
    assert not _grams(mine) & _grams(set4_valid)


def _grams(texts, n: int = 8) -> set[tuple[str, ...]]:
    out = set()
    for t in texts:
        w = re.findall(r"[a-z0-9']+", t.lower())
        out |= {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}
    return out


def test_no_long_ngram_shared_with_the_probes(full):
    """Decontamination: no 8-word run of a set-5 prompt appears anywhere in the probes'
    folders (read as text by this code only)."""
    probe = []
    for name in ("probe4", "probe5", "writing_probe"):
        probe += [p.read_text(errors="ignore") for p in (RESULTS / name).rglob("*") if p.is_file()]
    assert len(probe) > 10
    shared = _grams(r["prompt"] for r in full) & _grams(probe)
    assert len(shared) == 0


def test_the_fact_probes_entities_are_absent(full):
    import fact_probe
    from make_facts import probe_words

    generic = {"from", "has", "have", "make", "first", "main", "through", "natural", "largest"}
    generic |= {"longest", "tallest", "closest", "hardest", "opposite", "developed", "written"}
    generic |= {"discovered", "painted", "wrote", "spoken", "pumped", "pumps", "absorb"}
    generic |= {"boil", "boils", "freeze", "freezes", "system", "theory", "da"}
    entities = probe_words() - generic
    assert {"water", "gold", "spider", "bees", "tokyo", "nile", "heart"} <= entities
    for form, (phrasings, name) in make_chat5.TEXT["knowledge"].items():  # every item, drawn or not
        items = getattr(make_chat5.L, name, None) or getattr(make_chat5.F, name)
        for text in (*phrasings, *(x if isinstance(x, str) else " ".join(x) for x in items)):
            hit = set(re.findall(r"[a-z0-9]+", text.lower())) & entities
            assert not hit, (form, hit, text)
    for r in full:
        words = set(re.findall(r"[a-z0-9]+", r["prompt"].lower()))
        if r["group"] == "knowledge":
            assert not words & entities, (words & entities, r["prompt"])
        names = {a.lower() for *_, a, al in fact_probe.FACTS for a in (a, *al) if a[0].isupper()}
        assert not [n for n in names if re.search(rf"\b{re.escape(n)}\b", r["prompt"].lower())]
        assert not any(q.lower() in r["prompt"].lower() for q, *_ in fact_probe.FACTS)
        assert not re.search(r"root of 81\b|√81\b", r["prompt"]), r


# -- math answers, recomputed another way ------------------------------------------------


def _ints(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"-?\d+", text)]


def _poly(side: str) -> dict[str, int]:
    """``3x^2 - x + 12`` -> {"x^2": 3, "x": -1, "": 12}."""
    out = {}
    for term in re.findall(r"[+-]?[^+-]+", side.replace(" ", "")):
        m = re.fullmatch(r"([+-]?)(\d*)(x\^2|x|y|)", term)
        sign, digits, var = m.groups()
        out[var] = (-1 if sign == "-" else 1) * int(digits or 1)
    return out


def _at(t: str) -> datetime:
    return datetime.strptime(t, "%I:%M %p")


def check(form: str, topic: str, q: str, a: str) -> None:
    n = _ints(q)
    if form == "arith" and topic == "product":
        assert int(a) == sum(n[0] for _ in range(n[1]))
    elif form == "arith" and topic == "division":
        quo, rem = map(int, a.split(" remainder "))
        assert quo * n[1] + rem == n[0] and 0 < rem < n[1]
    elif form == "arith":
        value = 1
        for _ in range(n[1]):
            value *= n[0]
        assert int(a) == value
    elif form == "root":
        assert int(a) ** (2 if topic == "square" else 3) == n[-1]
    elif form == "gcd" and topic == "gcd":
        assert int(a) == max(d for d in range(1, n[0] + 1) if n[0] % d == 0 == n[1] % d)
    elif form == "gcd":
        assert int(a) == next(m for m in itertools.count(n[0], n[0]) if m % n[1] == 0)
    elif form == "clock":
        times = re.findall(r"\d+:\d\d [ap]m", q)
        if topic == "end":
            h, m = re.search(r"(\d+) hours?(?: and (\d+) minutes)?\.", q).groups()
            end = _at(times[0]) + timedelta(hours=int(h), minutes=int(m or 0))
            assert _at(a).time() == end.time()
        else:
            minutes = (_at(times[1]) - _at(times[0])).total_seconds() / 60 % (24 * 60)
            assert int(a) == minutes
    elif form == "age" and topic == "sum":
        d, total = n[0], n[1]
        assert int(a) + (int(a) + d) == total
    elif form == "age":
        k, y, m = n
        assert k * int(a) + y == m * (int(a) + y)
    elif form == "probability":
        if topic == "dice":
            rolls = list(itertools.product(range(1, 7), repeat=2))
            assert Fraction(a) == Fraction(sum(x + y == n[-1] for x, y in rolls), len(rolls))
        elif topic == "die":
            assert Fraction(a) == Fraction(sum(x > n[0] for x in range(1, 7)), 6)
        elif topic == "coins":
            flips = list(itertools.product("HT", repeat=n[0]))
            assert Fraction(a) == Fraction(sum(f.count("H") == n[1] for f in flips), len(flips))
        else:
            bag = ["g"] * n[0] + ["y"] * n[1]
            draws = list(itertools.permutations(bag, 2 if "two" in q else 1))
            assert Fraction(a) == Fraction(sum(set(d) == {"g"} for d in draws), len(draws))
    elif form == "counting":
        if topic in ("choose", "handshakes"):
            k, people = (n[0], n[1]) if topic == "choose" else (2, n[0])
            assert int(a) == len(list(itertools.combinations(range(people), k)))
        elif topic == "orders":
            value = 1
            for i in range(2, n[0] + 1):
                value *= i
            assert int(a) == value
        elif topic == "outfits":
            assert int(a) == len(list(itertools.product(*(range(x) for x in n))))
        elif "repeats" in q:
            digits = n[0]
            assert int(a) == len(list(itertools.permutations(range(10), digits)))
        else:
            assert int(a) == 10 ** n[0]
    elif form == "sequence":
        s = n
        if topic == "arithmetic":
            nxt = 2 * s[-1] - s[-2]
        elif topic == "geometric":
            nxt = Fraction(s[-1] * s[-1], s[-2])
        elif topic == "squares":
            nxt = (round(s[-1] ** 0.5) + 1) ** 2
        else:
            nxt = s[-1] + s[-2]
        assert int(a) == nxt, (q, a)
        if topic == "fibonacci":
            assert all(s[i] == s[i - 1] + s[i - 2] for i in range(2, len(s)))
    elif form == "geometry":
        x = Fraction(a.rstrip("π"))
        if topic == "circle":
            assert x * 1 == n[0] ** 2 and a.endswith("π")
        elif topic == "circumference":
            assert x == n[0] and a.endswith("π")  # the diameter times π
        elif topic in ("box", "cube"):
            assert x == (n[0] ** 3 if topic == "cube" else n[0] * n[1] * n[2])
        elif topic == "cylinder":
            assert x == n[0] ** 2 * n[1]
        else:
            assert x == Fraction(4, 3) * n[0] ** 3 and x.denominator == 1
    elif form == "system":
        e1, e2 = re.search(r"(?:equations: |if )(.+) and (.+)\.$", q).groups()
        (l1, c1), (l2, c2) = [(_poly(e.split(" = ")[0]), int(e.split(" = ")[1])) for e in (e1, e2)]
        x, y = map(int, re.fullmatch(r"x = (-?\d+), y = (-?\d+)", a).groups())
        assert l1.get("x", 0) * x + l1.get("y", 0) * y == c1
        assert l2.get("x", 0) * x + l2.get("y", 0) * y == c2
        assert l1.get("x", 0) * l2.get("y", 0) != l1.get("y", 0) * l2.get("x", 0)  # one answer
    elif form == "best_buy":
        sizes = [int(s) for s in re.findall(r"(\d+) (?:g|ml)", q)]
        prices = [Fraction(p) for p in re.findall(r"\$(\d+\.\d\d)", q)]
        per = [p / s for p, s in zip(prices, sizes, strict=True)]
        assert per[0] != per[1]
        assert int(a.split()[0]) == sizes[per.index(min(per))]
    elif form == "quadratic":
        eq = re.search(r"(?:Solve |roots of |satisfy )(.+) = 0", q).group(1)
        c = _poly(eq)
        roots = [
            x
            for x in range(-30, 31)
            if c.get("x^2", 0) * x * x + c.get("x", 0) * x + c.get("", 0) == 0
        ]
        assert a == ", ".join(map(str, roots)), (q, a)
    elif form == "work":
        if topic == "crew":
            w, d, w2 = n
            assert Fraction(a) == Fraction(w * d, w2) and Fraction(a).denominator == 1
        else:
            x, y = n
            assert Fraction(a) == 1 / (Fraction(1, x) + Fraction(1, y))
    else:
        raise AssertionError(f"no check for {form}")


def test_math_answers_are_recomputed_independently(full):
    r = random.Random(5)
    seen = Counter()
    for form in make_chat5.MATH:
        for _ in range(150):
            topic, q, a = make_chat5.math_form(form, r)
            assert q.endswith(("?", ".")) and "{" not in q
            if form == "concept":
                assert a is None
                continue
            check(form, topic, q, a)
            seen[form] += 1
    for row in full:  # the shipped rows too
        if row["group"] == "math" and row["form"] != "concept":
            check(row["form"], row["topic"], row["prompt"], row["answer"])
    assert len(seen) == len(make_chat5.MATH) - 1


def test_the_number_helpers():
    assert make_chat5.clock(0) == "12:00 am" and make_chat5.clock(12 * 60 + 5) == "12:05 pm"
    assert make_chat5.clock(19 * 60 + 45) == "7:45 pm" and make_chat5.clock(25 * 60) == "1:00 am"
    assert make_chat5._sum((1, "x^2"), (-5, "x"), (6, "")) == "x^2 - 5x + 6"
    assert make_chat5._sum((-1, "x"), (0, "y"), (-3, "")) == "-x - 3"


# -- the corpus, chained on a set-4 corpus -----------------------------------------------


def test_the_corpus_chains_on_the_set4_corpus(tmp_path):
    from make_facts import write_corpus

    data = tmp_path / "corpus"
    (data / "sft").mkdir(parents=True)
    for split in ("train", "valid", "test"):
        (data / "sft" / f"{split}.jsonl").write_text(json.dumps({"prompt": split}) + "\n")
    (data / "manifest.json").write_text("{}")
    a4 = fake_answers(tmp_path / "a4", make_chat.prompts(2, 1, seed=0))
    chat4 = tmp_path / "chat4"
    assert write_corpus(a4 / "train.jsonl.gz", data, chat4, make_chat.SLOT, "chat") == 8
    rows5 = make_chat5.prompts(2, 1, seed=0)
    a5 = fake_answers(tmp_path / "a5", rows5)
    out, ev = tmp_path / "chat5", tmp_path / "eval5"
    cmd = [sys.executable, str(ROOT / "tools" / "make_chat5.py"), "corpus", "--answers", str(a5)]
    cmd += ["--corpus", str(out), "--eval", str(ev), "--data", str(chat4)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "8 chat5 rows" in done.stdout
    added = [json.loads(x) for x in (out / "sft" / "train.jsonl").read_text().splitlines()][1:]
    assert len(added) == 16  # set 4's eight, then set 5's eight
    by5 = {r["prompt"]: r for r in rows5}
    assert [a["provenance"]["source"] for a in added] == ["chat"] * 8 + ["chat5"] * 8
    for a in added[8:]:
        assert a["domain"] == make_chat.SLOT[by5[a["prompt"]]["group"]]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["chat"]["train"] == 8 and manifest["chat5"]["train"] == 8
    assert (out / "sft" / "valid.jsonl").read_text() == json.dumps({"prompt": "valid"}) + "\n"
    for group, slot in make_chat.SLOT.items():
        (got,) = [json.loads(x) for x in (ev / "domains" / slot / "valid.jsonl").open()]
        assert got["domain"] == slot and by5[got["prompt"]]["group"] == group
        assert got["provenance"] == {"source": "chat5", "form": by5[got["prompt"]]["form"]}
        assert got["provenance"]["form"] in make_chat5.HELD[group]
    assert set(json.loads((ev / "tasks.json").read_text())) == set(make_chat.SLOT.values())
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)  # EVAL exists
    assert again.returncode == 2 and "exists" in again.stderr.strip().splitlines()[-1]


def test_the_scripts_take_help():
    for name in ("make_chat5.py", "chat5_lists.py", "chat5_forms.py"):
        done = subprocess.run(
            [sys.executable, str(ROOT / "tools" / name), "--help"], capture_output=True, text=True
        )
        assert done.returncode == 0 and "usage" in done.stdout, name
