#!/usr/bin/env python3
"""The Gemini format end to end (issue 11): real HTTP requests to the real
gateway, the Gemini mock (tests/mock-upstream/gemini_mock.py) and the OpenAI
mock behind it.

- A Gemini client on a Gemini channel (type 24, the same-format path):
  generateContent, streamGenerateContent with ?alt=sse and as the default
  JSON array, function calls; the body reaches the upstream untouched, the
  channel key travels in x-goog-api-key and never in the URL, the client's
  key is accepted as x-goog-api-key and as ?key=; countTokens is free.
- A Gemini client on an OpenAI channel, and an OpenAI chat client on a
  Gemini channel, streamed and not: converted both ways; thought tokens are
  billed as completion; the charge is exact (computed from what the mock
  received and its documented deterministic replies).
- Embeddings both ways: /v1/embeddings to a Gemini embedding model, and a
  Gemini client's :embedContent / :batchEmbedContents to an OpenAI channel.
- Errors reach a Gemini client in Gemini's shape ({"error": {code, message,
  status}}) with the right status."""
import json
import os
import sys
import time
from decimal import ROUND_HALF_UP, Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import case, main, request, wait_for, Gateway  # noqa: E402
from relayfix import (add_channel, add_token, openai_mock, root_pat, sql,  # noqa: E402
                      user_quota, wait_routable)
from relayfix import set_option as _set_option  # noqa: E402
import gemini_mock  # noqa: E402  (relayfix put tests/mock-upstream on the path)
from openai_mock import pieces_of, words  # noqa: E402

S = {}
MODELS = {  # client model -> (channel, upstream model)
    "g-flash": ("ge", "gemini-2.5-flash"),
    "g-cache": ("ge", "gemini-2.5-flash@cached"),
    "g-429": ("ge", "gemini-2.5-flash@429"),
    "g-embed": ("ge", "gemini-embedding-001"),
    "oa-model": ("oa", "gpt-4o"),
    "oa-embed": ("oa", "text-embedding-3-small"),
}
RATIO, COMPLETION, CACHE_R = Decimal(1), Decimal(2), Decimal("0.25")


def set_option(g, pat, key, value):
    _set_option(g, pat, key, value)
    time.sleep(0.6)  # options reach every worker through the config version


def setup():
    if S:
        return S
    gport, gstop = gemini_mock.start(keys=["gk-1"])
    oport, ostop = openai_mock.start(keys=["ok-1"])
    g = Gateway(workers=2).start()
    pat = root_pat(g)
    names = list(MODELS)
    set_option(g, pat, "ModelRatio", json.dumps({n: 1 for n in names}))
    set_option(g, pat, "CompletionRatio", json.dumps({n: 2 for n in names}))
    set_option(g, pat, "CacheRatio", json.dumps({n: 0.25 for n in names}))
    for ch, port, key, typ in (("ge", gport, "gk-1", 24), ("oa", oport, "ok-1", 1)):
        mp = {k: v[1] for k, v in MODELS.items() if v[0] == ch}
        add_channel(g, pat, ch, f"http://127.0.0.1:{port}", key, ",".join(mp), type_=typ,
                    extra={"model_mapping": json.dumps(mp)})
    tid, key = add_token(g, pat, "t-gem", remain_quota=50_000_000)
    uid = sql(g, "SELECT id FROM users WHERE username = 'root'")[0][0]
    for m in names:
        wait_routable(g, key, m)
    S.update(g=g, pat=pat, gport=gport, oport=oport, gstop=gstop, ostop=ostop, tid=tid, key=key,
             uid=uid)
    return S


# ---- helpers -------------------------------------------------------------------------------

def text(b):
    return b.decode() if isinstance(b, bytes) else b


def sse_data(body):
    """The data of each SSE event, parsed when JSON."""
    out = []
    for block in text(body).replace("\r\n", "\n").split("\n\n"):
        data = [ln[5:].lstrip(" ") for ln in block.split("\n") if ln.startswith("data:")]
        if data:
            d = "\n".join(data)
            try:
                out.append(json.loads(d))
            except ValueError:
                out.append(d)
    return out


def gemini(model, action, body, key=None, query="", header_key=True, version="v1beta"):
    h = {"Content-Type": "application/json"}
    k = key or S["key"]
    path = f"/{version}/models/{model}:{action}"
    if header_key:
        h["x-goog-api-key"] = k
    else:
        query = "key=" + k + ("&" + query if query else "")
    if query:
        path += "?" + query
    return request("POST", S["g"].port, path, body=body, headers=h, timeout=60)


