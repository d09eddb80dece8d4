"""Use `mlx_ifp serve` from an app through the openai package: a task model, streaming, usage.

Start the server first:  mlx_ifp serve --tasks examples/serve_tasks.yaml
Then:                    python examples/serve_client.py
(A server started with --api-key KEY: --api-key KEY here too, or MLX_IFP_API_KEY set for both.)
"""

import argparse
import os
import sys

from openai import APIConnectionError, APIStatusError, AuthenticationError, OpenAI


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8080/v1")
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument(
        "--api-key",
        default=os.environ.get("MLX_IFP_API_KEY") or "not-needed",
        help="the server's --api-key, if it has one (default: $MLX_IFP_API_KEY)",
    )
    args = ap.parse_args()
    client = OpenAI(base_url=args.url, api_key=args.api_key)
    try:
        talk(client, args.model)
    except APIConnectionError as e:  # (its APITimeoutError too)
        start = "mlx_ifp serve --tasks examples/serve_tasks.yaml"
        return fail(f"no server answers at {args.url} ({e.message}): start it ({start}) or --url")
    except AuthenticationError as e:
        key = "give the server's --api-key KEY here, or set MLX_IFP_API_KEY for both"
        return fail(f"the server refused the key (AuthenticationError, {e.message}): {key}")
    except APIStatusError as e:
        return fail(f"the server refused the request ({e.message})")
    return 0


def fail(message: str) -> int:
    """One line on stderr, exit code 2, as mlx_ifp's own commands end on bad input."""
    print(f"Error: {message}", file=sys.stderr)
    return 2


def talk(client: OpenAI, model: str) -> None:
    print("models:", [m.id for m in client.models.list().data])

    # a named task: its slim model is built once, then every request of the task reuses it
    r = client.chat.completions.create(
        model=f"{model}:geo",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=30,
        temperature=0,
    )
    ext = r.model_dump()["mlx_ifp"]  # the server's extension field
    print(r.choices[0].message.content)
    print(f"usage: {r.usage.prompt_tokens} prompt + {r.usage.completion_tokens} generated tokens;")
    print(f"active parameters {ext['active_params'] / 1e6:.1f}M, cache hit {ext['cache_hit']}")

    # the base model name: the mask is picked from this prompt itself; streamed
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Write a haiku about the sea."}],
        max_tokens=40,
        stream=True,
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            print(chunk.choices[0].delta.content, end="", flush=True)
    print()


if __name__ == "__main__":
    sys.exit(main())
