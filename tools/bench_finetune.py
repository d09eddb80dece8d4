"""Training throughput: mlx_ifp ``finetune`` (predictor + LLM) vs mlx-lm's trainer, one run.

Modes, all on the same model, batch size, sequence length and synthetic tokens:

- ours ``frozen`` / ``lora`` / ``full``: ``mlx_ifp.train.finetune()`` itself, unchanged, with
  ``train=`` that mode. Each step runs the predictor (backbone = the source model's first
  ``layers`` blocks, run dense over the prompt, + the d->r->L*d_ffn head), SoftTopK with the
  training mask, the masked LLM forward over the whole sequence, the CE loss, one backward
  through all of it (the gradient reaches every layer's mask, so it passes through all the
  blocks even when only the last LoRA blocks or nothing in the LLM is trained), then AdamW on
  the predictor (and on the LLM's LoRA or full weights).
- mlx-lm ``lora`` / ``full``: ``mlx_lm.tuner.trainer.train()`` itself with its compiled step
  (``mx.compile`` of loss + grad + optimizer update) and ``default_loss``; no predictor, no
  masks. LoRA: ``linear_to_lora_layers`` with the same layers/rank/scale/dropout/keys as ours.
  Full: every parameter trainable, as in ours (the ``mlx_lm lora --fine-tune-type full`` CLI
  trains only the last ``--num-layers`` blocks and leaves the embedding frozen; here the
  trainable sets are made equal). Optimizer: AdamW, weight decay 0, as ours.
  ``frozen`` has no mlx-lm counterpart; its ratio is taken against mlx-lm LoRA (both run a
  backward through the frozen network for input gradients only).

Data: every sequence is ``seq_len + 1`` random tokens (no padding), so each step processes
exactly ``batch_size * seq_len`` input positions on both sides. Stage 2 (``sft``, default):
the first ``prompt_len`` tokens are the prompt (the predictor's input, and where the loss
starts; mlx-lm gets the same offset, which changes what it scores, not what it computes).
Stage 1 (``pretrain``): ``chunks`` chunks, chunk j's mask applied to chunk j+1.

Timing: the wall time between consecutive steps' callbacks of each trainer (ours: its progress
bar's ``advance``; mlx-lm: ``on_train_loss_report`` with ``steps_per_report=1``), i.e. one
whole iteration of each trainer's loop; ``--warmup`` steps are dropped (mlx-lm's compiled
step traces twice: its optimizer state only exists after the first update); median over the
measured steps of all ``--trials``. tokens/s = batch * seq_len / median step time. Each
trainer's own figure (it counts scored tokens only) is kept in the JSON. Checkpoint writing
is switched off for both (not part of a step). The JSON object goes to stdout, the table and
progress to stderr.

Usage (set the BLAS threads on a shared machine):
  OPENBLAS_NUM_THREADS=1 python tools/bench_finetune.py [--batch-size 4] [--seq-len 256]
      [--iters 4] [--warmup 2] [--trials 1] [--stage sft] [--modes frozen,lora,full] [--ab]
      [-o F]
``--ab`` also runs ours with the optimizer update eager, as it was before
``finetune.compiled_update`` (the before/after of that change, in the same run).
"""

import mlx_ifp  # noqa: F401, I001  (loads OpenBLAS before mlx.core, so it comes first)
from mlx_ifp.core import ffn
from mlx_ifp.models import blas
from mlx_ifp.sources.predictor import PredictorConfig, head_params
from mlx_ifp.train import checkpoint, load_config, progress
from mlx_ifp.train import loop as ft

import argparse
import contextlib
import gc
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
from mlx.utils import tree_flatten
from rich.console import Console
from rich.table import Table

from mlx_ifp.train.batches import Example

MODES = ("frozen", "lora", "full")
TRAINERS = {
    "ours": "mlx_ifp + predictor",
    "ours_eager_update": "mlx_ifp, eager AdamW",
    "mlx_lm": "mlx_lm (compiled)",
}


