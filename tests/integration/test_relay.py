#!/usr/bin/env python3
"""The OpenAI-compatible relay against the OpenAI mock upstream: exact
billing and logs, streaming (usage chunk kept only when asked), retries
that skip tried channels, auto-disable, routing errors, bad input, exactness
under concurrency, and a client leaving mid-stream."""
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, case, main, request, wait_for  # noqa: E402
from relayfix import (add_channel, add_token, api, chat, openai_mock, rcli, root_pat,  # noqa: E402
                      sql, user_quota, wait_routable)
from relayfix import set_option as _set_option  # noqa: E402


def set_option(g, pat, key, value):
    """Options reach every worker through the config version (250 ms poll)."""
    _set_option(g, pat, key, value)
    time.sleep(0.6)

MODEL = "gpt-4o-mini"
S = {}


def setup():
    """One gateway and mock for the cases that share them."""
    if S:
        return S
    port, stop = openai_mock.start(keys=["k-good", "k-two"])
    g = Gateway(workers=2).start()
    pat = root_pat(g)
    # Deterministic prices: quota = prompt + 2 × completion.
    set_option(g, pat, "ModelRatio", json.dumps({MODEL: 1, "other-model": 1, "fixed": 1, "burst-model": 1}))
    set_option(g, pat, "CompletionRatio", json.dumps({MODEL: 2}))
    base = f"http://127.0.0.1:{port}"
    cid = add_channel(g, pat, "main", base, "k-good", MODEL)
    tid, key = add_token(g, pat, "t-main", remain_quota=10_000_000)
    wait_routable(g, key, MODEL)
    S.update(g=g, pat=pat, port=port, stop=stop, base=base, cid=cid, tid=tid, key=key)
    return S


def mock_requests():
    st, _, b = request("GET", S["port"], "/__mock/requests")
    return json.loads(b)


def clear_mock():
    request("DELETE", S["port"], "/__mock/requests")


def root_uid(g):
    return sql(g, "SELECT id FROM users WHERE username = 'root'")[0][0]


def last_log(g, n=1):
    return sql(g, "SELECT quota, prompt_tokens, completion_tokens, model_name, channel_id, "
                  "token_name, is_stream, other FROM logs WHERE type = 2 ORDER BY id DESC LIMIT ?", n)


@case
def chat_is_relayed_billed_exactly_and_logged():
    s = setup()
    g, key = s["g"], s["key"]
    clear_mock()
    uid = root_uid(g)
    q0 = user_quota(g, uid)
    st, h, b = chat(g, key, {"model": MODEL, "messages": [{"role": "user", "content": "Say hi"}]})
    assert st == 200, b
    j = json.loads(b)
    assert j["choices"][0]["message"]["content"] == "Mock reply to: Say hi"
    u = j["usage"]
    cost = u["prompt_tokens"] + 2 * u["completion_tokens"]
    assert user_quota(g, uid) == q0 - cost
    reqs = mock_requests()
    assert len(reqs) == 1
    hdrs = {k.lower(): v for k, v in reqs[0]["headers"]}
    assert hdrs["authorization"] == "Bearer k-good", "the channel's key, never the client's"
    assert key[3:] not in json.dumps(reqs[0])
    assert reqs[0]["json"]["model"] == MODEL
    # Live channel health in Redis, shared by the replicas.
    wait_for(lambda: int(rcli(g, "HGET", f"tf:ch:{s['cid']}", "ok") or 0) >= 1, 5, 0.1,
             what="channel health")
    wait_for(lambda: last_log(g) and last_log(g)[0][0] == cost, 15, 0.1, what="the log row")
    row = last_log(g)[0]
    assert row[1:7] == (u["prompt_tokens"], u["completion_tokens"], MODEL, s["cid"], "t-main", 0), row
    other = json.loads(row[7])
    assert other["model_ratio"] == 1 and other["completion_ratio"] == 2
    assert h["x-oneapi-request-id"]


