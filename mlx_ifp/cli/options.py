"""The typer options ``generate`` and ``chat`` (and ``export``) share, among them those of
``mlx_lm generate`` / ``mlx_lm chat`` that reach mlx-lm as they are (``cli.generate.lm_flags``
checks them). Only typer here: importing it loads nothing of the package."""

from __future__ import annotations

from typing import Annotated

import typer

Model = Annotated[
    str,
    typer.Option(
        "--model",
        help="smollm2-135m-instruct or qwen2.5-coder-1.5b-instruct (embedded; the second is a "
        "1.1 GB download), a .gguf file, an mlx-lm folder or a Hugging Face repo id.",
    ),
]
Task = Annotated[
    str | None,
    typer.Option(
        "--task",
        help="Select the mask from this task description instead of the "
        "prompt (one mask, cached, for every prompt of the task). @FILE: from the task's "
        'example prompts instead, one per line (or a .jsonl of {"prompt": ...}; with '
        '"completion": ..., the prompt and its reply, a better mask).',
    ),
]
Dequantize = Annotated[
    bool | None,
    typer.Option(
        "--dequantize/--no-dequantize", help="Unpack quantized weights (default: yes on CPU)."
    ),
]
MaxTokens = Annotated[
    int, typer.Option("--max-tokens", "-m", help="Tokens to generate (-1: until the end token).")
]
Temp = Annotated[float, typer.Option(help="Sampling temperature (0 is greedy).")]
TopP = Annotated[float, typer.Option("--top-p", help="Nucleus sampling threshold.")]
MinP = Annotated[float, typer.Option("--min-p", help="Min-p sampling threshold (0: off).")]
TopK = Annotated[int, typer.Option("--top-k", help="Sample from the top K tokens (0: off).")]
Seed = Annotated[int | None, typer.Option(help="Random seed for sampling.")]
SystemPrompt = Annotated[str | None, typer.Option(help="A system message.")]
Keep = Annotated[
    str | None,
    typer.Option(
        "--keep",
        help="FFN channels kept per layer: a fraction in (0, 1] or a count. Default 0.5, or the "
        "budget the adapter's predictor was trained for.",
    ),
]
MaskSource = Annotated[
    str | None,
    typer.Option(
        "--mask-source",
        help="griffin, static, static-act, random, full or predictor. Default: --adapter's "
        "predictor; on an embedded model its shipped predictor (+ LoRA); else griffin.",
    ),
]
Adapter = Annotated[
    str | None,
    typer.Option(
        "--adapter",
        "--adapter-path",
        help="A `mlx_ifp finetune` output folder: its adapters are loaded, its predictor picks "
        "the mask (an `mlx_lm lora` folder, as mlx_lm's --adapter-path: griffin). `default`: "
        "the one an embedded model ships.",
    ),
]
Repick = Annotated[
    int | None,
    typer.Option(
        "--repick",
        metavar="N",
        help="Re-pick the mask every N generated tokens from the prompt and the reply so "
        "far; 0: one mask from the prompt (fastest). Default: 16 with a predictor that reads "
        "GRIFFIN statistics (head griffin: the shipped one), else 0. Each re-pick costs a dense "
        "pass over the N new tokens and a few new rows (docs/results/reroute/).",
    ),
]
ChatTemplateConfig = Annotated[
    str | None, typer.Option(help='Chat template arguments, JSON: {"enable_thinking": false}.')
]
ExtraEosToken = Annotated[
    list[str] | None,
    typer.Option(help="A token that also ends the reply (its text or id; repeatable)."),
]
Verbose = Annotated[
    bool, typer.Option("--verbose/--quiet", help="Print the timing and pruning footer.")
]


Prefill = Annotated[
    str,
    typer.Option(
        "--prefill",
        help="dense: the prompt runs through the unpruned model (with the shipped "
        "LoRA, if any) and only decoding is pruned (a per-prompt GRIFFIN mask then costs "
        "no extra pass); slim: everything on the pruned model; auto: dense for a "
        "per-prompt GRIFFIN mask.",
    ),
]
RepetitionPenalty = Annotated[
    float | None,
    typer.Option(
        "--repetition-penalty",
        "--repeat-penalty",
        help="Divide the logits of tokens seen in the last --repetition-context-size "
        "tokens by this (1: off; 1.1 is a common choice against loops).",
    ),
]


def lm_flag(kind: type, text: str):
    """An optional flag named after its parameter (None when not given: mlx-lm's default)."""
    return Annotated[kind | None, typer.Option(help=text)]


# mlx_lm generate's and chat's flags, with mlx-lm's meaning (``generate_step``, ``make_sampler``)
MaxKvSize = lm_flag(int, "Bound the KV cache: older entries (but the first 4 tokens) rotate out.")
PrefillStepSize = lm_flag(int, "Prompt tokens run at a time (mlx-lm: 2048); less: less memory.")
XtcProbability = lm_flag(float, "XTC sampling: the chance per token to drop the top choices.")
XtcThreshold = lm_flag(float, "XTC: the probability in [0, 0.5] a top choice must reach.")
MinTokensToKeep = lm_flag(int, "The fewest tokens --min-p sampling keeps (mlx-lm: 1).")
KvBits = lm_flag(int, "Quantize the KV cache to this many bits (2-6 or 8; off).")
KvGroupSize = lm_flag(int, "The KV cache quantization's group size (32, 64, 128).")
QuantizedKvStart = lm_flag(int, "With --kv-bits: quantize from this many tokens on (5000).")
DraftModel = lm_flag(str, "Speculative decoding: a small model (same tokenizer) drafts, unpruned.")
NumDraftTokens = lm_flag(int, "Tokens the --draft-model drafts at a time (mlx-lm: 3).")
