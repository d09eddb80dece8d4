"""Where does a finetune step's time go? Times the pieces of one step, each evaluated alone.

Pieces (stage 2, sft): the predictor forward (backbone blocks over the prompt + head), SoftTopK
+ training mask forward and backward, the LLM forward dense and masked, the loss forward, the
whole ``gradients()`` (forward + backward), the same gradient without predictor and masks
(mlx-lm's ``default_loss`` on the same trainable set), eager and ``mx.compile``d, the graph
building alone (Python), the AdamW update alone, and the whole step (``loop.make_step``) eager
and compiled. Median of ``--trials`` after one warm-up.

Usage: OPENBLAS_NUM_THREADS=1 python tools/profile_finetune.py [--mode lora] [--batch-size 4]
    [--seq-len 256] [--trials 3]
"""

import mlx_ifp  # noqa: F401, I001  (loads OpenBLAS before mlx.core, so it comes first)
from mlx_ifp.core import Budget, ffn
from mlx_ifp.core.mask import training_mask
from mlx_ifp.sources.predictor import PredictorConfig, new_predictor
from mlx_ifp.train import load_config, loop, objective
from mlx_ifp.train.batches import Example, collate

import argparse
import json
import statistics
import time
from dataclasses import fields
from functools import partial

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx_lm.tuner.trainer import default_loss


def timed(fn, trials: int) -> float:
    """Median seconds of ``mx.eval(fn())`` after one warm-up call."""
    mx.eval(fn())
    out = []
    for _ in range(trials):
        t0 = time.perf_counter()
        mx.eval(fn())
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--mode", default="lora", choices=("frozen", "lora", "full"))
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated piece names")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))

    model, _ = mlx_ifp.load(args.model)
    cfg = load_config(None, train=args.mode, batch_size=args.batch_size)
    objective.prepare_llm(model, cfg)
    k = Budget.parse(cfg.keep).channels(ffn.d_ffn(model))
    mx.random.seed(0)
    pred = new_predictor(model, PredictorConfig(**cfg.predictor))
    joint = objective.Joint(pred, model)
    rng = np.random.default_rng(0)
    P = args.seq_len // 4
    ex = []
    for _ in range(args.batch_size):
        t = rng.integers(17, model.args.vocab_size, args.seq_len + 1).tolist()
        ex.append(Example(t, P, t[:P]))
    b = collate(ex)
    mx.eval(model.parameters(), pred.parameters())
    eps = 0.5
    res = {}

    def piece(name, fn):
        if only and name not in only:
            return
        res[name] = timed(fn, args.trials)
        print(f"{name:28s} {res[name] * 1e3:9.1f} ms", flush=True)

    scores = pred(b.prompt, b.prompt_lengths)
    masks = objective.make_masks(scores, k, eps, "soft", False)
    mx.eval(scores, masks)
    inputs = b.tokens[:, :-1]
    piece("predictor_forward", lambda: pred(b.prompt, b.prompt_lengths))
    w = mx.random.normal(scores.shape)
    g_mask = mx.grad(lambda s: (training_mask(s, k, eps) * w).sum())
    piece("softtopk_mask_fwd_bwd", lambda: g_mask(scores))
    piece("llm_forward_dense", lambda: model(inputs))

    def fwd_masked():
        with ffn.masked(model, masks):
            return model(inputs)

    piece("llm_forward_masked", fwd_masked)
    piece("loss_forward", lambda: objective.loss_sum(joint, b, k, eps, cfg)[0])
    piece("gradients", lambda: objective.gradients(joint, [b], k, eps, cfg))

    # Python graph building only (nothing evaluated): the overhead a compile would remove.
    def build():
        t0 = time.perf_counter()
        g = objective.gradients(joint, [b], k, eps, cfg)
        res.setdefault("_build", []).append(time.perf_counter() - t0)
        return g

    if not only or "graph_build" in only:
        for _ in range(args.trials + 1):
            mx.eval(build())
        res["graph_build"] = statistics.median(res.pop("_build")[1:])
        print(f"{'graph_build':28s} {res['graph_build'] * 1e3:9.1f} ms")

    # mlx-lm's loss on the same trainable LLM parameters: no predictor, no masks.
    lengths = mx.stack([b.offsets, b.lengths], axis=1)
    if args.mode != "frozen":
        vg = nn.value_and_grad(model, default_loss)
        piece("mlx_lm_grad_eager", lambda: vg(model, b.tokens, lengths))
        state = [model.state, mx.random.state]

        @partial(mx.compile, inputs=state, outputs=state)
        def cstep(batch, lengths):
            return vg(model, batch, lengths)

        piece("mlx_lm_grad_compiled", lambda: cstep(b.tokens, lengths))

    # The optimizer step alone, eager.
    grads, _, _ = objective.gradients(joint, [b], k, eps, cfg)
    mx.eval(grads)
    opts = loop.optimizers(cfg)
    mods = {"predictor": pred, "llm": model}

    def eager():
        for name, opt in opts.items():
            opt.update(mods[name], grads[name])
        return joint.trainable_parameters(), [o.state for o in opts.values()]

    piece("optimizer_eager", eager)

    # The whole step as finetune runs it (forward, backward, AdamW): eager, then compiled.
    arrays = [tuple(getattr(b, f.name) for f in fields(b))]  # every Batch field, in order
    for name, flag in (("step_eager", False), ("step_compiled", True)):
        cfg.compile = flag
        step_opts = loop.optimizers(cfg)
        step = loop.make_step(joint, step_opts, k, cfg, None)

        def whole(step=step, step_opts=step_opts):  # evaluates what finetune evaluates
            loss = step(arrays, mx.array(eps, dtype=mx.float32))
            return loss, joint.trainable_parameters(), [o.state for o in step_opts.values()]

        piece(name, whole)
    print(json.dumps({"mode": args.mode, "batch": args.batch_size, "seq": args.seq_len, **res}))


if __name__ == "__main__":
    main()
