"""`welfare serve` against llama-cpp-python's `llama_cpp.server`: the same GGUF, threads and
client, /v1/completions streamed at temperature 0, at 1 and at 4 concurrent clients.
Reports time to first token (median) and generated tokens per second (all requests' tokens
over the wall time of the batch), the median of several repeats with the servers
alternating. Run through `scripts/bench.sh serve`, which builds and installs what it needs.

  serve_bench.py WELFARE_BINARY MODEL_GGUF [--threads 2] [--repeats 3] [--max-tokens 64]
"""
import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

import httpx

PROMPTS = [
    "The history of the bicycle begins",
    "A short guide to keeping bees in a city garden:",
    "Dear neighbour, I am writing about the fence between our gardens",
    "The three most common mistakes new runners make are",
    "In the morning the harbour was quiet, and",
    "Recipe: lentil soup for four people. Ingredients:",
    "The committee met on Tuesday to discuss",
    "How a refrigerator works, explained simply:",
]

# llama_cpp.server applies a repeat penalty of 1.1 unless told otherwise; welfare serve has
# none (and ignores the field), so both decode plainly greedy and write the same tokens.
PLAIN = {"repeat_penalty": 1.0}


def wait_ready(base, process, name):
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name} exited before it was ready")
        try:
            with urllib.request.urlopen(base + "/models", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{name} did not become ready")


def one(base, model, prompt, max_tokens):
    """Streams one completion; returns (seconds to first text, seconds in all, text)."""
    body = {"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True, **PLAIN}
    start = time.perf_counter()
    first = None
    pieces = []
    with httpx.Client(timeout=600) as http:
        with http.stream("POST", base + "/completions", json=body) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                choices = json.loads(line[6:]).get("choices") or []
                text = choices[0].get("text") if choices else None
                if text:
                    first = first or time.perf_counter() - start
                    pieces.append(text)
    return first or time.perf_counter() - start, time.perf_counter() - start, "".join(pieces)


def tokens_of(base, model, prompt, max_tokens):
    body = json.dumps({"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, **PLAIN}).encode()
    request = urllib.request.Request(base + "/completions", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        reply = json.load(response)
    return reply["usage"]["completion_tokens"], reply["choices"][0]["text"]


def batch(base, model, clients, max_tokens, tokens):
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda p: one(base, model, p, max_tokens), PROMPTS))
    wall = time.perf_counter() - start
    return {"ttft": statistics.median(r[0] for r in results), "tokens_per_s": sum(tokens) / wall, "wall": wall}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("welfare")
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    peer_port, ours_port = 18731, 18732
    peer = subprocess.Popen([sys.executable, os.path.join(here, "..", "serve_llama_cpp.py"), args.model, str(peer_port),
                             str(args.threads),
                             # By default a new request interrupts the one streaming; clients here wait their turn.
                             "--interrupt_requests", "False"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ours = subprocess.Popen([args.welfare, "serve", "-m", f"bench={args.model}", "--port", str(ours_port), "--threads",
                             str(args.threads), "--queue", "16"], stdout=subprocess.DEVNULL)
    servers = {"welfare serve": (f"http://127.0.0.1:{ours_port}/v1", "bench"),
               "llama_cpp.server": (f"http://127.0.0.1:{peer_port}/v1", "gemma")}
    try:
        wait_ready(servers["welfare serve"][0], ours, "welfare serve")
        wait_ready(servers["llama_cpp.server"][0], peer, "llama_cpp.server")
        counts, texts = {}, {}
        for name, (base, model) in servers.items():
            pairs = [tokens_of(base, model, prompt, args.max_tokens) for prompt in PROMPTS]
            counts[name] = [count for count, _ in pairs]
            texts[name] = [text for _, text in pairs]
        same = sum(a == b for a, b in zip(texts["welfare serve"], texts["llama_cpp.server"]))
        print(f"greedy texts identical on {same} of {len(PROMPTS)} prompts; tokens per prompt: {counts['welfare serve']}")
        rows = {}
        for clients in (1, 4):
            measured = {name: [] for name in servers}
            for repeat in range(args.repeats):
                order = list(servers) if repeat % 2 == 0 else list(reversed(servers))
                for name in order:
                    base, model = servers[name]
                    measured[name].append(batch(base, model, clients, args.max_tokens, counts[name]))
            rows[clients] = {name: {key: statistics.median(m[key] for m in runs) for key in ("ttft", "tokens_per_s", "wall")}
                             for name, runs in measured.items()}
        print("| clients | server | time to first token (median) | tokens/s | wall for 8 requests |")
        print("| --- | --- | --- | --- | --- |")
        for clients, by_server in rows.items():
            for name, row in by_server.items():
                print(f"| {clients} | {name} | {row['ttft'] * 1000:.0f} ms | {row['tokens_per_s']:.1f} | {row['wall']:.2f} s |")
        for clients, by_server in rows.items():
            ours_row, peer_row = by_server["welfare serve"], by_server["llama_cpp.server"]
            print(f"{clients} client(s): welfare serve {ours_row['tokens_per_s'] / peer_row['tokens_per_s']:.2f}x the peer's tokens/s, "
                  f"time to first token {ours_row['ttft'] / peer_row['ttft']:.2f}x the peer's")
    finally:
        ours.terminate()
        peer.stdin.close()
        ours.wait(timeout=10)
        peer.wait(timeout=20)


if __name__ == "__main__":
    main()
