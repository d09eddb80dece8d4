"""Training data -> token examples -> padded batches, in a fixed order that can be resumed.

A data folder holds ``train.jsonl``, ``valid.jsonl`` and ``test.jsonl`` in mlx-lm's formats:
``{"text"}`` (stage 1), ``{"messages"}`` or ``{"prompt", "completion"}`` (stage 2). Batch ``b``
is a pure function of (examples, seed, b), so a run resumes from a batch counter alone.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import mlx.core as mx
import numpy as np

from ..core import (
    Progress,
    UsageError,
    chat_parts,
    first_user_turn,
    reply_tokens,
    turn_tokens,
)

PAD_TO = 8
BIG_FILE = 16 << 20  # bytes: a split file this big shows a status line while it is read


@dataclass
class Example:
    """One training sequence: all tokens, where the loss starts, and what the predictor reads."""

    tokens: list[int]
    offset: int  # first token position that is scored (the response start; 0 for text)
    prompt: list[int]  # the predictor's input (the first user turn); [] for plain text
    domain: int = -1  # the record's 'domain' as a number (domain_id); -1: none
    ended: bool = True  # False: a text cut at a length limit (``truncated``), no end to learn


@dataclass
class Batch:
    """Right-padded arrays for one rank's share of a batch."""

    tokens: mx.array  # (B, T + 1)
    lengths: mx.array  # (B,) real tokens per row
    offsets: mx.array  # (B,)
    prompt: mx.array  # (B, Tp) predictor input (stage 2)
    prompt_lengths: mx.array  # (B,)
    domains: mx.array  # (B,) domain_id of each row (-1: none)

    @property
    def n_tokens(self) -> int:
        return int(self.lengths.sum().item())


def warn(message: str) -> None:
    if mx.distributed.init().rank() == 0:
        print(f"Warning: {message}", file=sys.stderr)


def read_jsonl(path: Path, each=None, progress=lambda n, size: None, seen=None) -> list:
    """The records of a jsonl file (``each(record)`` of each, made as read); a bad line is an
    error that names the file and the line. ``progress(records, bytes)`` is called every 1,000
    records and at the end; ``seen`` (a dict) gets the bytes, records and sha256 read."""
    out, digest = [], hashlib.sha256()
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            digest.update(raw)  # (cheap beside the JSON parse: what a resumed run compares)
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8")  # a BOM: Windows editors
            except UnicodeDecodeError:
                raise UsageError(f"{path}, line {n}: not UTF-8 text") from None
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise UsageError(f"{path}, line {n}: not valid JSON ({e.msg})") from None
            except RecursionError:
                raise UsageError(f"{path}, line {n}: JSON nested too deeply") from None
            if not isinstance(rec, dict):
                raise UsageError(f"{path}, line {n}: expected a JSON object")
            if "\\ud" in line.lower() and _lone_surrogate(rec):  # "\ud800": no tokenizer takes it
                raise UsageError(f"{path}, line {n}: holds a lone UTF-16 surrogate, not text")
            rec["_where"] = f"{path}, line {n}"
            out.append(rec if each is None else each(rec))
            if len(out) % 1000 == 0:
                progress(len(out), f.tell())
        progress(len(out), f.tell())
        if seen is not None:
            seen.update(bytes=f.tell(), records=len(out), sha256=digest.hexdigest())
    return out


