"""``mlx_ifp generate``: prompt in, text out, with speed and active parameters; and the options
and text checks it shares with ``export`` (``cli.convert``)."""

from __future__ import annotations

import contextlib
import re
import sys
import warnings
from typing import Annotated

import typer

from .. import UsageError, make_source
from . import options
from .options import (
    Adapter,
    ChatTemplateConfig,
    Dequantize,
    DraftModel,
    ExtraEosToken,
    Keep,
    KvBits,
    KvGroupSize,
    MaskSource,
    MaxKvSize,
    MaxTokens,
    MinP,
    MinTokensToKeep,
    Model,
    NumDraftTokens,
    Prefill,
    PrefillStepSize,
    QuantizedKvStart,
    RepetitionPenalty,
    Repick,
    Seed,
    SystemPrompt,
    Task,
    Temp,
    TopK,
    TopP,
    Verbose,
    XtcProbability,
    XtcThreshold,
)


def check_text(text: str | None, flag: str) -> str | None:
    """Command-line text: bytes not UTF-8 come as lone surrogates (the tokenizer's TypeError)."""
    try:
        text is None or text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise UsageError(f"{flag} is not UTF-8 text (character {e.start})") from None
    return text


def not_empty(**flags: str | None) -> None:
    """An option given as ``""`` is refused, not read as not given (``--mask "$M"`` unset)."""
    for name, value in flags.items():
        if value is not None and not value.strip():
            raise UsageError(f"--{name.replace('_', '-')} is empty: give a value or leave it out")


def read_prompt(prompt: str | None) -> str:
    """The prompt; ``-`` reads stdin (UTF-8 text, not binary); a literal ``\\n``/``\\t`` given
    on the command line is a newline/tab, as ``mlx_lm generate`` reads it (not in stdin)."""
    if prompt == "-":
        prompt = options.text_of(sys.stdin.buffer.read(), "stdin")  # (a BOM: not the prompt's)
    elif prompt is not None:
        prompt = prompt.replace("\\n", "\n").replace("\\t", "\t")
    if prompt is None or not prompt.strip():
        raise UsageError("the prompt is empty (give --prompt TEXT, --prompt - for stdin or --file)")
    return check_text(prompt, "--prompt")


def read_task(task: str | None) -> str | list[str] | None:
    """``--task``: the description itself, or ``@FILE``'s example prompts."""
    return task_examples(task[1:]) if task and task.startswith("@") else check_text(task, "--task")


def task_examples(path) -> list[str | dict]:
    """``--task @FILE``'s examples (``inference.read_examples``)."""
    from ..inference import read_examples

    return read_examples(path)


def named_adapter(adapter: str | None, model: str, budget) -> str | None:
    """``--adapter default``: the adapter shipped with an embedded model nearest the budget
    (``models.adapter_folder``; a folder of that name here stays a folder)."""
    from ..models import adapter_folder

    return adapter_folder(adapter, model, budget)


def shipped_predictor(model: str, budget, named: bool = False) -> str | None:
    """The shipped predictor nearest ``budget``; None: not embedded, full width (named: refused)."""
    from ..models import default_adapter

    if (found := default_adapter(model, budget)) is None and named and default_adapter(model):
        raise UsageError(f"{model} at --keep {budget} keeps every channel: name another source")
    return str(found) if found is not None else None


def check_full(mask_source: str | None, budget) -> None:
    """``--mask-source full`` keeps every channel: a ``--keep`` below that would be ignored."""
    if mask_source == "full" and budget is not None and budget.value != 1:  # 1: keep 1.0
        raise UsageError(f"--mask-source full keeps every channel: leave out --keep {budget}")


def reads_text(mask_source: str | None, adapter: str | None, flag: str | None = None) -> bool:
    """Whether a named mask source reads text (the model's own does): ``flag``'s text is refused
    for one that reads none, as the mask is the same without it (export, generate)."""
    reads = not mask_source or make_source(mask_source, adapter_path=adapter).uses_text
    if flag and not reads:
        raise UsageError(f"--mask-source {mask_source} reads no text: leave out {flag}")
    return reads


