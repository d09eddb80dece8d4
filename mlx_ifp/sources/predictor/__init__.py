"""The sparsity predictor: a model of its own (``model``), its files, and the mask source that
serves it.

Files: ``predictor.safetensors`` + ``ifp_config.json`` (its config, the source model's
fingerprint and the budget), and building a fresh predictor for a source model. Mask source
``predictor``: a trained predictor scores the prompt (or task) tokens.
"""

from __future__ import annotations

import json
import os
import weakref
from dataclasses import asdict, fields
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn

from ...core import (
    Budget,
    Mask,
    UsageError,
    atomic_file,
    check_fingerprint,
    d_ffn,
    fingerprint,
    layers,
    origin,
    random_state_kept,
    read_json,
    read_safetensors,
    sha256_file,
    vocab_size,
)
from ..base import MaskSource, make_source, register_source
from .model import (
    HEADS,
    Predictor,
    PredictorConfig,
    griffin_running,
    head_params,
    hidden_size,
    hidden_states,
    pool,
    source_pass,
    text_scores,
)

CONFIG_FILE = "ifp_config.json"
WEIGHTS_FILE = "predictor.safetensors"


def save_predictor(predictor: Predictor, folder: str | Path) -> Path:
    """Write ``predictor.safetensors`` and ``ifp_config.json`` into ``folder``, atomically."""
    folder = Path(folder)
    weights = dict(nn.utils.tree_flatten(predictor.parameters()))
    with atomic_file(folder / WEIGHTS_FILE) as tmp:
        mx.save_safetensors(str(tmp), weights, metadata={"mlx_ifp": "predictor"})
    update_config(folder, predictor=asdict(predictor.config))
    return folder


def read_config(folder: str | Path) -> dict:
    """The ``ifp_config.json`` of an adapter folder ({} if there is none)."""
    return read_json(p, "predictor config") if (p := Path(folder) / CONFIG_FILE).is_file() else {}


def holds_predictor(folder: str | Path) -> bool:
    """Whether ``folder`` holds a trained predictor (or a part of one, which loading refuses):
    an mlx-lm LoRA folder (``mlx_lm lora``'s output) holds none."""
    return any((Path(folder) / f).is_file() for f in (WEIGHTS_FILE, CONFIG_FILE))


def update_config(folder: str | Path, **entries) -> None:
    """Merge ``entries`` into the folder's ``ifp_config.json`` (written atomically)."""
    cfg = {**read_config(folder), **entries}
    with atomic_file(Path(folder) / CONFIG_FILE) as tmp:
        tmp.write_text(json.dumps(cfg, indent=2, default=str))


def new_predictor(
    model: nn.Module, config: PredictorConfig | None = None, tokenizer=None, **overrides
) -> Predictor:
    """A fresh predictor for source ``model``; a separate backbone is loaded from its path.

    With ``init`` naming a mask source (e.g. ``static-act``), the head's bias starts at that
    source's per-layer standardised scores, so training starts from a sensible static mask.
    """
    config = config or PredictorConfig()
    if bad := set(overrides) - {f.name for f in fields(PredictorConfig)}:
        raise UsageError(f"unknown predictor setting(s): {', '.join(sorted(bad))}")
    for k, v in overrides.items():
        setattr(config, k, v)
    config.check()
    source = config.backbone == "source"  # a backbone of its own: of the source's tokenizer?
    backbone = model if source else _load_backbone(config.backbone, model, tokenizer)
    config.n_layers = len(layers(model))
    config.d_ffn = d_ffn(model)
    config.hidden = hidden_size(backbone)
    config.model = fingerprint(model)
    if config.backbone == "source":
        config.layers = min(config.layers, config.n_layers)
    predictor = Predictor(config, backbone)
    if config.init != "zeros":
        warm_start(predictor, model, tokenizer)
    return predictor


def start_scores(init: str, model: nn.Module, tokenizer=None) -> mx.array:
    """A text-independent source's scores (L, d_ffn), standardised per layer: the warm start."""
    source = make_source(init, tokenizer=tokenizer)
    if source.uses_text:
        raise UsageError(f"predictor init must be a text-independent source, not {source.name}")
    s = source.scores(model, mx.array([0], dtype=mx.int32)).astype(mx.float32)
    return (s - s.mean(-1, keepdims=True)) / mx.maximum(s.std(-1, keepdims=True), 1e-6)


