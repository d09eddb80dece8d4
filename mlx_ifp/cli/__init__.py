"""The ``mlx_ifp`` command line: a thin typer layer over the Python API, one module per command
or per small group of related commands,
and the error handler every command runs under (one line on stderr, exit code 2); ``main``, the
console script, ends quietly a command whose reader closed the pipe (``| head``).

``mlx_ifp`` itself, this package's parent, is always imported first: it loads the optimized BLAS
before ``mlx.core``.
"""

from __future__ import annotations

import errno
import functools
import os
import signal
import sys
import threading
from os.path import expanduser

import typer

from .chat import chat_command
from .convert import convert_command
from .evaluate import data_build_command, eval_command, plot_command
from .finetune import finetune_command, held_back, mlx_lm_said
from .generate import UsageError, generate_command  # (the package's, as every command's)
from .info import bench_command, info_command
from .serve import serve_command

#: what the file system answers a write it cannot take (not a bug here: one line), and how
#: MLX's own writers (``mx.save_safetensors``) word it
WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG)
MLX_WRITE_ERRORS = ("[write]", "[save_safetensors]", "[save]", "[save_gguf]")
#: the API's parameters whose refusals open with their name ("keep 2.5 is neither ..."): here
#: each is the flag of its name (``--keep``, ``--gguf-type``), as typer names a parameter's flag
API_FLAGS = ("keep", "align", "dtype", "gguf_type")


def fail(message: str, code: int = 2) -> None:
    if (opening := held_back(code)) is not None:  # under a launcher: rank 0's line alone
        typer.echo(f"{opening}Error: {message}", err=True)
    raise typer.Exit(code)


def flag_words(message: str) -> str:
    """An API refusal as the command line says it: an opening parameter name (``API_FLAGS``) is
    its flag (``keep 2.5 is ...``: ``--keep 2.5 is ...``); any other message as it is."""
    name, space, rest = message.partition(" ")
    return f"--{name.replace('_', '-')}{space}{rest}" if name in API_FLAGS else message


def handle_errors(fn):
    """Turn bad input into one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (UsageError, typer.BadParameter) as e:  # (the second: ``options``' helpers)
            fail(flag_words(str(e)))
        except RuntimeError as e:  # MLX's allocator: the device is full, not a bug here
            if str(e) == "Could not determine home directory.":  # pathlib's, of ~nouser/x
                bad = [v for v in kwargs.values() if str(v)[:1] == "~" == expanduser(str(v))[:1]]
                fail(f"no home folder for the user of {', '.join(map(str, bad)) or 'a ~ path'}")
            if str(e).startswith(MLX_WRITE_ERRORS):  # MLX's own writes: a full disk
                fail(f"cannot write: {str(e).splitlines()[0]} (is the disk full?)")
            if "out of memory" not in str(e):
                raise
            fail(f"out of memory ({str(e).splitlines()[0]}): try a smaller batch, input or model")
        except KeyboardInterrupt as e:
            fail(str(e) or "interrupted", 130)
        except OSError as e:  # a path the user gave that no file system takes
            if e.errno == errno.ENAMETOOLONG:
                name = str(e.filename)
                fail(f"file name too long ({len(name)} characters): {name[:60]!r}...")
            if e.errno in (errno.EACCES, errno.EPERM):  # a read or a write
                fail(f"{e.strerror or 'permission denied'}: {e.filename or e}")
            if e.errno not in WRITE_ERRORS:
                raise
            where = f" ({e.filename})" if e.filename else ""  # a full disk, a read-only mount
            fail(f"cannot write{where}: {e.strerror or e}")

    return wrapper


app = typer.Typer(
    help="Instruction-following pruning for MLX: prune a model's FFNs for a prompt or task, "
    "then generate on the slim model.",
    epilog="Examples (mlx_ifp COMMAND --help: its flags):\n"
    "  mlx_ifp generate -p 'Reverse a list in Python.' --keep 0.5\n"
    "  mlx_ifp chat\n"
    "  mlx_ifp serve   # OpenAI API on http://127.0.0.1:8080/v1 (--tasks FILE: per-task models)\n"
    "  mlx_ifp export --task 'Solve grade-school math problems.' -o slim-math",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # -h: mlx_lm's and llama-cli's
)

COMMANDS = {
    "generate": generate_command,
    "chat": chat_command,
    "export": convert_command,
    "convert": convert_command,
    "info": info_command,
    "finetune": finetune_command,
    "eval": eval_command,
    "bench": bench_command,
    "plot": plot_command,
    "serve": serve_command,
}
for _name, _fn in COMMANDS.items():
    _short = (_fn.__doc__ or "").split("\n")[0] or None  # the listing: the first line only
    _alias = f"{_short} An alias of export." if _name == "convert" else None
    app.command(_name, help=_alias, short_help=_alias or _short)(handle_errors(_fn))
data_app = typer.Typer(help="Build the offline multi-domain corpus.", no_args_is_help=True)
data_app.command("build")(handle_errors(data_build_command))
app.add_typer(data_app, name="data")


def _parse_errors() -> tuple[type, ...]:
    """What typer's own parsing raises: ``typer.TyperException`` (typer >= 0.2x vendors click)
    or click's ``ClickException`` (older typer)."""
    kinds = [getattr(typer, "TyperException", None)]
    try:
        import click

        kinds.append(click.ClickException)
    except ImportError:
        pass
    return tuple(k for k in kinds if k is not None)


