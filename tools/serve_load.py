"""Load-test `mlx_ifp serve`: concurrent clients, a mix of tasks and per-prompt requests."""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from openai import OpenAI

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = {
    "code": [
        "Reverse a list in Python.",
        "Write a function that checks whether a number is prime.",
        "How do I read a file line by line in Python?",
        "Sort a dict by value.",
    ],
    "math": [
        "Tom has 3 apples and buys 5 more. How many apples does he have?",
        "What is 12 times 7?",
        "A train travels 60 km in one hour. How far does it go in 3 hours?",
        "If a pizza has 8 slices and I eat 3, how many are left?",
    ],
    "geo": [
        "What is the capital of France?",
        "Name the longest river in Africa.",
        "Which country has the largest population?",
        "What is the capital of Japan?",
    ],
    None: [  # per-prompt masks: the base model name
        "Write a haiku about the sea.",
        "Give me three tips for better sleep.",
        "What is photosynthesis?",
        "Tell me a short joke.",
    ],
}


def plan(n: int, model: str, seed: int = 0) -> list[dict]:
    """``n`` requests: tasks and per-prompt requests in equal shares, chat or completions,
    streamed or not."""
    rng = random.Random(seed)
    kinds = list(PROMPTS)
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        out.append(
            {
                "kind": kind or "prompt",
                "model": model if kind is None else f"{model}:{kind}",
                "prompt": rng.choice(PROMPTS[kind]),
                "chat": rng.random() < 0.75,
                "stream": rng.random() < 0.5,
            }
        )
    rng.shuffle(out)
    return out


def ask(client: OpenAI, req: dict, max_tokens: int) -> dict:
    """One request; returns text, latency, time to first token and the extension field."""
    t0 = time.perf_counter()
    kw = dict(model=req["model"], max_tokens=max_tokens, temperature=0, stream=req["stream"])
    if req["chat"]:
        call = client.chat.completions.create
        kw["messages"] = [{"role": "user", "content": req["prompt"]}]
    else:
        call = client.completions.create
        kw["prompt"] = req["prompt"]
    first, ext, text, tokens = None, {}, "", 0
    if req["stream"]:
        for c in call(**kw, stream_options={"include_usage": True}):
            extra = c.model_dump()
            ext = extra.get("mlx_ifp") or ext
            if c.usage:
                tokens = c.usage.completion_tokens
            for ch in c.choices:
                piece = (ch.delta.content or "") if req["chat"] else ch.text
                if piece and first is None:
                    first = time.perf_counter() - t0
                text += piece
    else:
        r = call(**kw)
        text = r.choices[0].message.content if req["chat"] else r.choices[0].text
        ext, tokens = r.model_dump()["mlx_ifp"], r.usage.completion_tokens
    return {"text": text, "latency": time.perf_counter() - t0, "ttft": first, "ext": ext,
            "tokens": tokens}  # fmt: skip


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(args) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "mlx_ifp", "serve", "--model", args.model, "--keep", args.keep,
           "--tasks", args.tasks, "--port", str(port), "--log-level", "warning",
           "--max-queue", "1024"]  # fmt: skip
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    proc = subprocess.Popen(cmd, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while True:
        if proc.poll() is not None:
            sys.exit("the server exited")
        try:
            urllib.request.urlopen(url + "/health", timeout=2)
            return proc, url + "/v1"
        except OSError:
            if time.monotonic() > deadline:
                proc.terminate()
                sys.exit("the server did not start")
            time.sleep(0.5)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))] if xs else float("nan")


def run(args) -> dict:
    load0 = round(os.getloadavg()[0], 2)  # the machine may be busy with other work
    proc, url = (None, args.url) if args.url else start_server(args)
    try:
        model = args.model_name or OpenAI(base_url=url, api_key="x").models.list().data[0].id
        requests = plan(args.requests, model)
        todo: queue.Queue = queue.Queue()
        for i in range(len(requests)):
            todo.put(i)
        results: list[dict | None] = [None] * len(requests)

        def client_loop() -> None:
            client = OpenAI(base_url=url, api_key="x", max_retries=0, timeout=600)
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    results[i] = ask(client, requests[i], args.max_tokens)
                except Exception as e:  # counted, not raised: the run reports errors
                    results[i] = {"error": f"{type(e).__name__}: {e}"}

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client_loop) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0

        # each distinct request once more, alone: greedy output must not depend on the others
        alone: dict[tuple, str] = {}
        solo = OpenAI(base_url=url, api_key="x", max_retries=0, timeout=600)
        alone_latency = []
        for r in requests:
            key = (r["model"], r["prompt"], r["chat"], r["stream"])
            if key not in alone:
                one = ask(solo, r, args.max_tokens)
                alone[key] = one["text"]
                alone_latency.append(one["latency"])
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
    res = report(args, requests, results, alone, wall)
    res["alone_latency_p50_s"] = round(pct(alone_latency, 50), 3)
    res["load_average_1min_start_end"] = [load0, round(os.getloadavg()[0], 2)]
    return res


