#!/usr/bin/env python3
"""The Anthropic Messages format end to end (issue 11): real HTTP requests to
the real gateway, the Anthropic mock (tests/mock-upstream/anthropic_mock.py)
and the OpenAI mock behind it.

- Claude Code through an Anthropic channel (the same-format path): its body
  reaches the upstream with unknown fields, cache_control, thinking
  signatures and tool blocks intact (only the model mapped), with its
  anthropic-beta header and query, the channel key as x-api-key; the client
  gets the upstream's events; the charge is exact with cache reads, 5-minute
  and 1-hour cache writes. count_tokens reaches the upstream and is free.
- An Anthropic client on an OpenAI channel, and an OpenAI chat client on an
  Anthropic channel, streamed and not: converted both ways, billed exactly.
- Errors reach an Anthropic client in Anthropic's shape and status, a
  refusal that would change the answer (n > 1) is a clear 400.
- A budget for exactly 100 /v1/messages streams raced by 500 across two
  replicas: 100 reach the upstream, 100 are billed."""
import json
import os
import sys
import threading
import time
from decimal import ROUND_HALF_UP, Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, case, request, wait_for  # noqa: E402
from relayfix import (add_channel, add_token, assert_budget_paid_exactly,  # noqa: E402
                      assert_free_since, openai_mock, rcli, root_pat, root_uid, run_cases, sql,
                      replica_of, set_ratios, text, token_hash, user_quota, wait_routable)
from relayfix import set_option as _set_option  # noqa: E402  (without the wait)
from relayfix import set_option_settled as set_option  # noqa: E402
from relayfix import sse_events as sse  # noqa: E402
import anthropic_mock  # noqa: E402  (relayfix put tests/mock-upstream on the path)

S = {}
CACHE = "cache-read-7,cache-5m-3,cache-1h-5"
MODELS = {  # client model -> (channel, upstream model)
    "cc-model": ("anth", "claude-sonnet-4-5@" + CACHE),
    "cl-model": ("anth", "claude-sonnet-4-5"),
    "cl-429": ("anth", "claude-sonnet-4-5@429"),
    "cl-overload": ("anth", "claude-sonnet-4-5@overloaded-mid"),
    "cl-long": ("anth", "claude-sonnet-4-5@long-5000,delay-2"),
    "oa-model": ("oa", "gpt-4o"),
}
RATIO, COMPLETION, CACHE_R, WRITE_R = Decimal(1), Decimal(2), Decimal("0.1"), Decimal("1.25")


def setup():
    if S:
        return S
    aport, astop = anthropic_mock.start(keys=["ak-1"])
    oport, ostop = openai_mock.start(keys=["ok-1"])
    g = Gateway(workers=2).start()
    pat = root_pat(g)
    names = list(MODELS)
    set_ratios(g, pat, names, ModelRatio=1, CompletionRatio=2, CacheRatio=0.1,
               CreateCacheRatio=1.25)
    amap = {k: v[1] for k, v in MODELS.items() if v[0] == "anth"}
    add_channel(g, pat, "anth", f"http://127.0.0.1:{aport}", "ak-1", ",".join(amap), type_=14,
                extra={"model_mapping": json.dumps(amap)})
    add_channel(g, pat, "oa", f"http://127.0.0.1:{oport}", "ok-1", "oa-model",
                extra={"model_mapping": json.dumps({"oa-model": "gpt-4o"})})
    tid, key = add_token(g, pat, "t-msg", remain_quota=50_000_000)
    uid = root_uid(g)
    for m in names:
        wait_routable(g, key, m)
    S.update(g=g, pat=pat, aport=aport, oport=oport, stops=[astop, ostop], tid=tid, key=key,
             uid=uid)
    return S


# ---- helpers -------------------------------------------------------------------------------

