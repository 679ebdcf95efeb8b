#!/usr/bin/env python3
"""A Gemini API (generativelanguage) upstream for the gateway's tests (stdlib only).

Serves, under /v1beta and /v1:
  POST /models/{model}:generateContent
  POST /models/{model}:streamGenerateContent   (?alt=sse: SSE "data: {...}\\r\\n\\r\\n";
                                                 without alt: one JSON array, streamed)
  POST /models/{model}:countTokens, :embedContent, :batchEmbedContents
  GET  /models
in the wire format of ai.google.dev/api (GenerateContentResponse with
candidates/content/parts, thought parts and thoughtSignature, functionCall,
usageMetadata with thoughtsTokenCount and cachedContentTokenCount; errors as
{"error": {"code", "message", "status"}}); @google/genai parses its answers in
tests/integration/test_mocks.py. Authentication: `x-goog-api-key` or `?key=`.
Replies are deterministic (README.md). Behaviours: a model suffix
("gemini-2.5-flash@429", URL-encoded "%40" also works) or X-Mock-Behaviour.

Every request is recorded; GET /__mock/requests lists them, DELETE clears.

CLI:    python3 gemini_mock.py --port 0 --keys k1,k2   (first stdout line: port)
Import: port, stop = start(keys=["k1"])
Test:   python3 gemini_mock.py --selftest
"""
import base64
import hashlib
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openai_mock  # noqa: E402
from openai_mock import Behaviour, pieces_of, words  # noqa: E402
from anthropic_mock import num  # noqa: E402
from mockutil import http_call, read_recorded  # noqa: E402

STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL",
          501: "NOT_IMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
MESSAGES = {429: "You exceeded your current quota, please check your plan and billing details.",
            500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
            503: "The model is overloaded. Please try again later.",
            403: "Method doesn't allow unregistered callers (callers without established identity). "
                 "Please use API Key or other form of API consumer identity to call this API."}
MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-embedding-001", "text-embedding-004")


def error_body(code, message=None, details=None):
    e = {"code": code, "message": message or MESSAGES.get(code, "mock status %d" % code),
         "status": STATUS.get(code, "UNKNOWN")}
    if details:
        e["details"] = details
    return {"error": e}


def g(obj, camel, snake=None):
    """A field by its camelCase name or its snake_case one (the API takes both)."""
    if not isinstance(obj, dict):
        return None
    v = obj.get(camel)
    if v is None and snake:
        v = obj.get(snake)
    return v


def part_text(p):
    if not isinstance(p, dict):
        return ""
    if isinstance(p.get("text"), str):
        return p["text"]
    fc = g(p, "functionCall", "function_call")
    if isinstance(fc, dict):
        return json.dumps(fc.get("args"))
    fr = g(p, "functionResponse", "function_response")
    if isinstance(fr, dict):
        return json.dumps(fr.get("response"))
    return ""


def content_text(c):
    parts = c.get("parts") if isinstance(c, dict) else None
    return " ".join(part_text(p) for p in parts) if isinstance(parts, list) else ""


def prompt_tokens(req):
    n = len(words(content_text(g(req, "systemInstruction", "system_instruction"))))
    for c in req.get("contents") if isinstance(req.get("contents"), list) else []:
        if isinstance(c, dict):
            n += 1 + len(words(content_text(c)))
    return n


def vector(text, dims):
    seed = hashlib.sha256(text.encode()).digest()
    return [round((seed[j % 32] - 128) / 128.0, 6) for j in range(dims)]


