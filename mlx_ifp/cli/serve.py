"""``mlx_ifp serve``: the typer command (self-contained, registered by the CLI)."""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
from pathlib import Path
from typing import Annotated

import typer

from .. import UsageError
from .generate import options  # (generate's flags: one spelling of each)

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")  # uvicorn's
GRACE_S = 5  # how long a stopping server lets open requests finish


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, made before the model loads: a port in use or a host
    that does not resolve is a one-line error (exit 2) then, not uvicorn's ERROR lines and
    exit 3 after the load and the "Serving on" line."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as uvicorn binds
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as e:
        raise UsageError(f"--host {host!r} is not an address to listen on: {e}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        sock.bind(address)
    except OSError as e:
        sock.close()
        why = "the port is in use" if e.errno == errno.EADDRINUSE else (e.strerror or e)
        raise UsageError(f"cannot listen on {host}:{port}: {why}") from None
    return sock


def cors_origins(values: list[str] | None) -> list[str]:
    """``--cors-origin``'s origins (repeated or comma-separated): ``*`` (the default) or
    origins as browsers send them, ``scheme://host[:port]``; ``none``: no CORS headers."""
    origins = [o.strip().lower() for v in values or ["*"] for o in v.split(",") if o.strip()]
    if origins == ["none"]:
        return []
    for o in origins or [""]:
        if o != "*" and not re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/?#\s]+", o):
            raise UsageError(
                "--cors-origin takes '*', 'none' or origins such as http://localhost:3000 "
                f"(no path), got {o!r}"
            )
    return origins


def api_keys(values: list[str] | None, files: list[str] | None) -> list[str]:
    """The keys of ``--api-key`` (repeated or comma-separated, as llama-server's) and of
    ``--api-key-file`` (one a line; blank lines skipped, spaces around a key dropped). An empty
    key would let in a request with an empty ``Authorization: Bearer``: refused."""

    def checked(key: str, flag: str) -> str:
        if not re.fullmatch(r"[!-~]+", key):  # what an HTTP header carries as it is
            why = "must be printable ASCII without spaces" if key else "is empty"
            raise UsageError(f"{flag}: a key {why}" + ("" if key else " (no empty list item)"))
        return key

    keys = [checked(k.strip(), "--api-key") for v in values or [] for k in v.split(",")]
    for name in files or []:
        try:
            text = Path(name).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeError) as e:
            raise UsageError(f"--api-key-file {name}: cannot read it ({e})") from None
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            raise UsageError(f"--api-key-file {name} has no key (one a line)")
        keys += [checked(k, f"--api-key-file {name}") for k in lines]
    return keys


def model_id_for(model: str) -> str:
    """The id clients use: the name given, or a local path's file or folder name."""
    path = Path(model).expanduser()
    if path.exists():
        return path.stem if path.is_file() else path.resolve().name
    return model


