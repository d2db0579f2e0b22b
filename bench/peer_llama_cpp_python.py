"""The peer for `welfare-bench`: llama-cpp-python's `Llama` on the same GGUF, threads and
prompt, timed the same way (wall clock around a streamed greedy completion).
Prints one JSON object on stdout."""
import json
import sys
import time

from llama_cpp import Llama


def main() -> None:
    model_path, threads, max_tokens, repeats, prompt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    llm = Llama(model_path=model_path, n_threads=threads, n_threads_batch=threads, n_ctx=4096, n_batch=512,
                verbose=False)
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    runs = []
    for _ in range(repeats + 1):  # the first run warms caches and is dropped
        llm.reset()
        start = time.perf_counter()
        first = None
        for _chunk in llm.create_completion(tokens, max_tokens=max_tokens, temperature=0.0, top_k=1, stream=True):
            if first is None:
                first = time.perf_counter()
        end = time.perf_counter()
        # Streamed chunks can merge tokens; the context's token count is exact (the last
        # sampled token is never evaluated, hence + 1).
        count = llm.n_tokens - len(tokens) + 1
        runs.append({"prompt_tokens": len(tokens), "generated": count,
                     "prompt_seconds": first - start, "decode_seconds": end - first})
    print(json.dumps({"runs": runs[1:]}))


if __name__ == "__main__":
    main()