def warm_start(predictor: Predictor, model: nn.Module, tokenizer=None) -> None:
    """Set the head's bias to :func:`start_scores` of the predictor's ``init`` source."""
    z = start_scores(predictor.config.init, model, tokenizer)
    if predictor.config.head == "full":
        predictor.out.bias = z.reshape(-1)
    else:
        predictor.bias = z
    mx.eval(predictor.parameters())


def _load_backbone(path: str, model: nn.Module | None = None, tokenizer=None) -> nn.Module:
    from ...models import load

    net, theirs = load(path)
    if model is not None:  # a new predictor's: checked against its source
        _check_backbone(path, net, theirs, model, tokenizer)
    net.freeze()
    return net


def _check_backbone(path: str, net: nn.Module, theirs, model: nn.Module, tokenizer=None) -> None:
    """Refuse a separate backbone whose tokenizer is not the source's (each source token at
    the same id, or where a side has no vocabulary to compare, enough embedding rows): it is
    fed the source's token ids."""
    if hasattr(theirs, "get_vocab") and hasattr(tokenizer, "get_vocab"):
        if tokenizer.get_vocab().items() <= theirs.get_vocab().items():  # each id the same
            return
    else:
        sizes = [vocab_size(m) for m in (model, net)]
        if None in sizes or sizes[1] >= sizes[0]:
            return
    raise UsageError(
        f"predictor backbone {path} has another tokenizer than the source model: the predictor "
        "reads the source's token ids, so give a backbone with the source's tokenizer"
    )


def load_predictor(folder: str | Path, model: nn.Module) -> Predictor:
    """Read a saved predictor; refuse it if it was trained for another source model."""
    folder = Path(folder)
    cfg = read_config(folder).get("predictor")
    if not cfg or not (folder / WEIGHTS_FILE).is_file():
        raise UsageError(f"no predictor in {folder} (needs {WEIGHTS_FILE} and {CONFIG_FILE})")
    known = {f.name for f in fields(PredictorConfig)}
    if not isinstance(cfg, dict):
        raise UsageError(f"{folder / CONFIG_FILE}: 'predictor' must be a mapping of settings")
    try:
        config = PredictorConfig(**{k: v for k, v in cfg.items() if k in known})
        config.check()
    except (TypeError, ValueError) as e:
        raise UsageError(f"{folder / CONFIG_FILE}: bad predictor settings ({e})") from None
    if not config.model:  # (check() made it a dict; {} when the config has none)
        raise UsageError(f"{folder / CONFIG_FILE}: the source model's fingerprint is missing")
    check_fingerprint(config.model, model, f"the predictor in {folder} was trained for")
    sizes = ("layers", "rank", "factor_rank", "n_layers", "d_ffn", "hidden", "k")
    for name in sizes:  # before any array is made from them
        v = getattr(config, name)
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 1 << 17:
            raise UsageError(f"{folder / CONFIG_FILE}: predictor {name} {v!r} is not a valid size")
    shape = (len(layers(model)), d_ffn(model))
    if (config.n_layers, config.d_ffn) != shape or config.layers > config.n_layers + 64:
        raise UsageError(f"{folder / CONFIG_FILE}: made for {config.n_layers}x{config.d_ffn} FFN "
                         f"channels, this model has {shape[0]}x{shape[1]}")  # fmt: skip
    weights = read_safetensors(folder / WEIGHTS_FILE, "predictor weights")
    backbone = model if config.backbone == "source" else _load_backbone(config.backbone)
    try:
        with random_state_kept():  # it starts random, then loads: the caller's state kept
            pred = Predictor(config, backbone)
        pred.load_weights(list(weights.items()), strict=True)
    except (ValueError, TypeError, KeyError, OverflowError, RuntimeError) as e:
        why = " ".join(str(e).split())  # mlx lists the names on lines of their own
        raise UsageError(f"predictor weights in {folder} do not fit its config: {why}") from None
    mx.eval(pred.parameters())
    return pred


