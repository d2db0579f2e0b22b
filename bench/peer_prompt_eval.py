"""The peer for `welfare-bench extraction`: llama-cpp-python's `Llama.eval` over the same
token lists (one forward pass each, from an empty cache, logits for the last token only).
Reads a JSON list of token lists from the file named by argv[2]; prints one JSON object."""
import json
import sys
import time

from llama_cpp import Llama


def main() -> None:
    model_path, tokens_path, threads, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open(tokens_path, encoding="utf-8") as handle:
        texts = json.load(handle)
    llm = Llama(model_path=model_path, n_threads=threads, n_threads_batch=threads, n_ctx=1024, n_batch=512,
                verbose=False)
    seconds = []
    for _ in range(repeats + 1):  # the first pass warms caches and is dropped
        start = time.perf_counter()
        for tokens in texts:
            llm.reset()
            llm.eval(tokens)
        seconds.append(time.perf_counter() - start)
    print(json.dumps({"seconds": seconds[1:]}))


if __name__ == "__main__":
    main()