def report(args, requests, results, alone, wall) -> dict:
    ok = [(q, r) for q, r in zip(requests, results, strict=True) if r and "error" not in r]
    errors = [r["error"] for r in results if not r or "error" in r]
    mismatches = [
        q for q, r in ok if r["text"] != alone[(q["model"], q["prompt"], q["chat"], q["stream"])]
    ]
    lat = [r["latency"] for _, r in ok]
    hits = [r["ext"].get("cache_hit", False) for _, r in ok]

    def by(kind: str) -> dict:
        rs = [r for q, r in ok if (q["kind"] == "prompt") == (kind == "prompt")]
        return {
            "requests": len(rs),
            "p50_s": round(pct([r["latency"] for r in rs], 50), 3),
            "p95_s": round(pct([r["latency"] for r in rs], 95), 3),
            "cache_hit_rate": round(sum(r["ext"].get("cache_hit", 0) for r in rs) / len(rs), 3)
            if rs
            else None,
        }

    ttft = [r["ttft"] for _, r in ok if r["ttft"] is not None]
    return {
        "model": args.model,
        "keep": args.keep,
        "clients": args.clients,
        "requests": len(requests),
        "max_tokens": args.max_tokens,
        "errors": len(errors),
        "error_samples": errors[:5],
        "mismatches_vs_alone": len(mismatches),
        "distinct_requests_replayed_alone": len(alone),
        "wall_s": round(wall, 2),
        "throughput_req_s": round(len(ok) / wall, 3),
        "throughput_gen_tok_s": round(sum(r["tokens"] for _, r in ok) / wall, 2),
        "latency_p50_s": round(pct(lat, 50), 3),
        "latency_p95_s": round(pct(lat, 95), 3),
        "ttft_p50_s": round(pct(ttft, 50), 3),
        "cache_hit_rate": round(sum(hits) / max(len(hits), 1), 3),
        "task_requests": by("task"),
        "per_prompt_requests": by("prompt"),
        "cpu_count": os.cpu_count(),
    }


def table(res: dict) -> str:
    rows = [
        ("requests / clients", f"{res['requests']} / {res['clients']}"),
        ("errors", res["errors"]),
        ("outputs differing from the same request alone", res["mismatches_vs_alone"]),
        ("wall time (s)", res["wall_s"]),
        ("throughput (req/s)", res["throughput_req_s"]),
        ("throughput (generated tok/s)", res["throughput_gen_tok_s"]),
        ("latency p50 / p95 (s)", f"{res['latency_p50_s']} / {res['latency_p95_s']}"),
        ("time to first token p50 (s, streamed)", res["ttft_p50_s"]),
        ("latency p50 of the same requests alone (s)", res.get("alone_latency_p50_s")),
        ("cache hit rate, all", res["cache_hit_rate"]),
        ("cache hit rate, task / per-prompt", f"{res['task_requests']['cache_hit_rate']} / "
         f"{res['per_prompt_requests']['cache_hit_rate']}"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"| {k:<{width}} | {v} |" for k, v in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--model-name", default=None, help="the served id (default: ask /v1/models)")
    ap.add_argument("--keep", default="0.5")
    ap.add_argument("--tasks", default=str(ROOT / "examples" / "serve_tasks.yaml"))
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--url", default=None, help="use a running server's /v1 URL instead")
    ap.add_argument("--out", default=None, help="write the JSON result here")
    args = ap.parse_args()
    res = run(args)
    print(json.dumps(res, indent=2))
    print(table(res))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    if res["errors"] or res["mismatches_vs_alone"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