def source_and_keep(name, keep, adapter, tokenizer, net, asks: bool = False):
    """The source and budget: a trained predictor's own (a plain LoRA folder: griffin); an export
    of a pruned model whole (``full``) unless a budget or ``asks`` (--task); else GRIFFIN, 0.5."""
    from ..models import export_note
    from ..sources import holds_predictor, read_config

    whole = "full" if keep is None and not asks and export_note(net) else "griffin"  # (whole)
    name = name or ("predictor" if adapter and holds_predictor(adapter) else whole)
    if keep is None and (adapter or name == "full"):
        keep = read_config(adapter).get("k") if adapter else "1.0"
    source = make_source(name, tokenizer=tokenizer, adapter_path=adapter)
    return source, keep if keep is not None else "0.5"


def check_sampling_flags(max_tokens, sampling, repick, penalties=(None, 0.0, 0.0, 20), chat=None):
    """The sampling flags (``sampling``: temp, top_p, min_p, top_k) and ``chat``'s
    (``--chat-template-config``'s JSON, whether the template is applied), by the API's rules in
    the flags' names, before the model loads. Returns the template's arguments (a dict)."""
    from ..inference import check_chat, check_repick, check_sampling, penalty_processors

    try:
        check_sampling(max_tokens, *sampling)
        check_repick(repick)
        penalty_processors(*penalties)
        return check_chat(config=chat[0], chat_template=chat[1]) if chat else {}
    except UsageError as e:
        name, _, why = str(e).partition(" ")
        raise UsageError(f"--{name.replace('_', '-')} {why}") from None


def lm_flags(draft_model=None, repick=None, prefill="auto", **given) -> dict:
    """mlx_lm generate's KV cache, prefill, sampler and draft flags as the API's options (those
    not given left out: mlx-lm's defaults; a draft's are mlx_lm generate's, 3 tokens and 2048-token
    prefill steps, not the API's 2 and 512), checked by its rules before the model loads."""
    from mlx.nn import Module

    from ..inference import check_options

    options = {k: v for k, v in given.items() if v is not None}
    if draft_model is None and "num_draft_tokens" in options:
        raise UsageError("--num-draft-tokens needs --draft-model (it is ignored without one)")
    for flag, clash in (("--repick", repick), ("--prefill dense", prefill == "dense")):
        if draft_model is not None and clash:  # the API's refusals, before the loads
            raise UsageError(f"--draft-model decodes with one unpruned draft: not with {flag}")
    if draft_model is not None:
        options = {"num_draft_tokens": 3, "prefill_step_size": 2048, **options}
    with as_flags():
        check_options({**options, "draft_model": draft_model and Module()})  # (not loaded yet)
    return options


@contextlib.contextmanager
def as_flags():  # the API's refusals with its options' names as flags (kv_bits: --kv-bits)
    try:
        yield
    except UsageError as e:
        words = re.sub(r"\b([a-z]+(?:_[a-z]+)+)\b", lambda m: f"--{m[1].replace('_', '-')}", str(e))
        raise UsageError(words) from None


def load_draft(name: str | None, tokenizer, dequantize, dtype=None) -> dict:
    """``--draft-model``, loaded after the model as mlx-lm does (another vocabulary: refused);
    ``--dtype`` casts its float weights as the model's (mlx-lm runs a draft in its own dtype)."""
    from .. import load

    if name is None:
        return {}
    draft, draft_tokenizer = load(name, dequantize=dequantize, dtype=dtype)
    if draft_tokenizer.vocab_size != tokenizer.vocab_size:
        raise UsageError(f"--draft-model {name}'s tokenizer ({draft_tokenizer.vocab_size} "
                         f"tokens) is not the model's ({tokenizer.vocab_size})")  # fmt: skip
    return {"draft_model": draft}


