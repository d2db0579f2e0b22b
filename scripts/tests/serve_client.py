"""Real clients against `welfare serve`, for the Swift tests (ServeTests): the official
`openai` package, plain HTTP, and a headless Chromium driven by Selenium. Each subcommand
prints one JSON object on stdout for the test to check.

  serve_client.py greedy BASE_URL PROMPT
  serve_client.py crowd BASE_URL COUNT
  serve_client.py disconnect BASE_URL
  serve_client.py errors BASE_URL KEY
  serve_client.py browser ROOT_URL RUN_ID
"""
import concurrent.futures
import json
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
    else:
        sys.exit(f"unknown command {command}")
    print(json.dumps(result))
