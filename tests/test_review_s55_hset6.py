"""tools/make_chat6.py: the sixth instruction set is seeded, holds its held-out forms out of
training (and the earlier sets' held-out forms out of it), shares no prompt and no 8-word run
with the earlier sets or the probes, keeps the fact probe's entities out, its math answers
are right by another computation, and its corpus chains on the set-4 and set-5 corpora."""

import json
import re
import statistics
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import chat_lists  # noqa: E402
import make_chat  # noqa: E402
import make_chat5  # noqa: E402
import make_chat6  # noqa: E402
from test_review_s48_hset4 import fake_answers  # noqa: E402

RESULTS = ROOT / "docs" / "results"
EARLIER = ("train_chat4", "train_chat5", "train_writing", "train_writing2", "train_writing3")
MARKS = {  # the words that mark this set's held-out forms, by group
    "math": r"\brecipe\b|\butc\b|what time is it in",
    "code": r"review|be improved|\b(csv|json|yaml|xml|toml)\b|turn the following",
    "knowledge": r"timeline|milestones|\bquiz\b",
    "writing": r"reply|respond|answer this email|extract|mentioned in|pull out",
}
SET5_MARKS = r"\bgit\b|pytest|unittest|test cases|\btests?\b|expression|someone says|"
SET5_MARKS += r"in a sentence|would happen|imagine|what if|outline|active voice|passive|x\^2|"
SET5_MARKS += r"workers|tap fills|working together"
EARLIER_WORDS = (  # set 4's and the writing sets' held-out forms
    "average mean~of interest complexity big~o rust ten-year-old child misconception get~wrong "
    "pros~and~cons pros cons main~points key~takeaways fable motivational chorus song scene "
    "science~fiction monologue eulogy opinion~piece"
).split()


@pytest.fixture(scope="module")
def full():
    return make_chat6.prompts()


@pytest.fixture(scope="module")
def earlier():
    """Every prompt of sets 4 and 5 and of the three writing sets, as shipped."""
    out = []
    for folder in EARLIER:
        out += [json.loads(x) for x in (RESULTS / folder / "prompts.jsonl").open()]
    return out


def grams(texts, n: int = 8) -> set[tuple[str, ...]]:
    out = set()
    for text in texts:
        w = re.findall(r"[a-z0-9']+", text.lower())
        out.update(tuple(w[i : i + n]) for i in range(len(w) - n + 1))
    return out


def test_seeded_and_the_shipped_file_regenerates(full):
    small = make_chat6.prompts(40, 12, seed=3)
    assert make_chat6.prompts(40, 12, seed=3) == small != make_chat6.prompts(40, 12, seed=4)
    shipped = (RESULTS / "train_chat6" / "prompts.jsonl").read_text()
    assert shipped == "".join(json.dumps(r) + "\n" for r in full)


def test_counts_per_group_and_split_and_no_prompt_twice(full):
    want = {(g, s): n for g in make_chat6.GROUPS for s, n in (("train", 400), ("valid", 60))}
    assert Counter((r["group"], r["split"]) for r in full) == want
    assert len({r["prompt"] for r in full}) == len(full) == 1840
    for r in full:
        assert {"group", "form", "topic", "split", "prompt"} <= set(r), r
        assert (r["group"] == "math") == ("answer" in r), r


def test_held_out_forms_are_validation_only_both_ways(full):
    for r in full:
        assert (r["split"] == "valid") == (r["form"] in make_chat6.HELD[r["group"]]), r
    by = Counter((r["group"], r["form"]) for r in full if r["split"] == "valid")
    for group, held in make_chat6.HELD.items():
        assert all(18 <= by[group, f] <= 42 for f in held), (group, by)
        drawn = {r["form"] for r in full if r["group"] == group and r["split"] == "train"}
        assert drawn == set(make_chat6.forms(group)) - set(held)
    mark = {g: re.compile(m, re.I) for g, m in MARKS.items()}
    for r in full:  # by the words that mark them: in every validation prompt of its group,
        if r["split"] == "valid":  # in no training prompt of any group
            assert mark[r["group"]].search(r["prompt"]), r
        else:
            assert not [g for g, m in mark.items() if m.search(r["prompt"])], r["prompt"]


def test_no_earlier_held_out_form_is_trained_on(full):
    words = [w.replace("~", " ") for w in EARLIER_WORDS]
    for r in full:
        if r["split"] == "train":
            low = r["prompt"].lower()
            assert not [w for w in words if re.search(rf"\b{re.escape(w)}\b", low)], low
            assert not re.search(SET5_MARKS, low), low


def test_nothing_an_earlier_set_asks(full, earlier):
    import make_writing

    for group in make_chat6.GROUPS:  # other form names than sets 4 and 5
        mine = set(make_chat6.forms(group))
        assert not mine & (set(make_chat.forms(group)) | set(make_chat5.forms(group))), group
    prompts = [r["prompt"] for r in full]
    assert not set(prompts) & {r["prompt"] for r in earlier}
    heads = [t.split("{")[0].strip().lower() for s in make_writing.SETS.values() for t in s]
    assert not [p for p in prompts for h in heads if p.lower().startswith(h)]
    assert not grams(prompts) & grams(r["prompt"] for r in earlier)  # 8-word runs
    old = {
        w.lower()
        for k in ("NATURE", "BODY", "THING", "EVENT", "PLACE", "CAUSED")
        for w in getattr(chat_lists, k)
    }
    old |= {w.lower() for pair in chat_lists.PAIRS for w in pair}
    topics = {r["topic"].lower() for r in full if r["group"] == "knowledge"}
    topics |= {
        t.lower() for r in full if r["group"] == "knowledge" for t in r["topic"].split(" / ")
    }
    assert not topics & old, topics & old