def n_params(tree) -> int:
    return sum(v.size for _, v in tree_flatten(tree))


def synthetic(args, vocab: int) -> list[Example]:
    """``max(batch_size, 8)`` sequences of seq_len + 1 random non-control tokens."""
    rng = np.random.default_rng(args.seed)
    out = []
    for _ in range(max(args.batch_size, 8)):
        toks = rng.integers(17, vocab, args.seq_len + 1).tolist()
        if args.stage == "sft":
            out.append(Example(toks, args.prompt_len, toks[: args.prompt_len]))
        else:
            out.append(Example(toks, 0, []))
    return out


class Recorder:
    """Stands in for ``train.progress.Progress``: a timestamp per optimizer step."""

    stamps: list[float] = []
    reported: list[float] = []

    def __init__(self, total, start=0, enabled=True):
        Recorder.stamps, Recorder.reported = [], []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def advance(self, loss, tokens_per_s, eps):
        Recorder.stamps.append(time.perf_counter())
        Recorder.reported.append(tokens_per_s)

    def note(self, text):
        pass

    def summary(self, *a):
        pass


@contextlib.contextmanager
def patched(obj, name, value):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def load_model(name: str):
    model, tok = mlx_ifp.load(name)
    mx.eval(model.parameters())
    return model, tok


def eager_update(opt, module):
    """The optimizer step as it was before ``finetune.compiled_update`` (for ``--ab``)."""
    return lambda grads: opt.update(module, grads)


def run_ours(mode: str, args, examples, eager: bool = False) -> dict:
    """One ``finetune()`` run of warmup + iters steps; per-step wall times."""
    model, _ = load_model(args.model)
    cfg = load_config(
        None,
        model=args.model,
        stage=args.stage,
        train=mode,
        keep=args.keep,
        iters=args.warmup + args.iters,
        batch_size=args.batch_size,
        max_seq_length=args.seq_len,
        chunks=args.chunks,
        val_every=0,
        save_every=10**9,
        quiet=True,
        output=os.path.join(tempfile.gettempdir(), "bench_finetune_unused"),
        predictor={"layers": args.predictor_layers},
    )
    gc.collect()
    mx.reset_peak_memory()
    no_data = lambda *a, **k: (examples, [], [])  # noqa: E731
    with (
        patched(ft, "load_data", no_data),
        patched(progress, "Progress", Recorder),
        patched(checkpoint, "save", lambda *a, **k: None),
        patched(ft, "compiled_update", eager_update if eager else ft.compiled_update),
    ):
        ft.finetune(cfg, model, None)
    peak = mx.get_peak_memory()
    pc = PredictorConfig(layers=args.predictor_layers)
    L, d, h = len(model.layers), ffn.d_ffn(model), model.args.hidden_size
    pred = head_params(L, d, h, pc.rank, pc.factor_rank)["full"]
    return {
        "step_s": np.diff(Recorder.stamps[args.warmup - 1 :]).tolist(),
        "trainer_tok_s": Recorder.reported[args.warmup :],
        "trainable": {"llm": n_params(model.trainable_parameters()), "predictor": pred},
        "peak_gb": peak / 1e9,
    }


class Callback:
    def __init__(self):
        self.stamps, self.reports = [], []

    def on_train_loss_report(self, info):
        self.stamps.append(time.perf_counter())
        self.reports.append(info)

    def on_val_loss_report(self, info):
        pass


