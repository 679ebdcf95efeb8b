#!/usr/bin/env python3
"""An Anthropic Messages API upstream for the gateway's tests (stdlib only).

Serves POST /v1/messages (JSON, or SSE with `stream: true`),
POST /v1/messages/count_tokens and GET /v1/models in Anthropic's wire format
(docs.anthropic.com: Messages, Streaming Messages, Token counting, Errors; the
shapes were checked against @anthropic-ai/sdk's types, which parse them in
tests/integration/test_mocks.py). Requests must carry a key (`x-api-key`, or
`Authorization: Bearer` as @anthropic-ai/sdk 1.x sends it) and
`anthropic-version`. Replies are derived deterministically from the request
(see README.md). Behaviours are picked by a model suffix
("claude-sonnet-4-5@529", "claude-x@thinking,cache-read-7") or the
X-Mock-Behaviour header, as in openai_mock.py.

Every request is recorded; GET /__mock/requests lists them, DELETE clears.

CLI:    python3 anthropic_mock.py --port 0 --keys k1,k2   (first stdout line: port)
Import: port, stop = start(keys=["k1"])
Test:   python3 anthropic_mock.py --selftest
"""
import base64
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openai_mock  # noqa: E402
from openai_mock import Behaviour, pieces_of, words  # noqa: E402
from mockutil import http_call, read_recorded  # noqa: E402

# HTTP status -> Anthropic error type (docs.anthropic.com/en/api/errors)
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large",
               429: "rate_limit_error", 500: "api_error", 504: "timeout_error", 529: "overloaded_error"}
ERROR_MESSAGES = {401: "invalid x-api-key", 403: "Your API key does not have permission to use the specified resource.",
                  404: "The requested resource could not be found.", 413: "Request exceeds the maximum allowed number of bytes.",
                  429: "This request would exceed the rate limit for your organization of 50 input tokens per minute.",
                  500: "Internal server error", 529: "Overloaded"}
MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-3-5-haiku-20241022")


def error_body(status, message=None, etype=None):
    etype = etype or ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")
    return {"type": "error", "error": {"type": etype, "message": message or ERROR_MESSAGES.get(status, "mock status %d" % status)},
            "request_id": "req_mock%08d" % (status * 1000 + len(etype))}


def num(b, prefix):
    """The N of a "prefix-N" behaviour, or None."""
    for f in b.flags:
        if f.startswith(prefix + "-") and f[len(prefix) + 1:].isdigit():
            return int(f[len(prefix) + 1:])
    return None


def block_text(block):
    if not isinstance(block, dict):
        return ""
    t = block.get("type")
    if t == "text":
        return block.get("text", "") if isinstance(block.get("text"), str) else ""
    if t == "tool_result":
        return content_text(block.get("content"))
    if t == "tool_use":
        return json.dumps(block.get("input"))
    if t == "thinking":
        return block.get("thinking", "") if isinstance(block.get("thinking"), str) else ""
    return ""


def content_text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(block_text(b) for b in content)
    return ""


def prompt_tokens(req):
    """System words, plus 1 per message and its words (deterministic, not BPE)."""
    n = len(words(content_text(req.get("system"))))
    for m in req.get("messages") if isinstance(req.get("messages"), list) else []:
        if isinstance(m, dict):
            n += 1 + len(words(content_text(m.get("content"))))
    return n


def signature_of(text):
    return "EqMock" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


