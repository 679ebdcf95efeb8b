#!/usr/bin/env python3
"""The relay's format plumbing end to end (issue 11), against the OpenAI
mock: a chat client still works through the format layer; refusals reach
Anthropic and Gemini clients in their own error shapes; count_tokens /
countTokens are free (checked like a call, nothing reserved, charged or
logged, nothing sent upstream); a codec member that is not written makes a
501 in the client's shape; Gemini paths are parsed as the reference does.
The per-format conversions are tested by the codecs' own files
(test_format_messages.py, test_format_gemini.py, test_format_responses.py)."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, case, request, wait_for  # noqa: E402
from relayfix import (add_channel, add_token, api, chat, openai_mock, rcli, root_pat,  # noqa: E402
                      root_uid, run_cases, shared_gateway_case, sql, sse_events, token_hash,
                      user_quota, wait_routable)
from relayfix import set_option as _set_option  # noqa: E402  (without the wait)
from relayfix import set_option_settled as set_option  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "mock-upstream"))
import anthropic_mock  # noqa: E402

MODEL = "gpt-4o-mini"
S = {}


def setup():
    if S:
        return S
    port, stop = openai_mock.start(keys=["k-good"])
    g = Gateway(workers=2).start()
    pat = root_pat(g)
    set_option(g, pat, "ModelRatio", json.dumps({MODEL: 1, "limited-out": 1}))
    set_option(g, pat, "CompletionRatio", json.dumps({MODEL: 2}))
    base = f"http://127.0.0.1:{port}"
    cid = add_channel(g, pat, "main", base, "k-good", MODEL + ",limited-out")
    tid, key = add_token(g, pat, "t-fmt", remain_quota=10_000_000)
    wait_routable(g, key, MODEL)
    S.update(g=g, pat=pat, port=port, stops=[stop], base=base, cid=cid, tid=tid, key=key,
             uid=root_uid(g))
    return S


def mock_requests():
    return json.loads(request("GET", S["port"], "/__mock/requests")[2])


def clear_mock():
    request("DELETE", S["port"], "/__mock/requests")


def log_rows(g):
    return sql(g, "SELECT COUNT(*) FROM logs WHERE type = 2")[0][0]


def token_used(g, tid):
    return sql(g, "SELECT used_quota FROM tokens WHERE id = ?", tid)[0][0]


def is_anthropic_error(j, etype=None):
    ok = (isinstance(j, dict) and j.get("type") == "error" and isinstance(j.get("error"), dict)
          and isinstance(j["error"].get("message"), str) and isinstance(j["error"].get("type"), str))
    return ok and (etype is None or j["error"]["type"] == etype)


def is_gemini_error(j, code, status=None):
    e = j.get("error") if isinstance(j, dict) else None
    ok = (isinstance(e, dict) and e.get("code") == code and isinstance(e.get("message"), str)
          and isinstance(e.get("status"), str))
    return ok and (status is None or e["status"] == status)


@case
def a_chat_client_still_works_through_the_format_layer():
    s = setup()
    g, key = s["g"], s["key"]
    clear_mock()
    q0 = user_quota(g, s["uid"])
    st, h, b = chat(g, key, {"model": MODEL, "messages": [{"role": "user", "content": "Say hi"}]})
    assert st == 200, b
    j = json.loads(b)
    assert j["choices"][0]["message"]["content"] == "Mock reply to: Say hi"
    cost = j["usage"]["prompt_tokens"] + 2 * j["usage"]["completion_tokens"]
    assert user_quota(g, s["uid"]) == q0 - cost
    up = mock_requests()[-1]
    assert up["path"].startswith("/v1/chat/completions"), up["path"]
    # A stream: the same-format path forwards the upstream's events as they came.
    st, h, b = chat(g, key, {"model": MODEL, "stream": True,
                             "messages": [{"role": "user", "content": "one two"}]})
    assert st == 200 and h["content-type"].startswith("text/event-stream"), (st, h)
    ev = [ln[6:] for ln in b.decode().split("\n") if ln.startswith("data: ")]
    assert ev[-1] == "[DONE]"
    text = "".join((json.loads(e)["choices"] or [{}])[0].get("delta", {}).get("content") or ""
                   for e in ev[:-1])
    assert text == "Mock reply to: one two", text
    wait_for(lambda: log_rows(g) >= 2, 15, 0.1, what="both calls' log rows")


@case
def refusals_reach_anthropic_and_gemini_clients_in_their_own_shape():
    s = setup()
    g = s["g"]
    msg = {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    gem = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    clear_mock()
    # No key at all: 401.
    st, h, b = request("POST", g.port, "/v1/messages", body=msg,
                       headers={"anthropic-version": "2023-06-01"})
    assert st == 401 and is_anthropic_error(json.loads(b)), (st, b)
    assert "request id" in json.loads(b)["error"]["message"]
    st, h, b = request("POST", g.port, f"/v1beta/models/{MODEL}:generateContent", body=gem)
    assert st == 401 and is_gemini_error(json.loads(b), 401, "UNAUTHENTICATED"), (st, b)
    # A key that does not exist, in each place the SDKs put it.
    st, h, b = request("POST", g.port, "/v1/messages", body=msg,
                       headers={"x-api-key": "sk-nosuchkey", "anthropic-version": "2023-06-01"})
    assert st == 401 and is_anthropic_error(json.loads(b)), (st, b)
    st, h, b = request("POST", g.port, f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse",
                       body=gem, headers={"x-goog-api-key": "sk-nosuchkey"})
    assert st == 401 and is_gemini_error(json.loads(b), 401), (st, b)
    st, h, b = request("POST", g.port, f"/v1/models/{MODEL}:generateContent?key=sk-nosuchkey",
                       body=gem)
    assert st == 401 and is_gemini_error(json.loads(b), 401), (st, b)
    # The same refusal to a chat client stays in the OpenAI shape.
    st, h, b = chat(g, "sk-nosuchkey", {"model": MODEL, "messages": []})
    assert st == 401 and json.loads(b)["error"]["code"] == "invalid_api_key", b
    # A model the token may not use: 403 (authorize's refusal), Anthropic shape.
    st, j = api(g, "POST", "/api/token/", token=s["pat"],
                body={"name": "t-fmt-limited", "remain_quota": 100000, "expired_time": -1,
                      "model_limits_enabled": True, "model_limits": MODEL})
    assert j["success"], j
    tid = sql(g, "SELECT id FROM tokens WHERE name = 't-fmt-limited'")[0][0]
    lkey = "sk-" + api(g, "POST", f"/api/token/{tid}/key", token=s["pat"])[1]["data"]["key"]
    S["limited_key"] = lkey
    st, h, b = request("POST", g.port, "/v1/messages", body=dict(msg, model="limited-out"),
                       headers={"x-api-key": lkey, "anthropic-version": "2023-06-01"})
    assert st == 403 and is_anthropic_error(json.loads(b)), (st, b)
    st, h, b = request("POST", g.port, "/v1beta/models/limited-out:generateContent", body=gem,
                       headers={"x-goog-api-key": lkey})
    assert st == 403 and is_gemini_error(json.loads(b), 403, "PERMISSION_DENIED"), (st, b)
    assert mock_requests() == [], "a refused call never reaches the upstream"


@case
def count_tokens_is_free_checked_and_answered_in_the_clients_shape():
    s = setup()
    g, key, uid, tid = s["g"], s["key"], s["uid"], s["tid"]
    clear_mock()
    rows0, q0, used0 = log_rows(g), user_quota(g, uid), token_used(g, tid)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "count these five words"}],
            "system": "be brief"}
    hdr = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    st, h, b = request("POST", g.port, "/v1/messages/count_tokens", body=body, headers=hdr)
    assert st == 200, b
    j = json.loads(b)
    assert list(j) == ["input_tokens"] and j["input_tokens"] > 0, j
    # More text, more tokens: the answer is an estimate of this body, not a constant.
    longer = dict(body, messages=[{"role": "user", "content": "count these five words " * 20}])
    st, h, b = request("POST", g.port, "/v1/messages/count_tokens", body=longer, headers=hdr)
    assert st == 200 and json.loads(b)["input_tokens"] > j["input_tokens"] + 20, b
    # Gemini: countTokens with contents, or wrapped in generateContentRequest.
    gem = {"contents": [{"role": "user", "parts": [{"text": "count these five words"}]}]}
    st, h, b = request("POST", g.port, f"/v1beta/models/{MODEL}:countTokens", body=gem,
                       headers={"x-goog-api-key": key})
    assert st == 200, b
    gj = json.loads(b)
    assert list(gj) == ["totalTokens"] and gj["totalTokens"] > 0, gj
    st, h, b = request("POST", g.port, f"/v1/models/{MODEL}:countTokens?key={key}",
                       body={"generateContentRequest": gem})
    assert st == 200 and json.loads(b)["totalTokens"] == gj["totalTokens"], b
    # Free: no upstream call, no quota moved, no log row.
    time.sleep(0.5)
    assert mock_requests() == []
    assert user_quota(g, uid) == q0 and token_used(g, tid) == used0
    assert log_rows(g) == rows0
    # Checked like a call: no key, a model outside the token's limits, a
    # disabled token.
    st, h, b = request("POST", g.port, "/v1/messages/count_tokens", body=body,
                       headers={"anthropic-version": "2023-06-01"})
    assert st == 401 and is_anthropic_error(json.loads(b)), (st, b)
    lkey = S.get("limited_key")
    if lkey:
        st, h, b = request("POST", g.port, "/v1/messages/count_tokens",
                           body=dict(body, model="limited-out"),
                           headers={"x-api-key": lkey, "anthropic-version": "2023-06-01"})
        assert st == 403 and is_anthropic_error(json.loads(b)), (st, b)
    t2, k2 = add_token(g, s["pat"], "t-fmt-off", remain_quota=1000)
    st, h, b = request("POST", g.port, "/v1/messages/count_tokens", body=body,
                       headers={"x-api-key": k2, "anthropic-version": "2023-06-01"})
    assert st == 200, b
    st, j = api(g, "PUT", "/api/token/?status_only=true", token=s["pat"],
                body={"id": t2, "status": 2})
    assert j["success"], j
    def refused():
        st, h, b = request("POST", g.port, f"/v1beta/models/{MODEL}:countTokens", body=gem,
                           headers={"x-goog-api-key": k2})
        return st == 401 and is_gemini_error(json.loads(b), 401)
    wait_for(refused, 10, 0.2, what="a disabled token refused by countTokens")


@case
def count_tokens_goes_to_a_same_wire_channel_and_stays_free():
    # An Anthropic channel (type 14) counts itself: the upstream's own
    # answer is relayed (the mock counts system words + 1 + words per
    # message), with the channel's key and the model mapped; still free.
    s = setup()
    g, pat, key, uid, tid = s["g"], s["pat"], s["key"], s["uid"], s["tid"]
    an_port, an_stop = anthropic_mock.start(keys=["k-an"])
    try:
        add_channel(g, pat, "an-count", f"http://127.0.0.1:{an_port}", "k-an", "claude-count",
                    type_=14, extra={"model_mapping": json.dumps({"claude-count": "claude-up"})})
        set_option(g, pat, "ModelRatio", json.dumps({MODEL: 1, "limited-out": 1, "long-a": 1,
                                                     "long-g": 1, "claude-count": 1}))
        wait_routable(g, key, "claude-count")
        rows0, q0, used0 = log_rows(g), user_quota(g, uid), token_used(g, tid)
        body = {"model": "claude-count", "system": "be brief now",
                "messages": [{"role": "user", "content": "one two three four"}]}
        st, h, b = request("POST", g.port, "/v1/messages/count_tokens", body=body,
                           headers={"x-api-key": key, "anthropic-version": "2023-06-01"})
        assert st == 200 and json.loads(b) == {"input_tokens": 3 + 1 + 4}, (st, b)
        got = json.loads(request("GET", an_port, "/__mock/requests")[2])
        assert len(got) == 1 and got[0]["path"].startswith("/v1/messages/count_tokens"), got
        hdr = {k.lower(): v for k, v in got[0]["headers"]}
        assert hdr["x-api-key"] == "k-an" and got[0]["json"]["model"] == "claude-up", got[0]
        time.sleep(0.5)
        assert user_quota(g, uid) == q0 and token_used(g, tid) == used0
        assert log_rows(g) == rows0
    finally:
        an_stop()


@case
def a_codec_member_not_written_is_a_501_in_the_clients_shape():
    s = setup()
    g, key, uid = s["g"], s["key"], s["uid"]
    clear_mock()
    q0 = user_quota(g, uid)
    # GW_TEST_HOOKS: every attempt treats the named member as not written.
    st, h, b = chat(g, key, {"model": MODEL, "messages": [{"role": "user", "content": "x"}]},
                    headers={"X-Test-Codec-Missing": "encode"})
    assert st == 501, (st, b)
    e = json.loads(b)["error"]
    assert e["code"] == "not_implemented" and "not implemented" in e["message"], e
    assert mock_requests() == [], "nothing goes upstream"
    wait_for(lambda: user_quota(g, uid) == q0, 10, 0.1, what="the reservation back")
    # An unknown Gemini action: 501 in the Gemini shape.
    st, h, b = request("POST", g.port, f"/v1beta/models/{MODEL}:predictLongRunning",
                       body={}, headers={"x-goog-api-key": key})
    assert st == 501 and is_gemini_error(json.loads(b), 501), (st, b)
    # A path without a model: 404 in the Gemini shape.
    st, h, b = request("POST", g.port, "/v1beta/models/:generateContent", body={},
                       headers={"x-goog-api-key": key})
    assert st == 404 and is_gemini_error(json.loads(b), 404), (st, b)
    # Bad JSON to /v1/messages: a 400 in the Anthropic shape.
    st, h, b = request("POST", g.port, "/v1/messages", body=b"{not json",
                       headers={"x-api-key": key, "anthropic-version": "2023-06-01",
                                "content-type": "application/json"})
    assert st == 400 and is_anthropic_error(json.loads(b), "invalid_request_error"), (st, b)


def gemini_text(chunks):
    return "".join(p.get("text", "") for c in chunks for cand in c.get("candidates", [])
                   for p in cand.get("content", {}).get("parts", []))


@case
def a_request_the_channels_wire_cannot_express_is_a_400_before_anything_is_reserved():
    # Two candidates asked of an OpenAI chat channel: chat's n > 1 is refused
    # by the conversion, so the Gemini client gets a 400 in its own shape,
    # before authorize: nothing reserved, no log row, nothing upstream.
    s = setup()
    g, key, uid, tid = s["g"], s["key"], s["uid"], s["tid"]
    clear_mock()
    rows0, q0 = log_rows(g), user_quota(g, uid)
    gem = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
           "generationConfig": {"candidateCount": 2}}
    st, h, b = request("POST", g.port, f"/v1beta/models/{MODEL}:generateContent", body=gem,
                       headers={"x-goog-api-key": key})
    assert st == 400 and is_gemini_error(json.loads(b), 400, "INVALID_ARGUMENT"), (st, b)
    reserved = rcli(g, "HGET", token_hash(uid, tid), "reserved")
    assert reserved in ("0", ""), reserved
    time.sleep(0.5)
    assert mock_requests() == [] and log_rows(g) == rows0 and user_quota(g, uid) == q0


@case
def a_gemini_stream_without_alt_sse_is_one_json_array_billed_exactly():
    s = setup()
    g, key, uid = s["g"], s["key"], s["uid"]
    clear_mock()
    gem = {"contents": [{"role": "user", "parts": [{"text": "one two three"}]}]}
    q0 = user_quota(g, uid)
    st, h, b = request("POST", g.port, f"/v1beta/models/{MODEL}:streamGenerateContent", body=gem,
                       headers={"x-goog-api-key": key}, timeout=30)
    assert st == 200 and h["content-type"].startswith("application/json"), (st, h, b)
    chunks = json.loads(b)  # the whole body is one JSON array
    assert isinstance(chunks, list) and len(chunks) > 1, b
    assert b.startswith(b"[") and b.rstrip().endswith(b"]") and b",\r\n" in b
    assert gemini_text(chunks) == "Mock reply to: one two three", chunks
    um = chunks[-1]["usageMetadata"]
    cost = um["promptTokenCount"] + 2 * um["candidatesTokenCount"]
    wait_for(lambda: user_quota(g, uid) == q0 - cost, 10, 0.1, what="the exact charge")
    up = mock_requests()[-1]
    assert up["path"].startswith("/v1/chat/completions") and up["json"]["stream"] is True, up
    # With ?alt=sse the same call is an event stream.
    st, h, b = request("POST", g.port, f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse",
                       body=gem, headers={"x-goog-api-key": key}, timeout=30)
    assert st == 200 and h["content-type"].startswith("text/event-stream"), (st, h)
    ev = [json.loads(d) for _, d in sse_events(b)]
    assert gemini_text(ev) == "Mock reply to: one two three", ev


@case
def a_spent_budget_cuts_a_converted_stream_with_the_clients_error():
    # The token holds 2500; the reservation is (500 + 1000) x 1; the
    # upstream streams 5000 pieces (more than the budget can pay): the
    # stream is cut when the next piece would pass the budget, with the
    # error in the client's own format, and billed exactly what was delivered.
    s = setup()
    g, pat = s["g"], s["pat"]
    ratios = {MODEL: 1, "limited-out": 1, "long-a": 1, "long-g": 1}
    set_option(g, pat, "ModelRatio", json.dumps(ratios))
    for name in ("long-a", "long-g"):
        add_channel(g, pat, name, s["base"], "k-good", name,
                    extra={"model_mapping": json.dumps({name: "long@long-5000"})})
    ta, ka = add_token(g, pat, "t-long-a", remain_quota=2500)
    tg, kg = add_token(g, pat, "t-long-g", remain_quota=2500)
    wait_routable(g, ka, "long-g")
    # Anthropic: an "error" event ends the stream.
    body = {"model": "long-a", "max_tokens": 1000, "stream": True,
            "messages": [{"role": "user", "content": "go"}]}
    st, h, b = request("POST", g.port, "/v1/messages", body=body, timeout=60,
                       headers={"x-api-key": ka, "anthropic-version": "2023-06-01"})
    assert st == 200, (st, b[:300])
    ev = sse_events(b)
    assert ev[0][0] == "message_start", ev[:2]
    assert ev[-1][0] == "error", ev[-3:]
    err = json.loads(ev[-1][1])
    assert is_anthropic_error(err) and "quota" in err["error"]["message"], err
    text = "".join(json.loads(d)["delta"].get("text", "") for n, d in ev
                   if n == "content_block_delta")
    assert 0 < text.count("w") < 5000, "cut before the end"
    # Gemini JSON array: a final element with "error", and the array closed.
    gem = {"contents": [{"role": "user", "parts": [{"text": "go"}]}],
           "generationConfig": {"maxOutputTokens": 1000}}
    st, h, b = request("POST", g.port, "/v1beta/models/long-g:streamGenerateContent", body=gem,
                       headers={"x-goog-api-key": kg}, timeout=60)
    assert st == 200, (st, b[:300])
    chunks = json.loads(b)
    assert is_gemini_error(chunks[-1], chunks[-1].get("error", {}).get("code")), chunks[-1]
    gtext = gemini_text(chunks[:-1])
    assert 0 < gtext.count("w") < 5000
    # Billed exactly what was delivered (no upstream usage arrived: about 4
    # characters a token), within the budget.
    for tid, tname, t in ((ta, "t-long-a", text), (tg, "t-long-g", gtext)):
        tkey = token_hash(s['uid'], tid)
        wait_for(lambda: rcli(g, "HGET", tkey, "reserved") in ("0", ""), 15, 0.1,
                 what="settlement")
        row = wait_for(lambda: sql(g, "SELECT quota, prompt_tokens, completion_tokens FROM logs "
                                      "WHERE type = 2 AND token_name = ?", tname), 15, 0.1,
                       what="the log row")[0]
        remain = int(rcli(g, "HGET", tkey, "remain_quota"))
        assert row[2] == (len(t) + 3) // 4, (tname, row, len(t))
        assert row[0] == row[1] + row[2] == 2500 - remain, (tname, row, remain)
        assert 2400 <= row[0] <= 2500, (tname, row)


@case
def a_stream_cut_short_upstream_ends_with_an_error_in_the_clients_shape():
    # The upstream sends 3 events then goes silent; STREAMING_TIMEOUT ends
    # the transfer after 2 s idle. Each client gets its format's error.
    port, stop = openai_mock.start(keys=["k-good"])
    g = Gateway(workers=1, env={"STREAMING_TIMEOUT": "2"}).start()
    try:
        pat = root_pat(g)
        _set_option(g, pat, "ModelRatio", json.dumps({"stalls": 1}))
        add_channel(g, pat, "stalling", f"http://127.0.0.1:{port}", "k-good", "stalls",
                    extra={"model_mapping": json.dumps({"stalls": "stalls@stall-3"})})
        tid, key = add_token(g, pat, "t-stall", remain_quota=1_000_000)
        wait_routable(g, key, "stalls")
        time.sleep(0.6)
        st, h, b = chat(g, key, {"model": "stalls", "stream": True,
                                 "messages": [{"role": "user", "content": "a b c d e"}]})
        ev = sse_events(b)
        assert st == 200 and ev[-1][1] == "[DONE]", ev[-3:]
        e = json.loads(ev[-2][1])["error"]
        assert e["type"] == "upstream_error" and "timed out" in e["message"], e
        st, h, b = request("POST", g.port, "/v1/messages", timeout=30,
                           body={"model": "stalls", "max_tokens": 50, "stream": True,
                                 "messages": [{"role": "user", "content": "a b c d e"}]},
                           headers={"x-api-key": key, "anthropic-version": "2023-06-01"})
        ev = sse_events(b)
        assert st == 200 and ev[0][0] == "message_start" and ev[-1][0] == "error", ev
        assert is_anthropic_error(json.loads(ev[-1][1])), ev[-1]
        st, h, b = request("POST", g.port, "/v1beta/models/stalls:streamGenerateContent",
                           body={"contents": [{"parts": [{"text": "a b c d e"}]}]},
                           headers={"x-goog-api-key": key}, timeout=30)
        chunks = json.loads(b)
        assert st == 200 and "error" in chunks[-1] and gemini_text(chunks[:-1]), chunks
        # What was delivered is billed: three calls, three log rows.
        wait_for(lambda: sql(g, "SELECT COUNT(*) FROM logs WHERE type = 2 AND quota > 0")[0][0]
                 == 3, 15, 0.1, what="three billed log rows")
    finally:
        g.stop()
        stop()


shared_gateway_case(S, setup)

if __name__ == "__main__":
    run_cases(S)