def serve_command(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="smollm2-135m-instruct or qwen2.5-coder-1.5b-instruct (embedded; the second "
            "is a 1.1 GB download), a .gguf file, an mlx-lm folder or a Hugging Face repo id.",
        ),
    ] = "smollm2-135m-instruct",
    host: Annotated[
        str, typer.Option(help="Address to bind; anything but loopback is reachable by others.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    keep: Annotated[
        str | None,
        typer.Option(
            "--keep", help="FFN channels kept per layer: a fraction or a count (default 0.5)."
        ),
    ] = None,
    mask_source: Annotated[
        str | None,
        typer.Option(
            "--mask-source",
            help="griffin, static, static-act, random, full or predictor. Default: the trained "
            "predictor shipped with an embedded model (its LoRA applied), else griffin.",
        ),
    ] = None,
    dtype: options.Dtype = None,
    tasks: Annotated[
        str | None,
        typer.Option(
            "--tasks",
            help="YAML file mapping task names to a task text, a list of example prompts or a "
            "mask file; request them as model 'MODEL:NAME'.",
        ),
    ] = None,
    model_name: Annotated[
        str | None,
        typer.Option("--model-name", help="The model id clients use (default: from --model)."),
    ] = None,
    cache_gb: Annotated[
        float, typer.Option("--cache-gb", help="Memory budget for cached slim models (GB).")
    ] = 2.0,
    max_tokens_limit: Annotated[
        int, typer.Option("--max-tokens-limit", help="Largest max_tokens a request may ask.")
    ] = 2048,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds a request may take, queueing included.")
    ] = 300.0,
    max_body_kb: Annotated[
        int, typer.Option("--max-body-kb", help="Largest request body accepted (KiB).")
    ] = 1024,
    max_queue: Annotated[
        int, typer.Option("--max-queue", help="Requests that may wait; more get a 503.")
    ] = 64,
    repick: Annotated[
        int | None,
        typer.Option(
            "--repick",
            metavar="N",
            help="Per-prompt requests re-pick the mask every N generated tokens from the prompt "
            "and the reply so far; 0: one mask from the prompt. Default: 16 with the shipped "
            "predictor, else 0.",
        ),
    ] = None,
    chat_template_args: Annotated[
        str | None,
        typer.Option(
            "--chat-template-args",
            help='Chat template arguments for every chat request, JSON: {"enable_thinking": '
            "false} (mlx_lm.server's); a request's chat_template_kwargs override them.",
        ),
    ] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin",
            help="Web page origin whose browser scripts may call the server (repeatable or "
            "comma-separated, e.g. http://localhost:3000); '*' (the default): any; 'none': no "
            "CORS headers.",
        ),
    ] = None,
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            "--api-key",
            metavar="KEY",
            envvar="MLX_IFP_API_KEY",
            help="Clients must send one of these keys (Authorization: Bearer KEY, or X-Api-Key: "
            "KEY), repeatable or comma-separated, as llama-server's; /health, /v1/health, "
            "/models, /v1/models and the model cards (/v1/models/ID) stay open.",
        ),
    ] = None,
    api_key_file: Annotated[
        list[str] | None,
        typer.Option(
            "--api-key-file", metavar="FILE", help="A file of API keys, one a line (as --api-key)."
        ),
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", help=f"uvicorn's log level: {', '.join(LOG_LEVELS)}.")
    ] = "info",
):
    """Serve the model over an OpenAI-compatible HTTP API, with per-task slim models.

    Routes: POST /v1/chat/completions, /v1/completions (stream: true for server-sent events),
    GET /v1/models, /v1/models/ID, /health (each also with or without /v1, as llama-server's).
    A client's base URL: http://HOST:PORT/v1.
    Example: mlx_ifp serve --tasks examples/serve_tasks.yaml
    """
    try:
        import uvicorn

        from ..serve import create_app
    except ImportError as e:
        msg = f"serving needs the serve extra: pip install 'mlx-ifp[serve]' ({e})"
        raise UsageError(msg) from None
    from ..serve import Limits, Registry, read_tasks, template_args

    if not 0 < port < 65536:
        raise UsageError(f"--port must be in 1..65535, got {port}")
    if not cache_gb >= 0 or max_tokens_limit <= 0 or max_body_kb <= 0 or max_queue <= 0:
        raise UsageError("--cache-gb must be >= 0; the other limits must be positive")
    if not timeout > 0:  # nan too: no request would ever time out
        raise UsageError(f"--timeout must be a positive number of seconds, got {timeout}")
    if repick is not None and repick < 0:
        raise UsageError(f"--repick must be 0 (off) or a number of tokens >= 1, got {repick}")
    if log_level.lower() not in LOG_LEVELS:
        raise UsageError(f"--log-level must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    origins, keys = cors_origins(cors_origin), api_keys(api_key, api_key_file)
    template = template_args(chat_template_args, "--chat-template-args")  # before the load
    specs = read_tasks(tasks) if tasks else {}
    texts = [name for name, spec in specs.items() if "task" in spec]  # (mask files: any source)
    if texts and mask_source not in (None, "predictor"):  # one that reads no text: refused,
        from .generate import reads_text  # as generate's --task is, not served as the base id

        if not reads_text(mask_source, None):
            raise UsageError(
                f"task {texts[0]!r} is a task text: --mask-source {mask_source} reads no text "
                "(give the task a mask file, or name a source that reads text)"
            )
    if not _is_loopback(host) and not keys:
        typer.echo(
            f"Warning: binding {host}: the server has no authentication and anyone who can "
            "reach this address can use it (--api-key asks for a key).",
            err=True,
        )
    sock = bind(host, port)  # before the model loads
    try:
        net, tokenizer, source = served_model(model, keep, mask_source, dtype)
        # none named: the model's own; an export run whole, pruned again for a task or a re-pick
        # (GRIFFIN, at 0.5 unless --keep), as ``generate`` runs it
        source = None if source == "full" and mask_source is None else source
        template_args(template, "--chat-template-args", tokenizer)  # a template to take them
        registry = Registry(
            net,
            tokenizer,
            model_name or model_id_for(model),
            keep=keep,
            mask_source=source,
            tasks=specs,
            cache_bytes=cache_gb * 1e9,
            repick=repick,
            chat_template_args=template,
        )
        limits = Limits(
            max_body_bytes=max_body_kb * 1024,
            max_tokens_limit=max_tokens_limit,
            default_max_tokens=min(256, max_tokens_limit),
            timeout_s=timeout,
            max_queue=max_queue,
        )
        url_host = f"[{host}]" if ":" in host else host  # an IPv6 address, as URLs write it
        d, texts = registry.d_ffn, any(t.text is not None for t in registry.tasks.values())
        tasks_k = (
            f", tasks {registry.task_k}/{d}" if texts and registry.task_k != registry.k else ""
        )
        typer.echo(
            f"Serving {', '.join(registry.model_ids())} on http://{url_host}:{port}/v1 (keep "
            f"{registry.k}/{d}{tasks_k}, {registry.task_slots} task + {registry.prompt_slots} "
            f"prompt slim models cached{'; API key required' if keys else ''})",
            err=True,
        )
        app = create_app(registry, limits, cors_origins=origins, api_keys=keys)
        # Ctrl-C: open requests get GRACE_S seconds to finish, then are cancelled (their jobs too)
        sock.close()  # uvicorn binds it again, as it binds (SO_REUSEADDR)
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level.lower(),
            timeout_graceful_shutdown=GRACE_S,
        )
    finally:
        sock.close()