def openai(path, body):
    return request("POST", S["g"].port, path, body=body,
                   headers={"Authorization": "Bearer " + S["key"]}, timeout=60)


def upstream(port, route_prefix=""):
    st, _, b = request("GET", port, "/__mock/requests")
    return [r for r in json.loads(b) if r["route"].startswith(route_prefix) and r["method"] == "POST"]


def clear(port):
    request("DELETE", port, "/__mock/requests")


def hdr(rec, name):
    return next((v for k, v in rec["headers"] if k.lower() == name), None)


def log_count():
    """The id of the newest log row (the mark a call's row comes after)."""
    return sql(S["g"], "SELECT COALESCE(MAX(id), 0) FROM logs")[0][0]


def last_log(mark, model):
    """The consume row of the call for `model` made after `mark`: (quota, prompt,
    completion). Rows land asynchronously, and a refusal before may land late,
    so the row is picked by model."""
    q = ("SELECT quota, prompt_tokens, completion_tokens FROM logs WHERE type = 2 AND token_id = ? "
         "AND id > ? AND model_name = ? ORDER BY id DESC LIMIT 1")
    return wait_for(lambda: (sql(S["g"], q, S["tid"], mark, model) or [None])[0], 20, 0.1,
                    what=f"the log row of the {model} call")


def steady_quota():
    """The user's quota once earlier calls have settled (two reads 0.5 s apart agree)."""
    def same():
        a = user_quota(S["g"], S["uid"])
        time.sleep(0.5)
        return (a,) if user_quota(S["g"], S["uid"]) == a else None
    return wait_for(same, 20, 0, what="earlier settlements")[0]