#: ``mlx_lm generate``'s and ``mlx_lm chat``'s flags that ours do not take, and why (said beside
#: the parse error)
NOT_TAKEN = {
    "--image": "not supported: mlx_ifp prunes text models (mlx_lm generate reads images)",
    "--quantize-activations": "not supported (nvfp4/mxfp8 models' activation quantization)",
    "--use-default-chat-template": "mlx_lm generate ignores it too: leave it out",
}
CHAT_NOT_TAKEN = {"--pipeline": "not supported: mlx_ifp chat runs on one machine, no mlx.launch"}
_QUANTIZE = ("mlx_lm convert", "not done here: an export keeps the source's quantization (a float "
             "export: mlx_lm convert --hf-path OUT -q --mlx-path OUT-4bit)")  # fmt: skip
#: ``mlx_lm convert``'s, ``mlx_lm fuse``'s and llama.cpp's ``convert_hf_to_gguf.py``'s flags, and
#: what they are in ``export``/``convert``
CONVERT_FLAGS = {
    "--hf-path": ("mlx_lm convert", "--model here"),
    "--mlx-path": ("mlx_lm convert", "--output/-o here"),
    **dict.fromkeys(("-q", "--quantize", "--q-bits", "--q-group-size", "--q-mode"), _QUANTIZE),
    "--quant-predicate": _QUANTIZE,
    "-d": ("mlx_lm convert", "--dequantize here"),
    "--upload-repo": ("mlx_lm convert", "not supported: upload the folder with `hf upload`"),
    "--save-path": ("mlx_lm fuse", "--output/-o here"),
    "--de-quantize": ("mlx_lm fuse", "--dequantize here"),
    "--export-gguf": ("mlx_lm fuse", "-o NAME.gguf (or --format gguf) here"),
    "--gguf-path": ("mlx_lm fuse", "-o NAME.gguf here"),
    "--outfile": ("convert_hf_to_gguf.py", "--output/-o here"),
    "--outtype": ("convert_hf_to_gguf.py", "--gguf-type here"),
}


_CTX = "the model's whole context is used here; --max-kv-size bounds the KV cache, rotating"
_STOP = "no stop text here: --extra-eos-token TOKEN ends the reply at a token"
_GPU = "not needed: MLX runs every layer on the GPU"
_CHAT = "a conversation is mlx_ifp chat"
_ONE = "not needed: generate answers one prompt (mlx_ifp chat: a conversation)"
#: llama.cpp's ``llama-cli`` flags that ours do not take (its ``-n``, ``-s``, ``-f`` are taken),
#: and what they are here (said beside the parse error; ``-m``: only with a value not a number)
LLAMA_CLI = {
    "-m": "the model, --model here; -m is --max-tokens, as mlx_lm's",
    "-sys": "--system-prompt here",
    **dict.fromkeys(("-c", "--ctx-size"), _CTX),
    **dict.fromkeys(("-r", "--reverse-prompt"), _STOP),
    **dict.fromkeys(("-ngl", "--n-gpu-layers", "--gpu-layers"), _GPU),
    **dict.fromkeys(("-cnv", "--conversation", "-i", "--interactive"), _CHAT),
    **dict.fromkeys(("-no-cnv", "--no-conversation", "-st", "--single-turn"), _ONE),
    **dict.fromkeys(("-b", "--batch-size", "-ub"), "--prefill-step-size here"),
    "--repeat-last-n": "--repetition-context-size here",
    **dict.fromkeys(("-t", "--threads"), "not taken: MLX picks its own threads"),
    **dict.fromkeys(("-e", "--escape"), "--prompt's \\n and \\t are always read so here"),
}


def llama_said(said: str, name: str, args: list) -> str:
    """A parse error with what the ``llama-cli`` flag it met is here: the first of ``args``
    that the error names (click reads ``-sys`` as ``-s ys``: the seed's bad value)."""
    for i, flag in enumerate(args):
        short = flag if flag.startswith("--") else flag[:2]
        if flag not in LLAMA_CLI or (name != short and f"'{short}'" not in said):
            continue
        if flag == "-m" and args[i + 1 : i + 2] and args[i + 1].lstrip("-").isdigit():
            continue  # (a count: --max-tokens's own error)
        return f"{said.split(' (Possible options')[0]} (llama-cli's {flag}: {LLAMA_CLI[flag]})"
    return said