def served_model(model: str, keep: str, mask_source: str | None, dtype: str | None = None):
    """The served model, its tokenizer and mask source: the shipped predictor, named or by
    default, where the model ships one for ``keep`` (else griffin; an export of a pruned model:
    full, run as written). The model is loaded as it is (``dtype``: its float weights cast, as
    ``load`` casts them): the pruners put the shipped LoRA on a copy (as the API's), so a mask
    file of another source is cut as ``generate --mask`` cuts it (GRIFFIN's from the bare
    model)."""
    import mlx_ifp

    from .generate import shipped_predictor, source_and_keep  # (named at full width: refused)

    named = mask_source == "predictor"
    if mask_source in (None, "predictor"):  # the shipped predictor, named or by default
        shipped = shipped_predictor(model, mlx_ifp.Budget.parse(keep or "0.5"), named)
        if shipped is None and named:
            raise UsageError(
                f"{model} at --keep {keep or 0.5} ships no predictor: name another --mask-source"
            )
        mask_source = "predictor" if shipped else None
    net, tokenizer = mlx_ifp.load(model, dtype=dtype)
    if mask_source is None:  # generate's default: griffin; an export of a pruned model whole
        mask_source = source_and_keep(None, keep, None, tokenizer, net)[0].key()
    return net, tokenizer, mask_source