def charge(prompt, completion, cached=0):
    q = (Decimal(prompt - cached) + Decimal(cached) * CACHE_R + Decimal(completion) * COMPLETION) * RATIO
    return int(q.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def billed_exactly(rows, quota, want, prompt, completion, model):
    got = last_log(rows, model)
    assert tuple(got) == (want, prompt, completion), (got, (want, prompt, completion))
    wait_for(lambda: quota - user_quota(S["g"], S["uid"]) == want, 10, 0.1,
             what=f"the user charged {want}")


def mock_usage(up_json, thinking=False, tools=False):
    """What the Gemini mock reports for the request it received (its README):
    prompt = words of the system text + per content 1 + its words; thoughts
    = words of "Thinking about: <last user text>"; candidates = the reply's
    pieces (a function call: words of its JSON args + 1)."""
    prompt = gemini_mock.prompt_tokens(up_json)
    last = next(c for c in reversed(up_json["contents"]) if c.get("role", "user") == "user")
    last_text = " ".join(p["text"] for p in last["parts"] if isinstance(p.get("text"), str))
    thoughts = len(words("Thinking about: " + (last_text or "(nothing)"))) if thinking else 0
    if tools:
        cand = len(words(json.dumps({"input": last_text}))) + 1
    else:
        cand = len(pieces_of("Mock reply to: " + (last_text or "(nothing)")))
    return prompt, cand, thoughts


BODY = {"contents": [{"role": "user", "parts": [{"text": "tell me about tides"}]}],
        "generationConfig": {"temperature": 0.5, "thinkingConfig": {"includeThoughts": True}},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "someFutureField": {"kept": True}}


# ---- the same-format path ------------------------------------------------------------------

@case
def gemini_generate_through_a_gemini_channel_goes_up_untouched_and_is_billed_exactly():
    setup()
    clear(S["gport"])
    rows, quota = log_count(), user_quota(S["g"], S["uid"])
    st, h, b = gemini("g-flash", "generateContent", BODY)
    assert st == 200, (st, b[:500])
    j = json.loads(b)
    parts = j["candidates"][0]["content"]["parts"]
    assert parts[0]["thought"] is True and "thoughtSignature" in parts[1], parts
    assert j["responseId"].startswith("mockresp"), j  # the upstream's body, forwarded
    ups = upstream(S["gport"])
    assert len(ups) == 1, ups
    up = ups[0]
    assert up["route"] == "/v1beta/models/gemini-2.5-flash:generateContent", up["path"]
    assert up["query"] == {}, up["path"]  # never the key in the URL
    assert hdr(up, "x-goog-api-key") == "gk-1", up["headers"]
    assert up["json"] == BODY, up["json"]
    p, c, t = mock_usage(up["json"], thinking=True)
    u = j["usageMetadata"]
    assert (u["promptTokenCount"], u["candidatesTokenCount"], u["thoughtsTokenCount"]) == (p, c, t), u
    billed_exactly(rows, quota, charge(p, c + t), p, c + t, "g-flash")


@case
def gemini_stream_sse_with_the_key_in_the_query():
    setup()
    clear(S["gport"])
    rows, quota = log_count(), user_quota(S["g"], S["uid"])
    st, h, b = gemini("g-cache", "streamGenerateContent", BODY, query="alt=sse", header_key=False)
    assert st == 200, (st, b[:500])
    assert h.get("content-type", "").startswith("text/event-stream"), h
    chunks = sse_data(b)
    assert all(isinstance(c, dict) and "candidates" in c for c in chunks), chunks
    assert chunks[0]["candidates"][0]["content"]["parts"][0]["thought"] is True, chunks[0]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP", chunks[-1]
    up = upstream(S["gport"])[0]
    # the model is one URL path segment: "@" goes up escaped
    assert up["route"] == "/v1beta/models/gemini-2.5-flash%40cached:streamGenerateContent", up["path"]
    assert up["query"] == {"alt": "sse"}, up["path"]  # the client's ?key= stays here
    assert hdr(up, "x-goog-api-key") == "gk-1" and up["json"] == BODY, up
    p, c, t = mock_usage(up["json"], thinking=True)
    cached = p // 2
    u = chunks[-1]["usageMetadata"]
    assert (u["promptTokenCount"], u["candidatesTokenCount"], u["thoughtsTokenCount"],
            u["cachedContentTokenCount"]) == (p, c, t, cached), u
    billed_exactly(rows, quota, charge(p, c + t, cached), p, c + t, "g-cache")


@case
def gemini_stream_default_is_a_json_array():
    setup()
    clear(S["gport"])
    rows, quota = log_count(), user_quota(S["g"], S["uid"])
    st, h, b = gemini("g-flash", "streamGenerateContent", BODY)
    assert st == 200, (st, b[:500])
    arr = json.loads(b)
    assert isinstance(arr, list) and len(arr) >= 3, b[:300]
    text_out = "".join(p.get("text", "") for c in arr for p in c["candidates"][0]["content"]["parts"]
                       if not p.get("thought"))
    assert text_out == "Mock reply to: tell me about tides", text_out
    up = upstream(S["gport"])[0]
    assert up["query"] == {"alt": "sse"}, up["path"]  # the gateway always reads SSE upstream
    p, c, t = mock_usage(up["json"], thinking=True)
    billed_exactly(rows, quota, charge(p, c + t), p, c + t, "g-flash")


TOOLS = [{"functionDeclarations": [{"name": "get_tide", "description": "Tide times",
                                    "parameters": {"type": "OBJECT",
                                                   "properties": {"input": {"type": "STRING"}}}}]}]


@case
def gemini_function_call_and_response_round_trip():
    setup()
    clear(S["gport"])
    body = {"contents": [{"role": "user", "parts": [{"text": "tides in Brest"}]}], "tools": TOOLS}
    st, h, b = gemini("g-flash", "generateContent", body)
    assert st == 200, (st, b[:500])
    fc = json.loads(b)["candidates"][0]["content"]["parts"][0]["functionCall"]
    assert fc == {"name": "get_tide", "args": {"input": "tides in Brest"}}, fc
    body2 = dict(body, contents=body["contents"] + [
        {"role": "model", "parts": [{"functionCall": fc}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_tide", "response": {"high": "06:10"}}}]}])
    st, h, b = gemini("g-flash", "generateContent", body2)
    assert st == 200, (st, b[:500])
    txt = json.loads(b)["candidates"][0]["content"]["parts"][0]["text"]
    assert txt.startswith("Tool said:") and "06:10" in txt, txt
    assert upstream(S["gport"])[-1]["json"] == body2


@case
def count_tokens_is_forwarded_and_free():
    setup()
    clear(S["gport"])
    quota = steady_quota()
    last_id = sql(S["g"], "SELECT COALESCE(MAX(id), 0) FROM logs")[0][0]
    body = {"contents": [{"role": "user", "parts": [{"text": "count these four words"}]}]}
    st, h, b = gemini("g-flash", "countTokens", body, version="v1")
    assert st == 200, (st, b[:300])
    assert json.loads(b)["totalTokens"] == 1 + 4, b
    up = upstream(S["gport"])
    assert len(up) == 1 and up[0]["route"].endswith("/models/gemini-2.5-flash:countTokens"), up
    assert up[0]["json"] == body and hdr(up[0], "x-goog-api-key") == "gk-1"
    time.sleep(1)  # a charge would have settled by now
    assert user_quota(S["g"], S["uid"]) == quota
    assert sql(S["g"], "SELECT COALESCE(SUM(quota), 0) FROM logs WHERE type = 2 AND token_id = ? "
                       "AND id > ?", S["tid"], last_id)[0][0] == 0


# ---- conversion: Gemini client -> OpenAI channel ---------------------------------------------

@case
def gemini_client_on_an_openai_channel():
    setup()
    clear(S["oport"])
    rows, quota = log_count(), user_quota(S["g"], S["uid"])
    body = {"systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [{"role": "user", "parts": [{"text": "hello there"}]}],
            "generationConfig": {"maxOutputTokens": 50, "temperature": 0.1}}
    st, h, b = gemini("oa-model", "generateContent", body)
    assert st == 200, (st, b[:500])
    j = json.loads(b)
    cand = j["candidates"][0]
    assert cand["content"]["role"] == "model" and cand["finishReason"] == "STOP", j
    assert cand["content"]["parts"][0]["text"].startswith("Mock reply"), j
    up = upstream(S["oport"], "/v1/chat/completions")[0]
    assert up["json"]["model"] == "gpt-4o", up["json"]
    assert up["json"]["messages"] == [{"role": "system", "content": "Be brief."},
                                      {"role": "user", "content": "hello there"}], up["json"]
    assert up["json"]["max_tokens"] == 50 and up["json"]["temperature"] == 0.1, up["json"]
    u = j["usageMetadata"]
    p, c = u["promptTokenCount"], u["candidatesTokenCount"]
    assert p > 0 and c > 0 and u["totalTokenCount"] == p + c, u
    billed_exactly(rows, quota, charge(p, c), p, c, "oa-model")


@case
def gemini_client_stream_on_an_openai_channel():
    setup()
    clear(S["oport"])
    rows, quota = log_count(), user_quota(S["g"], S["uid"])
    body = {"contents": [{"role": "user", "parts": [{"text": "stream please"}]}]}
    st, h, b = gemini("oa-model", "streamGenerateContent", body, query="alt=sse")
    assert st == 200, (st, b[:500])
    chunks = sse_data(b)
    assert all(isinstance(c, dict) for c in chunks), chunks
    out = "".join(p.get("text", "") for c in chunks for p in c["candidates"][0]["content"]["parts"])
    assert out.startswith("Mock reply"), out
    last = chunks[-1]
    assert last["candidates"][0]["finishReason"] == "STOP" and "usageMetadata" in last, last
    up = upstream(S["oport"], "/v1/chat/completions")[0]
    assert up["json"]["stream"] is True, up["json"]
    u = last["usageMetadata"]
    billed_exactly(rows, quota, charge(u["promptTokenCount"], u["candidatesTokenCount"]),
                   u["promptTokenCount"], u["candidatesTokenCount"], "oa-model")


@case
def gemini_client_candidate_count_over_one_is_refused_for_an_openai_channel():
    setup()
    body = {"contents": [{"parts": [{"text": "two ideas"}]}], "generationConfig": {"candidateCount": 2}}
    st, h, b = gemini("oa-model", "generateContent", body)
    assert st == 400, (st, b[:300])
    e = json.loads(b)["error"]
    assert e["code"] == 400 and e["status"] == "INVALID_ARGUMENT" and "candidateCount" in e["message"], e


# ---- conversion: OpenAI client -> Gemini channel ---------------------------------------------

CHAT = {"model": "g-flash", "reasoning_effort": "low",
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "explain tides"}]}


@case
def openai_client_on_a_gemini_channel_thoughts_billed_as_completion():
    setup()
    clear(S["gport"])
    rows, quota = log_count(), user_quota(S["g"], S["uid"])
    st, h, b = openai("/v1/chat/completions", CHAT)
    assert st == 200, (st, b[:500])
    j = json.loads(b)
    m = j["choices"][0]["message"]
    assert m["content"] == "Mock reply to: explain tides", m
    assert m["reasoning_content"] == "Thinking about: explain tides", m
    up = upstream(S["gport"])[0]
    assert up["route"] == "/v1beta/models/gemini-2.5-flash:generateContent" and up["query"] == {}, up
    assert hdr(up, "x-goog-api-key") == "gk-1" and hdr(up, "authorization") is None, up["headers"]
    gj = up["json"]
    assert gj["systemInstruction"] == {"parts": [{"text": "Be brief."}]}, gj
    assert gj["contents"] == [{"role": "user", "parts": [{"text": "explain tides"}]}], gj
    assert gj["generationConfig"]["thinkingConfig"]["includeThoughts"] is True, gj
    p, c, t = mock_usage(gj, thinking=True)
    u = j["usage"]
    assert (u["prompt_tokens"], u["completion_tokens"]) == (p, c + t), (u, p, c, t)
    assert u["completion_tokens_details"]["reasoning_tokens"] == t, u
    billed_exactly(rows, quota, charge(p, c + t), p, c + t, "g-flash")


@case
def openai_client_stream_on_a_gemini_channel():
    setup()
    clear(S["gport"])
    rows, quota = log_count(), user_quota(S["g"], S["uid"])
    st, h, b = openai("/v1/chat/completions",
                      dict(CHAT, model="g-cache", stream=True, stream_options={"include_usage": True}))
    assert st == 200, (st, b[:500])
    evs = sse_data(b)
    assert evs[-1] == "[DONE]", evs[-3:]
    chunks = [e for e in evs if isinstance(e, dict)]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content") or ""
                        for c in chunks if c["choices"])
    assert content == "Mock reply to: explain tides" and reasoning.startswith("Thinking about"), evs
    assert [c["choices"][0]["finish_reason"] for c in chunks
            if c["choices"] and c["choices"][0].get("finish_reason")] == ["stop"], chunks
    up = upstream(S["gport"])[0]
    assert up["route"].endswith(":streamGenerateContent") and up["query"] == {"alt": "sse"}, up["path"]
    p, c, t = mock_usage(up["json"], thinking=True)
    cached = p // 2
    u = [c for c in chunks if c.get("usage")][-1]["usage"]
    assert (u["prompt_tokens"], u["completion_tokens"], u["prompt_tokens_details"]["cached_tokens"]) == \
        (p, c + t, cached), u
    billed_exactly(rows, quota, charge(p, c + t, cached), p, c + t, "g-cache")


@case
def openai_client_tool_call_on_a_gemini_channel_gets_generated_ids():
    setup()
    clear(S["gport"])
    body = {"model": "g-flash", "messages": [{"role": "user", "content": "tides in Brest"}],
            "tools": [{"type": "function", "function": {
                "name": "get_tide", "parameters": {"type": "object", "additionalProperties": False,
                                                   "properties": {"input": {"type": "string"}}}}}],
            "tool_choice": "required"}
    st, h, b = openai("/v1/chat/completions", body)
    assert st == 200, (st, b[:500])
    ch = json.loads(b)["choices"][0]
    tc = ch["message"]["tool_calls"][0]
    assert ch["finish_reason"] == "tool_calls" and tc["id"].startswith("call_"), ch
    assert tc["function"] == {"name": "get_tide", "arguments": json.dumps({"input": "tides in Brest"},
                                                                          separators=(",", ":"))}, tc
    up = upstream(S["gport"])[0]["json"]
    assert up["tools"] == [{"functionDeclarations": [{"name": "get_tide", "parameters": {
        "type": "OBJECT", "properties": {"input": {"type": "STRING"}}}}]}], up
    assert up["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}, up
    # the result goes back by the generated id and reaches Gemini by name
    body2 = dict(body, messages=body["messages"] + [
        {"role": "assistant", "content": None, "tool_calls": [tc]},
        {"role": "tool", "tool_call_id": tc["id"], "content": "{\"high\":\"06:10\"}"}])
    st, h, b = openai("/v1/chat/completions", body2)
    assert st == 200, (st, b[:500])
    assert "06:10" in json.loads(b)["choices"][0]["message"]["content"], b
    up2 = upstream(S["gport"])[-1]["json"]
    assert up2["contents"][-1] == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_tide", "response": {"high": "06:10"}}}]}, up2["contents"]


@case
def openai_client_n_over_one_is_refused_for_a_gemini_channel():
    setup()
    st, h, b = openai("/v1/chat/completions", dict(CHAT, n=2))
    assert st == 400, (st, b[:300])
    assert "n > 1" in json.loads(b)["error"]["message"], b


# ---- embeddings --------------------------------------------------------------------------

@case
def openai_embeddings_to_a_gemini_embedding_model():
    setup()
    clear(S["gport"])
    rows = log_count()
    st, h, b = openai("/v1/embeddings", {"model": "g-embed", "input": "sea level", "dimensions": 4})
    assert st == 200, (st, b[:300])
    j = json.loads(b)
    assert j["object"] == "list" and len(j["data"]) == 1 and len(j["data"][0]["embedding"]) == 4, j
    assert j["data"][0]["embedding"] == gemini_mock.vector("sea level", 4), j
    up = upstream(S["gport"])[-1]
    assert up["route"] == "/v1beta/models/gemini-embedding-001:embedContent", up["path"]
    assert up["json"] == {"model": "models/gemini-embedding-001",
                          "content": {"parts": [{"text": "sea level"}]}, "outputDimensionality": 4}, up
    q, p, c = last_log(rows, "g-embed")
    assert p == j["usage"]["prompt_tokens"] and p > 0 and c == 0 and q == charge(p, 0), (q, p, c, j)

    clear(S["gport"])
    st, h, b = openai("/v1/embeddings", {"model": "g-embed", "input": ["a b", "c"]})
    assert st == 200, (st, b[:300])
    j = json.loads(b)
    assert [d["index"] for d in j["data"]] == [0, 1], j
    assert j["data"][1]["embedding"] == gemini_mock.vector("c", 8), j
    up = upstream(S["gport"])[-1]
    assert up["route"] == "/v1beta/models/gemini-embedding-001:batchEmbedContents", up["path"]
    assert len(up["json"]["requests"]) == 2, up["json"]


@case
def gemini_embed_content_to_an_openai_channel():
    setup()
    clear(S["oport"])
    rows, quota = log_count(), user_quota(S["g"], S["uid"])
    st, h, b = gemini("oa-embed", "embedContent",
                      {"content": {"parts": [{"text": "high tide"}]}, "outputDimensionality": 3})
    assert st == 200, (st, b[:300])
    j = json.loads(b)
    assert list(j) == ["embedding"] and len(j["embedding"]["values"]) == 3, j
    up = upstream(S["oport"], "/v1/embeddings")[-1]
    assert up["json"]["input"] == "high tide" and up["json"]["dimensions"] == 3, up["json"]
    assert up["json"]["model"] == "text-embedding-3-small", up["json"]
    billed_exactly(rows, quota, charge(2, 0), 2, 0, "oa-embed")  # the OpenAI mock: 2 words

    st, h, b = gemini("oa-embed", "batchEmbedContents", {"requests": [
        {"model": "models/oa-embed", "content": {"parts": [{"text": "one"}]}},
        {"model": "models/oa-embed", "content": {"parts": [{"text": "two three"}]}}]})
    assert st == 200, (st, b[:300])
    j = json.loads(b)
    assert len(j["embeddings"]) == 2 and all(len(e["values"]) == 8 for e in j["embeddings"]), j
    assert upstream(S["oport"], "/v1/embeddings")[-1]["json"]["input"] == ["one", "two three"]


# ---- errors in Gemini's shape --------------------------------------------------------------

@case
def errors_reach_a_gemini_client_in_its_shape():
    setup()
    st, h, b = gemini("g-flash", "generateContent", BODY, key="sk-wrong")
    assert st == 401, (st, b[:300])
    e = json.loads(b)["error"]
    assert e["code"] == 401 and e["status"] == "UNAUTHENTICATED" and e["message"], e

    st, h, b = gemini("g-429", "generateContent", BODY)
    assert st == 429, (st, b[:300])
    e = json.loads(b)["error"]
    assert e["code"] == 429 and e["status"] == "RESOURCE_EXHAUSTED", e

    st, h, b = gemini("oa-model", "generateContent", {"contents": "not a list"})
    assert st == 400, (st, b[:300])
    e = json.loads(b)["error"]
    assert e["code"] == 400 and e["status"] == "INVALID_ARGUMENT", e

    st, h, b = gemini("no-such-model", "generateContent", BODY)
    assert st in (404, 503), (st, b[:300])
    assert set(json.loads(b)["error"]) >= {"code", "message", "status"}, b


if __name__ == "__main__":
    try:
        main()
    finally:
        if S:
            S["g"].kill()
            S["gstop"]()
            S["ostop"]()
