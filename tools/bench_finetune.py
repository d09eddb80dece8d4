"""Training throughput: mlx_ifp ``finetune`` (predictor + LLM) vs mlx-lm's trainer, one run.

Modes, all on the same model, batch size, sequence length, LoRA size and synthetic tokens:

- ours ``frozen`` / ``lora`` / ``full``: ``mlx_ifp.train.finetune()`` itself, unchanged, with
  ``train=`` that mode and ``compile=`` ``--compile`` (``auto``: the whole step, forward,
  backward and AdamW, is one ``mx.compile``d graph on a GPU, eager on the CPU: ``make_step``).
  A step: the predictor's scores (``--head``/``--route``/``--shared``/``--factor-rank``; the
  griffin head reads the prompt's GRIFFIN statistics from a frozen-source pass), SoftTopK, the
  masked LLM forward, ``--ce`` x CE + ``--distill`` x KL to the frozen source (distillation
  needs the source's logits: a teacher forward, the same pass), one backward through every
  block (the gradient reaches every layer's mask), AdamW on the predictor (and LoRA / weights).
- mlx-lm ``lora`` / ``full``: ``mlx_lm.tuner.trainer.train()`` itself, its compiled step and
  ``default_loss`` (CE only); no predictor, masks or teacher. LoRA: ``linear_to_lora_layers``
  with our layers/rank/scale/dropout/keys. Full: every parameter trainable, as ours. AdamW,
  weight decay 0, as ours. ``frozen`` has no counterpart: its ratio is against mlx-lm LoRA.

Data: ``seq_len + 1`` random tokens per sequence (no padding): each step processes exactly
``batch_size * seq_len`` input positions on both sides. Stage 2 (``sft``, default): the first
``prompt_len`` tokens are the prompt (the predictor's input, where the loss starts; mlx-lm gets
the same offset). Stage 1 (``pretrain``): ``chunks`` chunks, chunk j's mask on chunk j+1.

Timing: the wall time between consecutive steps' callbacks (ours: its progress bar's
``advance``; mlx-lm: ``on_train_loss_report`` every step), one whole loop iteration;
``--warmup`` steps (the compiled steps' traces) dropped; median over the measured steps of all
``--trials``. tokens/s = batch * seq_len / median step time (each trainer's own figure, scored
tokens only, is in the JSON). No checkpoints are written. JSON to stdout (and atomically to
``-o FILE``), the table and progress to stderr. ``--ab`` (eager vs compiled AdamW update, in
docs/finetune_throughput.md) was removed: the trainer now compiles the whole step.

Usage (set the BLAS threads on a shared machine):
  OPENBLAS_NUM_THREADS=1 python tools/bench_finetune.py [--batch-size 4] [--seq-len 256]
      [--iters 4] [--warmup 2] [--stage sft] [--modes frozen,lora,full] [--compile auto]
      [--dequantize] [-o F]
"""

import mlx_ifp  # noqa: F401, I001  (loads OpenBLAS before mlx.core, so it comes first)
from mlx_ifp.models import blas
from mlx_ifp.common import atomic_file
from mlx_ifp.sources.predictor.model import HEADS, ROUTES, PredictorConfig
from mlx_ifp.train import checkpoint, config, load_config
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
    """Stands in for ``mlx_ifp.train.loop.Progress``: a timestamp per optimizer step."""

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


def load_model(args):
    """``mlx_ifp.load``: with ``--dequantize`` float weights (float32 unless ``--dtype``)."""
    dtype = args.dtype or ("float32" if args.dequantize else None)
    model, tok = mlx_ifp.load(args.model, dequantize=args.dequantize or None, dtype=dtype)
    mx.eval(model.parameters())
    return model, tok


def weight_dtypes(model) -> list[str]:
    return sorted({str(v.dtype).split(".")[-1] for _, v in tree_flatten(model.parameters())})


def our_config(mode: str, args):
    """Our ``FinetuneConfig`` for one run: the bench's settings, nothing written."""
    kw = dict(model=args.model, stage=args.stage, train=mode, keep=args.keep, chunks=args.chunks)
    kw.update(iters=args.warmup + args.iters, batch_size=args.batch_size, ce=args.ce)
    kw.update(max_seq_length=args.seq_len, lora_layers=args.lora_layers)
    kw.update(lora_rank=args.lora_rank, lora_scale=args.lora_scale)
    kw.update(distill=args.distill, compile=args.compile, dequantize=args.dequantize)
    kw.update(val_every=0, probe_prompts=0, save_every=10**9, quiet=True)
    kw["output"] = os.path.join(tempfile.gettempdir(), "bench_finetune_unused")
    return load_config(None, **kw, predictor=predictor_settings(args))


def predictor_settings(args) -> dict:
    keys = ("layers", "head", "route", "shared", "factor_rank")
    return {k: getattr(args, "predictor_layers" if k == "layers" else k) for k in keys}


