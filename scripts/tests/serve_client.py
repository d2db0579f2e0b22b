"""Real clients against `welfare serve`, for the Swift tests (ServeTests): the official
`openai` package, plain HTTP, and a headless Chromium driven by Selenium. Each subcommand
prints one JSON object on stdout for the test to check.

  serve_client.py greedy BASE_URL PROMPT
  serve_client.py crowd BASE_URL COUNT
  serve_client.py disconnect BASE_URL
  serve_client.py errors BASE_URL KEY
  serve_client.py browser ROOT_URL RUN_ID
  serve_client.py raw BASE_URL IDLE_SECONDS
  serve_client.py flood BASE_URL COUNT
"""
import concurrent.futures
import json
import socket
import sys
import time
import urllib.error
import urllib.request

BASE = sys.argv[2].rstrip("/")
ROOT = BASE[: -len("/v1")] if BASE.endswith("/v1") else BASE


def client(key="unused", **extra):
    import openai
    return openai.OpenAI(base_url=BASE, api_key=key, max_retries=0, timeout=300, **extra)


def greedy(prompt):
    api = client()
    messages = [{"role": "user", "content": prompt}]
    chat = api.chat.completions.create(model="default", messages=messages, temperature=0, max_tokens=40)
    streamed = api.chat.completions.create(model="default", messages=messages, temperature=0, max_tokens=40,
                                           stream=True, stream_options={"include_usage": True})
    pieces, usage, finish = [], None, None
    for chunk in streamed:
        if chunk.usage:
            usage = chunk.usage.completion_tokens
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            finish = choice.finish_reason or finish
    text = api.completions.create(model="default", prompt=prompt, temperature=0, max_tokens=24)
    text_stream = "".join(chunk.choices[0].text for chunk in api.completions.create(
        model="default", prompt=prompt, temperature=0, max_tokens=24, stream=True) if chunk.choices)
    return {"chat": chat.choices[0].message.content, "chat_finish": chat.choices[0].finish_reason,
            "chat_completion_tokens": chat.usage.completion_tokens, "chat_stream": "".join(pieces),
            "chat_stream_pieces": len(pieces), "chat_stream_usage": usage, "chat_stream_finish": finish,
            "completion": text.choices[0].text, "completion_stream": text_stream}


def crowd(count):
    import openai
    api = client()

    def one(index):
        try:
            reply = api.chat.completions.create(model="default", temperature=0, max_tokens=12,
                                                messages=[{"role": "user", "content": f"Say a word about the number {index}."}])
            return {"status": 200, "text": reply.choices[0].message.content}
        except openai.RateLimitError as error:
            return {"status": 429, "retry_after": error.response.headers.get("retry-after"),
                    "type": error.body.get("type") if isinstance(error.body, dict) else None}
        except Exception as error:  # reported, so the test shows what else came back
            return {"status": -1, "error": repr(error)}

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        results = list(pool.map(one, range(count)))
    return {"results": results}


def status():
    with urllib.request.urlopen(ROOT + "/status", timeout=10) as response:
        return json.load(response)


def disconnect():
    import httpx
    body = {"model": "default", "prompt": "1, 2, 3, 4, 5, 6,", "temperature": 0, "max_tokens": 3000, "stream": True}
    chunks = 0
    with httpx.Client(timeout=60) as http:
        with http.stream("POST", BASE + "/completions", json=body) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    chunks += 1
                if chunks >= 5:
                    break
            busy = status()[0]["running"]
    closed = time.time()
    while time.time() - closed < 30:
        if status()[0]["running"] == 0:
            break
        time.sleep(0.05)
    freed = time.time() - closed
    after = client().completions.create(model="default", prompt="Hello", temperature=0, max_tokens=4)
    return {"chunks": chunks, "running_while_streaming": busy, "freed_after_s": freed,
            "next_request_text": after.choices[0].text}


def errors(key):
    def call(path, body, token=key, raw=None):
        data = raw if raw is not None else json.dumps(body).encode()
        request = urllib.request.Request(BASE + path, data=data, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  **({"Authorization": "Bearer " + token} if token else {})})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        except (ConnectionError, urllib.error.URLError) as error:
            return {"status": -1, "error": repr(error)}
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = None
        error = parsed.get("error") if isinstance(parsed, dict) else None
        return {"status": status, "type": error.get("type") if isinstance(error, dict) else None,
                "message": error.get("message") if isinstance(error, dict) else None}

    hello = [{"role": "user", "content": "hi"}]
    cases = {
        "wrong_model": call("/chat/completions", {"model": "no-such-model", "messages": hello}),
        "negative_max_tokens": call("/chat/completions", {"model": "default", "messages": hello, "max_tokens": -5}),
        "huge_body": call("/chat/completions", None, raw=b'{"model": "default", "prompt": "' + b"a" * (10 << 20) + b'"}'),
        "invalid_json": call("/chat/completions", None, raw=b'{"model": "default", "messages": ['),
        "missing_token": call("/chat/completions", {"model": "default", "messages": hello}, token=None),
        "wrong_token": call("/chat/completions", {"model": "default", "messages": hello}, token=key + "x"),
        "bad_role": call("/chat/completions", {"model": "default", "messages": [{"role": "robot", "content": "hi"}]}),
        "good": call("/chat/completions", {"model": "default", "messages": hello, "max_tokens": 4, "temperature": 0}),
    }
    return cases


