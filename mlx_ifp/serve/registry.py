"""The served model, its named tasks, and the slim-model caches bounded by a memory budget.

A request names ``<model>`` (a mask from its own prompt) or ``<model>:<task>`` (the task's: from
its text, or a mask file). Two ``mlx_ifp.Pruner``s share the resident model, one for tasks and
one for per-prompt masks (one-off prompts never evict a task's slim model); a mask file that
another source picked gets its picker's, as ``generate --mask`` cuts it. Their LRU sizes come
from ``--cache-gb``: a slim model's new FFN arrays, measured at start-up (a shared LoRA: once).
Only the public API and ``mlx_ifp.core``'s prompt helpers are used; then MLX runs on the worker.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlx_ifp
from mlx_ifp import UsageError
from mlx_ifp.core import (
    check_example,
    context_length,
    encode,
    format_chat,
    token_text,
    vocab_size,
    yaml_problem,
)

import mlx.core as mx
import yaml
from mlx.utils import tree_flatten

from .schemas import APIError, GenRequest, StopFilter, check_room

TASK_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
MAX_SLOTS = 64  # the most slim models one cache holds, whatever the budget
#: a request's settings handed to ``mlx_ifp.stream_generate`` under their own names
SAMPLING = ("top_p", "min_p", "top_k", "presence_penalty", "frequency_penalty", "logit_bias")
SAMPLING += ("repetition_penalty", "repetition_context_size")


@dataclass
class Task:
    """A named task: a task text to select the mask from, or a saved mask."""

    name: str
    text: str | list[str] | None = None  # a description, or example prompts
    mask: Any = None  # an mlx_ifp.Mask
    path: str | None = None
    pruner: Any = None  # a mask another source picked: its picker's (``Pruner.for_mask``)


@dataclass
class Piece:
    """One streamed step of a generation, as plain Python values (no MLX arrays)."""

    text: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    info: dict = field(default_factory=dict)
    logprobs: list[dict] = field(default_factory=list)  # the tokens of ``text`` (``TokenLog``)


def check_ids(ids: list[int], vocab: int | None) -> list[int]:
    if vocab and (bad := [t for t in ids if t >= vocab]):  # (None: the size is not known)
        msg = f"'prompt' has the token id {bad[0]}, outside the model's vocabulary [0, {vocab})"
        raise APIError(400, msg, param="prompt")
    return ids


def _mask_file(value: str, base: Path | None) -> Path | None:
    """The mask file ``value`` names (relative to ``base``; None: the current folder, gone too),
    or None: a task text no file system takes as a path (too long, ``~nobody``, a NUL) is not."""
    try:
        path = (base or Path.cwd()) / Path(value).expanduser()  # (an absolute path stays itself)
        for candidate in (path, mlx_ifp.Mask.files(path)[0]):
            if candidate.suffix == ".safetensors" and candidate.is_file():
                return candidate
    except (OSError, RuntimeError, ValueError, UsageError):
        pass
    return None


class UniqueKeys(yaml.SafeLoader):
    """A ``yaml.SafeLoader`` refusing a key given twice (its default keeps the last one)."""

    def construct_mapping(self, node, deep=False):
        self.flatten_mapping(node)  # ``<<: *anchor`` merge keys first, as SafeLoader does
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str) and key in seen:
                mark, what = key_node.start_mark, f"the name {key!r} is given twice"
                raise yaml.constructor.ConstructorError(None, None, what, mark)
            seen.add(key if isinstance(key, str) else None)
        return super().construct_mapping(node, deep)


def _spec(name: str, value, base: Path) -> dict:
    """One task's ``{"task": ...}`` or ``{"mask": path}``."""
    explicit = None
    if isinstance(value, dict) and len(value) == 1 and {*value} <= {"task", "mask"}:
        ((explicit, value),) = value.items()
        if explicit == "mask":
            if (found := _mask_file(str(value), base)) is None:
                raise UsageError(f"task {name!r}: mask file not found: {value}")
            return {"mask": str(found)}
    if isinstance(value, list) and value and all(isinstance(v, str | dict) for v in value):
        try:  # example prompts, or {prompt, completion}: with their replies
            return {"task": [check_example(v) for v in value]}
        except UsageError as e:
            raise UsageError(f"task {name!r}: {e}") from None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(
            f"task {name!r} needs a task text, a list of example prompts or a mask file path"
        )
    if explicit == "task":
        return {"task": value}
    found = _mask_file(word := value.strip(), base)  # stripped here and in the current folder
    here = None if found or " " in word else _mask_file(word, None)  # `--save-mask NAME`
    if found is None and (here or word.endswith((".safetensors", ".json")) and " " not in word):
        cwd = f" but in the current folder ({here}): give its path from {base}" if here else ""
        cwd += f", or {{task: {word}}} to keep it a task text" if here else ""
        raise UsageError(f"task {name!r}: mask file not found: {word} (relative to {base}){cwd}")
    return {"mask": str(found)} if found else {"task": value}