def messages(body, key=None, headers=None, path="/v1/messages"):
    h = {"x-api-key": key or S["key"], "anthropic-version": "2023-06-01"}
    h.update(headers or {})
    return request("POST", S["g"].port, path, body=body, headers=h, timeout=60)


def chat(body, key=None):
    return request("POST", S["g"].port, "/v1/chat/completions", body=body,
                   headers={"Authorization": "Bearer " + (key or S["key"])}, timeout=60)


def upstream(port, route):
    st, _, b = request("GET", port, "/__mock/requests")
    return [r for r in json.loads(b) if r["path"].split("?")[0] == route]


def clear(port):
    request("DELETE", port, "/__mock/requests")


def log_count():
    return sql(S["g"], "SELECT COUNT(*) FROM logs WHERE type = 2 AND token_id = ?", S["tid"])[0][0]


def last_log(before):
    """The log row of the call made after `before` rows existed."""
    wait_for(lambda: log_count() > before, 20, 0.1, what="the call's log row")
    q, p, c, other = sql(S["g"], "SELECT quota, prompt_tokens, completion_tokens, other FROM logs "
                                 "WHERE type = 2 AND token_id = ? ORDER BY id DESC LIMIT 1",
                         S["tid"])[0]
    return q, p, c, json.loads(other) if other else {}