def _lone_surrogate(rec: dict) -> bool:
    try:
        json.dumps(rec, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except RecursionError:  # nested too deeply to write back: it is read as it is
        pass
    return False


def domain_id(domain) -> int:
    """A record's ``domain`` (any text) as a stable non-negative int32; -1 without one."""
    return zlib.crc32(str(domain).encode()) & 0x7FFFFFFF if domain else -1


def _message(m) -> bool:
    """A {role, content} of strings; an assistant's ``tool_calls`` may stand for its content
    (mlx-lm's tools format has none, OpenAI's a null)."""
    if not isinstance(m, dict) or not isinstance(m.get("role"), str):
        return False
    call = m["role"] == "assistant" and isinstance(m.get("tool_calls"), list)
    return isinstance(m.get("content"), str) or call and m.get("content") is None


def _text(rec: dict, key: str, where: str) -> str:
    """A record's text field (a number is read as text; a null is not the word "None")."""
    if rec[key] is None or isinstance(rec[key], list | dict):
        raise UsageError(f"{where}: '{key}' must be text, got {json.dumps(rec[key]):.40}")
    return str(rec[key])


def to_example(rec: dict, tokenizer, stage: str, keys: dict | None = None) -> Example:
    """One record's tokens for ``stage``; ``keys``: its fields' names (``cfg.features``)."""
    P, C, M, T = ((keys or {}).get(n, n) for n in ("prompt", "completion", "messages", "text"))
    where, cut = rec.get("_where", "record"), rec.get("truncated", False)
    if not isinstance(cut, bool):  # "true" (a string) read as not cut: an end of turn trained
        raise UsageError(f"{where}: 'truncated' must be true or false, got {cut!r:.40}")
    if not isinstance(rec.get("domain", ""), str | None):  # 0 read as none, a list crashed
        raise UsageError(f"{where}: 'domain' must be a string, got {rec['domain']!r:.40}")
    if P in rec and C in rec:
        messages = [
            {"role": "user", "content": _text(rec, P, where)},
            {"role": "assistant", "content": _text(rec, C, where)},
        ]
    elif M in rec:
        messages = rec[M]
        if not isinstance(messages, list) or not all(map(_message, messages)):
            raise UsageError(f"{where}: '{M}' must be a list of {{role, content}} strings")
    elif T in rec:
        if stage == "sft":
            raise UsageError(f"{where}: stage 2 (sft) needs '{M}' or '{P}'/'{C}'"
                             f" (plain '{T}' records: --stage pretrain)")  # fmt: skip
        toks = list(tokenizer.encode(_text(rec, T, where)))
        if toks and tokenizer.eos_token_id not in (None, toks[-1]) and not cut:
            toks.append(tokenizer.eos_token_id)
        return Example(toks, 0, [], ended=not cut)
    else:
        raise UsageError(f"{where}: expected '{T}', '{M}' or '{P}'/'{C}'")
    try:
        user = first_user_turn(messages)  # first: [assistant] had "an empty conversation"
        head, full = chat_parts(tokenizer, messages, rec.get("tools"))
        prompt = list(turn_tokens(tokenizer, user)) if stage == "sft" else []
    except UsageError as e:
        raise UsageError(f"{where}: {e}") from None
    except Exception as e:  # the model's chat template refused the conversation
        raise UsageError(f"{where}: the chat template cannot format it ({e})") from None
    if cut and not isinstance(messages[-1].get("content"), str):
        raise UsageError(f"{where}: 'truncated' marks a reply of text, not a tool call")
    if cut:  # a reply cut at a length limit: no end of turn to learn
        full = head + reply_tokens(tokenizer, messages[-1]["content"], end=False)
    if stage == "pretrain":
        return Example(full, 0, [], ended=not cut)
    return Example(full, len(head), prompt, domain_id(rec.get("domain")), not cut)


def pack(examples: list, max_len: int) -> list:
    """Plain texts joined end to end (each ends in EOS) and cut into rows of ``max_len + 1``
    tokens: no padding, and nothing of a long text is cut away. Only the last row is short, and
    the row of a text marked ``truncated`` (no EOS): it ends there, so the next text's first
    token is never its target (a turn's end under another name)."""
    width, rows, flat = max_len + 1, [], []
    for e in [*examples, None]:
        flat += e.tokens if e is not None else []
        if e is None or not e.ended:
            rows += [flat[i : i + width] for i in range(0, len(flat), width)]
            flat = []
    return [Example(r, 0, []) for r in rows if len(r) > 1]


def read_split(path: Path, tokenizer, stage: str, keys=None, shown=False, seen=None) -> list:
    """(record, example) of each record of a split file, tokenized as read; ``shown``: a status
    line on stderr while a file of ``BIG_FILE`` bytes or more is read; ``seen``: a run's record of
    the files it read (:func:`read_jsonl`'s fingerprints): a changed one is said, then replaced."""
    size, fp = path.stat().st_size, {}
    big = shown and size >= BIG_FILE
    with Progress(f"reading {path}", size >> 20, unit="MB", enabled=big, transient=True) as bar:
        report = lambda n, done: bar.advance((done >> 20) - bar.done, (f"{n:,} records",))  # noqa: E731
        pairs = read_jsonl(path, lambda r: (r, to_example(r, tokenizer, stage, keys)), report, fp)
    if (was := (seen or {}).get(path.name)) and was != fp:  # data moves and grows: not refused
        then, now = (f"{f['records']:,} records, {f['bytes']:,} bytes, sha256 {f['sha256']:.12}"
                     for f in (was, fp))  # fmt: skip
        warn(f"{path} changed since the run read it ({then}; now {now}): the run goes on over it "
             "as it is (its saved data position and losses were of the old file)")  # fmt: skip
    if seen is not None:
        seen[path.name] = fp
    return pairs


def load_split(
    folder: str | Path,
    name: str,
    tokenizer,
    stage: str,
    max_len: int,
    packed: bool = False,
    vocab: int | None = None,
    chunk: int = 0,
    keys: dict | None = None,
    **read,
) -> list:
    """Examples of ``folder/name.jsonl`` ([] if absent; ``keys`` as :func:`to_example` takes
    them), long ones truncated, or with ``packed`` (stage 1 only) joined into full rows by
    :func:`pack`. A token id outside ``[0, vocab)`` is an error naming its line; an example with
    nothing to score is dropped: a reply cut away, or a stage 1 text no longer than one
    ``chunk`` (its targets run dense). ``read``: :func:`read_split`'s ``shown`` and ``seen``."""
    path = Path(folder) / f"{name}.jsonl"
    if not path.is_file():
        return []
    pairs = read_split(path, tokenizer, stage, keys, **read)
    examples = [e for _, e in pairs]
    for rec, e in pairs if vocab else ():
        if bad := [t for t in (*e.tokens, *e.prompt) if not 0 <= t < vocab]:
            raise UsageError(
                f"{rec['_where']}: token id {bad[0]} is outside the model's vocabulary "
                f"[0, {vocab}): the tokenizer does not fit the model"
            )
    if packed:
        if stage != "pretrain":
            raise UsageError("pack joins plain texts: it is for stage 1 (pretrain) only")
        return pack(examples, max_len)
    long = [e for e in examples if len(e.tokens) > max_len + 1 or len(e.prompt) > max_len]
    if long:
        warn(
            f"{len(long)} of {len(examples)} sequences in {path} are longer than "
            f"{max_len} tokens (--max-seq-length) and were truncated"
        )
    cut = [replace(e, tokens=e.tokens[: max_len + 1], prompt=e.prompt[:max_len]) for e in examples]
    out = [e for e in cut if e.offset < len(e.tokens) and len(e.tokens) > chunk]
    if len(out) < len(examples) and stage == "sft":
        warn(f"{len(examples) - len(out)} examples in {path} had no response left and were dropped")
    elif len(out) < len(examples):
        warn(
            f"{len(examples) - len(out)} of {len(examples)} texts in {path} are no longer than one "
            f"chunk ({chunk} tokens: --max-seq-length / --chunks), so nothing of them is scored: "
            + ("dropped (--pack joins texts into full rows)" if name == "train" else "dropped "
               "(validation and test texts are never packed: give longer ones, or more --chunks)")
        )  # fmt: skip
    return out


SPLITS = ("train", "valid", "test")  # (``config.data_settings`` picks a run's)


def load_data(
    folder: str | Path,
    tokenizer,
    stage: str,
    max_len: int,
    packed: bool = False,
    vocab: int | None = None,
    chunk: int = 0,
    splits: tuple = SPLITS,
    validating: bool = True,
    keys: dict | None = None,
    **read,
):
    """(train, valid, test) examples of the ``splits`` read (others: []); a missing or empty
    training set is an error, a missing valid split a warning while ``validating``. ``packed``
    packs the training split only, so validation scores the same rows either way; ``vocab``,
    ``chunk``, ``keys`` and ``read`` as :func:`load_split` takes them."""
    folder = check_data(folder)
    train, valid, test = (
        load_split(folder, n, tokenizer, stage, max_len, packed and n == "train", vocab, chunk,
                   keys, **read) if n in splits else [] for n in SPLITS
    )  # fmt: skip
    if not train:
        raise no_examples(folder / "train.jsonl", "has no usable examples")
    if not valid and validating and "valid" in splits:
        why = "has no scoreable examples" if (folder / "valid.jsonl").is_file() else "is missing"
        warn(f"{folder / 'valid.jsonl'} {why}: no validation loss")
    return train, valid, test


def check_data(folder: str | Path) -> Path:
    """A data folder that holds ``train.jsonl``, checked before any model is loaded."""
    folder = Path(folder)
    if folder.is_file():
        raise UsageError(f"data folder {folder} is a file: give the folder that holds train.jsonl")
    if not folder.is_dir():  # `org/name`: mlx_lm lora's Hugging Face dataset
        hub = len(folder.parts) == 2 and str(folder)[0] not in "/.~"
        hub = " (a Hugging Face dataset? finetune reads a local folder only)" if hub else ""
        raise UsageError(f"data folder not found: {folder}{hub}")
    if not (folder / "train.jsonl").is_file():  # a `data build` corpus: one of its parts?
        why = " or ".join(str(p.parent) for p in sorted(folder.glob("*/train.jsonl")))
        raise no_examples(folder / "train.jsonl", f"is missing{why and f' (--data {why}?)'}")
    return folder


def no_examples(path: Path, why: str) -> UsageError:
    return UsageError(
        f"no training examples: {path} {why} (give the data folder with --data or `data:` "
        "in the config; it holds train.jsonl and valid.jsonl; records with nothing to score "
        "within --max-seq-length are dropped with a warning)"
    )


class Batches:
    """Global batch ``b`` of ``examples``: each epoch, shuffled by ``seed``, holds ``per_epoch``
    whole batches (its last rows left out); this rank's share. ``at`` reads from a position
    ``(epoch, row)``, so a run resumed with another batch size or gradient accumulation goes on
    from the row its checkpoint stopped at."""

    def __init__(
        self, examples: list, batch_size: int, seed: int = 0, multiple: int = PAD_TO, group=None
    ):
        self.examples, self.batch_size = examples, batch_size
        self.seed, self.multiple = seed, multiple
        self.rank = group.rank() if group is not None else 0
        self.world = group.size() if group is not None else 1
        if batch_size % self.world:
            raise UsageError(f"batch size {batch_size} is not divisible by {self.world} processes")
        if len(examples) < batch_size:
            raise UsageError(f"{len(examples)} examples are fewer than the batch size {batch_size}")
        self.per_epoch = len(examples) // batch_size
        self._order: tuple[int, np.ndarray] | None = None

    def order(self, epoch: int) -> np.ndarray:
        """Example indices of one epoch, shuffled."""
        if self._order is None or self._order[0] != epoch:
            rng = np.random.default_rng([self.seed, epoch])
            self._order = (epoch, rng.permutation(len(self.examples)))
        return self._order[1]

    def position(self, b: int, batch_size: int | None = None) -> tuple[int, int]:
        """Where batch ``b`` starts, ``(epoch, row)``, for batches of ``batch_size`` (ours)."""
        size = batch_size or self.batch_size
        epoch, i = divmod(b, len(self.examples) // size)
        return epoch, i * size

    def rows(self, pos: tuple[int, int]) -> tuple[list[int], tuple[int, int]]:
        """Example indices of the batch at ``pos`` (all ranks) and the position after it."""
        epoch, row = pos
        if row + self.batch_size > len(self.examples):  # too few rows left: the next epoch
            epoch, row = epoch + 1, 0
        end = row + self.batch_size
        return self.order(epoch)[row:end].tolist(), (epoch, end)

    def at(self, pos: tuple[int, int]) -> tuple[Batch, tuple[int, int]]:
        """This rank's share of the batch at ``pos``, and the position after it."""
        rows, after = self.rows(pos)
        mine = rows[self.rank :: self.world]
        return collate([self.examples[j] for j in mine], self.multiple), after

    def take(self, pos: tuple[int, int], n: int) -> tuple[list[Batch], tuple[int, int]]:
        """This rank's shares of the ``n`` batches from ``pos``, and the position after them."""
        batches = []
        for _ in range(n):
            batch, pos = self.at(pos)
            batches.append(batch)
        return batches, pos

    def indices(self, b: int) -> list[int]:
        """Example indices of global batch ``b`` (all ranks)."""
        return self.rows(self.position(b))[0]

    def __call__(self, b: int) -> Batch:
        return self.at(self.position(b))[0]


def _pad(rows: list[list[int]], width: int) -> np.ndarray:
    arr = np.zeros((len(rows), width), np.int32)
    for i, r in enumerate(rows):
        arr[i, : len(r)] = r
    return arr


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def collate(examples: list, multiple: int = PAD_TO) -> Batch:
    """Right-pad to a common length (inputs a multiple of ``multiple``, plus one target)."""
    T = max(multiple, _round_up(max(len(e.tokens) for e in examples) - 1, multiple))
    Tp = _round_up(max(len(e.prompt) for e in examples), multiple) or 1  # fewer shapes to compile
    return Batch(
        mx.array(_pad([e.tokens for e in examples], T + 1)),
        mx.array([len(e.tokens) for e in examples], dtype=mx.int32),
        mx.array([e.offset for e in examples], dtype=mx.int32),
        mx.array(_pad([e.prompt for e in examples], Tp)),
        mx.array([max(1, len(e.prompt)) for e in examples], dtype=mx.int32),
        mx.array([e.domain for e in examples], dtype=mx.int32),
    )
