"""tools/make_facts.py: WordNet's named things become questions that leave the fact probe held out,
and the corpus it writes adds them to the SFT training split only."""

import gzip
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
spec = importlib.util.spec_from_file_location("make_facts", ROOT / "tools" / "make_facts.py")
make_facts = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_facts)

# data.noun lines: offset, lexicographer file, type, word count (hex), words with lex ids,
# pointers (@i: instance of), then "| gloss"
WORDNET = """\
  1 This software and database is being provided to you, the LICENSEE, by
11000001 18 n 02 Donne 0 John_Donne 0 001 @i 10000001 n 0000 | English poet and priest (1572-1631)
11000002 15 n 01 Kashmir 0 001 @i 10000002 n 0000 | an area in southwestern Asia, disputed
11000003 15 n 01 Lyon 0 001 @i 10000003 n 0000 | a town in eastern France on the Rhone
11000004 15 n 01 Tokyo 0 001 @i 10000004 n 0000 | the seat of government of Nippon
11000009 15 n 01 Haiku_Bay 0 001 @i 10000009 n 0000 | a bay (a README word in the name)
11000005 17 n 01 Sirius 0 001 @i 10000005 n 0000 | a bright binary in Canis Major
11000006 05 n 01 Fido 0 001 @i 10000006 n 0000 | a dog (not a kind asked about)
11000007 18 n 01 volcano 0 001 @ 10000007 n 0000 | not an instance: a common noun
11000008 15 n 01 Verylongplacename 0 001 @i 10000008 n 0000 | a place of many tokens
"""


class Tokens:
    """A tokenizer stand-in: one token per 6 characters of each word."""

    def encode(self, text, add_special_tokens=False):
        return [0] * sum(-(-len(w) // 6) for w in text.split())


@pytest.fixture
def wordnet(tmp_path):
    path = tmp_path / "data.noun"
    path.write_text(WORDNET)
    return path


def test_instance_nouns_are_read_with_kind_gloss_and_a_person_full_name(wordnet):
    found = {e["name"]: e for e in make_facts.entities(wordnet)}
    names = {"Donne", "Kashmir", "Lyon", "Tokyo", "Sirius", "Verylongplacename", "Haiku Bay"}
    assert set(found) == names
    assert found["Donne"]["full"] == "John Donne" and found["Donne"]["kind"] == "person"
    assert found["Kashmir"]["kind"] == "place" and "disputed" in found["Kashmir"]["gloss"]


def test_questions_leave_out_the_probe_words_and_long_names(wordnet):
    qs = make_facts.questions(Tokens(), 10, seed=0, path=wordnet)
    topics = {q["topic"] for q in qs}
    # Tokyo is an answer of the probe (no other banned word), Lyon's gloss names France (the
    # probe's and the README's), Haiku Bay holds a README word; the long name is 3 tokens
    assert topics == {"John Donne", "Kashmir", "Sirius"}
    for q in qs:
        assert q["topic"] in q["prompt"] and q["prompt"].endswith(("?", "."))
    assert make_facts.questions(Tokens(), 10, seed=0, path=wordnet) == qs  # seeded


def test_probe_words_hold_every_answer_of_the_probe():
    from fact_probe import FACTS

    words = make_facts.probe_words()
    for _, _, answer, aliases in FACTS:
        for text in (answer, *aliases):
            assert {w.lower() for w in make_facts._WORD.findall(text)} <= words | make_facts._STOP


def test_the_corpus_gains_the_facts_in_its_training_split_only(tmp_path):
    data = tmp_path / "corpus"
    (data / "sft").mkdir(parents=True)
    for split in ("train", "valid", "test"):
        (data / "sft" / f"{split}.jsonl").write_text(json.dumps({"prompt": split}) + "\n")
    (data / "manifest.json").write_text(json.dumps({"digest": "x"}))
    facts = tmp_path / "facts.jsonl.gz"
    row = {"topic": "Kashmir", "prompt": "Where is Kashmir?", "completion": "In Asia."}
    facts.write_bytes(gzip.compress((json.dumps({**row, "response": "dense"}) + "\n").encode()))
    out = tmp_path / "with_facts"
    assert make_facts.write_corpus(facts, data, out) == 1
    train = [json.loads(x) for x in (out / "sft" / "train.jsonl").read_text().splitlines()]
    assert train[0] == {"prompt": "train"} and train[1]["prompt"] == "Where is Kashmir?"
    assert train[1]["domain"] == "general" and train[1]["provenance"]["source"] == "facts"
    for split in ("valid", "test"):
        assert (out / "sft" / f"{split}.jsonl").read_bytes() == (
            data / "sft" / f"{split}.jsonl"
        ).read_bytes()
    assert json.loads((out / "manifest.json").read_text())["facts"]["train"] == 1
    with pytest.raises(FileExistsError):
        make_facts.write_corpus(facts, data, out)  # never over an existing folder


def test_a_failed_copy_leaves_no_folder(tmp_path):
    data = tmp_path / "corpus"
    (data / "sft").mkdir(parents=True)
    (data / "sft" / "train.jsonl").write_text("")
    out = tmp_path / "with_facts"
    with pytest.raises(FileNotFoundError):
        make_facts.write_corpus(tmp_path / "missing.jsonl.gz", data, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]