class PredictorSource(MaskSource):
    """Mask source ``predictor``: the trained predictor scores the prompt (or task) tokens."""

    name = "predictor"

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser().absolute()  # masks name it from any folder
        self._loaded: tuple[weakref.ref, Predictor] | None = None  # (its model, the predictor)

    def key(self) -> str:
        return f"predictor({self.path})"

    def predictor(self, model: nn.Module) -> Predictor:
        if (loaded := self._loaded) is None or loaded[0]() is not model:  # one read, one write:
            self._loaded = loaded = (weakref.ref(model), load_predictor(self.path, model))
        return loaded[1]  # a source two models share on two threads: each its own predictor

    def trained_k(self, d_ffn: int | None = None) -> int | None:
        """The channels per layer the predictor was trained to keep (None if not recorded, or if
        it was made for another FFN width than ``d_ffn``: refused where it loads)."""
        cfg = read_config(self.path)
        inner = cfg.get("predictor")  # a broken config is refused where the predictor loads
        inner = inner if isinstance(inner, dict) else {}
        k, width = cfg.get("k") or inner.get("k"), cfg.get("d_ffn") or inner.get("d_ffn")
        if d_ffn is not None and type(width) is int and width != d_ffn:  # e.g. a slim model's
            return None
        return k if isinstance(k, int) and not isinstance(k, bool) and k > 0 else None

    def running(self, model):
        """For a predictor that reads the prompt's GRIFFIN statistics (``head: griffin``): the
        source model's statistics over the text so far, through the trained map."""
        return griffin_running(self.predictor(model), model) if self._reads_griffin(model) else None

    def repicks_by_default(self, model):
        return self._reads_griffin(model)

    def _reads_griffin(self, model) -> bool:
        return self.predictor(model).config.head == "griffin"

    def scores(self, model, tokens):
        tokens = mx.array(tokens, dtype=mx.int32).reshape(1, -1)
        if tokens.size == 0:
            raise UsageError("cannot select channels for an empty text")
        return text_scores(self.predictor(model), model, tokens)  # (``selecting``'s chunks)


def keep_warning(model: nn.Module, source: MaskSource, keep, align: int = 1) -> str:
    """For a trained predictor used at another ``keep`` than it was trained for, what to say (its
    scores rank every channel: a warning, not an error); '' for other sources or that budget."""
    if not isinstance(source, PredictorSource) or not (trained := source.trained_k(d_ffn(model))):
        return ""  # (none recorded, or trained for another width: refused where it loads)
    k = Budget.parse(keep, align).channels(d := d_ffn(model))
    if k == trained or k >= d:  # the trained budget, or nothing pruned
        return ""
    return (f"the predictor in {source.path} was trained to keep {trained} of {d} FFN channels "
            f"per layer, not {k}: its masks still prune, but were not trained for this budget "
            f"(keep {trained} uses the trained one)")  # fmt: skip


def picked_by(mask, model: nn.Module | None = None) -> str | None:
    """The folder of the trained predictor that picked ``mask`` (its LoRA belongs with it); None
    for a mask of another source. A predictor's folder that is gone is refused: whether the mask
    needs an LLM adapter cannot be told without it. A mask read where it was not found names
    it (``from_sidecar``): ``model``'s adapter folder of that name, not of another sha256."""
    name = mask.source
    folder = name[len("predictor(") : -1] if name.startswith("predictor(") else ""
    if not folder:
        return None
    from ...models import WEIGHTS

    path, have = Path(folder), model and origin(model, required=False).get("adapter_path")
    if not (path / CONFIG_FILE).is_file() and path.parent.name == WEIGHTS.name:
        path = WEIGHTS / path.name  # a shipped predictor, picked where mlx_ifp lived then
    read = {} if path.is_absolute() else vars(mask).get("sidecar_meta", {})  # (a name's)
    sha, place = read.get("predictor_sha256"), read.get("predictor_place")
    if given := have and not path.is_absolute() and Path(have).name == folder:  # --adapter DIR
        path = Path(have)
    elif not (path / CONFIG_FILE).is_file() and place and (Path(place) / CONFIG_FILE).is_file():
        path = Path(place)  # (of another sha256, else ``from_sidecar`` had taken it)
    if sha and (given or (path / CONFIG_FILE).is_file()) and weights_sha(path) != sha:
        raise UsageError(  # (finetune's default folder: one name, many runs; retrained in place)
            f"the mask was picked by the predictor in {folder} of sha256 {sha}: "
            f"{os.path.abspath(path)} is another predictor of that name; give the mask's own "
            "(--adapter DIR; load's adapter_path=), or pick the mask again with this one"
        )
    if not (path / CONFIG_FILE).is_file():  # (a name: a shared mask's, not found at its place)
        give = " or give it (--adapter DIR; load's adapter_path=)" * (not path.is_absolute())
        raise UsageError(
            f"the mask was picked by the predictor in {folder}, which is not there: put the "
            f"folder back{give} (the LLM adapter trained with it belongs with the mask)"
        )
    return str(path)