def address():
    host_port = ROOT.split("://", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    return host, int(port)


def read_until_closed(sock, limit):
    """Everything the server sends until it closes the connection (or `limit` seconds pass)."""
    sock.settimeout(limit)
    data = b""
    started = time.time()
    try:
        while time.time() - started < limit:
            chunk = sock.recv(65536)
            if not chunk:
                return data, True
            data += chunk
    except (socket.timeout, ConnectionError):
        pass
    return data, False


def raw(idle):
    """Requests no ordinary client sends: a body announced far past the limit, headers that
    never finish, and HTTP/1.0."""
    result = {}
    # 100 GB announced, 5 bytes sent: the answer must come at once.
    started = time.time()
    sock = socket.create_connection(address())
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 107374182400\r\n\r\n{\"a\":")
    data, closed = read_until_closed(sock, 10)
    sock.close()
    result["huge_status_line"] = data.split(b"\r\n", 1)[0].decode(errors="replace")
    result["huge_seconds"] = round(time.time() - started, 2)
    result["huge_closed"] = closed
    # Headers that never finish: closed after the idle timeout.
    partial = [socket.create_connection(address()) for _ in range(20)]
    for sock in partial:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
    time.sleep(idle + 3)
    closed_count = 0
    for sock in partial:
        _, closed = read_until_closed(sock, 1)
        closed_count += closed
        sock.close()
    result["partial_closed"] = closed_count
    # HTTP/1.0: an answer in HTTP/1.0, and the connection closed after it.
    sock = socket.create_connection(address())
    sock.sendall(b"GET /v1/models HTTP/1.0\r\n\r\n")
    data, closed = read_until_closed(sock, 10)
    sock.close()
    result["http10_status_line"] = data.split(b"\r\n", 1)[0].decode(errors="replace")
    result["http10_closed"] = closed
    result["http10_chunked"] = b"transfer-encoding: chunked" in data.lower()
    return result


def flood(count):
    """More connections than the server has descriptors for, held open with partial headers,
    then let go: the server must still answer the next request."""
    held, refused = [], 0
    for _ in range(count):
        try:
            sock = socket.create_connection(address(), timeout=5)
            sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n")
            held.append(sock)
        except OSError:
            refused += 1
    time.sleep(2)
    for sock in held:
        sock.close()
    time.sleep(1)
    with urllib.request.urlopen(BASE + "/models", timeout=30) as response:
        status = response.status
    return {"held": len(held), "refused": refused, "status_after": status}


def browser(run_id):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(ROOT + "/")
        row = f'tr[data-run="{run_id}"] .progress'
        first = driver.find_element(By.CSS_SELECTOR, row).text
        seen = [first]
        deadline = time.time() + 120
        while time.time() < deadline and seen[-1] == first:
            time.sleep(0.5)
            seen.append(driver.find_element(By.CSS_SELECTOR, row).text)
        live = driver.find_element(By.ID, "live").text
        updates = driver.find_element(By.TAG_NAME, "body").get_attribute("data-updates")
        loaded_at = driver.execute_script("return performance.timeOrigin")
        driver.find_element(By.LINK_TEXT, run_id).click()
        reloaded = driver.execute_script("return performance.timeOrigin") != loaded_at
        return {"first": first, "last": seen[-1], "live": live, "updates": updates, "title": driver.title,
                "navigated_by_click": reloaded,
                "report_has_transcripts": "Transcripts" in driver.page_source}
    finally:
        driver.quit()


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "greedy":
        result = greedy(sys.argv[3])
    elif command == "crowd":
        result = crowd(int(sys.argv[3]))
    elif command == "disconnect":
        result = disconnect()
    elif command == "errors":
        result = errors(sys.argv[3])
    elif command == "browser":
        result = browser(sys.argv[3])
    elif command == "raw":
        result = raw(float(sys.argv[3]))
    elif command == "flood":
        result = flood(int(sys.argv[3]))
    else:
        sys.exit(f"unknown command {command}")
    print(json.dumps(result))