def test_no_8_word_run_shared_with_the_probes(full):
    """Decontamination, by this code only: the probes' folders are read as text, never shown."""
    probe = []
    for name in ("probe4", "probe5", "writing_probe"):
        probe += [p.read_text(errors="ignore") for p in (RESULTS / name).rglob("*") if p.is_file()]
    assert len(probe) > 10
    assert len(grams(r["prompt"] for r in full) & grams(probe)) == 0


def test_the_fact_probes_entities_and_answers_are_absent(full):
    import fact_probe
    from make_facts import probe_words

    generic = {"from", "has", "have", "make", "first", "main", "through", "natural", "largest"}
    generic |= {"longest", "tallest", "closest", "hardest", "opposite", "developed", "written"}
    generic |= {"discovered", "painted", "wrote", "spoken", "pumped", "pumps", "absorb"}
    generic |= {"boil", "boils", "freeze", "freezes", "system", "theory", "da"}
    entities = probe_words() - generic
    assert {"water", "body", "square", "root", "tokyo", "heart"} <= entities
    for form, (phrasings, name) in make_chat6.TEXT["knowledge"].items():  # drawn or not
        items = getattr(make_chat6.L, name)
        for text in (*phrasings, *(x if isinstance(x, str) else " ".join(x) for x in items)):
            assert not set(re.findall(r"[a-z0-9]+", text.lower())) & entities, (form, text)
    names = {a.lower() for *_, a, al in fact_probe.FACTS for a in (a, *al) if a[0].isupper()}
    questions = [q.lower() for q, *_ in fact_probe.FACTS]
    for r in full:
        low = r["prompt"].lower()
        if r["group"] == "knowledge":
            assert not set(re.findall(r"[a-z0-9]+", low)) & entities, r["prompt"]
        assert not [n for n in names if re.search(rf"\b{re.escape(n)}\b", low)], r["prompt"]
        assert not [q for q in questions if q in low], r["prompt"]


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
    import random

    r = random.Random(6)
    for form in make_chat6.MATH:
        for _ in range(200):
            topic, q, a = make_chat6.math_form(form, r)
            assert q.endswith(("?", ".")) and "{" not in q, q
            check(form, topic, q, a)
    rows = [row for row in full if row["group"] == "math"]
    for row in rows:  # the shipped rows too
        check(row["form"], row["topic"], row["prompt"], row["answer"])
    assert len(rows) == 460


def test_money_and_decimal_helpers():
    from fractions import Fraction

    assert make_chat6.money(Fraction(2025, 2)) == "$10.13" and make_chat6.money(5) == "$0.05"
    assert (
        make_chat6.decimal(Fraction(275, 100)) == "2.75"
        and make_chat6.decimal(Fraction(40)) == "40"
    )


# -- the corpus, chained on a set-4 and a set-5 corpus ------------------------------------


def test_the_corpus_chains_on_the_set5_corpus(tmp_path):
    from make_facts import write_corpus

    data = tmp_path / "corpus"
    (data / "sft").mkdir(parents=True)
    for split in ("train", "valid", "test"):
        (data / "sft" / f"{split}.jsonl").write_text(json.dumps({"prompt": split}) + "\n")
    (data / "manifest.json").write_text("{}")
    chained = data
    for tag, module in (("chat", make_chat), ("chat5", make_chat5)):
        answers = fake_answers(tmp_path / f"a_{tag}", module.prompts(2, 1, seed=0))
        assert (
            write_corpus(answers / "train.jsonl.gz", chained, tmp_path / tag, make_chat.SLOT, tag)
            == 8
        )
        chained = tmp_path / tag
    rows6 = make_chat6.prompts(2, 1, seed=0)
    answers = fake_answers(tmp_path / "a6", rows6)
    out, ev = tmp_path / "chat6", tmp_path / "eval6"
    cmd = [sys.executable, str(ROOT / "tools" / "make_chat6.py"), "corpus", "--answers"]
    cmd += [str(answers), "--corpus", str(out), "--eval", str(ev), "--data", str(chained)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and "8 chat6 rows" in done.stdout, done.stderr
    added = [json.loads(x) for x in (out / "sft" / "train.jsonl").read_text().splitlines()][1:]
    sources = [a["provenance"]["source"] for a in added]
    assert sources == ["chat"] * 8 + ["chat5"] * 8 + ["chat6"] * 8
    by6 = {r["prompt"]: r for r in rows6}
    assert all(a["domain"] == make_chat.SLOT[by6[a["prompt"]]["group"]] for a in added[16:])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["chat5"]["train"] == manifest["chat6"]["train"] == 8
    for group, slot in make_chat.SLOT.items():
        (got,) = [json.loads(x) for x in (ev / "domains" / slot / "valid.jsonl").open()]
        assert got["provenance"] == {"source": "chat6", "form": by6[got["prompt"]]["form"]}
        assert got["provenance"]["form"] in make_chat6.HELD[group]
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 2 and "exists" in again.stderr.strip().splitlines()[-1]


def test_the_scripts_take_help():
    for name in ("make_chat6.py", "chat6_lists.py", "chat6_forms.py"):
        script = str(ROOT / "tools" / name)
        done = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True)
        assert done.returncode == 0 and "usage" in done.stdout, name