def to_sidecar(mask, here: Path) -> dict:
    """A predictor's mask source as a mask's sidecar in folder ``here`` names it, with no local
    path: ``predictor(NAME)``, its weights' sha256 and, where the two share a folder below the
    home's (not ``/`` nor ``/home``), the predictor's place relative to the sidecar. A mask read
    where its predictor was not found (a name) keeps the sha256 and place it was read with."""
    folder, here = Path(str(mask.source)[len("predictor(") : -1]), Path(os.path.abspath(here))
    read = r if (r := vars(mask).get("sidecar_meta", {})).get("source") == mask.source else {}
    out = {"source": f"predictor({folder.name})"} if folder.is_absolute() else {}
    sha = weights_sha(folder) if out else read.get("predictor_sha256")
    folder = folder if out else read.get("predictor_place")
    if folder and Path(os.path.commonpath([folder, here])) not in (*Path.home().parents, Path("/")):
        out["predictor_folder"] = os.path.relpath(folder, here)
    if sha:
        out["predictor_sha256"] = sha
    return out


def from_sidecar(meta: dict, here: Path) -> str:
    """The source a sidecar in folder ``here`` names, as ``to_sidecar`` wrote it: the folder of
    the recorded sha256 at its recorded place, else shipped (there by name too); else
    ``predictor(NAME)`` (``picked_by`` says). An older sidecar's path is read as it is. The
    recorded place is noted in ``meta`` as a path (``predictor_place``)."""
    rel = meta.get("predictor_folder")
    place = meta["predictor_place"] = os.path.abspath(here / rel) if isinstance(rel, str) else None
    name = (source := meta["source"])[len("predictor(") : -1]
    if not name or Path(name).is_absolute() or Path(name).name != name:
        return source
    from ...models import WEIGHTS

    sha, shipped = meta.get("predictor_sha256"), WEIGHTS / name
    places = dict.fromkeys((Path(place or shipped), shipped))  # (its place first, if any)
    places = [p for p in places if (p / CONFIG_FILE).is_file()]
    # another predictor of the name (not of the recorded sha256) is not the mask's; a shipped
    # one is taken by its name, as ever (a newer mlx_ifp's)
    taken = [p for p in places if not sha or weights_sha(p) == sha]
    taken = taken or [p for p in places if p == shipped]
    return f"predictor({taken[0]})" if taken else source


def weights_sha(folder) -> str | None:
    """The short sha256 of a predictor folder's weights, as a mask's sidecar records it."""
    return sha256_file(w)[:16] if (w := Path(folder) / WEIGHTS_FILE).is_file() else None


Mask.sidecar_forms["predictor"] = (to_sidecar, from_sidecar)


def llm_not_carried(model, mask) -> tuple[str, str] | None:
    """``(folder, kind)`` when the predictor that picked ``mask`` was trained jointly with LLM
    weights (``kind``: lora, dora, full) that ``model`` does not carry; else None. A predictor's
    folder that is gone is refused (``picked_by``)."""
    from ...models import trained_llm

    folder = picked_by(mask, model)
    kind = folder and trained_llm(folder)
    have = origin(model, required=False).get("adapter_path")
    if not kind or (have and Path(have).resolve() == Path(folder).resolve()):
        return None
    return folder, kind


def lora_missing(model, mask) -> str:
    """What to say when ``mask`` was picked by a predictor trained jointly with LLM weights (LoRA
    or full) that ``model`` does not carry; '' otherwise (or when its folder is gone)."""
    try:
        need = llm_not_carried(model, mask) if isinstance(mask.source, str) else None
    except UsageError:
        return ""
    if need is None:
        return ""
    folder, kind = need
    return (
        f"the mask was picked by the predictor in {folder}, trained jointly with {kind} weights "
        f"of the LLM, which this model lacks: it is cut without them (load the model with "
        f"adapter_path={folder!r})"
    )


def _factory(path=None, adapter=None, adapter_path=None, **_):
    where = path or adapter or adapter_path
    if not where:
        raise UsageError(
            "the predictor mask source needs a trained predictor's folder: --adapter DIR (in "
            "Python: mlx_ifp.load(..., adapter_path=DIR)); an embedded model uses its own"
        )
    if not isinstance(where, str | os.PathLike):
        raise UsageError(f"the predictor's adapter folder must be a path, got {where!r}")
    return PredictorSource(where)


register_source("predictor", _factory)


__all__ = [
    "CONFIG_FILE",
    "HEADS",
    "WEIGHTS_FILE",
    "Predictor",
    "PredictorConfig",
    "PredictorSource",
    "head_params",
    "hidden_states",
    "load_predictor",
    "new_predictor",
    "pool",
    "read_config",
    "save_predictor",
    "source_pass",
    "start_scores",
    "update_config",
    "warm_start",
]