def charge(inp, out, read=0, w5=0, w1=0):
    """The reference's quota: input + reads×CacheRatio + 5m writes×CreateCacheRatio
    + 1h writes×CreateCacheRatio×6/3.75 + output×CompletionRatio, × model ratio."""
    w1r = Decimal(repr(float(WRITE_R) * (6 / 3.75)))
    q = (Decimal(inp) + Decimal(read) * CACHE_R + Decimal(w5) * WRITE_R + Decimal(w1) * w1r +
         Decimal(out) * COMPLETION) * RATIO
    return int(q.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def billed_exactly(before_rows, before_quota, want, prompt, completion):
    q, p, c, other = last_log(before_rows)
    assert (q, p, c) == (want, prompt, completion), ((q, p, c), (want, prompt, completion), other)
    wait_for(lambda: before_quota - user_quota(S["g"], S["uid"]) == want, 10, 0.1,
             what=f"the user charged {want}")
    return other


# ---- the same-format path: Claude Code on an Anthropic channel ----------------------------

CLAUDE_CODE = {
    "model": "cc-model",
    "max_tokens": 32000,
    "stream": True,
    "system": [
        {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
        {"type": "text", "text": "Project instructions ...", "cache_control": {"type": "ephemeral"}},
    ],
    "tools": [{"name": "Bash", "description": "Run a command",
               "input_schema": {"type": "object", "properties": {"command": {"type": "string"}},
                                "required": ["command"], "additionalProperties": False,
                                "$schema": "http://json-schema.org/draft-07/schema#"},
               "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
    "thinking": {"type": "enabled", "budget_tokens": 4000},
    "metadata": {"user_id": "user_abc_account__session_0f1e2d"},
    "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "list files"}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "I should run ls.", "signature": "EqQBCkgIBRABGAIiQL0sig=="},
            {"type": "tool_use", "id": "toolu_01A", "name": "Bash", "input": {"command": "ls"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "a.c b.c"},
            {"type": "text", "text": "now count them", "cache_control": {"type": "ephemeral"}}]},
    ],
}


@case
def claude_code_stream_through_an_anthropic_channel_goes_up_untouched_and_is_billed_exactly():
    setup()
    clear(S["aport"])
    rows, quota = log_count(), user_quota(S["g"], S["uid"])
    beta = "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"
    st, h, body = messages(CLAUDE_CODE, headers={"anthropic-beta": beta, "User-Agent": "claude-cli/2.0.1"},
                           path="/v1/messages?beta=true")
    assert st == 200, (st, body[:500])
    assert h.get("content-type", "").startswith("text/event-stream"), h
    evs = sse(body)
    names = [n for n, _ in evs]
    assert names[0] == "message_start" and names[-1] == "message_stop", names
    assert "signature_delta" in text(body) and "ping" in names, names
    # what the upstream got: the client's body, model mapped, nothing else changed
    ups = upstream(S["aport"], "/v1/messages")
    assert len(ups) == 1, ups
    up = ups[0]
    assert up["path"] == "/v1/messages?beta=true", up["path"]
    hd = {k.lower(): v for k, v in up["headers"]}
    assert hd["x-api-key"] == "ak-1" and "authorization" not in hd, hd
    assert hd["anthropic-beta"] == beta and hd["anthropic-version"] == "2023-06-01", hd
    want = dict(CLAUDE_CODE, model=MODELS["cc-model"][1])
    assert up["json"] == want, json.dumps(up["json"])[:2000]
    # usage: message_start carries input and cache counts, message_delta the output
    start = json.loads(evs[0][1])["message"]["usage"]
    delta = json.loads([d for n, d in evs if n == "message_delta"][0])["usage"]
    inp, out = start["input_tokens"], delta["output_tokens"]
    assert (start["cache_read_input_tokens"], start["cache_creation"]["ephemeral_5m_input_tokens"],
            start["cache_creation"]["ephemeral_1h_input_tokens"]) == (7, 3, 5), start
    other = billed_exactly(rows, quota, charge(inp, out, 7, 3, 5), inp + 7 + 8, out)
    assert other.get("cache_creation_tokens_1h") == 5 and other.get("cache_tokens") == 7, other


@case
def claude_code_non_stream_through_an_anthropic_channel_is_forwarded_verbatim():
    setup()
    clear(S["aport"])
    rows, quota = log_count(), user_quota(S["g"], S["uid"])
    body = dict(CLAUDE_CODE, stream=False)
    st, h, b = messages(body)
    assert st == 200, (st, b[:500])
    j = json.loads(b)
    assert j["type"] == "message" and [c["type"] for c in j["content"]] == ["thinking", "text"], j
    assert j["content"][0]["signature"].startswith("EqMock"), j  # the upstream's, untouched
    up = upstream(S["aport"], "/v1/messages")[0]
    assert up["path"] == "/v1/messages" and up["json"] == dict(body, model=MODELS["cc-model"][1])
    u = j["usage"]
    billed_exactly(rows, quota, charge(u["input_tokens"], u["output_tokens"], 7, 3, 5),
                   u["input_tokens"] + 15, u["output_tokens"])


@case
def count_tokens_reaches_the_anthropic_upstream_and_is_free():
    """On an Anthropic channel the relay sends count_tokens up as it came
    (model mapped, beta header kept) and answers the upstream's count;
    nothing is reserved, charged or logged."""
    setup()
    clear(S["aport"])
    quota = user_quota(S["g"], S["uid"])
    last_id = sql(S["g"], "SELECT COALESCE(MAX(id), 0) FROM logs")[0][0]
    body = {"model": "cl-model", "system": "be brief",
            "messages": [{"role": "user", "content": "count these four words"}],
            "tools": CLAUDE_CODE["tools"], "context_management": {"edits": []}}
    st, h, b = messages(body, headers={"anthropic-beta": "token-counting-2024-11-01"},
                        path="/v1/messages/count_tokens")
    assert st == 200, (st, b[:300])
    assert json.loads(b) == {"input_tokens": 2 + 1 + 4}, b  # the mock's: system words + 1 + words
    ups = upstream(S["aport"], "/v1/messages/count_tokens")
    assert len(ups) == 1 and ups[0]["json"] == dict(body, model="claude-sonnet-4-5"), ups
    hd = {k.lower(): v for k, v in ups[0]["headers"]}
    assert hd["anthropic-beta"] == "token-counting-2024-11-01" and hd["x-api-key"] == "ak-1", hd
    st, h, b = messages(body, key="sk-not-a-real-key", path="/v1/messages/count_tokens")
    anthropic_error(st, b, 401, "authentication_error")
    assert len(upstream(S["aport"], "/v1/messages/count_tokens")) == 1
    assert_free_since(S["g"], S["uid"], S["tid"], quota, last_id)


# ---- conversion: Anthropic client -> OpenAI channel ------------------------------------------

@case
def anthropic_client_on_an_openai_channel_gets_claude_messages():
    setup()
    clear(S["oport"])
    rows, quota = log_count(), user_quota(S["g"], S["uid"])
    body = {"model": "oa-model", "max_tokens": 100, "system": "Be brief.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hello there"}]}]}
    st, h, b = messages(body)
    assert st == 200, (st, b[:500])
    j = json.loads(b)
    assert j["type"] == "message" and j["role"] == "assistant" and j["model"] == "oa-model", j
    assert j["content"] == [{"type": "text", "text": "Mock reply to: hello there"}], j
    assert j["stop_reason"] == "end_turn", j
    up = upstream(S["oport"], "/v1/chat/completions")[-1]["json"]
    assert up["model"] == "gpt-4o" and up["max_tokens"] == 100, up
    assert up["messages"] == [{"role": "system", "content": "Be brief."},
                              {"role": "user", "content": [{"type": "text", "text": "hello there"}]}], up
    u = j["usage"]
    assert u["input_tokens"] == 6 and u["output_tokens"] == 5, u  # 2 msgs + 4 words; 5 pieces
    billed_exactly(rows, quota, charge(6, 5), 6, 5)


