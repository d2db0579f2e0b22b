"""Starts llama-cpp-python's own OpenAI-compatible server (for tests and benchmarks) and stops it when
the process that started it goes away (its stdin closes), so no server outlives a test run.
Usage: serve_llama_cpp.py MODEL PORT THREADS [MORE SERVER OPTIONS...]"""
import subprocess
import sys


def main() -> None:
    model, port, threads, more = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    server = subprocess.Popen([
        sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1", "--port", port,
        "--n_threads", threads, "--n_threads_batch", threads, "--chat_format", "gemma", "--n_ctx", "4096",
        *more,
    ], stdin=subprocess.DEVNULL)
    try:
        sys.stdin.read()  # returns when the parent closes the pipe or dies
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