def open_model(model, adapter, mask_source, mask, keep, align, budget, dequantize, task=None,
               repick=None, eos=None, **lm_load):  # fmt: skip
    """Load the model as ``generate`` runs it: its own source (a shipped predictor + LoRA) unless
    one is named, a given mask's predictor LoRA with it; the load's warnings said. Returns the
    ``stream_reply`` settings: net, tokenizer, mask, keep, mask_source, align, keep_note."""
    from .. import Mask, load
    from ..inference import keep_warning, vocab_size, with_eos
    from ..models import packed_matmul_warning
    from ..sources import picked_by

    check_full(mask_source, budget)  # generate and chat, before the load
    if adapter is None and mask_source in (None, "predictor") and mask is None:
        adapter = shipped_predictor(model, budget, mask_source == "predictor")  # the shipped one
    for flag, given in (("--task", task), ("--repick", repick)):  # a source that reads no
        if given:  # text: refused before the load, as export refuses it
            reads_text(mask_source, adapter, flag)
    given = Mask.load(mask) if mask else None
    if given is not None and adapter is None and mask_source is None:
        adapter = picked_by(given)  # a predictor's mask runs with its LoRA, as it was picked
    net, tokenizer = load(model, dequantize=dequantize, adapter_path=adapter, **lm_load)
    with_eos(tokenizer, eos, vocab_size(net))  # --extra-eos-token: refused once, here
    source, keep = source_and_keep(mask_source, keep, adapter, tokenizer, net, bool(task or repick))
    if warning := packed_matmul_warning(net):
        typer.echo(f"Warning: {warning}", err=True)
    if keep_note := keep_warning(net, source, keep, align) if given is None else "":
        typer.echo(f"Warning: {keep_note}", err=True)
    return dict(net=net, tokenizer=tokenizer, mask=given, keep=None if given else keep,
                mask_source=source, align=align, keep_note=keep_note)  # fmt: skip


def check_template(tokenizer, system_prompt: str | None, config: dict | None = None) -> None:
    """A chat template that refuses a system message (Gemma's) or ``config``'s arguments, or none
    to take either, says so in one line, here: the system message is tried alone first."""
    has = getattr(tokenizer, "chat_template", None)
    for flag, given in (("--chat-template-config", config), ("--system-prompt", system_prompt)):
        if given and not has:  # (mlx_lm drops both in silence; the API would join a raw line)
            raise UsageError(f"{flag}: the model has no chat template to take it")
    chat = [{"role": "system", "content": system_prompt}] * (system_prompt is not None)
    chat, tries = [*chat, {"role": "user", "content": "Hi"}], []
    tries += [("--system-prompt", {})] if has and system_prompt is not None else []
    tries += [("--chat-template-config", config)] if config else []
    for flag, args in tries:  # (a refusal of the system message is not the config's)
        try:
            tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True, **args)
        except Exception as e:  # jinja2's TemplateError, from the template's raise_exception
            raise UsageError(f"{flag}: the model's chat template refuses it ({e})") from None


