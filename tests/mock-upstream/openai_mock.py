#!/usr/bin/env python3
"""A faithful-enough OpenAI upstream for the gateway's tests (stdlib only).

Serves POST /v1/chat/completions, /v1/completions, /v1/embeddings,
/v1/moderations and GET /v1/models over HTTP/1.1 with keep-alive (streams are
chunked), plus the Azure deployment paths and the /v1-less paths some
providers use. Replies are derived deterministically from the request (see
README.md). Behaviours are picked by a model suffix ("gpt-4o@429",
"gpt-4o@slow,no-usage") or the X-Mock-Behaviour header.

Every request is recorded; GET /__mock/requests lists them, DELETE clears.

CLI:    python3 openai_mock.py --port 0 --keys k1,k2   (first stdout line: port)
Import: port, stop = start(keys=["k1"])
Test:   python3 openai_mock.py --selftest
"""
import argparse
import base64
import hashlib
import json
import os
import signal
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mockutil import http_call, read_recorded  # noqa: E402
from mockutil import pieces_of, text_of, words  # noqa: E402,F401  (re-exported for the other mocks)

MAX_RECORDED = 2000
MAX_BODY = 16 << 20
MAX_STALL_S = 120.0
DEFAULT_DELAY_MS = 100

ERRORS = {
    401: ("Incorrect API key provided: {key}. You can find your API key at "
          "https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key"),
    429: ("Rate limit reached for {model} in organization org-mock on requests per min (RPM): "
          "Limit 3, Used 3, Requested 1. Please try again in 20s.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!",
          "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


def error_body(status, message=None, etype="invalid_request_error", code=None, param=None, **fmt):
    if message is None:
        message, etype, code = ERRORS[status]
        message = message.format(**fmt)
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


def prompt_tokens_chat(messages):
    """1 per message plus its whitespace-separated words (deterministic, not BPE)."""
    n = 0
    for m in messages if isinstance(messages, list) else []:
        if isinstance(m, dict):
            n += 1 + len(words(text_of(m.get("content"))))
    return n


class Behaviour:
    def __init__(self, spec):
        self.flags = set()
        self.long_n = 0
        self.status = 0
        self.delay_ms = DEFAULT_DELAY_MS
        self.stall_after = 2
        self.utf8err = 0
        for item in filter(None, (s.strip() for s in spec.split(","))):
            if item.isdigit():
                self.status = int(item)
            elif item.startswith("long-") and item[5:].isdigit():
                self.long_n = int(item[5:])
            elif item.startswith("delay-") and item[6:].isdigit():
                self.delay_ms = int(item[6:])
                self.flags.add("slow")
            elif item.startswith("utf8err-") and item[8:].isdigit():
                self.utf8err = int(item[8:])
                self.flags.add("utf8err")
            elif item.startswith("stall-") and item[6:].isdigit():
                self.stall_after = int(item[6:])
                self.flags.add("stall")
            else:
                self.flags.add(item)

    def has(self, f):
        return f in self.flags


class MockState:
    def __init__(self, keys):
        self.keys = set(keys or [])
        self.lock = threading.Lock()
        self.requests = []
        self.counter = 0
        self.responses = {}   # id -> what /v1/responses served (openai_responses.py)
        self.stopping = threading.Event()

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)
            del self.requests[:-MAX_RECORDED]

    def next_id(self):
        with self.lock:
            self.counter += 1
            return self.counter


from openai_responses import ResponsesMixin  # noqa: E402


class Handler(ResponsesMixin, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "openai-mock/1"

    def log_message(self, fmt, *args):   # quiet
        pass

    @property
    def st(self):
        return self.server.mock

    # ---- plumbing ----
    def send_json(self, status, obj, extra=None):
        data = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def event(self, obj):
        self.chunk(b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj, separators=(",", ":")).encode()) + b"\n\n")

    def named_event(self, name, obj):
        """One SSE event with an `event:` line (Anthropic, Responses)."""
        self.chunk(b"event: " + name.encode() + b"\ndata: " +
                   json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
                if len(out) > MAX_BODY:
                    raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def record(self, body):
        text = body.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        path, _, query = self.path.partition("?")
        self.st.record({"method": self.command, "path": self.path, "route": path,
                        "query": {k: v[-1] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()},
                        "headers": [[k, v] for k, v in self.headers.items()],
                        "body": text, "json": parsed, "time": time.time()})

    # ---- verbs ----
    def get_answered(self, key_ok):
        """What every mock's GET does first: /__mock/requests answered, the
        request recorded, the key checked (key_ok answers a refusal).
        True when the request is answered."""
        if self.path == "/__mock/requests":
            with self.st.lock:
                self.send_json(200, list(self.st.requests))
            return True
        self.record(b"")
        return not key_ok()

    def do_GET(self):
        if self.get_answered(self.authorised):
            return
        op = self.responses_route("GET")
        if op:
            return self.responses_other(op)
        if self.path.split("?")[0] in ("/v1/models", "/models"):
            now = int(time.time())
            return self.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": now, "owned_by": "system"}
                for m in ("gpt-4o", "gpt-4o-mini", "gpt-3.5-turbo-instruct",
                          "text-embedding-3-small", "omni-moderation-latest")]})
        self.send_json(404, error_body(404, "Invalid URL (GET %s)" % self.path, code=None))

    def do_DELETE(self):
        if self.path == "/__mock/requests":
            with self.st.lock:
                self.st.requests.clear()
            return self.send_json(200, {"ok": True})
        self.record(b"")
        if not self.authorised():
            return
        op = self.responses_route("DELETE")
        if op:
            return self.responses_other(op)
        self.send_json(404, error_body(404, "Invalid URL (DELETE %s)" % self.path))

    def do_POST(self):
        body = read_recorded(self, lambda e: self.send_json(413, error_body(413, str(e))))
        if body is None:
            return
        if self.responses_route("POST") == "cancel":
            if self.authorised():
                self.responses_other("cancel")
            return
        route = self.route()
        if route is None:
            return self.send_json(404, error_body(404, "Invalid URL (POST %s)" % self.path))
        try:
            req = json.loads(body) if body else None
        except ValueError:
            req = None
        if not isinstance(req, dict):
            return self.send_json(400, error_body(
                400, "We could not parse the JSON body of your request. (HINT: This likely means "
                "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                "payload, but what was sent was not valid JSON.)"))
        model = req.get("model") or self.azure_deployment or ""
        if not isinstance(model, str) or not model:
            return self.send_json(400, error_body(400, "you must provide a model parameter"))
        base, _, spec = model.partition("@")
        b = Behaviour(spec + "," + self.headers.get("X-Mock-Behaviour", ""))
        if not self.authorised(b, base):
            return
        if b.has("utf8err"):  # a long message of 3-byte characters, N ASCII bytes first
            msg = "x" * b.utf8err + "\u20ac" * 400
            return self.send_json(503, error_body(503, msg, "server_error"))
        if b.has("html"):  # a 200 that is no API answer at all (a captive portal, a proxy)
            data = b"<html><body>Welcome to the proxy</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if b.has("sse"):  # answers a non-stream call with a stream
            req["stream"] = True
        if b.status:
            if b.status == 429:
                return self.send_json(429, error_body(429, model=base), {"Retry-After": "1"})
            return self.send_json(b.status, error_body(b.status) if b.status in ERRORS
                                  else error_body(b.status, "mock status %d" % b.status, "server_error"))
        getattr(self, "do_" + route)(req, base, b)

    def route(self):
        p = self.path.split("?")[0]
        self.azure_deployment = None
        if p.startswith("/openai/deployments/"):
            rest = p[len("/openai/deployments/"):]
            self.azure_deployment, _, p = rest.partition("/")
            p = "/" + p
        if p.startswith("/v1/"):
            p = p[3:]
        elif p.startswith("/beta/"):
            p = p[5:]
        return {"/chat/completions": "chat", "/completions": "completions",
                "/embeddings": "embeddings", "/moderations": "moderations",
                "/responses": "responses"}.get(p)

    def authorised(self, b=None, model=""):
        auth = self.headers.get("Authorization", "")
        key = auth[7:] if auth.startswith("Bearer ") else self.headers.get("api-key", "")
        if (b is not None and b.status == 401) or (self.st.keys and key not in self.st.keys):
            masked = (key[:3] + "*" * 5 + key[-4:]) if len(key) > 8 else (key or "''")
            if b is not None and b.status == 401:
                b.status = 0
            self.send_json(401, error_body(401, key=masked))
            return False
        return True

    # ---- endpoints ----
    def usage(self, prompt, completion, b):
        if b.has("huge-usage"):  # a provider reporting absurd counts
            prompt = completion = 10 ** 18
        cached = prompt // 2 if b.has("cached") else 0
        if b.has("usage-huge"):  # a broken upstream: counts past any sum
            return {"prompt_tokens": 2**63 - 1, "completion_tokens": completion, "total_tokens": 0}
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0,
                                              "rejected_prediction_tokens": 0}}

    def reply_pieces(self, req, b, prompt_text, tool_said=None):
        if b.long_n:
            return ["w%d " % i for i in range(b.long_n)]
        if tool_said is not None:
            pieces = pieces_of("Tool said: " + tool_said)
        else:
            pieces = pieces_of("Mock reply to: " + (prompt_text or "(nothing)"))
        limit = req.get("max_completion_tokens") or req.get("max_tokens")
        if isinstance(limit, int) and 0 < limit < len(pieces):
            return pieces[:limit], "length"
        return pieces

    def do_chat(self, req, model, b):
        msgs = req.get("messages") if isinstance(req.get("messages"), list) else []
        last_user = next((text_of(m.get("content")) for m in reversed(msgs)
                          if isinstance(m, dict) and m.get("role") == "user"), "")
        prompt = prompt_tokens_chat(msgs)
        results = []   # the tool results that end the conversation, if any
        for m in reversed(msgs):
            if not (isinstance(m, dict) and m.get("role") == "tool"):
                break
            results.insert(0, text_of(m.get("content")))
        got = self.reply_pieces(req, b, last_user, " ".join(results) if results else None)
        pieces, finish = (got if isinstance(got, tuple) else (got, "stop"))
        tools = req.get("tools") if isinstance(req.get("tools"), list) else []
        tool = None
        if tools and not results and req.get("tool_choice") != "none" and isinstance(tools[0], dict):
            fn = (tools[0].get("function") or {}).get("name", "tool")
            tool = {"id": "call_mock%04d" % self.st.next_id(), "name": fn,
                    "arguments": json.dumps({"input": last_user})}
            finish = "tool_calls"
        cid = "chatcmpl-mock%06d" % self.st.next_id()
        created = int(time.time())
        if tool:
            completion = len(words(tool["arguments"])) + 1
        else:
            completion = len(pieces)
        if not req.get("stream"):
            message = {"role": "assistant", "content": None if tool else "".join(pieces),
                       "refusal": None, "annotations": []}
            if tool:
                message["tool_calls"] = [{"id": tool["id"], "type": "function",
                                          "function": {"name": tool["name"], "arguments": tool["arguments"]}}]
            return self.send_json(200, {
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": self.usage(prompt, completion, b),
                "service_tier": "default", "system_fingerprint": "fp_mock"})
        so = req.get("stream_options")
        include = isinstance(so, dict) and so.get("include_usage") is True and not b.has("no-usage")

        def chunk(delta, fin=None):
            c = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                 "service_tier": "default", "system_fingerprint": "fp_mock",
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": fin}]}
            if include:
                c["usage"] = None
            return c

        events = [chunk({"role": "assistant", "content": "" if not tool else None, "refusal": None})]
        if tool:
            events.append(chunk({"tool_calls": [{"index": 0, "id": tool["id"], "type": "function",
                                                 "function": {"name": tool["name"], "arguments": ""}}]}))
            a = tool["arguments"]
            for part in (a[:len(a) // 2], a[len(a) // 2:]):
                events.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}))
        else:
            events += [chunk({"content": p}) for p in pieces]
        events.append(chunk({}, finish))
        usage_chunk = None
        if include:
            usage_chunk = {"id": cid, "object": "chat.completion.chunk", "created": created,
                           "model": model, "service_tier": "default", "system_fingerprint": "fp_mock",
                           "choices": [], "usage": self.usage(prompt, completion, b)}
        self.stream(events, usage_chunk, b)

    def stream(self, events, usage_chunk, b):
        self.start_stream()
        if b.has("burst"):  # every event in one chunk, as a provider's buffered burst
            blob = b"".join(b"data: " + json.dumps(ev, separators=(",", ":")).encode() + b"\n\n"
                            for ev in events + ([usage_chunk] if usage_chunk else []))
            self.chunk(blob + b"data: [DONE]\n\n")
            self.end_stream()
            return
        try:
            for i, ev in enumerate(events):
                if b.has("stall") and i == b.stall_after:
                    self.stall()
                    return
                if b.has("slow") and i:
                    time.sleep(b.delay_ms / 1000.0)
                self.event(ev)
            if usage_chunk is not None:
                self.event(usage_chunk)
            self.event(b"[DONE]")
            self.end_stream()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def stall(self):
        """Keeps the socket open without sending, until the peer leaves, the
        server stops or MAX_STALL_S passes; then drops the connection."""
        self.close_connection = True
        deadline = time.time() + MAX_STALL_S
        self.connection.settimeout(0.2)
        while time.time() < deadline and not self.st.stopping.is_set():
            try:
                if self.connection.recv(1) == b"":
                    return
            except OSError as e:
                if "timed out" not in str(e):
                    return

    def do_completions(self, req, model, b):
        prompt = req.get("prompt", "")
        text = prompt if isinstance(prompt, str) else " ".join(p for p in prompt if isinstance(p, str))
        got = self.reply_pieces(req, b, text)
        pieces, finish = (got if isinstance(got, tuple) else (got, "stop"))
        pt = len(words(text))
        cid = "cmpl-mock%06d" % self.st.next_id()
        created = int(time.time())

        def obj(t, fin, usage=None):
            o = {"id": cid, "object": "text_completion", "created": created, "model": model,
                 "choices": [{"text": t, "index": 0, "logprobs": None, "finish_reason": fin}]}
            if usage is not None:
                o["usage"] = usage
            return o

        if not req.get("stream"):
            return self.send_json(200, obj("".join(pieces), finish, self.usage(pt, len(pieces), b)))
        so = req.get("stream_options")
        include = isinstance(so, dict) and so.get("include_usage") is True and not b.has("no-usage")
        events = [obj(p, None) for p in pieces] + [obj("", finish)]
        usage_chunk = None
        if include:
            usage_chunk = {"id": cid, "object": "text_completion", "created": created, "model": model,
                           "choices": [], "usage": self.usage(pt, len(pieces), b)}
        self.stream(events, usage_chunk, b)

    def do_embeddings(self, req, model, b):
        inp = req.get("input", "")
        items = [inp] if isinstance(inp, str) else list(inp) if isinstance(inp, list) else []
        dims = req.get("dimensions") if isinstance(req.get("dimensions"), int) else 8
        dims = max(1, min(dims, 4096))
        data, pt = [], 0
        for i, item in enumerate(items):
            t = item if isinstance(item, str) else json.dumps(item)
            pt += len(words(t)) if isinstance(item, str) else len(item) if isinstance(item, list) else 1
            seed = hashlib.sha256(t.encode()).digest()
            vec = [round((seed[j % 32] - 128) / 128.0, 6) for j in range(dims)]
            if req.get("encoding_format") == "base64":
                emb = base64.b64encode(struct.pack("<%df" % dims, *vec)).decode()
            else:
                emb = vec
            data.append({"object": "embedding", "index": i, "embedding": emb})
        self.send_json(200, {"object": "list", "data": data, "model": model,
                             "usage": {"prompt_tokens": pt, "total_tokens": pt}})

    def do_moderations(self, req, model, b):
        inp = req.get("input", "")
        items = [inp] if isinstance(inp, str) else list(inp) if isinstance(inp, list) else []
        cats = ("harassment", "hate", "self-harm", "sexual", "violence")
        results = []
        for item in items:
            t = item if isinstance(item, str) else json.dumps(item)
            bad = "kill" in t.lower()
            results.append({"flagged": bad,
                            "categories": {c: bad and c == "violence" for c in cats},
                            "category_scores": {c: (0.99 if bad and c == "violence" else 0.0001) for c in cats}})
        self.send_json(200, {"id": "modr-mock%06d" % self.st.next_id(), "model": model, "results": results})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def start(keys=None, port=0, host="127.0.0.1", handler=None, state=None):
    """Starts the mock in a background thread; returns (port, stop)."""
    srv = Server((host, port), handler or Handler)
    srv.mock = (state or MockState)(keys)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()

    def stop():
        srv.mock.stopping.set()
        srv.shutdown()
        srv.server_close()
        t.join(5)

    return srv.server_address[1], stop