def read_tasks(path: str | Path) -> dict[str, dict]:
    """Parse a tasks YAML file: ``name: task text``, ``name: [example prompt, ...]`` (one mask
    from all of them) or ``name: path/to/mask(.safetensors)``.

    The explicit forms ``name: {task: TEXT}`` and ``name: {mask: PATH}`` are accepted too.
    Relative mask paths are relative to the YAML file. Returns ``{name: {"task"|"mask": ...}}``.
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"tasks file not found: {path}")
    try:
        loader = UniqueKeys(path.read_text(encoding="utf-8"))  # a SafeLoader
        data = loader.get_single_data() or {}
    except UnicodeDecodeError as e:
        raise UsageError(f"{path} is not UTF-8 text: {e}") from None
    except yaml.YAMLError as e:
        raise UsageError(f"{path} is not valid YAML{yaml_problem(e)}") from None  # one line
    if not isinstance(data, dict):
        raise UsageError(f"{path} must map task names to task texts or mask files")
    tasks = {}
    for name, value in data.items():
        if not isinstance(name, str):  # YAML 1.1: yes/no/on/off, ~, 1.10 are not strings
            what = type(name).__name__
            raise UsageError(f"task name {name!r} is read by YAML as a {what}: quote it")
        if not TASK_NAME.fullmatch(name):
            raise UsageError(f"task name {name!r}: use letters, digits, '_', '.' or '-'")
        tasks[name] = _spec(name, value, path.parent)
    return tasks


def template_args(config, name: str, tokenizer=None) -> dict:
    """Chat template arguments (a dict, or its JSON text) as ``generate --chat-template-config``
    takes them, tried on ``tokenizer``'s template (where given); a refusal names them ``name``."""
    try:
        args = mlx_ifp.core.check_chat(config=config)
    except UsageError as e:
        raise UsageError(f"{name} {str(e).partition(' ')[2]}") from None
    if not args or tokenizer is None:
        return args
    if not mlx_ifp.core.has_chat_template(tokenizer):
        raise UsageError(f"{name}: the model has no chat template to take them")
    try:  # transformers' own arguments (a wrong type, a clash), the template's refusals
        format_chat(tokenizer, [{"role": "user", "content": "Hi"}], **args)
    except Exception as e:
        why = " ".join(str(e).split())
        raise UsageError(f"{name}: the chat template refuses them ({why})") from None
    return args


def _new_bytes(new: list, old: list) -> int:
    """What MLX allocates for the arrays of the models ``new`` that none of ``old`` holds."""
    new, old = ({id(a): a for m in g for _, a in tree_flatten(m.parameters())} for g in (new, old))
    return sum(mlx_ifp.models.allocated_bytes(a.nbytes) for i, a in new.items() if i not in old)