def stream_reply(prompt, max_tokens, opened: dict, continues: bool = False, **options):
    """Stream the reply to stdout as it comes (a status line while a GPU compiles); returns the
    last ``Response`` (None if none), its text and ids (``continues``: a prefill's, space kept)."""
    from .. import stream_generate
    from ..inference import KeepMismatch, spaced_reply
    from ..models import COMPILING, claim_compile_notice

    opened = dict(opened)
    net, tokenizer, keep_note = opened.pop("net"), opened.pop("tokenizer"), opened.pop("keep_note")
    last, text, ids, status = None, [], [], None
    if claim_compile_notice(net):  # stopped at the first token
        from rich.console import Console

        if not (console := Console(stderr=True)).is_terminal or console.is_dumb_terminal:
            typer.echo(COMPILING, err=True)  # (a log, a pipe: rich's status draws nothing)
        status = console.status(COMPILING)
        status.start()
    try:
        with warnings.catch_warnings():
            if keep_note:  # said when the model loaded, as one line
                warnings.simplefilter("ignore", KeepMismatch)
            warnings.showwarning = lambda m, *_, **__: typer.echo(f"Warning: {m}", err=True)
            records = stream_generate(net, tokenizer, prompt, max_tokens, **opened, **options)
            for last in spaced_reply(records, tokenizer) if continues else records:
                if status is not None:
                    status.stop()
                    status = None
                print(last.text, end="", flush=True)
                text.append(last.text)
                ids.append(last.token)
    except KeyboardInterrupt:  # Ctrl-C mid-reply: end its line, so the error line starts anew
        if last is not None:
            print(flush=True)
        raise
    finally:
        if status is not None:
            status.stop()
    print(flush=True)  # ended before a line on stderr (an error, "Saved mask"): stdout may buffer
    return last, "".join(text), ids