def run_ours(mode: str, args, examples) -> dict:
    """One ``finetune()`` run of warmup + iters steps; per-step wall times."""
    model, _ = load_model(args)
    cfg = our_config(mode, args)
    made, build = [], ft.new_predictor  # the predictor finetune() builds: its size is reported
    new_predictor = lambda *a, **k: made.append(build(*a, **k)) or made[-1]  # noqa: E731
    gc.collect()
    mx.reset_peak_memory()
    no_data = lambda *a, **k: (examples, [], [])  # noqa: E731
    with (
        patched(ft, "load_data", no_data),
        patched(ft, "new_predictor", new_predictor),
        patched(ft, "Progress", Recorder),
        patched(checkpoint, "save", lambda *a, **k: None),
    ):
        ft.finetune(cfg, model, None)
    peak, npred = mx.get_peak_memory(), n_params(made[-1].trainable_parameters())
    return {
        "step_s": np.diff(Recorder.stamps[args.warmup - 1 :]).tolist(),
        "trainer_tok_s": Recorder.reported[args.warmup :],
        "trainable": {"llm": n_params(model.trainable_parameters()), "predictor": npred},
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

    model, _ = load_model(args)
    mx.random.seed(args.seed)
    model.freeze()
    if mode == "lora":  # the same LoRA dict as ours (config.adapter_config)
        lora = config.adapter_config(our_config(mode, args))["lora_parameters"]
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


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = ap.add_argument
    add("--model", default="smollm2-135m-instruct")
    add("--dequantize", action="store_true", help="float weights (float32 unless --dtype)")
    add("--dtype", choices=("float32", "float16", "bfloat16"), help="cast float weights")
    add("--batch-size", type=int, default=4)
    add("--seq-len", type=int, default=256, help="input tokens per sequence")
    add("--iters", type=int, default=4, help="measured steps per run")
    add("--warmup", type=int, default=2, help="steps dropped per run (>= 1)")
    add("--trials", type=int, default=1, help="runs per trainer and mode")
    add("--stage", default="sft", choices=("sft", "pretrain"))
    add("--prompt-len", type=int, default=0, help="sft prompt (0: seq_len // 4)")
    add("--chunks", type=int, default=4, help="pretrain: chunks per sequence")
    add("--keep", default="0.5")
    add("--compile", default="auto", choices=("auto", "true", "false"), help="ours' step")
    add("--head", default="griffin", choices=HEADS, help="predictor head")
    add("--route", default="griffin", choices=ROUTES, help="predictor route")
    add("--shared", type=float, default=0.5, help="predictor: shared fraction of k")
    add("--factor-rank", type=int, default=0, help="predictor: per-layer low-rank mix")
    add("--predictor-layers", type=int, default=4, help="source blocks of a full head")
    add("--lora-layers", type=int, default=30)
    add("--lora-rank", type=int, default=16)
    add("--lora-scale", type=float, default=20.0)
    add("--distill", type=float, default=1.0, help="ours: weight of the KL to the source")
    add("--ce", type=float, default=0.0, help="ours: weight of the CE (mlx-lm: CE only)")
    add("--modes", default=",".join(MODES))
    add("--sides", default="ours,mlx_lm", help="which trainers to run")
    add("--seed", type=int, default=0)
    add("-o", "--output", help="also write the JSON here (atomically)")
    args = ap.parse_args()
    args.modes = [m for m in args.modes.split(",") if m]
    if args.warmup < 1 or args.iters < 1 or set(args.modes) - set(MODES):
        ap.error("--warmup and --iters must be >= 1; --modes from frozen,lora,full")
    # a compiled sft step pads its batches to multiples of 64 (loop.finetune), others to 8
    multiple = 64 if ft.compiling(args) and args.stage == "sft" else 8
    if args.seq_len % multiple or (args.stage == "pretrain" and args.seq_len % args.chunks):
        ap.error(
            f"--seq-len must be a multiple of {multiple} (no padding: equal work on both "
            "sides) and, for pretrain, of --chunks"
        )
    args.prompt_len = args.prompt_len or args.seq_len // 4
    try:  # the settings our trainer would refuse, refused before any model is loaded
        our_config("lora", args), PredictorConfig(**predictor_settings(args)).check()
    except mlx_ifp.UsageError as e:
        ap.error(str(e))
    return args


def table_of(record: dict, args) -> Table:
    results, ratios = record["results"], record["ratio_ours_over_mlx_lm"]
    ours = f"mlx_ifp + predictor ({'compiled' if record['compiled'] else 'eager'})"
    names = {"ours": ours, "mlx_lm": "mlx_lm (compiled)"}
    title = (
        f"finetune step, {args.model} ({'/'.join(record['weights'])}), batch "
        f"{args.batch_size} x {args.seq_len} tokens, stage {args.stage}, "
        f"{record['device']}, median of {args.iters * args.trials}\n"
        f"ours: head {args.head}, route {args.route}, shared {args.shared:g}, "
        f"ce {args.ce:g} + distill {args.distill:g}"
        f"{' (+ a teacher forward)' if args.distill > 0 else ''}; "
        f"LoRA {args.lora_layers} blocks, rank {args.lora_rank}, scale {args.lora_scale:g}"
    )
    table = Table(title=title)
    cols = ("mode", "trainer", "trainable params", "step s median (min-max)", "tokens/s")
    for col in (*cols, "ours / mlx_lm", "peak GB", "device"):
        table.add_column(col, justify="right")
    for m in args.modes:
        for side in ("ours", "mlx_lm"):
            r = results.get(f"{side}/{m}")
            if r is None:
                continue
            tp = r["trainable_params"]
            params = f"{tp['llm'] / 1e6:.2f}M" + (
                f" + {tp['predictor'] / 1e6:.3f}M pred" if side == "ours" else ""
            )
            ratio = f"{ratios[m]:.2f}" if side == "ours" and m in ratios else ""
            if side == "ours" and m == "frozen" and ratio:
                ratio += " (vs lora)"
            table.add_row(
                m,
                names[side],
                params,
                f"{r['step_s_median']:.3f} ({r['step_s_min']:.3f}-{r['step_s_max']:.3f})",
                f"{r['tokens_per_s']:.0f}",
                ratio,
                f"{r['peak_memory_gb']:.2f}",
                record["device"],
            )
    return table


def main() -> None:
    args = parse_args()
    err = Console(stderr=True)
    err = Console(stderr=True, width=max(err.width, 150))  # pipes are narrow

    probe_model = load_model(args)[0]
    vocab, weights = probe_model.args.vocab_size, weight_dtypes(probe_model)
    del probe_model
    examples = synthetic(args, vocab)
    tokens = args.batch_size * args.seq_len
    sides = args.sides.split(",")
    jobs = [("ours", m) for m in args.modes if "ours" in sides]
    jobs += [("mlx_lm", m) for m in args.modes if m != "frozen" and "mlx_lm" in sides]
    raw: dict = {f"{side}/{m}": [] for side, m in jobs}
    for trial in range(args.trials):
        # Alternate the order between trials so slow drifts of the machine's load even out.
        for side, m in jobs if trial % 2 == 0 else jobs[::-1]:
            t0 = time.perf_counter()
            run = (run_mlx_lm if side == "mlx_lm" else run_ours)(m, args, examples)
            raw[f"{side}/{m}"].append(run)
            steps = ", ".join(f"{s:.3f}" for s in run["step_s"])
            err.print(
                f"trial {trial + 1} {side:6s} {m:6s} steps [{steps}] s "
                f"({time.perf_counter() - t0:.0f} s with load and warmup)"
            )
            gc.collect()

    results = {key: summarise(runs, tokens) for key, runs in raw.items()}
    ratios = {}
    for m in args.modes:
        ref = results.get(f"mlx_lm/{'lora' if m == 'frozen' else m}")
        if ref and f"ours/{m}" in results:
            ratios[m] = results[f"ours/{m}"]["tokens_per_s"] / ref["tokens_per_s"]
    record = {"bench": "finetune_throughput", "model": args.model, "weights": weights}
    record.update(dequantize=args.dequantize, device=str(mx.default_device()))
    record.update(machine=platform.machine(), mlx=mx.__version__, blas=blas.STATUS)
    record.update(openblas_threads=os.environ.get("OPENBLAS_NUM_THREADS"))
    record.update(load_average=os.getloadavg())
    record["command"] = " ".join([os.path.basename(sys.executable)] + sys.argv)
    record.update(batch_size=args.batch_size, seq_len=args.seq_len, tokens_per_step=tokens)
    record.update(stage=args.stage, prompt_len=args.prompt_len if args.stage == "sft" else None)
    record.update(chunks=args.chunks if args.stage == "pretrain" else None, keep=args.keep)
    record.update(compile=args.compile, compiled=ft.compiling(args))
    record["predictor"] = predictor_settings(args)
    record["objective"] = {"ce": args.ce, "distill": args.distill}
    record["teacher_forward"] = args.distill > 0
    record["lora"] = {"layers": args.lora_layers, "rank": args.lora_rank, "scale": args.lora_scale}
    record.update(warmup=args.warmup, iters=args.iters, trials=args.trials)
    record.update(results=results, ratio_ours_over_mlx_lm=ratios)
    record["ratio_note"] = (
        "tokens/s ours / mlx_lm; frozen is compared with mlx_lm lora; ours with distill > 0 "
        "also runs a forward of the frozen source (the teacher), mlx_lm trains on CE alone"
    )
    print(json.dumps(record))
    if args.output:
        with atomic_file(args.output) as tmp:
            tmp.write_text(json.dumps(record, indent=1) + "\n")
    err.print(table_of(record, args))


if __name__ == "__main__":
    main()