class Registry:
    """The resident model, its tasks, and the pruners (with their caches) that serve them;
    ``chat_template_args``: every chat request's (mlx_lm.server's ``--chat-template-args``)."""

    def __init__(self, model, tokenizer, model_id: str, *, keep: float | int | str | None = 0.5,
                 mask_source: str | None = "griffin", tasks: dict[str, dict] | None = None,
                 cache_bytes: float = 2e9, repick: int | None = None,
                 chat_template_args: dict | str | None = None):  # fmt: skip
        self.repick = repick  # per-prompt requests re-pick every N reply tokens (None: default)
        self.chat_template_args = template_args(chat_template_args, "chat_template_args", tokenizer)
        self.model, self.tokenizer, self.model_id, self.keep = model, tokenizer, model_id, keep
        device = mx.default_device().type.name  # OpenAI's system_fingerprint: the backend's
        self.fingerprint = f"mlx_ifp-{mlx_ifp.__version__}-mlx-{mx.__version__}-{device}"
        self.tasks: dict[str, Task] = {}
        for name, spec in (tasks or {}).items():
            self.tasks[name] = Task(name, text=spec.get("task"))
            if "mask" in spec:
                try:
                    mask = mlx_ifp.Mask.load(spec["mask"], model)
                except UsageError as e:
                    raise UsageError(f"task {name!r} ({spec['mask']}): {e}") from None
                self.tasks[name] = Task(name, mask=mask, path=spec["mask"])
        kw = asks = {"source": mask_source, "keep": keep}  # keep None: 0.5, an export run whole
        probe = task_probe = mlx_ifp.Pruner(model, tokenizer, **kw, cache_size=0)
        if keep is None and probe.source.key() == "full" != mask_source:  # an export run whole:
            asks = {**kw, "keep": 0.5}  # a task or a re-pick prunes it again, as generate's
            task_probe = mlx_ifp.Pruner(model, tokenizer, **asks, cache_size=0)
            kw, probe = (asks, task_probe) if repick else (kw, probe)
        sized = {id(p): p.slim_for("Hello.") for p in (probe, task_probe)}  # real ones, to measure
        info, self.task_k = sized[id(probe)][1], int(sized[id(task_probe)][1].mask.k)
        self.k, self.d_ffn = int(info.mask.k), int(info.mask.d_ffn)
        bases = [m for p in (probe, task_probe) for m in (p.model, p.slim_base)]  # (kept_for)
        self.shared_bytes = _new_bytes(bases, [model])  # a LoRA'd copy, fused attention: once
        widths = [_new_bytes([slim], [model, *bases]) for slim, _ in sized.values()]
        with warnings.catch_warnings():  # its width only: no word on a LoRA it is cut without
            warnings.simplefilter("ignore", UserWarning)
            widths += [_new_bytes([mlx_ifp.prune(model, t.mask)], [model]) for t in self._masks()]
        self.slot_bytes, room = max(widths), cache_bytes - self.shared_bytes
        full = self.slot_bytes == 0 or room >= MAX_SLOTS * self.slot_bytes  # inf too
        slots = MAX_SLOTS if full else max(0, int(room // self.slot_bytes))
        self.prompt_slots = min(4, slots // 4)
        self.task_slots = slots - self.prompt_slots
        self._own_pruners(task_probe.source.key())
        self.prompt_pruner = mlx_ifp.Pruner(model, tokenizer, **kw, cache_size=self.prompt_slots)
        self.task_pruner = mlx_ifp.Pruner(model, tokenizer, **asks, cache_size=self.task_slots)
        if self.repick and (p := self.prompt_pruner).source.running(p.model) is None:
            raise UsageError(f"mask source {p.source.key()!r} cannot re-pick (--repick)")

    def _masks(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.mask is not None]

    def _own_pruners(self, source: str) -> None:
        """Masks another source than ``source`` picked get their picker's pruner (one per
        picker and width), with their share of the tasks' slots (the rest: ``task_pruner``)."""
        foreign = [t for t in self._masks() if t.mask.source != source]
        share = self.task_slots * len(foreign) // max(len(self.tasks), 1)
        groups: dict[tuple, list[Task]] = {}
        for t in foreign:
            groups.setdefault((t.mask.source, t.mask.k), []).append(t)
        for group in groups.values():
            size = min(len(group), share)
            pruner = mlx_ifp.Pruner.for_mask(self.model, self.tokenizer, group[0].mask, size)
            for t in group:
                t.pruner = pruner
            share, self.task_slots = share - size, self.task_slots - size

    def model_ids(self) -> list[str]:
        """The base model (per-prompt masks) and one ``model:task`` id per task."""
        return [self.model_id] + [f"{self.model_id}:{name}" for name in self.tasks]

    def describe(self, model_id: str) -> dict:
        """The ``/v1/models`` extension for one id."""
        task = self.resolve(model_id)
        if task is None:
            keep = round(self.k / self.d_ffn, 4)
            source = _named(self.prompt_pruner.source.key())  # as the answers name it
            return {"mask": "per prompt", "mask_source": source, "keep": keep}
        if (m := task.mask) is not None:
            name = Path(task.path).name if task.path else None  # not the server's folders
            return {"mask": "file", "path": name, "keep": round(m.k / m.d_ffn, 4), "k": m.k}
        source = _named(self.task_pruner.source.key())
        return {"mask": "task", "task": task.text, "mask_source": source}

    def resolve(self, model_id: str) -> Task | None:
        """The task a model id names (``None``: per-prompt), or a 404 ``APIError``."""
        if model_id == self.model_id:
            return None
        # the served id may hold a ':' itself ("llama3:8b"): a task is what follows it
        name = model_id.removeprefix(f"{self.model_id}:")
        if name == model_id or not name:  # "tiny:" is not listed either
            ids = ", ".join(self.model_ids())
            msg = f"the model {model_id!r} does not exist; this server has: {ids}"
            raise APIError(404, msg, param="model", code="model_not_found")
        if name not in self.tasks:
            known = ", ".join(self.tasks) or "none (start the server with --tasks)"
            msg = f"unknown task {name!r}; tasks: {known}"
            raise APIError(404, msg, param="model", code="task_not_found")
        return self.tasks[name]

    def generate(self, req: GenRequest, check=None) -> Iterator[Piece]:
        """Generate for a validated request; runs on the worker thread. Yields ``Piece``s.
        ``check`` (``Job.check``): called between prompt chunks, it raises to stop them."""
        task = self.resolve(req.model)
        pruner = self.prompt_pruner if task is None else task.pruner or self.task_pruner
        records = None
        try:
            template = {**self.chat_template_args, **(req.template or {})} if req.chat else {}
            tokens = self.prompt_tokens(req, template)
            max_tokens = check_room(req, len(tokens), context_length(self.model))
            records = mlx_ifp.stream_generate(
                self.model,
                self.tokenizer,
                req.prompt,
                max_tokens,
                task=task.text if task else None,
                mask=task.mask if task else None,
                pruner=pruner,
                temp=req.temperature,
                chat_template=req.chat,
                chat_template_config=template or None,
                repick=self.repick if task is None else 0,
                prompt_progress_callback=check,
                **{name: getattr(req, name) for name in SAMPLING},
            )
            # a completion, a chat prefill or a chat to a model with no template continues its
            # prompt: the reply's first space kept by stream_generate (core.spaced_reply)
            with mlx_ifp.core.random_state_kept() if req.seed is not None else nullcontext():
                if req.seed is not None:  # the request's own: MLX's state is put back after it
                    mx.random.seed(req.seed % 2**64)  # OpenAI's int64, MLX's uint64
                yield from self._pieces(records, StopFilter(req.stop), task, req.logprobs)
        except Exception as e:
            if "TemplateError" in {c.__name__ for c in type(e).__mro__}:  # jinja2's, subclasses too
                raise UsageError(f"the chat template rejected the messages: {e}") from None
            raise
        finally:
            if records is not None:
                records.close()

    def prompt_tokens(self, req: GenRequest, template: dict | None = None) -> list[int]:
        """The prompt's tokens as ``stream_generate`` makes them (token ids: as they are)."""
        tok = self.tokenizer
        if isinstance(req.prompt, list) and not req.chat:
            return check_ids(req.prompt, vocab_size(self.model))
        text = format_chat(tok, req.prompt, **template or {}) if req.chat else req.prompt
        return encode(tok, text)

    def _pieces(self, records, stops: StopFilter, task: Task | None, n) -> Iterator[Piece]:
        r, sent, log = None, 0, TokenLog(self.tokenizer, n)
        for r in records:
            log.push(r)
            text, stopped = stops.push(r.text)
            if stopped or r.finish_reason is not None:
                text += "" if stopped else stops.flush()
                sent += len(text)
                finish = "stop" if stopped else r.finish_reason
                yield self._last(r, text, finish, task, log.take(sent if stopped else None))
                return
            if text:
                sent += len(text)
                yield Piece(text, logprobs=log.take(sent))
        if r is not None:  # the records ended without a finish reason
            yield self._last(r, stops.flush(), "stop", task, log.take(None))

    def _last(self, r, text: str, finish: str, task: Task | None, logprobs: list) -> Piece:
        p = r.prune
        info: dict[str, Any] = {"selection": "prompt" if task is None else f"task:{task.name}"}
        if p is not None:
            m = p.mask
            info.update(
                active_params=int(p.active_params),
                cache_hit=bool(p.cache_hit),
                keep=round(m.k / m.d_ffn, 4),
                k=int(m.k),
                mask_source=_named(m.source) if task is None or task.mask is None else "file",
                **({"repicks": int(p.repicks)} if p.repicks else {}),
            )
        tokens = int(r.prompt_tokens), int(r.generation_tokens)
        return Piece(text, finish, *tokens, info, logprobs)


class TokenLog:
    """The reply tokens' log-probabilities and ``n`` most likely alternatives (``n`` None:
    none kept), each handed out once its text is: not one a stop string cuts (llama-server too
    drops a stop word's tokens), not one whose text was held back."""

    def __init__(self, tokenizer, n: int | None):
        self.tokenizer, self.n, self.made, self.pending = tokenizer, n, 0, []

    def push(self, r) -> None:
        if self.n is None or r.finish_reason == "stop":  # (the end-of-sequence token)
            return
        lp, t = r.logprobs.reshape(-1), int(r.token)  # on the device: the n best and t come back
        top = mx.argpartition(-lp, self.n - 1)[: self.n].tolist() if self.n else []
        values = lp[mx.array([*top, t])].astype(mx.float32)  # NaN, -inf: OpenAI's -9999.0
        values = mx.nan_to_num(values, nan=-9999.0, posinf=0.0, neginf=-9999.0).tolist()
        alts = sorted(zip(values[:-1], top, strict=True), reverse=True)
        token, raw = token_text(self.tokenizer, t)
        entry = {"token": token, "bytes": raw, "logprob": values[-1], "offset": self.made}
        entry["top"] = [(*token_text(self.tokenizer, i), x) for x, i in alts]  # (text, bytes, x)
        self.made += len(r.text)  # (the reply's characters, a space put back included)
        self.pending.append(entry | {"end": self.made})

    def take(self, sent: int | None) -> list[dict]:
        """The entries whose text is wholly in the first ``sent`` characters sent (None: all)."""
        i = sum(sent is None or e["offset"] < sent >= e["end"] for e in self.pending)
        out, self.pending = self.pending[:i], self.pending[i:]
        return out


def _named(source: str) -> str:
    """A mask source's key, a predictor by its folder's name (not the server's)."""
    name, _, path = source.partition("(")
    return f"{name}({Path(path.rstrip(')')).name})" if path else name