def generate_command(
    ctx: typer.Context,
    model: Model = "smollm2-135m-instruct",
    prompt: options.Prompt = None,
    file: options.PromptFile = None,
    max_tokens: MaxTokens = 256,
    temp: Temp = 0.0,
    top_p: TopP = 1.0,
    min_p: MinP = 0.0,
    top_k: TopK = 0,
    repetition_penalty: RepetitionPenalty = None,
    presence_penalty: options.PresencePenalty = 0.0,
    frequency_penalty: options.FrequencyPenalty = 0.0,
    repetition_context_size: options.RepetitionContextSize = 20,
    seed: Seed = None,
    system_prompt: SystemPrompt = None,
    prefill_response: options.PrefillResponse = None,
    ignore_chat_template: options.IgnoreChatTemplate = False,
    chat_template_config: ChatTemplateConfig = None,
    extra_eos_token: ExtraEosToken = None,
    keep: Keep = None,
    mask_source: MaskSource = None,
    task: Task = None,
    mask: options.MaskFile = None,
    adapter: Adapter = None,
    save_mask: options.SaveMask = None,
    align: Annotated[int, typer.Option(help="Round the kept count up to a multiple.")] = 1,
    prefill: Prefill = "auto",
    repick: Repick = None,
    max_kv_size: MaxKvSize = None,
    kv_bits: KvBits = None,
    kv_group_size: KvGroupSize = None,
    quantized_kv_start: QuantizedKvStart = None,
    prefill_step_size: PrefillStepSize = None,
    prompt_cache_file: options.PromptCacheFile = None,
    draft_model: DraftModel = None,
    num_draft_tokens: NumDraftTokens = None,
    min_tokens_to_keep: MinTokensToKeep = None,
    xtc_probability: XtcProbability = None,
    xtc_threshold: XtcThreshold = None,
    dequantize: Dequantize = None,
    dtype: options.Dtype = None,
    trust_remote_code: options.TrustRemoteCode = False,
    verbose: Verbose = True,
):
    """Generate text through the pruned model, streaming it as it comes."""
    from .. import Budget, Mask, check_model
    from ..inference import PREFILL, check_kv_cache, footer, format_chat

    if prefill not in PREFILL:  # before the model loads
        raise UsageError(f"--prefill must be one of {', '.join(PREFILL)}, not {prefill!r}")
    penalties = (repetition_penalty, presence_penalty, frequency_penalty, repetition_context_size)
    chat = (chat_template_config, not ignore_chat_template)  # the model sees the raw prompt?
    config = check_sampling_flags(max_tokens, (temp, top_p, min_p, top_k), repick, penalties, chat)
    not_empty(draft_model=draft_model, prompt_cache_file=prompt_cache_file)
    lm = lm_flags(draft_model, repick, prefill, max_kv_size=max_kv_size, kv_bits=kv_bits,
        kv_group_size=kv_group_size, quantized_kv_start=quantized_kv_start,
        prefill_step_size=prefill_step_size, num_draft_tokens=num_draft_tokens,
        min_tokens_to_keep=min_tokens_to_keep, xtc_probability=xtc_probability,
        xtc_threshold=xtc_threshold)  # fmt: skip
    budget = Budget.parse(keep, align) if keep is not None else None  # parsed once, here
    if budget is None and align < 1:
        Budget.parse(1.0, align)  # --align alone is checked too
    not_empty(mask=mask, save_mask=save_mask, mask_source=mask_source, adapter=adapter, task=task,
              prefill_response=prefill_response)  # fmt: skip
    given = ctx.get_parameter_source("model").name != "DEFAULT"  # (else: the cache's model)
    cache, model = options.prompt_cache(prompt_cache_file, model, given, system_prompt,
                                        draft_model, lm, prefill)  # fmt: skip
    adapter = named_adapter(adapter, model, budget)
    if mask and (task or keep is not None or mask_source or align != 1):  # ignored silently
        raise UsageError("--mask fixes the channels: drop --task, --keep, --mask-source, --align")
    if repick and (task or mask):  # the API's refusal, in the flags' words and before the load
        raise UsageError("--repick re-picks a per-prompt mask: not with --task or --mask")
    if save_mask:
        Mask.writable(save_mask)  # the sidecar too, before the work
    text = read_prompt(prompt) if file is None else options.file_prompt(file, prompt)
    task = read_task(task)
    for flag, said in (("--system-prompt", system_prompt),
                       ("--prefill-response", prefill_response)):  # fmt: skip
        if check_text(said, flag) is not None and ignore_chat_template:  # the raw prompt only
            fix = "leave out --ignore-chat-template, or put its text in the prompt"
            raise UsageError(f"{flag} needs the chat template: {fix}")
    options.seed_flag(seed)
    if draft_model is not None:
        check_model(draft_model)  # a name that is no model: before the model loads
    lm_load = dict(trust_remote_code=trust_remote_code, dtype=dtype)
    opened = open_model(model, adapter, mask_source, mask, keep, align, budget, dequantize, task,
                        repick, extra_eos_token, **lm_load)  # fmt: skip
    check_template(opened["tokenizer"], system_prompt, config)
    options.kv_size_note(opened["net"], lm.get("max_kv_size"))
    if cache is not None or prefill_response is not None:  # the mask reads the tokens as sent
        text = options.sent_tokens(opened, text, config, prefill_response, cache, system_prompt,
                                   lm, not ignore_chat_template and format_chat)  # fmt: skip
        system_prompt, config, lm["prompt_cache"] = None, None, cache  # (in the tokens)
    with as_flags():  # --kv-bits on this model: before the reply, not MLX's error mid-reply
        check_kv_cache(opened["net"], kv_bits, kv_group_size)
    lm |= load_draft(draft_model, opened["tokenizer"], dequantize, dtype)
    last, *_ = stream_reply(text, max_tokens, opened, prefill_response is not None, task=task,
        system_prompt=system_prompt, chat_template_config=config, extra_eos_tokens=extra_eos_token,
        chat_template=not ignore_chat_template, temp=temp, top_p=top_p, min_p=min_p, top_k=top_k,
        prefill=prefill, repick=repick, repetition_penalty=repetition_penalty,
        presence_penalty=presence_penalty, frequency_penalty=frequency_penalty,
        repetition_context_size=repetition_context_size, **lm)  # fmt: skip
    if last is not None and save_mask:
        path = last.prune.mask.save(save_mask)
        n = last.prune.repicks  # the saved one is the prompt's: --mask replays no re-picks
        again = f" (the prompt's; the reply re-picked it {n} time{'s' * (n != 1)})" if n else ""
        typer.echo(f"Saved mask to {path}{again}", err=True)
    if verbose and last is not None:
        typer.echo("\n".join(footer(last)), err=True)