def run_mlx_lm(mode: str, args, examples) -> dict:
    """One ``mlx_lm.tuner.trainer.train`` run of warmup + iters steps; per-step wall times."""
    from mlx_lm.tuner.trainer import TrainingArgs, train
    from mlx_lm.tuner.utils import linear_to_lora_layers

    model, _ = load_model(args.model)
    mx.random.seed(args.seed)
    model.freeze()
    if mode == "lora":
        lora = {"rank": args.lora_rank, "scale": 20.0, "dropout": 0.0}
        linear_to_lora_layers(model, args.lora_layers, lora)
    else:
        model.unfreeze()
    # Same tokens; mlx-lm reads (tokens, offset) and pads to max_seq_length = seq_len + 1.
    data = [(e.tokens, e.offset) for e in examples]
    cb = Callback()
    with tempfile.TemporaryDirectory() as tmp:
        targs = TrainingArgs(
            batch_size=args.batch_size,
            iters=args.warmup + args.iters,
            steps_per_report=1,
            steps_per_eval=10**9,
            steps_per_save=10**9,
            max_seq_length=args.seq_len + 1,
            adapter_file=os.path.join(tmp, "adapters.safetensors"),
        )
        opt = optim.AdamW(learning_rate=1e-4, weight_decay=0.0)
        gc.collect()
        mx.reset_peak_memory()
        with contextlib.redirect_stdout(io.StringIO()):  # its progress bar
            with patched(mx, "save_safetensors", lambda *a, **k: None):  # its final save
                train(model, opt, data, None, args=targs, training_callback=cb)
        peak = mx.get_peak_memory()
    return {
        "step_s": np.diff(cb.stamps[args.warmup - 1 :]).tolist(),
        "trainer_tok_s": [r["tokens_per_second"] for r in cb.reports[args.warmup :]],
        "trainable": {"llm": n_params(model.trainable_parameters()), "predictor": 0},
        "peak_gb": peak / 1e9,
    }


