"""An OpenAI-compatible chat endpoint with a fixed latency, for the worker tests and the
worker benchmark: it stands in for a serving cluster whose answers take time but cost no CPU
here, so what is measured is the workers and the store, not a model.

usage: slow_endpoint.py PORT_FILE [--latency SECONDS]
Listens on a free loopback port, writes the port to PORT_FILE, and serves until killed.
Replies are a deterministic function of the conversation, so two runs of a suite store the
same text whichever worker asked. It counts requests in GET /stats.
"""
import argparse
import hashlib
import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
stats = {"requests": 0, "in_flight": 0, "max_in_flight": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle's algorithm and the client's
    # delayed ACK add about 40 ms to every reply.
    disable_nagle_algorithm = True
    latency = 0.2

    def log_message(self, *args):
        pass

    def reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/stats":
            with lock:
                self.reply(200, dict(stats))
        elif self.path == "/v1/models":
            self.reply(200, {"object": "list", "data": [{"id": "slow", "object": "model"}]})
        else:
            self.reply(404, {"error": {"message": "not found"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/v1/chat/completions":
            self.reply(404, {"error": {"message": "not found"}})
            return
        with lock:
            stats["requests"] += 1
            stats["in_flight"] += 1
            stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
        try:
            time.sleep(self.latency)
            messages = request.get("messages", [])
            digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:12]
            last = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
            text = f"Answer {digest}: I read {len(str(last).split())} words and have nothing against this task."
            self.reply(200, {
                "id": "chatcmpl-" + digest, "object": "chat.completion", "created": int(time.time()),
                "model": request.get("model", "slow"),
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": sum(len(str(m.get("content", "")).split()) for m in messages),
                          "completion_tokens": len(text.split()), "total_tokens": 0},
            })
        finally:
            with lock:
                stats["in_flight"] -= 1


def main():
    # A parent that ignores SIGTERM (a test runner may) must still be able to stop this.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parser = argparse.ArgumentParser()
    parser.add_argument("port_file")
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    Handler.latency = args.latency
    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # a client that went away (a killed worker) is expected here

    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