def read_stream(g, key, body, headers=None):
    st, h, b = chat(g, key, body, headers)
    events = [ln[6:] for ln in b.decode().split("\n") if ln.startswith("data: ")]
    return st, h, events


@case
def streams_pass_through_and_usage_chunk_only_when_asked():
    s = setup()
    g, key = s["g"], s["key"]
    uid = root_uid(g)
    q0 = user_quota(g, uid)
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "one two three"}]}
    st, h, ev = read_stream(g, key, body)
    assert st == 200 and h["content-type"].startswith("text/event-stream")
    assert ev[-1] == "[DONE]"
    chunks = [json.loads(e) for e in ev[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Mock reply to: one two three"
    assert not any(c.get("usage") for c in chunks), "usage chunk must be dropped: not asked"
    # The gateway asked the upstream for usage anyway and billed it exactly.
    up = mock_requests()[-1]["json"]
    assert up["stream_options"] == {"include_usage": True}
    q1 = user_quota(g, uid)
    # Asked: the usage chunk is forwarded; the same call costs the same.
    body["stream_options"] = {"include_usage": True}
    st, h, ev = read_stream(g, key, body)
    usage = [json.loads(e)["usage"] for e in ev[:-1] if json.loads(e).get("usage")]
    assert len(usage) == 1 and usage[0]["prompt_tokens"] == 1 + 3  # a message of three words
    cost = usage[0]["prompt_tokens"] + 2 * usage[0]["completion_tokens"]
    assert q0 - q1 == cost and q1 - user_quota(g, uid) == cost, (q0 - q1, cost)
    wait_for(lambda: last_log(g)[0][6] == 1, 15, 0.1, what="a stream log row")


@case
def retry_moves_to_the_next_channel_and_skips_tried_ones():
    s = setup()
    g, pat, key = s["g"], s["pat"], s["key"]
    set_option(g, pat, "RetryTimes", 2)
    bad = add_channel(g, pat, "flaky", s["base"], "k-good", "other-model", priority=10,
                      extra={"model_mapping": json.dumps({"other-model": "other-model@500"})})
    good = add_channel(g, pat, "steady", s["base"], "k-good", "other-model", priority=0)
    wait_routable(g, key, "other-model")
    clear_mock()
    st, h, b = chat(g, key, {"model": "other-model", "messages": [{"role": "user", "content": "x"}]})
    assert st == 200, b
    models = [r["json"]["model"] for r in mock_requests()]
    assert models == ["other-model@500", "other-model"], models
    assert int(rcli(g, "HGET", f"tf:ch:{bad}", "fail")) >= 1
    other = wait_for(lambda: sql(g, "SELECT other FROM logs WHERE model_name = 'other-model'"), 15,
                     0.1, what="log")
    assert json.loads(other[-1][0])["channels_tried"] == 2
    # Without retries the upstream error is passed through with its status.
    set_option(g, pat, "RetryTimes", 0)
    time.sleep(0.6)  # the option reaches the workers through the config version
    st, h, b = chat(g, key, {"model": "other-model", "messages": [{"role": "user", "content": "x"}]})
    assert st == 500 and "request id" in json.loads(b)["error"]["message"], b
    api(g, "DELETE", f"/api/channel/{bad}", token=pat)
    api(g, "DELETE", f"/api/channel/{good}", token=pat)


@case
def auto_disable_after_401():
    s = setup()
    g, pat, key = s["g"], s["pat"], s["key"]
    set_option(g, pat, "AutomaticDisableChannelEnabled", True)
    cid = add_channel(g, pat, "revoked", s["base"], "k-revoked", "fixed")
    wait_routable(g, key, "fixed")
    st, h, b = chat(g, key, {"model": "fixed", "messages": [{"role": "user", "content": "x"}]})
    assert st == 401, b
    wait_for(lambda: sql(g, "SELECT status FROM channels WHERE id = ?", cid)[0][0] == 3, 10, 0.1,
             what="status 3")
    assert sql(g, "SELECT enabled FROM abilities WHERE channel_id = ?", cid)[0][0] in (0, False)
    def gone():
        st, h, b = chat(g, key, {"model": "fixed", "messages": [{"role": "user", "content": "x"}]})
        return st == 503 and "fixed" in json.loads(b)["error"]["message"]
    wait_for(gone, 10, 0.2, what="the disabled channel to leave the routing table")
    set_option(g, pat, "AutomaticDisableChannelEnabled", False)
    api(g, "DELETE", f"/api/channel/{cid}", token=pat)


@case
def errors_in_openai_shape():
    s = setup()
    g, key = s["g"], s["key"]
    cases = [
        ({}, {"model": MODEL, "messages": []}, 401, "invalid_api_key"),
        ({"Authorization": "Bearer sk-doesnotexist"}, {"model": MODEL}, 401, "invalid_api_key"),
        ({"Authorization": "Bearer " + key}, b"{broken", 400, "invalid_request"),
        ({"Authorization": "Bearer " + key}, {"messages": []}, 400, "invalid_request"),
        ({"Authorization": "Bearer " + key}, {"model": 5}, 400, "invalid_request"),
        ({"Authorization": "Bearer " + key}, {"model": MODEL, "stream": "yes"}, 400, "invalid_request"),
        ({"Authorization": "Bearer " + key}, {"model": "no-such-model", "messages": []}, 503, "model_not_found"),
        ({"Authorization": "Bearer " + key, "Content-Type": "text/plain"}, {"model": MODEL}, 400, "invalid_request"),
        ({"Authorization": "Bearer " + key + "-" + str(s["cid"])}, {"model": MODEL, "messages": []}, 200, None),
    ]
    for headers, body, status, code in cases:
        st, h, b = request("POST", g.port, "/v1/chat/completions", body=body, headers=headers)
        assert st == status, (headers, body, st, b)
        if code:
            e = json.loads(b)["error"]
            assert e["code"] == code and "(request id: " in e["message"], e
    st, h, b = request("POST", g.port, "/v1/images/generations", body={"prompt": "x"},
                       headers={"Authorization": "Bearer " + key})
    assert st == 501 and json.loads(b)["error"]["type"] == "not_implemented"


@case
def a_fixed_price_budget_serves_exactly_n_calls_under_concurrency():
    s = setup()
    g, pat = s["g"], s["pat"]
    set_option(g, pat, "ModelPrice", json.dumps({"fixed": 0.002}))  # 1000 quota per call
    cid = add_channel(g, pat, "fixed-ok", s["base"], "k-good", "fixed")
    tid, key = add_token(g, pat, "t-five", remain_quota=5000)
    wait_routable(g, key, "fixed")
    time.sleep(0.6)
    results = []

    def call(i):
        body = {"model": "fixed", "stream": i % 2 == 0,
                "messages": [{"role": "user", "content": f"n {i}"}]}
        st, h, b = chat(g, key, body)
        results.append(st)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results.count(200) == 5, results
    assert all(st in (200, 401, 403) for st in results), results  # exhausted token: 401
    uid = root_uid(g)
    tkey = f"tf:{{s{uid % 16}}}:t:{tid}"
    assert rcli(g, "HGET", tkey, "remain_quota") == "0"
    assert rcli(g, "HGET", tkey, "reserved") in ("0", "")
    # Once the persister has drained: SQL used_quota = the sum of the consume
    # log rows = Redis, for the user and for the token.
    ukey = f"tf:{{s{uid % 16}}}:u:{uid}"
    def drained():
        r_used = int(rcli(g, "HGET", ukey, "used_quota"))
        s_used = sql(g, "SELECT used_quota FROM users WHERE id = ?", uid)[0][0]
        logs = sql(g, "SELECT COALESCE(SUM(quota), 0) FROM logs WHERE type = 2 AND user_id = ?",
                   uid)[0][0]
        return r_used == s_used == logs
    wait_for(drained, 20, 0.2, what="SQL, logs and Redis to agree")
    t_sql = sql(g, "SELECT used_quota, remain_quota FROM tokens WHERE id = ?", tid)[0]
    t_logs = sql(g, "SELECT SUM(quota) FROM logs WHERE type = 2 AND token_id = ?", tid)[0][0]
    assert t_sql == (5000, 0) and t_logs == 5000, (t_sql, t_logs)
    api(g, "DELETE", f"/api/channel/{cid}", token=pat)


@case
def client_leaving_mid_stream_aborts_upstream_and_settles():
    s = setup()
    g, key, pat = s["g"], s["key"], s["pat"]
    uid = root_uid(g)
    ukey = f"tf:{{s{uid % 16}}}:u:{uid}"
    # The mock stalls after 3 events when the upstream model says so.
    cid = add_channel(g, pat, "staller", s["base"], "k-good", "other-model", priority=50,
                      extra={"model_mapping": json.dumps({"other-model": "other-model@stall-3"})})
    wait_routable(g, key, "other-model")
    time.sleep(0.6)
    # SQLite may reuse a deleted channel's id (new-api's schema has no
    # AUTOINCREMENT): count this call's row on top of what is there.
    n0 = sql(g, "SELECT COUNT(*) FROM logs WHERE channel_id = ?", cid)[0][0]
    sock = socket.create_connection(("127.0.0.1", g.port), timeout=10)
    body = json.dumps({"model": "other-model", "stream": True,
                       "messages": [{"role": "user", "content": "tell me"}]}).encode()
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                 key.encode() + b"\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    buf = b""
    while buf.count(b"data: ") < 2:
        buf += sock.recv(65536)
    assert int(rcli(g, "HGET", ukey, "reserved")) > 0
    sock.close()
    wait_for(lambda: rcli(g, "HGET", ukey, "reserved") == "0", 10, 0.1, what="settlement")
    wait_for(lambda: sql(g, "SELECT COUNT(*) FROM logs WHERE channel_id = ?", cid)[0][0] == n0 + 1,
             15, 0.1, what="the log row of the cut stream")
    api(g, "DELETE", f"/api/channel/{cid}", token=pat)


@case
def a_burst_of_events_in_one_packet_is_forwarded_whole_and_in_order():
    # The first event of a packet is fed and written on its own (time to
    # first event), the rest after curl hands the same bytes back: nothing
    # may be lost, doubled or reordered at that seam.
    s = setup()
    g, pat = s["g"], s["pat"]
    add_channel(g, pat, "bursty", s["base"], "k-good", "burst-model", priority=60,
                extra={"model_mapping": json.dumps({"burst-model": "burst-model@burst"})})
    wait_routable(g, s["key"], "burst-model")
    for include in (False, True):
        body = {"model": "burst-model", "stream": True,
                "messages": [{"role": "user", "content": "alpha beta gamma delta"}]}
        if include:
            body["stream_options"] = {"include_usage": True}
        st, h, ev = read_stream(g, s["key"], body)
        assert st == 200 and ev[-1] == "[DONE]", ev[-3:]
        chunks = [json.loads(e) for e in ev[:-1]]
        roles = [c["choices"][0]["delta"].get("role") for c in chunks if c["choices"]]
        assert roles[0] == "assistant" and roles.count("assistant") == 1, roles
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
        assert text == "Mock reply to: alpha beta gamma delta", text
        fins = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
        assert fins[-1] == "stop" and fins.count("stop") == 1, fins
        assert len([c for c in chunks if c.get("usage")]) == (1 if include else 0)


@case
def a_budget_running_out_mid_stream_cuts_the_stream_and_bills_what_was_delivered():
    s = setup()
    g, pat = s["g"], s["pat"]
    # Reservation for a call without max_tokens: (500 + 4096 × 1) × 1 = 4596
    # (CompletionRatio of other-model is the default 1); the token can pay one
    # reservation and 404 more, while the stream's 4000 pieces (about 22900
    # characters) cost about 5700.
    cid = add_channel(g, pat, "chatty", s["base"], "k-good", "other-model", priority=70,
                      extra={"model_mapping": json.dumps({"other-model": "other-model@long-4000"})})
    tid, key = add_token(g, pat, "t-small", remain_quota=5000)
    wait_routable(g, key, "other-model")
    time.sleep(0.6)
    st, h, ev = read_stream(g, key, {"model": "other-model", "stream": True,
                                     "messages": [{"role": "user", "content": "go"}]})
    assert st == 200
    errors = [json.loads(e) for e in ev if e.startswith("{\"error\"")]
    assert errors and errors[0]["error"]["code"] == "insufficient_user_quota", ev[-3:]
    assert ev[-1] == "[DONE]"
    text = "".join((json.loads(e)["choices"][0]["delta"].get("content") or "")
                   for e in ev if e.startswith("{\"id") and json.loads(e)["choices"])
    assert 0 < text.count("w") < 4000, "the stream was cut before its end"
    uid = root_uid(g)
    tkey = f"tf:{{s{uid % 16}}}:t:{tid}"
    wait_for(lambda: rcli(g, "HGET", tkey, "reserved") in ("0", ""), 10, 0.1, what="settlement")
    remain = int(rcli(g, "HGET", tkey, "remain_quota"))
    assert 0 <= remain < 5000
    row = wait_for(lambda: sql(g, "SELECT quota, completion_tokens FROM logs WHERE token_name = "
                                  "'t-small'"), 15, 0.1, what="log")
    assert row[0][0] == 5000 - remain, (row, remain)
    api(g, "DELETE", f"/api/channel/{cid}", token=pat)


@case
def channel_tests_record_time_and_reenable_auto_disabled_channels():
    s = setup()
    g, pat = s["g"], s["pat"]
    st, j = api(g, "GET", f"/api/channel/test/{s['cid']}", token=pat)
    assert j["success"] is True and j["time"] >= 0, j
    t = sql(g, "SELECT response_time, test_time FROM channels WHERE id = ?", s["cid"])[0]
    assert t[1] > 0, t
    # An auto-disabled channel whose upstream works again comes back, if allowed.
    cid = add_channel(g, pat, "recovering", s["base"], "k-good", "fixed")
    c = __import__("sqlite3").connect(os.path.join(g.data_dir, "token-factory.db"))
    c.execute("UPDATE channels SET status = 3 WHERE id = ?", (cid,))
    c.execute("UPDATE abilities SET enabled = 0 WHERE channel_id = ?", (cid,))
    c.commit()
    c.close()
    rcli(g, "INCR", "tf:cfgver")
    set_option(g, pat, "AutomaticEnableChannelEnabled", True)
    st, j = api(g, "GET", f"/api/channel/test/{cid}", token=pat)
    assert j["success"] is True, j
    assert sql(g, "SELECT status FROM channels WHERE id = ?", cid)[0][0] == 1
    # A failing channel reports why, and a manual disable (2) is never undone.
    bad = add_channel(g, pat, "bad-key", s["base"], "k-nope", "fixed")
    time.sleep(0.6)
    st, j = api(g, "GET", f"/api/channel/test/{bad}", token=pat)
    assert j["success"] is False and "401" in j["message"], j
    st, j = api(g, "GET", "/api/channel/test", token=pat)
    assert j["success"] is True and j["data"]["started"] >= 2, j
    st, j = api(g, "GET", "/api/channel/test/999999", token=pat)
    assert j["success"] is False
    set_option(g, pat, "AutomaticEnableChannelEnabled", False)
    # Scheduled tests: one replica's worker takes the period's lock and tests all.
    c = __import__("sqlite3").connect(os.path.join(g.data_dir, "token-factory.db"))
    c.execute("UPDATE channels SET test_time = 0")
    c.commit()
    c.close()
    set_option(g, pat, "monitor_setting.auto_test_channel_minutes", 1)
    set_option(g, pat, "monitor_setting.auto_test_channel_enabled", True)
    wait_for(lambda: sql(g, "SELECT test_time FROM channels WHERE id = ?", s["cid"])[0][0] > 0,
             20, 0.5, what="a scheduled channel test")
    assert rcli(g, "EXISTS", "tf:lock:chtest") == "1"
    set_option(g, pat, "monitor_setting.auto_test_channel_enabled", False)
    for x in (cid, bad):
        api(g, "DELETE", f"/api/channel/{x}", token=pat)


@case
def token_ip_list_model_limits_other_key_headers_and_billing_endpoints():
    s = setup()
    g, pat = s["g"], s["pat"]
    other = add_channel(g, pat, "other", s["base"], "k-good", "other-model")
    # Routable everywhere first: the token's edits below apply at once, so
    # nothing else waits long enough for the new channel.
    wait_routable(g, s["key"], "other-model")
    st, j = api(g, "POST", "/api/token/", token=pat,
                body={"name": "t-limited", "remain_quota": 100000, "expired_time": -1,
                      "allow_ips": "10.9.9.0/24", "model_limits_enabled": True,
                      "model_limits": MODEL})
    assert j["success"], j
    tid = sql(g, "SELECT id FROM tokens WHERE name = 't-limited'")[0][0]
    key = "sk-" + api(g, "POST", f"/api/token/{tid}/key", token=pat)[1]["data"]["key"].removeprefix("sk-")
    msg = {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}
    st, h, b = chat(g, key, msg)
    assert st == 403 and json.loads(b)["error"]["code"] == "ip_not_allowed", b
    st, j = api(g, "PUT", "/api/token/", token=pat,
                body={"id": tid, "name": "t-limited", "remain_quota": 100000, "expired_time": -1,
                      "allow_ips": "127.0.0.0/8", "model_limits_enabled": True,
                      "model_limits": MODEL})
    assert j["success"], j
    # The new IP list applies to the next call on every worker.
    assert all(chat(g, key, msg)[0] == 200 for _ in range(6))
    st, h, b = chat(g, key, dict(msg, model="other-model"))
    assert st == 403 and json.loads(b)["error"]["code"] == "model_not_allowed", b
    st, h, b = request("GET", g.port, "/v1/models", headers={"Authorization": "Bearer " + key})
    assert [m["id"] for m in json.loads(b)["data"]] == [MODEL]
    # The key in x-api-key, as the Anthropic SDK sends it.
    st, h, b = request("POST", g.port, "/v1/chat/completions", body=msg,
                       headers={"x-api-key": key})
    assert st == 200, b
    st, h, b = request("GET", g.port, "/dashboard/billing/subscription",
                       headers={"Authorization": "Bearer " + key})
    j = json.loads(b)
    assert j["object"] == "billing_subscription" and 0 < j["hard_limit_usd"] <= 0.2, j
    st, h, b = request("GET", g.port, "/v1/dashboard/billing/usage",
                       headers={"Authorization": "Bearer " + key})
    assert json.loads(b)["total_usage"] > 0
    # (A body over MAX_REQUEST_BODY_MB is refused before the relay: test_http.py.)
    api(g, "DELETE", f"/api/channel/{other}", token=pat)


BUSY_LUA = ("local t0 = redis.call('TIME') local s0 = t0[1] * 1000000 + t0[2] "
            "while true do local t = redis.call('TIME') "
            "if t[1] * 1000000 + t[2] - s0 > tonumber(ARGV[1]) then break end end return 1")


def block_redis(g, us):
    """Keeps the gateway's Redis busy (one Lua loop) for us microseconds."""
    t = threading.Thread(target=rcli, args=(g, "EVAL", BUSY_LUA, 0, str(us)))
    t.start()
    time.sleep(0.3)  # redis-cli has started its loop (spawning it can take a while here)
    return t


def consumed(g, tid):
    return sql(g, "SELECT COUNT(*) FROM logs WHERE type = 2 AND token_id = ?", tid)[0][0]


def keepalive_chat(conn, key, body):
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body),
                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


@case
def speculative_start_is_held_until_authorized_and_a_refusal_drops_it():
    # SPECULATIVE_AUTH (opt-in, default off: a refused call has already
    # reached the upstream): once a key's last authorize in a worker left
    # ample budget, its next call starts upstream while authorize runs.
    # Redis is kept busy so the order is forced: the upstream sees the call
    # first, and nothing reaches the client before authorize answers.
    s = setup()
    g = Gateway(workers=1, env={"SPECULATIVE_AUTH": "true"}).start()
    try:
        pat = root_pat(g)
        set_option(g, pat, "ModelRatio", json.dumps({MODEL: 1}))
        set_option(g, pat, "CompletionRatio", json.dumps({MODEL: 2}))
        add_channel(g, pat, "spec-main", s["base"], "k-good", MODEL)
        speculate(g, pat)
    finally:
        g.stop()


def speculate(g, pat):
    import http.client
    uid = root_uid(g)
    tid, key = add_token(g, pat, "t-spec", remain_quota=5_000_000)
    wait_routable(g, key, MODEL)
    time.sleep(0.6)  # the new token's config bump (it flushes the key cache) has landed
    conn = http.client.HTTPConnection("127.0.0.1", g.port, timeout=30)  # one worker
    msg = {"model": MODEL, "messages": [{"role": "user", "content": "Say hi"}]}
    for _ in range(2):
        st, b = keepalive_chat(conn, key, msg)  # authorize first: the hint is set
        assert st == 200, b
    calls = 2  # successful calls of this (new) token: one consume log row each
    for stream in (False, True):
        clear_mock()
        wait_for(lambda: consumed(g, tid) == calls, 10, what="the earlier log rows")
        q0 = user_quota(g, uid)
        t = block_redis(g, 1_200_000)
        out = {}
        c = threading.Thread(target=lambda: out.update(r=keepalive_chat(
            conn, key, dict(msg, stream=stream))))
        c.start()
        wait_for(lambda: len(mock_requests()) == 1, 5, what="the speculative upstream call")
        assert t.is_alive() and c.is_alive(), "answered before authorize could run"
        t.join()
        c.join(10)
        st, b = out["r"]
        assert st == 200, b
        if stream:
            assert b.rstrip().endswith(b"data: [DONE]") and b.count(b"data: ") > 3, b[-300:]
        else:
            assert json.loads(b)["choices"][0]["message"]["content"] == "Mock reply to: Say hi"
        calls += 1
        wait_for(lambda: consumed(g, tid) == calls, 10, what="the log")
        assert user_quota(g, uid) < q0, "the speculative call was billed"
    # A refusal after a speculative start: the token is emptied behind the
    # worker's back (no config change, so its hint still says ample).
    tk = "tf:{s%d}:t:%d" % (uid % 16, tid)
    remain = rcli(g, "HGET", tk, "remain_quota")
    rcli(g, "HSET", tk, "remain_quota", "0")
    try:
        clear_mock()
        q0 = user_quota(g, uid)
        t = block_redis(g, 1_000_000)
        st, b = keepalive_chat(conn, key, msg)
        t.join()
        assert st == 401 and json.loads(b)["error"]["code"] == "token_exhausted", (st, b)
        assert len(mock_requests()) == 1, "the call was not started speculatively"
        time.sleep(0.3)
        assert user_quota(g, uid) == q0 and consumed(g, tid) == calls
        # The refusal turned speculation off for this key: the next call
        # authorizes first and never reaches the upstream.
        clear_mock()
        st, b = keepalive_chat(conn, key, msg)
        assert st == 401 and mock_requests() == [], (st, mock_requests())
    finally:
        rcli(g, "HSET", tk, "remain_quota", remain)
        conn.close()


@case
def stopping_with_a_channel_test_in_flight_frees_it():
    # "Test all" runs in the background: no client's close ends it. A worker
    # stopping while such a test waits on a silent upstream must abort and
    # free it (LeakSanitizer in the worker checks, through stop()).
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    held = []
    try:
        with Gateway(workers=1) as g:
            pat = root_pat(g)
            set_option(g, pat, "ModelRatio", json.dumps({"hang-model": 1}))
            add_channel(g, pat, "silent", "http://127.0.0.1:%d" % silent.getsockname()[1],
                        "k-any", "hang-model")
            time.sleep(0.6)  # the worker's routing table has the channel
            st, j = api(g, "GET", "/api/channel/test", token=pat)
            assert st == 200 and j["success"] and j["data"]["started"] >= 1, j
            silent.settimeout(10)
            held.append(silent.accept()[0])  # the test's transfer is in flight
            g.stop()
    finally:
        for c in held:
            c.close()
        silent.close()


@case
def models_listing_in_three_forms():
    s = setup()
    g, key = s["g"], s["key"]
    st, h, b = request("GET", g.port, "/v1/models", headers={"Authorization": "Bearer " + key})
    j = json.loads(b)
    assert st == 200 and j["object"] == "list" and MODEL in [m["id"] for m in j["data"]]
    st, h, b = request("GET", g.port, "/v1/models",
                       headers={"x-api-key": key, "anthropic-version": "2023-06-01"})
    j = json.loads(b)
    assert j["data"][0]["type"] == "model" and "has_more" in j
    st, h, b = request("GET", g.port, "/v1/models?key=" + key)
    assert any(m["name"] == "models/" + MODEL for m in json.loads(b)["models"])
    st, h, b = request("GET", g.port, "/v1/models", headers={"Authorization": "Bearer sk-bad"})
    assert st == 401


@case
def one_model_retrieved_in_the_clients_form_and_404_when_not_available():
    s = setup()
    g, key = s["g"], s["key"]
    bearer = {"Authorization": "Bearer " + key}
    st, _, b = request("GET", g.port, "/v1/models/" + MODEL, headers=bearer)
    assert st == 200 and json.loads(b) == {"id": MODEL, "object": "model",
                                           "created": json.loads(b)["created"],
                                           "owned_by": "token-factory"}, b
    st, _, b = request("GET", g.port, "/v1/models/no-such-model", headers=bearer)
    j = json.loads(b)
    assert st == 404 and j["error"]["code"] == "model_not_found", (st, b)
    # Gemini's listing and resource (the @google/genai SDK's models.list / get)
    st, _, b = request("GET", g.port, "/v1beta/models", headers={"x-goog-api-key": key})
    assert st == 200 and any(m["name"] == "models/" + MODEL for m in json.loads(b)["models"]), b
    st, _, b = request("GET", g.port, "/v1beta/models/" + MODEL + "?key=" + key)
    assert st == 200 and json.loads(b)["name"] == "models/" + MODEL, b
    st, _, b = request("GET", g.port, "/v1beta/models/nope", headers={"x-goog-api-key": key})
    j = json.loads(b)
    assert st == 404 and j["error"]["status"] == "NOT_FOUND" and j["error"]["code"] == 404, b
    # Anthropic's form, and its not_found_error
    anth = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    st, _, b = request("GET", g.port, "/v1/models/" + MODEL, headers=anth)
    assert st == 200 and json.loads(b)["type"] == "model" and json.loads(b)["id"] == MODEL, b
    st, _, b = request("GET", g.port, "/v1/models/nope", headers=anth)
    j = json.loads(b)
    assert st == 404 and j["type"] == "error" and j["error"]["type"] == "not_found_error", b
    st, _, b = request("GET", g.port, "/v1/models/" + MODEL, headers={"Authorization": "Bearer sk-bad"})
    assert st == 401, (st, b)


@case
def shared_gateway_stops_cleanly():
    s = setup()
    s["g"].stop()
    s["stop"]()
    S.clear()


if __name__ == "__main__":
    try:
        main()
    finally:
        if S:
            S["g"].kill()
            S["stop"]()