def summarise(runs: list[dict], tokens: int) -> dict:
    steps = [s for r in runs for s in r["step_s"]]
    med = statistics.median(steps)
    return {
        "step_s_median": med,
        "step_s_min": min(steps),
        "step_s_max": max(steps),
        "tokens_per_s": tokens / med,
        "trainer_reported_tokens_per_s": statistics.median(
            [t for r in runs for t in r["trainer_tok_s"]]
        ),
        "steps_measured": len(steps),
        "step_s": steps,
        "trainable_params": runs[0]["trainable"],
        "peak_memory_gb": max(r["peak_gb"] for r in runs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=256, help="input tokens per sequence")
    ap.add_argument("--iters", type=int, default=4, help="measured steps per run")
    ap.add_argument("--warmup", type=int, default=2, help="steps dropped per run (>= 1)")
    ap.add_argument("--trials", type=int, default=1, help="runs per trainer and mode")
    ap.add_argument("--stage", default="sft", choices=("sft", "pretrain"))
    ap.add_argument("--prompt-len", type=int, default=0, help="sft prompt (0: seq_len // 4)")
    ap.add_argument("--chunks", type=int, default=4, help="pretrain: chunks per sequence")
    ap.add_argument("--keep", default="0.5")
    ap.add_argument("--predictor-layers", type=int, default=4)
    ap.add_argument("--lora-layers", type=int, default=16)
    ap.add_argument("--lora-rank", type=int, default=8)
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--sides", default="ours,mlx_lm", help="which trainers to run")
    ap.add_argument(
        "--ab", action="store_true", help="also run ours with the eager optimizer update"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", help="also write the JSON here")
    args = ap.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if args.warmup < 1 or args.iters < 1 or set(modes) - set(MODES):
        ap.error("--warmup and --iters must be >= 1; --modes from frozen,lora,full")
    if args.seq_len % 8 or (args.stage == "pretrain" and args.seq_len % args.chunks):
        ap.error("--seq-len must be a multiple of 8 (and of --chunks for pretrain)")
    args.prompt_len = args.prompt_len or args.seq_len // 4
    err = Console(stderr=True)
    err = Console(stderr=True, width=max(err.width, 130))  # pipes are narrow

    vocab = load_model(args.model)[0].args.vocab_size
    examples = synthetic(args, vocab)
    tokens = args.batch_size * args.seq_len
    sides = args.sides.split(",")
    jobs = [("ours", m) for m in modes if "ours" in sides]
    jobs += [("ours_eager_update", m) for m in modes if args.ab]
    jobs += [("mlx_lm", m) for m in modes if m != "frozen" and "mlx_lm" in sides]
    raw: dict = {f"{side}/{m}": [] for side, m in jobs}
    for trial in range(args.trials):
        # Alternate the order between trials so slow drifts of the machine's load even out.
        for side, m in jobs if trial % 2 == 0 else jobs[::-1]:
            t0 = time.perf_counter()
            if side == "mlx_lm":
                run = run_mlx_lm(m, args, examples)
            else:
                run = run_ours(m, args, examples, eager=side != "ours")
            raw[f"{side}/{m}"].append(run)
            steps = ", ".join(f"{s:.2f}" for s in run["step_s"])
            err.print(
                f"trial {trial + 1} {side:6s} {m:6s} steps [{steps}] s "
                f"({time.perf_counter() - t0:.0f} s with load and warmup)"
            )
            gc.collect()

    results = {key: summarise(runs, tokens) for key, runs in raw.items()}
    ratios = {}
    for m in modes:
        ref = results.get(f"mlx_lm/{'lora' if m == 'frozen' else m}")
        if ref and f"ours/{m}" in results:
            ratios[m] = results[f"ours/{m}"]["tokens_per_s"] / ref["tokens_per_s"]
    record = {
        "bench": "finetune_throughput",
        "model": args.model,
        "device": str(mx.default_device()),
        "machine": platform.machine(),
        "mlx": mx.__version__,
        "blas": blas.STATUS,
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "load_average": os.getloadavg(),
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "tokens_per_step": tokens,
        "stage": args.stage,
        "prompt_len": args.prompt_len if args.stage == "sft" else None,
        "chunks": args.chunks if args.stage == "pretrain" else None,
        "keep": args.keep,
        "warmup": args.warmup,
        "iters": args.iters,
        "trials": args.trials,
        "results": results,
        "ratio_ours_over_mlx_lm": ratios,
        "ratio_note": "tokens/s ours / mlx_lm; frozen is compared with mlx_lm lora",
    }
    print(json.dumps(record))
    if args.output:
        with open(args.output, "w") as f:
            json.dump(record, f, indent=1)

    title = (
        f"finetune step, {args.model}, batch {args.batch_size} x {args.seq_len} tokens, "
        f"stage {args.stage}, {record['device']}, median of {args.iters * args.trials}"
    )
    table = Table(title=title)
    for col in (
        "mode",
        "trainer",
        "trainable params",
        "step s (min-max)",
        "tokens/s",
        "ours / mlx_lm",
        "peak GB",
    ):
        table.add_column(col, justify="right")
    for m in modes:
        for side in ("ours", "ours_eager_update", "mlx_lm"):
            r = results.get(f"{side}/{m}")
            if r is None:
                continue
            tp = r["trainable_params"]
            params = f"{tp['llm'] / 1e6:.2f}M" + (
                f" + {tp['predictor'] / 1e6:.2f}M pred" if tp["predictor"] else ""
            )
            ratio = f"{ratios[m]:.2f}" if side == "ours" and m in ratios else ""
            if side == "ours_eager_update":
                ratio = f"{r['tokens_per_s'] / results[f'ours/{m}']['tokens_per_s']:.2f} (vs ours)"
            if side == "ours" and m == "frozen" and ratio:
                ratio += " (vs lora)"
            table.add_row(
                m,
                TRAINERS[side],
                params,
                f"{r['step_s_median']:.2f} ({r['step_s_min']:.2f}-{r['step_s_max']:.2f})",
                f"{r['tokens_per_s']:.0f}",
                ratio,
                f"{r['peak_memory_gb']:.2f}",
            )
    err.print(table)


if __name__ == "__main__":
    main()