class Handler(openai_mock.Handler):
    server_version = "gemini-mock/1"

    def do_GET(self):
        if self.get_answered(self.key_ok):
            return
        p = self.path.split("?")[0]
        if p in ("/v1beta/models", "/v1/models"):
            return self.send_json(200, {"models": [
                {"name": "models/" + m, "version": "001", "displayName": m,
                 "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
                 "supportedGenerationMethods": ["embedContent", "batchEmbedContents"] if "embedding" in m
                 else ["generateContent", "countTokens"]} for m in MODELS]})
        self.send_json(404, error_body(404, "Method not found."))

    def key_ok(self):
        q = urllib.parse.parse_qs(self.path.partition("?")[2])
        key = self.headers.get("x-goog-api-key") or (q.get("key") or [""])[-1]
        if not key:
            self.send_json(403, error_body(403))
            return False
        if self.st.keys and key not in self.st.keys:
            self.send_json(400, error_body(400, "API key not valid. Please pass a valid API key.", [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                 "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}]))
            return False
        return True

    def do_POST(self):
        body = read_recorded(self, lambda e: self.send_json(
            413, error_body(400, "Request payload size exceeds the limit.")))
        if body is None:
            return
        path, _, query = self.path.partition("?")
        self.query = urllib.parse.parse_qs(query)
        ver, _, rest = path.lstrip("/").partition("/")
        if ver not in ("v1beta", "v1") or not rest.startswith("models/") or ":" not in rest:
            return self.send_json(404, error_body(404, "The requested URL %s was not found on this server." % path))
        model, _, method = urllib.parse.unquote(rest[len("models/"):]).rpartition(":")
        handler = {"generateContent": "generate", "streamGenerateContent": "stream",
                   "countTokens": "count", "embedContent": "embed",
                   "batchEmbedContents": "batch_embed"}.get(method)
        if handler is None or not model:
            return self.send_json(404, error_body(404, "Method not found."))
        if not self.key_ok():
            return
        try:
            req = json.loads(body) if body else None
        except ValueError:
            req = None
        if not isinstance(req, dict):
            return self.send_json(400, error_body(400, "Invalid JSON payload received. Unexpected token."))
        base, _, spec = model.partition("@")
        b = Behaviour(spec + "," + self.headers.get("X-Mock-Behaviour", ""))
        if b.status:
            return self.send_json(b.status, error_body(b.status))
        getattr(self, "do_" + handler)(req, base, b)

    # ---- generate ----
    def plan(self, req, model, b):
        """(parts, finishReason, candidate tokens, thought tokens)"""
        contents = req.get("contents") if isinstance(req.get("contents"), list) else []
        last = next((c for c in reversed(contents) if isinstance(c, dict) and c.get("role", "user") == "user"), {})
        parts = last.get("parts") if isinstance(last.get("parts"), list) else []
        responses = [g(p, "functionResponse", "function_response") for p in parts]
        responses = [r for r in responses if isinstance(r, dict)]
        last_text = " ".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))
        cfg = g(req, "generationConfig", "generation_config") or {}
        tcfg = g(cfg, "thinkingConfig", "thinking_config") or {}
        out, thoughts, sig = [], num(b, "thoughts") or 0, None
        if b.has("thinking") or g(tcfg, "includeThoughts", "include_thoughts") is True:
            t = "Thinking about: " + (last_text or "(nothing)")
            out.append({"text": t, "thought": True})
            thoughts += len(words(t))
            sig = base64.b64encode(hashlib.sha256(t.encode()).digest()).decode()
        tools = req.get("tools") if isinstance(req.get("tools"), list) else []
        decls = [d for t in tools for d in (g(t, "functionDeclarations", "function_declarations") or [])
                 if isinstance(d, dict)]
        fcc = g(g(req, "toolConfig", "tool_config"), "functionCallingConfig", "function_calling_config") or {}
        if decls and not responses and fcc.get("mode") != "NONE":
            allowed = g(fcc, "allowedFunctionNames", "allowed_function_names")
            name = allowed[0] if isinstance(allowed, list) and allowed else decls[0].get("name", "tool")
            args = {"input": last_text}
            p = {"functionCall": {"name": name, "args": args}}
            if sig:
                p["thoughtSignature"] = sig
            out.append(p)
            return out, "STOP", len(words(json.dumps(args))) + 1, thoughts
        if b.long_n:
            pieces = ["w%d " % i for i in range(b.long_n)]
        elif responses:
            pieces = pieces_of("Tool said: " + " ".join(json.dumps(r.get("response")) for r in responses))
        else:
            pieces = pieces_of("Mock reply to: " + (last_text or "(nothing)"))
        finish = "STOP"
        limit = g(cfg, "maxOutputTokens", "max_output_tokens")
        if isinstance(limit, int) and 0 < limit < len(pieces):
            pieces, finish = pieces[:limit], "MAX_TOKENS"
        for i, piece in enumerate(pieces):
            p = {"text": piece, "_piece": True}
            if sig and i == 0:
                p["thoughtSignature"] = sig
            out.append(p)
        return out, finish, len(pieces), thoughts

    def usage(self, req, b, cand, thoughts):
        prompt = prompt_tokens(req)
        cached = num(b, "cache-read")
        if cached is None:
            cached = prompt // 2 if b.has("cached") else 0
        u = {"promptTokenCount": prompt, "candidatesTokenCount": cand,
             "totalTokenCount": prompt + cand + thoughts,
             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
        if thoughts:
            u["thoughtsTokenCount"] = thoughts
        if cached:
            u["cachedContentTokenCount"] = cached
            u["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
        return u

    def response(self, model, parts, finish, usage, rid):
        r = {"candidates": [{"content": {"parts": parts, "role": "model"}, "index": 0}],
             "modelVersion": model, "responseId": rid}
        if finish:
            r["candidates"][0]["finishReason"] = finish
        if usage is not None:
            r["usageMetadata"] = usage
        return r

    def merged(self, parts):
        """The parts of a whole answer: the text pieces joined into one part."""
        out = []
        for p in parts:
            if p.get("_piece") and out and out[-1].get("_piece"):
                out[-1] = dict(out[-1], text=out[-1]["text"] + p["text"])
            else:
                out.append(dict(p))
        return [{k: v for k, v in p.items() if k != "_piece"} for p in out]

    def do_generate(self, req, model, b):
        rid = "mockresp%06d" % self.st.next_id()
        if b.has("blocked"):
            return self.send_json(200, {"promptFeedback": {"blockReason": "SAFETY"},
                                        "usageMetadata": self.usage(req, b, 0, 0), "modelVersion": model,
                                        "responseId": rid})
        parts, finish, cand, thoughts = self.plan(req, model, b)
        usage = None if b.has("no-usage") else self.usage(req, b, cand, thoughts)
        self.send_json(200, self.response(model, self.merged(parts), finish, usage, rid))

    def do_stream(self, req, model, b):
        rid = "mockresp%06d" % self.st.next_id()
        parts, finish, cand, thoughts = self.plan(req, model, b)
        chunks, sent = [], 0
        for i, p in enumerate(parts):
            last = i == len(parts) - 1
            if p.get("_piece"):
                sent += 1
            elif "functionCall" in p:
                sent = cand
            u = None if b.has("no-usage") else self.usage(req, b, sent, thoughts)
            clean = {k: v for k, v in p.items() if k != "_piece"}
            chunks.append(self.response(model, [clean], finish if last else None, u, rid))
        sse = (self.query.get("alt") or [""])[-1] == "sse"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if sse else "application/json; charset=UTF-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def enc(i, c):
            data = json.dumps(c, separators=(",", ":")).encode()
            if sse:
                return b"data: " + data + b"\r\n\r\n"
            return (b"[" if i == 0 else b"\n,\r\n") + data

        tail = b"" if sse else (b"]" if chunks else b"[]")
        if b.has("burst"):
            self.chunk(b"".join(enc(i, c) for i, c in enumerate(chunks)) + tail)
            return self.end_stream()
        try:
            for i, c in enumerate(chunks):
                if b.has("stall") and i == b.stall_after:
                    return self.stall()
                if b.has("slow") and i:
                    time.sleep(b.delay_ms / 1000.0)
                self.chunk(enc(i, c))
            if tail:
                self.chunk(tail)
            self.end_stream()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_count(self, req, model, b):
        inner = g(req, "generateContentRequest", "generate_content_request")
        n = prompt_tokens(inner if isinstance(inner, dict) else req)
        self.send_json(200, {"totalTokens": n, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": n}]})

    def embed_one(self, r, model):
        content = r.get("content") if isinstance(r, dict) else None
        if not isinstance(content, dict):
            return None
        dims = g(r, "outputDimensionality", "output_dimensionality")
        dims = max(1, min(dims if isinstance(dims, int) else 8, 3072))
        return {"values": vector(content_text(content), dims)}

    def do_embed(self, req, model, b):
        e = self.embed_one(req, model)
        if e is None:
            return self.send_json(400, error_body(400, "* EmbedContentRequest.content: contents is not specified\n"))
        self.send_json(200, {"embedding": e})

    def do_batch_embed(self, req, model, b):
        reqs = req.get("requests")
        if not isinstance(reqs, list) or not reqs:
            return self.send_json(400, error_body(400, "* BatchEmbedContentsRequest.requests: requests is not specified\n"))
        out = []
        for i, r in enumerate(reqs):
            m = r.get("model") if isinstance(r, dict) else None
            if m is not None and m != "models/" + model:
                return self.send_json(400, error_body(400, "Model names should match: %s != models/%s" % (m, model)))
            e = self.embed_one(r, model)
            if e is None:
                return self.send_json(400, error_body(400, "* BatchEmbedContentsRequest.requests[%d].content: "
                                                          "contents is not specified\n" % i))
            out.append(e)
        self.send_json(200, {"embeddings": out})


def start(keys=None, port=0, host="127.0.0.1"):
    """Starts the mock in a background thread; returns (port, stop)."""
    return openai_mock.start(keys, port, host, handler=Handler)


# ---- self-test ----

def _selftest():
    port, stop = start(keys=["gk1"])
    base = "http://127.0.0.1:%d" % port

    def call(path, body=None, key="gk1", method=None, qkey=False):
        if qkey:
            path += ("&" if "?" in path else "?") + "key=" + key
        return http_call(base, path, body, method, {"x-goog-api-key": key} if key and not qkey else {})

    req = {"systemInstruction": {"parts": [{"text": "be nice"}]},
           "contents": [{"role": "user", "parts": [{"text": "hello there"}]}]}
    s, t, _ = call("/v1beta/models/gemini-2.5-flash:generateContent", req)
    j = json.loads(t)
    assert s == 200 and j["candidates"][0]["content"]["parts"] == [{"text": "Mock reply to: hello there"}], t
    u = j["usageMetadata"]
    assert (u["promptTokenCount"], u["candidatesTokenCount"], u["totalTokenCount"]) == (5, 5, 10), u
    assert j["candidates"][0]["finishReason"] == "STOP"
    s, t, _ = call("/v1/models/gemini-2.5-flash:generateContent", req, qkey=True)
    assert s == 200, t
    think = dict(req, generationConfig={"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 512}})
    s, t, _ = call("/v1beta/models/gemini-2.5-flash@cache-read-2:streamGenerateContent?alt=sse", think)
    assert "\r\n\r\n" in t, t
    ev = [json.loads(x[6:]) for x in t.split("\r\n\r\n") if x.startswith("data: ")]
    assert ev[0]["candidates"][0]["content"]["parts"][0]["thought"] is True
    assert "thoughtSignature" in ev[1]["candidates"][0]["content"]["parts"][0]
    fin = ev[-1]
    assert fin["candidates"][0]["finishReason"] == "STOP" and fin["usageMetadata"]["thoughtsTokenCount"] == 4, fin
    assert fin["usageMetadata"]["cachedContentTokenCount"] == 2 and fin["usageMetadata"]["candidatesTokenCount"] == 5
    s, t, _ = call("/v1beta/models/gemini-2.5-flash:streamGenerateContent", req)
    arr = json.loads(t)
    assert t.startswith("[") and "\n,\r\n" in t and len(arr) == 5, t
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in arr) == "Mock reply to: hello there"
    tools = [{"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "OBJECT"}}]}]
    s, t, _ = call("/v1beta/models/gemini-2.5-flash:generateContent", dict(req, tools=tools))
    fc = json.loads(t)["candidates"][0]["content"]["parts"][0]["functionCall"]
    assert fc == {"name": "get_weather", "args": {"input": "hello there"}}, t
    s, t, _ = call("/v1beta/models/gemini-2.5-flash:generateContent", dict(req, tools=tools, contents=req["contents"] + [
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"t": "sunny"}}}]}]))
    assert json.loads(t)["candidates"][0]["content"]["parts"][0]["text"] == 'Tool said: {"t": "sunny"}', t
    s, t, _ = call("/v1beta/models/gemini-2.5-flash:countTokens", {"contents": req["contents"]})
    assert json.loads(t)["totalTokens"] == 3, t
    s, t, _ = call("/v1beta/models/gemini-embedding-001:embedContent",
                   {"content": {"parts": [{"text": "a b"}]}, "outputDimensionality": 4})
    assert len(json.loads(t)["embedding"]["values"]) == 4, t
    s, t, _ = call("/v1beta/models/gemini-embedding-001:batchEmbedContents", {"requests": [
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a"}]}},
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]}}]})
    assert len(json.loads(t)["embeddings"]) == 2, t
    for st_, status in ((400, "INVALID_ARGUMENT"), (429, "RESOURCE_EXHAUSTED"), (500, "INTERNAL"), (503, "UNAVAILABLE")):
        s, t, _ = call("/v1beta/models/gemini-2.5-flash@%d:generateContent" % st_, req)
        assert s == st_ and json.loads(t)["error"]["status"] == status, (st_, t)
    s, t, _ = call("/v1beta/models/gemini-2.5-flash:generateContent", req, key="bad")
    assert s == 400 and json.loads(t)["error"]["details"][0]["reason"] == "API_KEY_INVALID", t
    s, t, _ = call("/v1beta/models/gemini-2.5-flash:generateContent", req, key=None)
    assert s == 403 and json.loads(t)["error"]["status"] == "PERMISSION_DENIED", t
    s, t, _ = call("/v1beta/models")
    assert s == 200 and json.loads(t)["models"][0]["name"].startswith("models/")
    s, t, _ = call("/__mock/requests", key=None)
    rec = json.loads(t)
    assert rec[1]["query"] == {"key": "gk1"} and rec[1]["route"] == "/v1/models/gemini-2.5-flash:generateContent", rec[1]
    stop()
    print("gemini_mock selftest: OK")


if __name__ == "__main__":
    openai_mock.main(__doc__, start, _selftest)