class Handler(openai_mock.Handler):
    server_version = "anthropic-mock/1"

    def send_error_json(self, status, message=None, etype=None, extra=None):
        h = {"request-id": "req_mock%08d" % self.st.next_id()}
        h.update(extra or {})
        self.send_json(status, error_body(status, message, etype), h)

    def do_GET(self):
        if self.get_answered(self.key_ok):
            return
        if self.path.split("?")[0] == "/v1/models":
            data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                    for m in MODELS]
            return self.send_json(200, {"data": data, "has_more": False,
                                        "first_id": MODELS[0], "last_id": MODELS[-1]})
        self.send_error_json(404, "Not found: GET %s" % self.path.split("?")[0])

    def key_ok(self):
        # x-api-key (API version 2023-06-01 clients, Claude Code) or, as
        # @anthropic-ai/sdk 1.x sends the key, Authorization: Bearer.
        auth = self.headers.get("Authorization", "")
        key = self.headers.get("x-api-key") or (auth[7:] if auth.startswith("Bearer ") else "")
        if not key:
            self.send_error_json(401, "x-api-key header is required")
            return False
        if self.st.keys and key not in self.st.keys:
            self.send_error_json(401, "invalid x-api-key")
            return False
        return True

    def do_POST(self):
        body = read_recorded(self, lambda e: self.send_error_json(413))
        if body is None:
            return
        path = self.path.split("?")[0]
        route = {"/v1/messages": "messages", "/v1/messages/count_tokens": "count"}.get(path)
        if route is None:
            return self.send_error_json(404, "Not found: POST %s" % path)
        if not self.key_ok():
            return
        if not self.headers.get("anthropic-version"):
            return self.send_error_json(400, "anthropic-version: header is required")
        try:
            req = json.loads(body) if body else None
        except ValueError:
            req = None
        if not isinstance(req, dict):
            return self.send_error_json(400, "There was an error parsing the body of your request: invalid JSON")
        model = req.get("model")
        if not isinstance(model, str) or not model:
            return self.send_error_json(400, "model: Field required")
        if not isinstance(req.get("messages"), list):
            return self.send_error_json(400, "messages: Field required")
        if route == "messages" and not isinstance(req.get("max_tokens"), int):
            return self.send_error_json(400, "max_tokens: Field required")
        base, _, spec = model.partition("@")
        b = Behaviour(spec + "," + self.headers.get("X-Mock-Behaviour", ""))
        if b.status:
            extra = {"retry-after": "1"} if b.status == 429 else None
            return self.send_error_json(b.status, extra=extra)
        if route == "count":
            return self.send_json(200, {"input_tokens": prompt_tokens(req)})
        self.do_messages(req, base, b)

    # ---- the answer ----
    def usage(self, req, b, output):
        prompt = prompt_tokens(req)
        read = num(b, "cache-read")
        if read is None:
            read = prompt // 2 if b.has("cached") else 0
        w5 = num(b, "cache-5m") or 0
        w1 = num(b, "cache-1h") or 0
        return {"input_tokens": prompt, "cache_creation_input_tokens": w5 + w1,
                "cache_read_input_tokens": read,
                "cache_creation": {"ephemeral_5m_input_tokens": w5, "ephemeral_1h_input_tokens": w1},
                "output_tokens": output, "service_tier": "standard"}

    def plan(self, req, b):
        """The content blocks of the reply, the stop reason and sequence, and the output tokens."""
        msgs = req["messages"]
        last = next((m for m in reversed(msgs) if isinstance(m, dict) and m.get("role") == "user"), {})
        content = last.get("content")
        results = [c for c in content if isinstance(c, dict) and c.get("type") == "tool_result"] \
            if isinstance(content, list) else []
        last_text = content_text(content)
        blocks, out = [], 0
        thinking = req.get("thinking")
        if b.has("thinking") or (isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")):
            t = "Thinking about: " + (last_text or "(nothing)")
            blocks.append({"type": "thinking", "thinking": t, "signature": signature_of(t)})
            out += len(words(t))
        tools = req.get("tools") if isinstance(req.get("tools"), list) else []
        choice = req.get("tool_choice") if isinstance(req.get("tool_choice"), dict) else {}
        if tools and not results and choice.get("type") != "none" and isinstance(tools[0], dict):
            name = choice.get("name") if choice.get("type") == "tool" else tools[0].get("name", "tool")
            if b.has("tool-text"):
                blocks.append({"type": "text", "text": "Let me check."})
                out += 3
            inp = {"input": last_text}
            blocks.append({"type": "tool_use", "id": "toolu_mock%06d" % self.st.next_id(),
                           "name": name, "input": inp})
            return blocks, "tool_use", None, out + len(words(json.dumps(inp))) + 1
        if b.long_n:
            pieces = ["w%d " % i for i in range(b.long_n)]
        elif results:
            pieces = pieces_of("Tool said: " + " ".join(content_text(r.get("content")) for r in results))
        else:
            pieces = pieces_of("Mock reply to: " + (last_text or "(nothing)"))
        stop, seq = "end_turn", None
        stops = req.get("stop_sequences") if isinstance(req.get("stop_sequences"), list) else []
        for i, p in enumerate(pieces):
            if p.strip() in stops:
                pieces, stop, seq = pieces[:i], "stop_sequence", p.strip()
                break
        limit = req["max_tokens"]
        if 0 < limit < out + len(pieces):
            pieces, stop = pieces[:max(limit - out, 0)], "max_tokens"
        blocks.append({"type": "text", "text": "".join(pieces), "_pieces": pieces})
        return blocks, stop, seq, out + len(pieces)

    def do_messages(self, req, model, b):
        blocks, stop, seq, out = self.plan(req, b)
        mid = "msg_mock%06d" % self.st.next_id()
        rid = {"request-id": "req_mock%08d" % self.st.next_id()}
        if not req.get("stream") and not b.has("sse"):
            content = [{k: v for k, v in bl.items() if k != "_pieces"} for bl in blocks]
            return self.send_json(200, {"id": mid, "type": "message", "role": "assistant", "model": model,
                                        "content": content, "stop_reason": stop, "stop_sequence": seq,
                                        "usage": self.usage(req, b, out)}, rid)
        u = self.usage(req, b, out)
        start_usage = dict(u, output_tokens=1)
        events = [("message_start", {"type": "message_start", "message": {
            "id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": start_usage}})]
        for i, bl in enumerate(blocks):
            t = bl["type"]
            if t == "text":
                events.append(("content_block_start", {"type": "content_block_start", "index": i,
                                                       "content_block": {"type": "text", "text": ""}}))
                for p in bl.get("_pieces") or [bl["text"]]:
                    events.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                                           "delta": {"type": "text_delta", "text": p}}))
            elif t == "thinking":
                events.append(("content_block_start", {"type": "content_block_start", "index": i,
                                                       "content_block": {"type": "thinking", "thinking": "", "signature": ""}}))
                for p in pieces_of(bl["thinking"]):
                    events.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                                           "delta": {"type": "thinking_delta", "thinking": p}}))
                events.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                                       "delta": {"type": "signature_delta", "signature": bl["signature"]}}))
            else:
                events.append(("content_block_start", {"type": "content_block_start", "index": i, "content_block": {
                    "type": "tool_use", "id": bl["id"], "name": bl["name"], "input": {}}}))
                a = json.dumps(bl["input"])
                for part in ("", a[:len(a) // 2], a[len(a) // 2:]):
                    events.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                                           "delta": {"type": "input_json_delta", "partial_json": part}}))
            events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
            if i == 0:
                events.insert(2, ("ping", {"type": "ping"}))
        delta = {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": seq}}
        if b.has("delta-output-only"):
            delta["usage"] = {"output_tokens": out}
        elif not b.has("no-usage"):
            delta["usage"] = {k: u[k] for k in ("input_tokens", "cache_creation_input_tokens",
                                                "cache_read_input_tokens", "output_tokens")}
        events.append(("message_delta", delta))
        events.append(("message_stop", {"type": "message_stop"}))
        err_at = num(b, "error-at")
        if err_at is not None or b.has("overloaded-mid"):
            events = events[:err_at if err_at is not None else 3]
            events.append(("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
        self.send_events(events, b, rid)

    def send_events(self, events, b, extra):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()

        def enc(name, obj):
            return b"event: " + name.encode() + b"\ndata: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"

        if b.has("burst"):
            self.chunk(b"".join(enc(n, o) for n, o in events))
            return self.end_stream()
        try:
            for i, (name, obj) in enumerate(events):
                if b.has("stall") and i == b.stall_after:
                    return self.stall()
                if b.has("slow") and i:
                    time.sleep(b.delay_ms / 1000.0)
                self.chunk(enc(name, obj))
            self.end_stream()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def start(keys=None, port=0, host="127.0.0.1"):
    """Starts the mock in a background thread; returns (port, stop)."""
    return openai_mock.start(keys, port, host, handler=Handler)


# ---- self-test ----

def _selftest():
    port, stop = start(keys=["ak1"])
    base = "http://127.0.0.1:%d" % port

    def call(path, body=None, key="ak1", version="2023-06-01", method=None, headers=None):
        h = {"x-api-key": key} if key else {}
        if version:
            h["anthropic-version"] = version
        h.update(headers or {})
        return http_call(base, path, body, method, h)

    def sse(text):
        out, name = [], None
        for line in text.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                d = json.loads(line[6:])
                assert d["type"] == name, (name, d)
                out.append(d)
        return out

    msgs = [{"role": "user", "content": "hello there"}]
    req = {"model": "claude-sonnet-4-5", "max_tokens": 100, "system": "be nice", "messages": msgs}
    s, t, h = call("/v1/messages", req)
    j = json.loads(t)
    assert s == 200 and j["type"] == "message" and j["content"][0]["text"] == "Mock reply to: hello there", t
    assert j["usage"]["input_tokens"] == 5 and j["usage"]["output_tokens"] == 5 and j["stop_reason"] == "end_turn", t
    assert h["request-id"].startswith("req_")
    s, t, _ = call("/v1/messages", dict(req, stream=True, model="claude-x@cache-read-7,cache-5m-3,cache-1h-2"))
    ev = sse(t)
    assert [e["type"] for e in ev[:3]] == ["message_start", "content_block_start", "ping"], ev
    u0 = ev[0]["message"]["usage"]
    assert (u0["cache_read_input_tokens"], u0["cache_creation"]["ephemeral_5m_input_tokens"],
            u0["cache_creation"]["ephemeral_1h_input_tokens"], u0["cache_creation_input_tokens"]) == (7, 3, 2, 5), u0
    assert ev[-2]["usage"]["output_tokens"] == 5 and ev[-2]["delta"]["stop_reason"] == "end_turn" and ev[-1]["type"] == "message_stop"
    assert "".join(e["delta"]["text"] for e in ev if e["type"] == "content_block_delta") == "Mock reply to: hello there"
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    s, t, _ = call("/v1/messages", dict(req, stream=True, tools=tools, thinking={"type": "enabled", "budget_tokens": 1024}))
    ev = sse(t)
    deltas = [e["delta"]["type"] for e in ev if e["type"] == "content_block_delta"]
    assert "thinking_delta" in deltas and "signature_delta" in deltas and "input_json_delta" in deltas, deltas
    args = "".join(e["delta"].get("partial_json", "") for e in ev if e["type"] == "content_block_delta")
    assert json.loads(args) == {"input": "hello there"} and ev[-2]["delta"]["stop_reason"] == "tool_use"
    s, t, _ = call("/v1/messages", dict(req, messages=msgs + [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]}], tools=tools))
    assert json.loads(t)["content"][0]["text"] == "Tool said: sunny", t
    s, t, _ = call("/v1/messages", dict(req, max_tokens=2))
    assert json.loads(t)["stop_reason"] == "max_tokens" and json.loads(t)["usage"]["output_tokens"] == 2
    s, t, _ = call("/v1/messages/count_tokens", {"model": "claude-x", "messages": msgs, "system": "be nice"})
    assert s == 200 and json.loads(t) == {"input_tokens": 5}, t
    for st_, ty in ((400, "invalid_request_error"), (401, "authentication_error"), (403, "permission_error"),
                    (429, "rate_limit_error"), (500, "api_error"), (529, "overloaded_error")):
        s, t, h = call("/v1/messages", dict(req, model="claude-x@%d" % st_))
        j = json.loads(t)
        assert s == st_ and j["type"] == "error" and j["error"]["type"] == ty, (st_, t)
    s, t, _ = call("/v1/messages", req, key="wrong")
    assert s == 401 and json.loads(t)["error"]["type"] == "authentication_error"
    s, t, _ = call("/v1/messages", req, version=None)
    assert s == 400 and "anthropic-version" in json.loads(t)["error"]["message"]
    s, t, _ = call("/v1/messages", dict(req, stream=True, model="claude-x@overloaded-mid"))
    assert sse(t)[-1] == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, t
    s, t, _ = call("/v1/models")
    assert s == 200 and json.loads(t)["data"][0]["type"] == "model"
    s, t, _ = call("/__mock/requests", key=None)
    rec = json.loads(t)
    assert rec[0]["path"] == "/v1/messages" and ["anthropic-version", "2023-06-01"] in [[k.lower(), v] for k, v in rec[0]["headers"]]
    stop()
    print("anthropic_mock selftest: OK")


if __name__ == "__main__":
    openai_mock.main(__doc__, start, _selftest)