def generate_said(said: str, error, args: list | None) -> str:
    """A ``generate``, ``chat`` or ``export``/``convert`` parse error with what the mlx-lm flag
    it met is here."""
    args = sys.argv[1:] if args is None else list(args)
    command = args[0] if args[:1] in (["generate"], ["chat"]) else None
    name = str(getattr(error, "option_name", "") or "")  # (-qa is read as -q)
    if args[:1] in (["convert"], ["export"]) and name in CONVERT_FLAGS:
        theirs, what = CONVERT_FLAGS[name]  # (not click's guess: --hf-path ~ --adapter-path)
        return f"{said.split(' (Possible options')[0]} ({theirs}'s {name}: {what})"
    if command is None:
        return said
    name = "--quantize-activations" if name == "-q" and "-qa" in args else name
    if name in (taken := NOT_TAKEN if command == "generate" else CHAT_NOT_TAKEN):
        return f"{said} (mlx_lm {command}'s {name}: {taken[name]})"
    i = args.index("--extra-eos-token") + 1 if "--extra-eos-token" in args else len(args)
    if "extra argument" in said and args[i + 1 : i + 2] and not args[i + 1].startswith("-"):
        a, b = args[i : i + 2]  # mlx_lm's --extra-eos-token A B: the flag repeated here
        fix = f"--extra-eos-token {a} --extra-eos-token {b}"
        return f"{said} (--extra-eos-token takes one token: repeat it, {fix})"
    after = args[args.index("--verbose") + 1 :][:1] if "--verbose" in args else []
    if after and after[0].lower() in ("true", "false", "t", "f", "1", "0", "yes", "no"):
        return f"{said} (--verbose takes no value here: mlx_lm's --verbose False is --quiet)"
    return llama_said(said, name, args[1:])


#: the exit status of a writer whose reader closed the pipe: 128 + SIGPIPE (13), what a shell
#: reports of ``git log | head -1`` or ``yes | head -1``
CLOSED_PIPE = 141


class ReaderGone(SystemExit):
    """The reader of standard output (or error) closed the pipe (``mlx_ifp ... | head``)."""


class Guarded:
    """Standard output or error while the command line runs: a write or flush its reader refused
    raises ``ReaderGone``, which typer and rich let through (each would make a closed pipe exit
    1, rich from wherever it prints) and ``main`` ends quietly."""

    def __init__(self, stream):
        self.stream = stream

    def __getattr__(self, name: str):
        return getattr(self.stream, name)

    def write(self, text: str) -> int:
        return self.guarded(self.stream.write, text)

    def flush(self) -> None:
        self.guarded(self.stream.flush)

    @staticmethod
    def guarded(call, *args):
        try:
            return call(*args)
        except BrokenPipeError:
            raise ReaderGone(CLOSED_PIPE) from None


def to_devnull_if_gone(stream) -> None:
    """Point ``stream`` at /dev/null if its reader is gone: what its buffer still holds would
    fail again, with "Exception ignored ... BrokenPipeError", as Python flushes it at the exit."""
    try:
        stream.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (OSError, ValueError):  # (closed, or no file behind it: a test's capture)
        pass


def main(args: list[str] | None = None, prog_name: str | None = None) -> None:
    """The console script: ``run`` with standard output and error guarded. A reader that closed
    the pipe early (``| head -c 5``) ends it with nothing on stderr and exit 141, as git or cat
    end. As Python's note on SIGPIPE says: caught at the entry point, the stream then pointed at
    /dev/null; SIGPIPE is not set to SIG_DFL (that would end ``serve`` at a client's closed
    socket)."""
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (s if s is None else Guarded(s) for s in streams)
    guards = [g for g in (sys.stdout, sys.stderr) if g is not None]
    try:
        try:
            run(args, prog_name)
        except SystemExit:  # (its end) what print() left in a buffer: written here, not at exit
            for guard in guards:
                guard.flush()
            raise
    except ReaderGone:
        for stream in filter(None, streams):
            to_devnull_if_gone(stream)
        raise
    finally:
        sys.stdout, sys.stderr = streams
        if args is None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # done: a Ctrl-C in Python's shutdown
            # ends it as the signal does, not with threading's "Exception ignored" traceback


def run(args: list[str] | None = None, prog_name: str | None = None) -> None:
    """The command line, ended by ``SystemExit``. A flag typer cannot parse (``-m abc``,
    ``--foo``) is one line and exit code 2 too, like every other bad input; a bare command group
    still shows its help."""
    if getattr(signal.getsignal(signal.SIGINT), "__module__", "") == "mlx_ifp":
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the start's quick exit ends
    try:
        code = app(args, prog_name, standalone_mode=False)
    except _parse_errors() as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # `mlx_ifp`, `mlx_ifp data`: the help,
            if e.format_message():  # once (typer's rich help is printed as the error is made)
                e.show()
            raise SystemExit(e.exit_code) from None  # typer's own exit code (2)
        said = " ".join(e.format_message().split())  # (an mlx_lm lora flag: what it is here)
        said = generate_said(mlx_lm_said(said, e, args), e, args)
        typer.echo(f"{held_back()}Error: {said}", err=True)  # (a launch's: rank 0 says it)
        raise SystemExit(getattr(e, "exit_code", 2)) from None
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:  # while typer builds the commands, before a command runs
        typer.echo("Error: interrupted", err=True)
        raise SystemExit(130) from None
    raise SystemExit(code if isinstance(code, int) else 0)