@case
def anthropic_client_streams_from_an_openai_channel():
    setup()
    clear(S["oport"])
    rows, quota = log_count(), user_quota(S["g"], S["uid"])
    body = {"model": "oa-model", "max_tokens": 100, "stream": True,
            "messages": [{"role": "user", "content": "stream this please"}]}
    st, h, b = messages(body)
    assert st == 200, (st, b[:500])
    evs = sse(b)
    names = [n for n, _ in evs]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"], names
    assert all(n == json.loads(d)["type"] for n, d in evs), evs
    got = "".join(json.loads(d)["delta"]["text"] for n, d in evs if n == "content_block_delta")
    assert got == "Mock reply to: stream this please", got
    md = json.loads(evs[-2][1])
    assert md["delta"]["stop_reason"] == "end_turn" and md["usage"]["output_tokens"] == 6, md
    up = upstream(S["oport"], "/v1/chat/completions")[-1]["json"]
    assert up["stream"] is True and up.get("stream_options") == {"include_usage": True}, up
    billed_exactly(rows, quota, charge(4, 6), 4, 6)


# ---- conversion: OpenAI chat client -> Anthropic channel -------------------------------------

@case
def openai_client_on_an_anthropic_channel_gets_chat_completions():
    setup()
    clear(S["aport"])
    rows, quota = log_count(), user_quota(S["g"], S["uid"])
    st, h, b = chat({"model": "cc-model", "messages": [{"role": "system", "content": "sys words"},
                                                      {"role": "user", "content": "hi you"}]})
    assert st == 200, (st, b[:500])
    j = json.loads(b)
    assert j["object"] == "chat.completion" and j["model"] == "cc-model", j
    assert j["choices"][0]["message"]["content"] == "Mock reply to: hi you", j
    assert j["choices"][0]["finish_reason"] == "stop", j
    up = upstream(S["aport"], "/v1/messages")[-1]
    assert up["json"]["max_tokens"] == 8192 and up["json"]["system"] == [{"type": "text", "text": "sys words"}], up
    assert up["json"]["messages"] == [{"role": "user", "content": "hi you"}], up
    hd = {k.lower(): v for k, v in up["headers"]}
    assert hd["x-api-key"] == "ak-1" and hd["anthropic-version"] == "2023-06-01", hd
    inp = 2 + 1 + 2  # system words + 1 + message words
    u = j["usage"]
    assert u["prompt_tokens"] == inp + 7 + 8 and u["prompt_tokens_details"]["cached_tokens"] == 7, u
    billed_exactly(rows, quota, charge(inp, u["completion_tokens"], 7, 3, 5), inp + 15,
                   u["completion_tokens"])