# ---- self-test ----

def _selftest():
    import urllib.request
    import urllib.error
    import socket

    port, stop = start(keys=["k1", "k2"])
    base = "http://127.0.0.1:%d" % port

    def call(path, body=None, key="k1", method=None, headers=None):
        h = {"Authorization": "Bearer " + key} if key else {}
        h.update(headers or {})
        return http_call(base, path, body, method, h)

    def sse(text):
        return [l[6:] for l in text.split("\n") if l.startswith("data: ")]

    msgs = [{"role": "system", "content": "be nice"}, {"role": "user", "content": "hello there"}]
    s, t, _ = call("/v1/chat/completions", {"model": "gpt-4o", "messages": msgs})
    j = json.loads(t)
    assert s == 200 and j["object"] == "chat.completion", t
    assert j["choices"][0]["message"]["content"] == "Mock reply to: hello there", t
    assert j["usage"] == {**j["usage"], "prompt_tokens": 6, "completion_tokens": 5, "total_tokens": 11}, t
    assert j["usage"]["prompt_tokens_details"]["cached_tokens"] == 0

    s, t, h = call("/v1/chat/completions", {"model": "gpt-4o", "messages": msgs, "stream": True,
                                            "stream_options": {"include_usage": True}})
    ev = sse(t)
    assert s == 200 and h["Content-Type"].startswith("text/event-stream") and ev[-1] == "[DONE]", t
    chunks = [json.loads(e) for e in ev[:-1]]
    assert all("usage" in c for c in chunks) and chunks[-1]["choices"] == [], t
    assert chunks[-1]["usage"]["completion_tokens"] == 5
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1]) == \
        "Mock reply to: hello there"

    s, t, _ = call("/v1/chat/completions", {"model": "gpt-4o@no-usage,cached", "messages": msgs, "stream": True,
                                            "stream_options": {"include_usage": True}})
    assert all(json.loads(e)["choices"] for e in sse(t)[:-1]), t
    s, t, _ = call("/v1/chat/completions", {"model": "gpt-4o", "messages": msgs, "stream": True})
    assert all("usage" not in json.loads(e) for e in sse(t)[:-1]), t

    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    s, t, _ = call("/v1/chat/completions", {"model": "gpt-4o", "messages": msgs, "tools": tools})
    j = json.loads(t)
    tc = j["choices"][0]["message"]["tool_calls"][0]
    assert j["choices"][0]["finish_reason"] == "tool_calls" and tc["function"]["name"] == "get_weather"
    assert json.loads(tc["function"]["arguments"]) == {"input": "hello there"}
    s, t, _ = call("/v1/chat/completions", {"model": "gpt-4o", "tools": tools, "messages": msgs + [
        {"role": "assistant", "content": None, "tool_calls": [tc]}, {"role": "tool", "tool_call_id": tc["id"], "content": "sunny"}]})
    assert json.loads(t)["choices"][0]["message"]["content"] == "Tool said: sunny", t
    s, t, _ = call("/v1/chat/completions", {"model": "gpt-4o", "messages": msgs, "tools": tools, "stream": True})
    args = "".join(tcall["function"].get("arguments", "")
                   for e in sse(t)[:-1] for ch in json.loads(e)["choices"]
                   for tcall in ch["delta"].get("tool_calls", []))
    assert json.loads(args) == {"input": "hello there"}, t

    s, t, _ = call("/v1/chat/completions", {"model": "gpt-4o@long-500", "messages": msgs, "stream": True})
    assert len(sse(t)) == 500 + 3, len(sse(t))
    s, t, _ = call("/v1/chat/completions", {"model": "gpt-4o", "messages": msgs, "max_tokens": 2})
    j = json.loads(t)
    assert j["choices"][0]["finish_reason"] == "length" and j["usage"]["completion_tokens"] == 2

    for st_, code in ((401, "invalid_api_key"), (429, "rate_limit_exceeded"), (500, None), (502, None), (503, None)):
        s, t, h = call("/v1/chat/completions", {"model": "gpt-4o@%d" % st_, "messages": msgs})
        assert s == st_ and json.loads(t)["error"]["code"] == code, (st_, t)
        if st_ == 429:
            assert h.get("Retry-After") == "1"
    s, t, _ = call("/v1/chat/completions", {"model": "gpt-4o", "messages": msgs}, key="bad-key-123456")
    assert s == 401 and json.loads(t)["error"]["type"] == "invalid_request_error", t
    s, t, _ = call("/v1/chat/completions", {"model": "gpt-4o", "messages": msgs},
                   headers={"X-Mock-Behaviour": "503"})
    assert s == 503, t

    t0 = time.time()
    s, t, _ = call("/v1/chat/completions", {"model": "gpt-4o@delay-50", "messages": msgs, "stream": True})
    assert time.time() - t0 >= 0.05 * 6, time.time() - t0

    # A stalling stream: headers and two events arrive, then nothing.
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    body = json.dumps({"model": "gpt-4o@stall", "messages": msgs, "stream": True}).encode()
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k2\r\n"
                 b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    got = b""
    try:
        while True:
            part = sock.recv(65536)
            if not part:
                break
            got += part
    except socket.timeout:
        pass
    sock.close()
    assert got.count(b"data: ") == 2 and b"[DONE]" not in got, got

    s, t, _ = call("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "Say hi", "stream": True,
                                       "stream_options": {"include_usage": True}})
    ev = sse(t)
    assert "".join(json.loads(e)["choices"][0]["text"] for e in ev[:-2]) == "Mock reply to: Say hi", t
    assert json.loads(ev[-2])["usage"]["prompt_tokens"] == 2
    s, t, _ = call("/v1/embeddings", {"model": "text-embedding-3-small", "input": ["a b", "c"], "dimensions": 4})
    j = json.loads(t)
    assert len(j["data"]) == 2 and len(j["data"][0]["embedding"]) == 4 and j["usage"]["prompt_tokens"] == 3
    s, t, _ = call("/v1/embeddings", {"model": "e", "input": "x", "encoding_format": "base64"})
    assert isinstance(json.loads(t)["data"][0]["embedding"], str)
    s, t, _ = call("/v1/moderations", {"model": "omni-moderation-latest", "input": "I will kill it"})
    assert json.loads(t)["results"][0]["flagged"] is True
    s, t, _ = call("/v1/models")
    assert s == 200 and json.loads(t)["object"] == "list"
    s, t, _ = call("/openai/deployments/gpt-4o/chat/completions?api-version=2025-04-01-preview",
                   {"messages": msgs}, key=None, headers={"api-key": "k1"})
    assert s == 200 and json.loads(t)["model"] == "gpt-4o", t
    s, t, _ = call("/v1/nope", {"model": "x"})
    assert s == 404
    req = urllib.request.Request(base + "/v1/chat/completions", data=b"{bad", method="POST",
                                 headers={"Authorization": "Bearer k1"})
    try:
        urllib.request.urlopen(req, timeout=5)
        raise AssertionError("broken JSON accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 400

    import openai_responses
    openai_responses.selftest(call)

    s, t, _ = call("/__mock/requests", key=None)
    rec = json.loads(t)
    assert any(r["json"] and r["json"].get("model") == "gpt-4o@stall" for r in rec)
    first = rec[0]
    assert first["method"] == "POST" and first["path"] == "/v1/chat/completions"
    assert ["Authorization", "Bearer k1"] in first["headers"]
    s, t, _ = call("/__mock/requests", key=None, method="DELETE")
    s, t, _ = call("/__mock/requests", key=None)
    assert json.loads(t) == []

    # Keep-alive: two requests on one connection, the first a stream.
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for stream in (True, False):
        c.request("POST", "/v1/chat/completions", json.dumps({"model": "gpt-4o", "messages": msgs, "stream": stream}),
                  {"Authorization": "Bearer k1", "Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        assert r.status == 200
    c.close()
    stop()
    print("openai_mock selftest: OK")


def main(doc=__doc__, start_fn=None, selftest=None):
    """The command line of every mock: --port, --keys, --max-seconds, --selftest."""
    start_fn = start_fn or start
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--keys", default="", help="comma-separated allowed keys (empty: any key)")
    ap.add_argument("--max-seconds", type=float, default=3600.0, help="exit after this long")
    ap.add_argument("--selftest", action="store_true")
    a = ap.parse_args()
    if a.selftest:
        (selftest or _selftest)()
        return
    port, stop = start_fn([k for k in a.keys.split(",") if k], a.port, a.host)
    print(port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    def watch_stdin():   # the parent closing our stdin means "stop"
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait(a.max_seconds)
    stop()
    os._exit(0)


if __name__ == "__main__":
    main()
