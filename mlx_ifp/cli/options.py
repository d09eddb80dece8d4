"""The typer options ``generate`` and ``chat`` (and ``export``) share, among them those of
``mlx_lm generate`` / ``mlx_lm chat`` that reach mlx-lm as they are (``cli.generate.lm_flags``
checks them), and the helpers of ``generate``'s ``--prefill-response`` and ``--prompt-cache-file``
(their refusals a ``typer.BadParameter``: one line, as a ``UsageError``). Only typer here:
importing it loads nothing of the package (mlx-lm only when a helper runs)."""

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
Prompt = Annotated[str | None, typer.Option("--prompt", "-p", help="The prompt; '-' reads stdin.")]
PromptFile = Annotated[
    str | None,
    typer.Option("--file", "-f", help="Read the prompt from this file, as it is (llama-cli's -f)."),
]
PresencePenalty = Annotated[
    float, typer.Option(help="Subtract this from tokens seen in that window (-2..2, 0: off).")
]
FrequencyPenalty = Annotated[
    float, typer.Option(help="Subtract this per time a token was seen there (-2..2).")
]
RepetitionContextSize = Annotated[
    int, typer.Option(help="How many recent tokens the penalties look at.")
]
IgnoreChatTemplate = Annotated[
    bool, typer.Option("--ignore-chat-template", help="Feed the prompt as raw text.")
]
MaskFile = Annotated[
    str | None, typer.Option("--mask", help="Use a saved mask file (.safetensors + .json).")
]
SaveMask = Annotated[
    str | None, typer.Option("--save-mask", help="Save the mask used to this file.")
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
Dtype = Annotated[
    str | None,
    typer.Option(
        help="Run the float weights in float32, float16 or bfloat16. Default: float32 on CPU "
        "(half precision runs slower there), else the model's own; a float16 or bfloat16 model's "
        "own dtype gives mlx-lm's replies on CPU too.",
    ),
]
MaxTokens = Annotated[
    int,
    typer.Option(
        "--max-tokens",
        "-m",
        "-n",
        "--n-predict",
        help="Tokens to generate (-1: until the end token). -m as mlx_lm's, -n as llama-cli's "
        "(llama-cli's -m, the model, is --model here).",
    ),
]
Temp = Annotated[float, typer.Option(help="Sampling temperature (0 is greedy).")]
TopP = Annotated[float, typer.Option("--top-p", help="Nucleus sampling threshold.")]
MinP = Annotated[float, typer.Option("--min-p", help="Min-p sampling threshold (0: off).")]
TopK = Annotated[int, typer.Option("--top-k", help="Sample from the top K tokens (0: off).")]
Seed = Annotated[
    int | None, typer.Option("--seed", "-s", help="Random seed for sampling (left out: random).")
]
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
MaxKvSize = lm_flag(
    int,
    "Bound the KV cache: older entries (but the first 4 tokens) rotate out (as in mlx-lm, not"
    " for a model that makes its own cache: llama's, gemma3's).",
)
PrefillStepSize = lm_flag(int, "Prompt tokens run at a time (mlx-lm: 2048); less: less memory.")
XtcProbability = lm_flag(float, "XTC sampling: the chance per token to drop the top choices.")
XtcThreshold = lm_flag(float, "XTC: the probability in [0, 0.5] a top choice must reach.")
MinTokensToKeep = lm_flag(int, "The fewest tokens --min-p sampling keeps (mlx-lm: 1).")
KvBits = lm_flag(int, "Quantize the KV cache to this many bits (2-6 or 8; off).")
KvGroupSize = lm_flag(int, "The KV cache quantization's group size: 32, 64 or 128 (64).")
QuantizedKvStart = lm_flag(int, "With --kv-bits: quantize from this many tokens on (5000).")
DraftModel = lm_flag(str, "Speculative decoding: a small model (same tokenizer) drafts, unpruned.")
NumDraftTokens = lm_flag(int, "Tokens the --draft-model drafts at a time (mlx-lm: 3).")
TrustRemoteCode = Annotated[
    bool, typer.Option("--trust-remote-code", help="Let a Hugging Face tokenizer run its code.")
]
PrefillResponse = Annotated[
    str | None,
    typer.Option(
        help="Start the reply with this text (after the chat template, as mlx_lm's): the mask "
        "source reads it as part of the prompt, which it then reads whole, as sent."
    ),
]
PromptCacheFile = Annotated[
    str | None,
    typer.Option(
        help="A KV cache `mlx_lm cache_prompt` saved (default --model: the one it was made for, "
        "another refused): the prompt continues its cached start, which the dense model ran; "
        "the rest runs slim, its mask read off the new prompt text alone (--prefill slim).",
    ),
]


def text_of(data: bytes, where: str) -> str:
    """Bytes read as the prompt (stdin, ``--file``): UTF-8 text, not binary; a BOM is not the
    prompt's. Nothing else is read into it (``--prompt``'s ``\\n``: a backslash and an n)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:  # (one line: the error's byte, no traceback)
        raise typer.BadParameter(f"{where} is not UTF-8 text (byte {e.start}): give text") from None
    if "\x00" in text:
        raise typer.BadParameter(f"{where} holds binary data (NUL bytes): give the prompt as text")
    return text


def file_prompt(path: str, prompt: str | None) -> str:
    """``--file``/``-f`` (llama-cli's): the prompt is the file's text (``text_of``), refused
    beside ``--prompt`` (which would win in silence) and where no file or no text is."""
    import os

    flag = f"--file {path}"
    if prompt is not None:
        raise typer.BadParameter(f"{flag}: give the prompt once, --prompt or --file, not both")
    where = os.path.expanduser(path)  # (a pipe too: -f <(cmd), -f /dev/stdin)
    if not os.path.exists(where) or os.path.isdir(where):
        why = "not a file" if os.path.isdir(where) else "no such file"
        raise typer.BadParameter(f"{flag}: {why}")
    with open(where, "rb") as f:
        text = text_of(f.read(), flag)
    if not text.strip():
        raise typer.BadParameter(f"{flag}: the file is empty, and so the prompt")
    return text


def sent_tokens(opened: dict, prompt, config, reply, cache, system, lm: dict, chat):
    """The prompt's tokens as ``mlx_lm generate`` sends them with ``--prefill-response`` (the
    chat template continues ``reply``, the assistant's start: ``chat``, the API's
    ``core.format_chat``, renders it) or ``--prompt-cache-file`` (``cache``, checked against the
    model and the KV flags of ``lm``): only the text after the cached start, from the user
    turn's text on (``mlx_lm cache_prompt`` caches the start of one user turn; mlx_lm cuts at
    the last message's, the reply's when prefilled). Without the template (``chat`` False:
    ``--ignore-chat-template``, or none) the raw text, which continues the cache (no BOS)."""
    tokenizer, cached = opened["tokenizer"], cache is not None
    if cached:
        check_prompt_cache(cache, opened["net"], lm.get("kv_bits"), lm.get("kv_group_size"))
    template = bool(chat) and bool(getattr(tokenizer, "chat_template", None))
    quiet = {"verbose": False} if hasattr(tokenizer, "model_max_length") else {}
    if not template and reply is not None:  # (mlx_lm drops it: the raw prompt is the text sent)
        raise typer.BadParameter("--prefill-response needs a chat template: the model has none")
    if not template:
        return tokenizer.encode(prompt, add_special_tokens=not cached, **quiet)
    head = [{"role": "system", "content": system}] * (system is not None)
    tail = [{"role": "assistant", "content": reply}] * (reply is not None)

    def render(text: str) -> str:  # (the reply's start left open: the API's prefill)
        return chat(tokenizer, [*head, {"role": "user", "content": text}, *tail], **config)

    flag = "--prefill-response" if reply is not None else "--prompt-cache-file"
    try:  # transformers' ValueError for a reply the template alters, jinja2's TemplateError
        text = render(prompt)
        text = text[render("<query>").index("<query>") :] if cached else text
    except Exception as e:
        raise typer.BadParameter(f"{flag}: the model's chat template refuses it ({e})") from None
    bos = getattr(tokenizer, "bos_token", None)  # (as the prompt's own tokens: ``core.encode``)
    special = not cached and not (bos and text.startswith(bos))
    return tokenizer.encode(text, add_special_tokens=special, **quiet)


def cache_clashes(system_prompt, max_kv_size, draft_model, prefill) -> None:
    """What ``--prompt-cache-file`` cannot take (mlx_lm ignores the first two, fails with the
    third)."""
    for flag, clash, why in (
        ("--system-prompt", system_prompt is not None, "the conversation's start is in the cache"),
        ("--max-kv-size", max_kv_size is not None, "the cache's size was set when it was made"),
        ("--draft-model", draft_model is not None, "the cache holds no draft model's cache"),
        ("--prefill dense", prefill == "dense", "the cache's start was run dense already; the "
         "rest runs slim"),
    ):  # fmt: skip
        if clash:
            raise typer.BadParameter(f"--prompt-cache-file: not with {flag} ({why})")


def prompt_cache(path, model: str, given: bool, system_prompt, draft_model, lm: dict, prefill):
    """``--prompt-cache-file``: the KV cache ``mlx_lm cache_prompt`` saved (None: none given)
    and the model to load: ``model``, unless not ``given`` (the default) and the cache names the
    one it was made for. One line for a file that is none, a cache made for another model
    (mlx_lm's refusal) or a flag it cannot take (``cache_clashes``)."""
    if path is None:
        return None, model
    import os

    from mlx_lm.models.cache import load_prompt_cache

    cache_clashes(system_prompt, lm.get("max_kv_size"), draft_model, prefill)
    flag = f"--prompt-cache-file {path}"
    if not os.path.isfile(path):
        raise typer.BadParameter(
            f"{flag}: {'not a file' if os.path.isdir(path) else 'no such file'}"
        )
    try:
        cache, meta = load_prompt_cache(path, return_metadata=True)
    except (ValueError, RuntimeError, KeyError, TypeError, IndexError) as e:  # not a cache
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        why = f"{flag} is not a KV cache saved by mlx_lm cache_prompt ({why})"
        raise typer.BadParameter(why) from None
    made = meta.get("model") if isinstance(meta, dict) else None
    made = made if isinstance(made, str) and made.strip() else None  # ("": names no model)
    if not given and made is not None:
        return cache, made
    if made is not None and not same_model(made, model):
        raise typer.BadParameter(f"{flag} was made for {made}, not {model}: give --model {made} "
                                 "(or leave --model out)")  # fmt: skip
    return cache, model


def same_model(a: str, b: str) -> bool:
    """Two model names of one model: the same folder, else the same name (in any case), or an
    embedded model's name and the folder it is converted to (``mlx_lm cache_prompt`` took)."""
    import os

    a, b = os.path.expanduser(a), os.path.expanduser(b)
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    a, b = a.rstrip("/").lower(), b.rstrip("/").lower()  # an embedded model's name: its folder
    return a == b or ("/" not in b and os.path.basename(a) in (f"{b}-f32", f"{b}-q"))


def check_prompt_cache(cache: list, net, kv_bits=None, kv_group_size=None) -> None:
    """A loaded prompt cache fits ``net`` (a cache per layer, of the shape its own cache takes
    after a token: MLX's shape error mid-reply otherwise) and the KV flags (a quantized cache:
    its bits and group size, as ``mlx_lm generate`` checks them)."""
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models.cache import QuantizedKVCache, make_prompt_cache

    def shape(c) -> tuple:  # (KV heads, head size; a quantized cache's packed size: not read)
        a = next((a for _, a in tree_flatten(c.state) if getattr(a, "ndim", 0) == 4), None)
        quantized = isinstance(c, QuantizedKVCache)
        return () if a is None else (a.shape[1], None if quantized else a.shape[3])

    flag, own = "--prompt-cache-file", make_prompt_cache(net)
    if len(cache) == len(own):
        net(mx.array([[0]]), cache=own)  # (one token: its cache's shape)
    pairs = zip(map(shape, cache), map(shape, own), strict=False)
    if len(cache) != len(own) or any(a[0] != b[0] or None not in (a[1], b[1]) and a != b
                                     for a, b in pairs if a and b):  # fmt: skip
        raise typer.BadParameter(f"{flag} holds a KV cache for another model ({len(cache)} "
                                 f"layers; this one has {len(own)}, or other shapes)")  # fmt: skip
    if isinstance(cache[0], QuantizedKVCache):
        for name, given, own in (("bits", kv_bits, cache[0].bits),
                                 ("group-size", kv_group_size, cache[0].group_size)):  # fmt: skip
            if given is not None and given != own:
                raise typer.BadParameter(f"--kv-{name} {given}: {flag}'s cache has {own}")


def kv_size_note(net, max_kv_size: int | None) -> None:
    """``--max-kv-size`` on a model whose mlx-lm class makes its own KV cache (llama, gemma3,
    ...): mlx-lm's ``make_prompt_cache`` ignores the bound there, as ``mlx_lm generate`` does;
    said in one line rather than promised by the help."""
    if max_kv_size is not None and callable(getattr(net, "make_cache", None)):
        kind = getattr(getattr(net, "args", None), "model_type", type(net).__module__)
        why = f"mlx-lm's {kind} model makes its own KV cache (as in mlx_lm generate)"
        typer.echo(f"Warning: --max-kv-size {max_kv_size} bounds nothing here: {why}", err=True)


def seed_flag(seed: int | None) -> None:
    """``--seed``: checked, then MLX's random state set from it (``generate``, ``chat``)."""
    import mlx.core as mx

    if seed is not None:
        if not 0 <= seed < 2**64:  # (-1: llama-cli's random one)
            why = f"must be in [0, 2**64), got {seed} (random: leave out --seed)"
            raise typer.BadParameter(f"--seed {why}")
        mx.random.seed(seed)
