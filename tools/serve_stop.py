"""Time `mlx_ifp serve` stopping on Ctrl-C while a non-streamed request is being generated.

Starts the server (a child process on a free port), sends one chat completion of
``--max-tokens`` tokens, sends SIGINT after ``--after`` seconds, and measures the seconds until
the process has exited and what the client was answered. Prints JSON, then a table.

    python tools/serve_stop.py [--model smollm2-135m-instruct] [--max-tokens 400] [--after 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, proc: subprocess.Popen, limit: float = 300.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}) before answering /health")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the server did not come up")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct", help="the model to serve")
    parser.add_argument("--max-tokens", type=int, default=400, help="the request's reply length")
    parser.add_argument("--after", type=float, default=4.0, help="seconds before the Ctrl-C")
    args = parser.parse_args(argv)
    port = free_port()
    cmd = [sys.executable, "-m", "mlx_ifp", "serve", "--model", args.model, "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    answer: dict = {}

    def ask() -> None:
        body = {
            "model": args.model,
            "messages": [{"role": "user", "content": "Write a very long story about a dragon."}],
            "max_tokens": args.max_tokens,
        }
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            headers = {"Content-Type": "application/json"}
            conn.request("POST", "/v1/chat/completions", json.dumps(body), headers)
            r = conn.getresponse()
            answer.update(status=r.status, body=r.read().decode()[:160])
        except OSError as e:
            answer.update(status=None, body=f"{type(e).__name__}: {e}")

    try:
        wait_up(port, proc)
        client = threading.Thread(target=ask)
        client.start()
        time.sleep(args.after)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=900)
        stop_s = time.monotonic() - t0
        client.join(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    result = {"model": args.model, "max_tokens": args.max_tokens, "after_s": args.after}
    result.update(stop_s=round(stop_s, 2), reply_status=answer.get("status"))
    result.update(reply=answer.get("body"))
    print(json.dumps(result, indent=1))
    print(f"{'max_tokens':>10}  {'stop s':>7}  reply", file=sys.stderr)
    print(f"{args.max_tokens:>10}  {stop_s:>7.1f}  {answer.get('status')}", file=sys.stderr)


if __name__ == "__main__":
    main()
