"""The checks chat sets 6 and 7 share (``test_review_s55_hset6.py``, ``..._hset7.py``): held-out
forms both ways, no earlier held-out form trained on, nothing an earlier set asks, no 8-word run
shared with the probes, the fact probe's entities absent, and a corpus chained on earlier ones."""

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import chat_lists  # noqa: E402
import make_chat  # noqa: E402
from test_review_s48_hset4 import fake_answers  # noqa: E402

RESULTS = ROOT / "docs" / "results"
EARLIER = ("train_chat4", "train_chat5", "train_writing", "train_writing2", "train_writing3")
MARKS6 = {  # the words that mark set 6's held-out forms, by group
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


def earlier_prompts(folders=EARLIER) -> list[dict]:
    """Every prompt of the sets in ``folders`` (under docs/results), as shipped."""
    out = []
    for folder in folders:
        out += [json.loads(x) for x in (RESULTS / folder / "prompts.jsonl").open()]
    return out


def grams(texts, n: int = 8) -> set[tuple[str, ...]]:
    out = set()
    for text in texts:
        w = re.findall(r"[a-z0-9']+", text.lower())
        out.update(tuple(w[i : i + n]) for i in range(len(w) - n + 1))
    return out


def counts(full: list[dict], groups, n: int = 400, valid: int = 60) -> None:
    want = {(g, s): k for g in groups for s, k in (("train", n), ("valid", valid))}
    assert Counter((r["group"], r["split"]) for r in full) == want
    assert len({r["prompt"] for r in full}) == len(full) == len(groups) * (n + valid)
    for r in full:
        assert {"group", "form", "topic", "split", "prompt"} <= set(r), r
        assert (r["group"] == "math") == ("answer" in r), r


def held_both_ways(full: list[dict], module, marks: dict) -> None:
    """Validation holds ``module.HELD``'s forms only, by label and by ``marks`` (in every
    validation prompt of its group, in no training prompt of any group)."""
    for r in full:
        assert (r["split"] == "valid") == (r["form"] in module.HELD[r["group"]]), r
    by = Counter((r["group"], r["form"]) for r in full if r["split"] == "valid")
    for group, held in module.HELD.items():
        assert all(18 <= by[group, f] <= 42 for f in held), (group, by)
        drawn = {r["form"] for r in full if r["group"] == group and r["split"] == "train"}
        assert drawn == set(module.forms(group)) - set(held)
    mark = {g: re.compile(m, re.I) for g, m in marks.items()}
    for r in full:
        if r["split"] == "valid":
            assert mark[r["group"]].search(r["prompt"]), r
        else:
            assert not [g for g, m in mark.items() if m.search(r["prompt"])], r["prompt"]


def no_earlier_held_form(full: list[dict], *regexes: str) -> None:
    """No training prompt names set 4's or the writing sets' held-out words, nor ``regexes``."""
    words = [w.replace("~", " ") for w in EARLIER_WORDS]
    for r in full:
        if r["split"] == "train":
            low = r["prompt"].lower()
            assert not [w for w in words if re.search(rf"\b{re.escape(w)}\b", low)], low
            assert not [x for x in regexes if re.search(x, low)], low


def nothing_earlier_asks(full: list[dict], module, earlier: list[dict], modules) -> None:
    """Other form names than ``modules``, no earlier prompt, no writing-set opening, no 8-word
    run shared with ``earlier``, no knowledge topic of set 4."""
    import make_writing

    for group in module.GROUPS:
        mine = set(module.forms(group))
        assert not [m for m in modules if mine & set(m.forms(group))], group
    prompts = [r["prompt"] for r in full]
    assert not set(prompts) & {r["prompt"] for r in earlier}
    heads = [t.split("{")[0].strip().lower() for s in make_writing.SETS.values() for t in s]
    assert not [p for p in prompts for h in heads if p.lower().startswith(h)]
    assert not grams(prompts) & grams(r["prompt"] for r in earlier)  # 8-word runs
    kinds = ("NATURE", "BODY", "THING", "EVENT", "PLACE", "CAUSED")
    old = {w.lower() for k in kinds for w in getattr(chat_lists, k)}
    old |= {w.lower() for pair in chat_lists.PAIRS for w in pair}
    know = [r["topic"] for r in full if r["group"] == "knowledge"]
    topics = {t.lower() for t in know} | {t.lower() for x in know for t in x.split(" / ")}
    assert not topics & old, topics & old


def probe_runs(full: list[dict]) -> int:
    """8-word runs shared with any file of the probes (read as text by this code, never shown)."""
    probe = []
    for name in ("probe4", "probe5", "writing_probe"):
        probe += [p.read_text(errors="ignore") for p in (RESULTS / name).rglob("*") if p.is_file()]
    assert len(probe) > 10
    return len(grams(r["prompt"] for r in full) & grams(probe))


def fact_probe_absent(full: list[dict], module) -> None:
    """No knowledge phrasing, list item or prompt names a fact-probe word; no prompt names one
    of its capitalised answers or asks one of its questions."""
    import fact_probe
    from make_facts import probe_words

    generic = {"from", "has", "have", "make", "first", "main", "through", "natural", "largest"}
    generic |= {"longest", "tallest", "closest", "hardest", "opposite", "developed", "written"}
    generic |= {"discovered", "painted", "wrote", "spoken", "pumped", "pumps", "absorb"}
    generic |= {"boil", "boils", "freeze", "freezes", "system", "theory", "da"}
    entities = probe_words() - generic
    assert {"water", "body", "square", "root", "tokyo", "heart"} <= entities
    for form, (phrasings, name) in module.TEXT["knowledge"].items():  # drawn or not
        items = module.SET.items(name)
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


def chained_corpus(tmp_path: Path, chain, module, script: str, tag: str) -> None:
    """``script corpus`` on fake answers of ``module`` (2 + 1 rows a group) chained on a tiny
    base corpus through ``chain`` ((tag, module) pairs, each with fake answers): every earlier
    set's rows, then this set's in their slots; EVAL holds its held-out validation rows; a
    second call onto the same EVAL is one line, exit code 2."""
    from make_facts import write_corpus

    data = tmp_path / "corpus"
    (data / "sft").mkdir(parents=True)
    for split in ("train", "valid", "test"):
        (data / "sft" / f"{split}.jsonl").write_text(json.dumps({"prompt": split}) + "\n")
    (data / "manifest.json").write_text("{}")
    chained = data
    for old, m in chain:
        answers = fake_answers(tmp_path / f"a_{old}", m.prompts(2, 1, seed=0))
        n = write_corpus(answers / "train.jsonl.gz", chained, tmp_path / old, make_chat.SLOT, old)
        assert n == 8
        chained = tmp_path / old
    rows = module.prompts(2, 1, seed=0)
    answers = fake_answers(tmp_path / f"a_{tag}", rows)
    out, ev = tmp_path / tag, tmp_path / f"eval_{tag}"
    cmd = [sys.executable, str(ROOT / "tools" / script), "corpus", "--answers"]
    cmd += [str(answers), "--corpus", str(out), "--eval", str(ev), "--data", str(chained)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and f"8 {tag} rows" in done.stdout, done.stderr
    added = [json.loads(x) for x in (out / "sft" / "train.jsonl").read_text().splitlines()][1:]
    sources = [a["provenance"]["source"] for a in added]
    assert sources == [t for t, _ in chain for _ in range(8)] + [tag] * 8
    mine = {r["prompt"]: r for r in rows}
    assert all(a["domain"] == make_chat.SLOT[mine[a["prompt"]]["group"]] for a in added[-8:])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest[chain[-1][0]]["train"] == manifest[tag]["train"] == 8
    for group, slot in make_chat.SLOT.items():
        (got,) = [json.loads(x) for x in (ev / "domains" / slot / "valid.jsonl").open()]
        assert got["provenance"] == {"source": tag, "form": mine[got["prompt"]]["form"]}
        assert got["provenance"]["form"] in module.HELD[group]
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 2 and "exists" in again.stderr.strip().splitlines()[-1]


def math_checked(module, check, full: list[dict], seed: int, n: int) -> None:
    """``check(form, topic, prompt, answer)`` on ``n`` fresh draws of each of ``module.MATH``
    (seeded) and on every math row of ``full`` (460)."""
    import random

    r = random.Random(seed)
    for form in module.MATH:
        for _ in range(n):
            topic, q, a = module.math_form(form, r)
            assert q.endswith(("?", ".")) and "{" not in q, q
            check(form, topic, q, a)
    rows = [row for row in full if row["group"] == "math"]
    for row in rows:  # the shipped rows too
        check(row["form"], row["topic"], row["prompt"], row["answer"])
    assert len(rows) == 460


def takes_help(*names: str) -> None:
    for name in names:
        script = str(ROOT / "tools" / name)
        done = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True)
        assert done.returncode == 0 and "usage" in done.stdout, name