@case
def openai_client_streams_from_an_anthropic_channel():
    setup()
    clear(S["aport"])
    rows, quota = log_count(), user_quota(S["g"], S["uid"])
    st, h, b = chat({"model": "cl-model", "stream": True, "stream_options": {"include_usage": True},
                     "messages": [{"role": "user", "content": "tell me more"}]})
    assert st == 200, (st, b[:500])
    evs = sse(b)
    assert evs[-1][1] == "[DONE]", evs[-3:]
    chunks = [json.loads(d) for _, d in evs[:-1]]
    got = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert got == "Mock reply to: tell me more", got
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and
            c["choices"][0].get("finish_reason")] == ["stop"], chunks
    u = chunks[-1]["usage"]
    assert u["prompt_tokens"] == 4 and u["completion_tokens"] == 6, u
    assert upstream(S["aport"], "/v1/messages")[-1]["json"]["stream"] is True
    billed_exactly(rows, quota, charge(4, 6), 4, 6)


# ---- errors ------------------------------------------------------------------------------------

def anthropic_error(st, b, status, etype):
    assert st == status, (st, b[:300])
    j = json.loads(b)
    assert j["type"] == "error" and j["error"]["type"] == etype and j["error"]["message"], j
    return j


@case
def errors_reach_an_anthropic_client_in_anthropic_shape():
    setup()
    body = {"model": "cl-model", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    st, h, b = messages(body, key="sk-not-a-real-key")
    anthropic_error(st, b, 401, "authentication_error")
    st, h, b = messages({"max_tokens": 10, "messages": []})
    anthropic_error(st, b, 400, "invalid_request_error")
    st, h, b = messages(dict(body, stream="yes"))
    anthropic_error(st, b, 400, "invalid_request_error")
    st, h, b = messages(b"{not json")
    anthropic_error(st, b, 400, "invalid_request_error")
    st, h, b = messages(dict(body, model="no-such-model"))
    assert st in (400, 404, 503) and json.loads(b)["type"] == "error", (st, b)
    # the upstream's 429 comes back as Anthropic's rate_limit_error
    st, h, b = messages(dict(body, model="cl-429"))
    anthropic_error(st, b, 429, "rate_limit_error")
    # a chat client's n > 1 on an Anthropic channel: a clear 400 in OpenAI's shape
    clear(S["aport"])
    st, h, b = chat({"model": "cl-model", "n": 2, "messages": [{"role": "user", "content": "x"}]})
    assert st == 400 and "n > 1" in json.loads(b)["error"]["message"], (st, b)
    assert upstream(S["aport"], "/v1/messages") == []


@case
def an_upstream_error_mid_stream_reaches_the_anthropic_client_as_an_error_event():
    setup()
    st, h, b = messages({"model": "cl-overload", "max_tokens": 50, "stream": True,
                         "messages": [{"role": "user", "content": "a b c d"}]})
    assert st == 200, (st, b[:300])
    evs = sse(b)
    assert evs[-1][0] == "error", evs
    assert json.loads(evs[-1][1])["error"]["type"] == "overloaded_error", evs[-1]


@case
def a_spent_budget_cuts_a_same_format_messages_stream_with_an_error_event_and_bills_the_delivery():
    """The token holds 2000; the reservation is (500 + 1000) × 1; the
    upstream streams 1000 pieces (~1220 tokens × completion ratio 2): the
    stream is cut when the next piece would pass the budget, with Anthropic's
    error event, and billed what was delivered, never message_start's
    partial output count."""
    setup()
    g = S["g"]
    tid, key = add_token(g, S["pat"], "t-cut", remain_quota=2000)
    wait_routable(g, key, "cl-long")
    st, h, b = messages({"model": "cl-long", "max_tokens": 1000, "stream": True,
                         "messages": [{"role": "user", "content": "go"}]}, key=key)
    assert st == 200, (st, b[:300])
    evs = sse(b)
    assert evs[0][0] == "message_start" and evs[-1][0] == "error", (evs[:1], evs[-3:])
    err = json.loads(evs[-1][1])
    assert err["type"] == "error" and "quota" in err["error"]["message"], err
    assert "message_stop" not in [n for n, _ in evs]
    delivered = "".join(json.loads(d)["delta"].get("text", "") for n, d in evs
                        if n == "content_block_delta")
    assert 0 < delivered.count("w") < 1000, delivered[-50:]
    tk = token_hash(S['uid'], tid)
    wait_for(lambda: rcli(g, "HGET", tk, "reserved") in ("0", ""), 15, 0.1, what="settlement")
    q, p, c = wait_for(lambda: sql(g, "SELECT quota, prompt_tokens, completion_tokens FROM logs "
                                      "WHERE type = 2 AND token_id = ?", tid), 15, 0.1,
                       what="the log row")[0]
    remain = int(rcli(g, "HGET", tk, "remain_quota"))
    assert q == 2000 - remain and q <= 2000, (q, remain)
    assert c >= len(delivered) // 5, ("billed for what was delivered", c, len(delivered))
    assert q == charge(p, c), (q, p, c)


# ---- the budget race ---------------------------------------------------------------------------

RACERS = 500
PAID = 100


@case
def a_budget_for_100_messages_streams_raced_by_500_across_two_replicas_reaches_the_upstream_100_times():
    port, stop = anthropic_mock.start(keys=["ak-race"])
    a = Gateway(workers=2).start()
    b = None
    try:
        b = replica_of(a)
        b.start()
        pat = root_pat(a)
        _set_option(a, pat, "ModelPrice", json.dumps({"race": 0.002}))  # 1000 quota per call
        time.sleep(0.6)
        add_channel(a, pat, "race", f"http://127.0.0.1:{port}", "ak-race", "race", type_=14)
        tid, key = add_token(a, pat, "t-race", remain_quota=PAID * 1000)
        for g in (a, b):
            wait_routable(g, key, "race")
        time.sleep(0.6)
        request("DELETE", port, "/__mock/requests")
        results, gate = [], threading.Barrier(RACERS, timeout=60)

        def call(i):
            g = (a, b)[i % 2]
            body = {"model": "race", "max_tokens": 20, "stream": True,
                    "messages": [{"role": "user", "content": f"n {i}"}]}
            try:
                gate.wait()
                time.sleep((i * 7919 % RACERS) * 1.5 / RACERS)
                st, h, resp = request("POST", g.port, "/v1/messages", body=body,
                                      headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                                      timeout=120)
                if st == 200:
                    assert sse(resp)[-1][0] == "message_stop", resp[-300:]
                else:
                    assert json.loads(resp)["type"] == "error", resp[:300]
            except Exception as e:  # noqa: BLE001 - counted below
                st = repr(e)
            results.append(st)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(RACERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        assert len(results) == RACERS, len(results)
        assert results.count(200) == PAID, (results.count(200),
                                             [r for r in results if r not in (200, 401, 403, 429)][:5])
        assert all(r in (200, 401, 403, 429) for r in results), set(map(str, results))
        st, _, body = request("GET", port, "/__mock/requests")
        ups = [r for r in json.loads(body) if r["path"].split("?")[0] == "/v1/messages"]
        assert len(ups) == PAID, len(ups)
        assert_budget_paid_exactly(a, tid, PAID, 1000)
        b.stop()
        b = None
    finally:
        if b:
            b.kill()
        a.stop()
        stop()


if __name__ == "__main__":
    run_cases(S)
