#!/usr/bin/env python3
"""Money at the relay's edges (issue 10, parts 1 and 2): no call goes unbilled
or unlogged whatever the client, the upstream or Redis does, and no call
reaches the upstream unless it will be paid for.

- Model names holding '"', '\\', control characters, non-ASCII and 10 KB
  lengths, from the client and through model_mapping, in chat, stream and
  error paths: the exact charge, and a log row whose `other` parses.
- A settle that settle.lua refuses is settled again, charged at least the
  reservation and logged with the reason; one that cannot reach Redis is
  retried until it lands (test hooks: X-Test-Settle).
- A budget for exactly 100 calls raced by 500 calls across two replicas with
  the default settings: exactly 100 reach the upstream, 100 are billed."""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, case, main, request, wait_for  # noqa: E402
from relayfix import (add_channel, add_token, api, chat, openai_mock, rcli, root_pat,  # noqa: E402
                      sql, wait_routable)
from relayfix import set_option as _set_option  # noqa: E402

S = {}
QUOTE = 'q"uote'                       # client model names, routed as they are
BACK = "back\\slash"
CTRL = "c\u0001trl\u00e9"
EVIL = 'ev"il\\na\u0001me\t\u00e9\u2028'  # an upstream name reached through model_mapping
LONG = "L" * 10000


def set_option(g, pat, key, value):
    _set_option(g, pat, key, value)
    time.sleep(0.6)  # options reach every worker through the config version


def setup():
    if S:
        return S
    port, stop = openai_mock.start(keys=["k-good"])
    g = Gateway(workers=2).start()  # default settings
    pat = root_pat(g)
    names = [QUOTE, BACK, CTRL, "map-evil", "map-evil-500", "map-evil-stall", "map-long",
             "map-huge"]
    set_option(g, pat, "ModelRatio", json.dumps({n: 1 for n in names}))
    base = f"http://127.0.0.1:{port}"
    add_channel(g, pat, "plain", base, "k-good", ",".join([QUOTE, BACK, CTRL]))
    mapping = {"map-evil": EVIL, "map-evil-500": EVIL + "@500", "map-evil-stall": EVIL + "@stall-3",
               "map-long": LONG, "map-huge": EVIL + "@huge-usage"}
    add_channel(g, pat, "mapped", base, "k-good", ",".join(mapping),
                extra={"model_mapping": json.dumps(mapping)})
    tid, key = add_token(g, pat, "t-money", remain_quota=50_000_000)
    uid = sql(g, "SELECT id FROM users WHERE username = 'root'")[0][0]
    for n in [QUOTE, "map-evil"]:
        wait_routable(g, key, n)
    S.update(g=g, pat=pat, port=port, stop=stop, base=base, tid=tid, key=key, uid=uid)
    return S


def money(s):
    """Spendable user quota, token remain_quota and both reserved amounts."""
    uid, tid = s["uid"], s["tid"]
    u = rcli(s["g"], "HMGET", f"tf:{{s{uid % 16}}}:u:{uid}", "quota", "reserved").split("\n")
    t = rcli(s["g"], "HMGET", f"tf:{{s{uid % 16}}}:t:{tid}", "remain_quota", "reserved").split("\n")
    return [int(x or 0) for x in u + t]


def settled(s):
    """Waits until nothing is reserved; returns (user quota, token remain)."""
    m = wait_for(lambda: (lambda m: m if m[1] == 0 and m[3] == 0 else None)(money(s)), 15, 0.05,
                 what="the settlement")
    return m[0], m[2]


def log_rows(s, rid):
    return sql(s["g"], "SELECT quota, model_name, other, prompt_tokens, completion_tokens "
                       "FROM logs WHERE request_id = ?", rid)


def the_log_row(s, rid):
    rows = wait_for(lambda: log_rows(s, rid), 15, 0.1, what=f"the log row of {rid}")
    assert len(rows) == 1, rows
    quota, model, other, pt, ct = rows[0]
    return quota, model, json.loads(other), pt, ct


def stream_events(b):
    return [ln[6:] for ln in b.decode().split("\n") if ln.startswith("data: ")]


def usage_of(stream, st, b):
    if not stream:
        return json.loads(b)["usage"]
    ev = stream_events(b)
    assert ev[-1] == "[DONE]", ev[-3:]
    return [json.loads(e)["usage"] for e in ev[:-1] if json.loads(e).get("usage")][0]


@case
def hostile_model_names_are_billed_exactly_and_logged_as_json():
    s = setup()
    g, key = s["g"], s["key"]
    cases = [(QUOTE, QUOTE), (BACK, BACK), (CTRL, CTRL), ("map-evil", EVIL)]
    for model, upstream in cases:
        for stream in (False, True):
            q0, t0 = settled(s)
            body = {"model": model, "stream": stream,
                    "messages": [{"role": "user", "content": "hello there"}]}
            if stream:
                body["stream_options"] = {"include_usage": True}
            st, h, b = chat(g, key, body)
            assert st == 200, (model, b)
            u = usage_of(stream, st, b)
            cost = u["prompt_tokens"] + u["completion_tokens"]  # ratio 1, completion ratio 1
            q1, t1 = settled(s)
            assert (q0 - q1, t0 - t1) == (cost, cost), (model, stream, q0 - q1, t0 - t1, cost)
            quota, logged_model, other, pt, ct = the_log_row(s, h["x-oneapi-request-id"])
            assert quota == cost and (pt, ct) == (u["prompt_tokens"], u["completion_tokens"])
            assert logged_model == model, (logged_model, model)
            assert other["upstream_model_name"] == upstream, other
            assert other["is_model_mapped"] is (model != upstream)
            assert other["completion_ratio"] == 1


@case
def hostile_names_on_error_paths_are_settled_and_logged():
    import socket
    s = setup()
    g, key = s["g"], s["key"]
    # The upstream fails before any output: nothing is charged, the row is written.
    q0, t0 = settled(s)
    st, h, b = chat(g, key, {"model": "map-evil-500", "messages": [{"role": "user", "content": "x"}]})
    assert st == 500, b
    assert settled(s) == (q0, t0)
    quota, model, other, pt, ct = the_log_row(s, h["x-oneapi-request-id"])
    assert quota == 0 and model == "map-evil-500" and other["upstream_model_name"] == EVIL + "@500"
    # A stream the client leaves after two events: billed for what was delivered.
    body = json.dumps({"model": "map-evil-stall", "stream": True,
                       "messages": [{"role": "user", "content": "tell me"}]}).encode()
    sock = socket.create_connection(("127.0.0.1", g.port), timeout=10)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                 key.encode() + b"\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    buf = b""
    while buf.count(b"data: ") < 2:
        buf += sock.recv(65536)
    rid = [ln.split(b":", 1)[1].strip().decode() for ln in buf.split(b"\r\n")
           if ln.lower().startswith(b"x-oneapi-request-id:")][0]
    sock.close()
    q1, t1 = settled(s)
    quota, model, other, pt, ct = the_log_row(s, rid)
    assert quota > 0 and (q0 - q1, t0 - t1) == (quota, quota), (quota, q0 - q1, t0 - t1)
    assert other["upstream_model_name"] == EVIL + "@stall-3" and other["local_count_tokens"]
    # A mapping to a name over 191 bytes: a clear error, never a cut name.
    st, h, b = chat(g, key, {"model": "map-long", "messages": [{"role": "user", "content": "x"}]})
    assert st == 500 and "over 191 bytes" in json.loads(b)["error"]["message"], (st, b[:300])
    assert settled(s) == (q1, t1)
    quota, model, other, pt, ct = the_log_row(s, h["x-oneapi-request-id"])
    assert quota == 0 and model == "map-long"
    # An upstream reporting absurd usage: the charge is capped by the budget,
    # never refused (the token's whole remaining budget goes, as a shortfall).
    st, h, b = chat(g, key, {"model": "map-huge", "messages": [{"role": "user", "content": "x"}]})
    assert st == 200, b
    q2, t2 = settled(s)
    quota, model, other, pt, ct = the_log_row(s, h["x-oneapi-request-id"])
    assert t2 == 0 and quota == t1 and q1 - q2 == t1 and other["shortfall"] > 0, (quota, t1, other)
    assert pt == ct == 10 ** 9  # GW_USAGE_TOKENS_MAX: each count clamped
    rcli(g, "HSET", f"tf:{{s{s['uid'] % 16}}}:t:{s['tid']}", "remain_quota", "50000000")


@case
def bad_client_input_is_refused_clearly_and_charges_nothing():
    s = setup()
    g, key = s["g"], s["key"]
    before = settled(s)
    n0 = sql(g, "SELECT COUNT(*) FROM logs WHERE type = 2")[0][0]
    h = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
    bodies = [
        (json.dumps({"model": LONG, "messages": []}).encode(), "too long"),
        (b'{"model": "q\xff\xfe", "messages": []}', "invalid JSON"),
        (b'{"model": "q\\u0000x", "messages": []}', "invalid JSON"),
        (json.dumps({"model": "\u00e9" * 100, "messages": []}).encode(), "too long"),  # 200 bytes
    ]
    for body, why in bodies:
        st, _, b = request("POST", g.port, "/v1/chat/completions", body=body, headers=h)
        e = json.loads(b)["error"]
        assert st == 400 and why in e["message"], (body[:40], st, e)
    assert settled(s) == before
    time.sleep(0.3)
    assert sql(g, "SELECT COUNT(*) FROM logs WHERE type = 2")[0][0] == n0


@case
def a_settle_refused_by_the_script_is_charged_its_reservation_and_logged():
    # X-Test-Settle: bad-arg makes settle.lua refuse the first settle (as a
    # malformed argument did): the call must still be paid and logged, and
    # nothing left for the reaper to refund.
    s = setup()
    g, key = s["g"], s["key"]
    for stream in (False, True):
        q0, t0 = settled(s)
        body = {"model": "map-evil", "stream": stream, "max_tokens": 50,
                "messages": [{"role": "user", "content": "hello there"}]}
        st, h, b = chat(g, key, body, headers={"X-Test-Settle": "bad-arg"})
        assert st == 200, b
        q1, t1 = settled(s)
        quota, model, other, pt, ct = the_log_row(s, h["x-oneapi-request-id"])
        assert "ERR_BAD_ARG other" in other["settle_error"], other
        # (max(500 pre-consumed, estimate) + max_tokens 50) × ratio 1
        assert other["reserved"] == 550 and 0 < other["actual"] < 550, other
        assert quota == 550 and (q0 - q1, t0 - t1) == (550, 550), (quota, q0 - q1, t0 - t1)
        assert model == "map-evil" and other["upstream_model_name"] == EVIL
    uid = s["uid"]
    assert rcli(g, "HLEN", f"tf:{{s{uid % 16}}}:res") == "0"


@case
def a_settle_that_cannot_reach_redis_is_retried_until_it_lands():
    # X-Test-Settle: down-3: the first three settles are not sent, as when
    # Redis is unreachable; the call is settled by a retry, exactly once.
    s = setup()
    g, key = s["g"], s["key"]
    for stream in (False, True):
        q0, t0 = settled(s)
        body = {"model": QUOTE, "stream": stream,
                "messages": [{"role": "user", "content": "hello there"}]}
        if stream:
            body["stream_options"] = {"include_usage": True}
        st, h, b = chat(g, key, body, headers={"X-Test-Settle": "down-3"})
        assert st == 200, b
        u = usage_of(stream, st, b)
        cost = u["prompt_tokens"] + u["completion_tokens"]
        q1, t1 = settled(s)
        assert (q0 - q1, t0 - t1) == (cost, cost), (q0 - q1, t0 - t1, cost)
        quota, model, other, pt, ct = the_log_row(s, h["x-oneapi-request-id"])
        assert quota == cost and "settle_error" not in other
    assert "retrying" in g.read_log() and "settled after 4 attempts" in g.read_log()


@case
def a_settle_during_a_redis_stall_lands_once_after_it():
    # Redis stops answering (SIGSTOP) while a stream runs: the stream ends,
    # its settle times out and is retried (with extend 0) until Redis is back;
    # the call is then charged exactly once, with one log row.
    import signal
    from harness import descendants
    port, stop = openai_mock.start(keys=["k-stall"])
    g = Gateway(workers=1, env={"REDIS_TIMEOUT_MS": "300"}).start()
    redis_pid = None
    try:
        pat = root_pat(g)
        set_option(g, pat, "ModelRatio", json.dumps({"slowm": 1}))
        add_channel(g, pat, "slow", f"http://127.0.0.1:{port}", "k-stall", "slowm",
                    extra={"model_mapping": json.dumps({"slowm": "slowm@delay-300"})})
        tid, key = add_token(g, pat, "t-stall", remain_quota=1_000_000)
        wait_routable(g, key, "slowm")
        uid = sql(g, "SELECT id FROM users WHERE username = 'root'")[0][0]
        s = {"g": g, "uid": uid, "tid": tid}
        q0, t0 = settled(s)
        redis_pid = [p for p in descendants(g.proc.pid)
                     if "redis-server" in open(f"/proc/{p}/cmdline").read()][0]
        import socket
        body = json.dumps({"model": "slowm", "stream": True,
                           "stream_options": {"include_usage": True},
                           "messages": [{"role": "user", "content": "one two three"}]}).encode()
        sock = socket.create_connection(("127.0.0.1", g.port), timeout=30)
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                     key.encode() + b"\r\nContent-Type: application/json\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        buf = b""
        while b"data: " not in buf:
            buf += sock.recv(65536)
        os.kill(redis_pid, signal.SIGSTOP)  # the stream goes on; Redis is gone
        while True:
            more = sock.recv(65536)
            if not more:
                break
            buf += more
        sock.close()
        assert b"data: [DONE]" in buf, buf[-300:]
        time.sleep(1.5)  # settles time out (300 ms) and are retried meanwhile
        os.kill(redis_pid, signal.SIGCONT)
        redis_pid = None
        text = buf.decode("utf-8", "replace")
        usage = [json.loads(ln[6:])["usage"] for ln in text.split("\n")
                 if ln.startswith("data: {") and json.loads(ln[6:]).get("usage")][0]
        cost = usage["prompt_tokens"] + usage["completion_tokens"]
        q1, t1 = settled(s)
        assert (q0 - q1, t0 - t1) == (cost, cost), (q0 - q1, t0 - t1, cost)
        rows = wait_for(lambda: sql(g, "SELECT quota FROM logs WHERE type = 2 AND token_id = ?",
                                    tid), 20, 0.2, what="the log row")
        time.sleep(0.5)
        rows = sql(g, "SELECT quota FROM logs WHERE type = 2 AND token_id = ?", tid)
        assert rows == [(cost,)], rows
        assert "retrying" in g.read_log()
    finally:
        if redis_pid:
            os.kill(redis_pid, signal.SIGCONT)
        g.stop()
        stop()


@case
def a_worker_stopping_with_a_settle_still_retrying_waits_then_gives_it_up_cleanly():
    # Redis "unreachable" for longer than the worker's shutdown allows: the
    # worker waits SHUTDOWN_TIMEOUT for the settle, then gives it up with an
    # error logged, freeing everything (LeakSanitizer checks through stop()).
    port, stop = openai_mock.start(keys=["k-stop"])
    g = Gateway(workers=1, env={"SHUTDOWN_TIMEOUT": "2"}).start()
    try:
        pat = root_pat(g)
        set_option(g, pat, "ModelRatio", json.dumps({"stopm": 1}))
        add_channel(g, pat, "stopper", f"http://127.0.0.1:{port}", "k-stop", "stopm")
        tid, key = add_token(g, pat, "t-stop", remain_quota=1_000_000)
        wait_routable(g, key, "stopm")
        st, h, b = chat(g, key, {"model": "stopm", "messages": [{"role": "user", "content": "x"}]},
                        headers={"X-Test-Settle": "down-50"})
        assert st == 200, b
        wait_for(lambda: "retrying" in g.read_log(), 10, 0.1, what="the settle to be retrying")
        with open(g.log_path, "rb") as f:  # stop() removes the file; this keeps it readable
            g.stop()  # asserts a clean exit: no sanitizer report, status 0
            log = f.read().decode("utf-8", "replace")
        assert "shutdown timeout: cutting 1 requests" in log, log[-2000:]
        assert "abandoned at shutdown" in log, log[-2000:]
    finally:
        if g.proc and g.proc.poll() is None:
            g.kill()
        stop()


@case
def sql_agrees_with_redis_and_the_logs_after_all_of_it():
    s = setup()
    g, uid, tid = s["g"], s["uid"], s["tid"]

    def drained():
        r_used = int(rcli(g, "HGET", f"tf:{{s{uid % 16}}}:t:{tid}", "used_quota"))
        s_used = sql(g, "SELECT used_quota FROM tokens WHERE id = ?", tid)[0][0]
        logs = sql(g, "SELECT COALESCE(SUM(quota), 0) FROM logs WHERE type = 2 AND token_id = ?",
                   tid)[0][0]
        u_redis = int(rcli(g, "HGET", f"tf:{{s{uid % 16}}}:u:{uid}", "used_quota"))
        u_sql = sql(g, "SELECT used_quota FROM users WHERE id = ?", uid)[0][0]
        u_logs = sql(g, "SELECT COALESCE(SUM(quota), 0) FROM logs WHERE type = 2 AND user_id = ?",
                     uid)[0][0]
        return r_used == s_used == logs and r_used > 0 and u_redis == u_sql == u_logs
    wait_for(drained, 20, 0.2, what="SQL, logs and Redis to agree")
    for (other,) in sql(g, "SELECT other FROM logs WHERE type = 2 AND token_id = ?", tid):
        assert isinstance(json.loads(other), dict), other
    s["g"].stop()
    s["stop"]()
    S.clear()


# ---- part 2: the budget race ----------------------------------------------------------------

ROUNDS = 3
RACERS = 500
PAID = 100


@case
def a_budget_for_100_calls_raced_by_500_across_two_replicas_reaches_the_upstream_100_times():
    port, stop = openai_mock.start(keys=["k-race"])
    a = Gateway(workers=2).start()
    b = None
    try:
        sock = os.path.join(a.data_dir, "redis.sock")
        b = Gateway(workers=2, env={"REDIS_CONN_STRING": "unix://" + sock,
                                    "SQLITE_PATH": os.path.join(a.data_dir, "token-factory.db")})
        b.start()
        pat = root_pat(a)
        set_option(a, pat, "ModelPrice", json.dumps({"race": 0.002}))  # 1000 quota per call
        add_channel(a, pat, "race", f"http://127.0.0.1:{port}", "k-race", "race")
        for rnd in range(ROUNDS):
            tid, key = add_token(a, pat, f"t-race-{rnd}", remain_quota=PAID * 1000)
            for g in (a, b):
                wait_routable(g, key, "race")
            time.sleep(0.6)  # the token's config bump has reached every worker
            request("DELETE", port, "/__mock/requests")
            results, gate = [], threading.Barrier(RACERS, timeout=60)

            def call(i):
                g = (a, b)[i % 2]
                body = {"model": "race", "stream": i % 3 == 0,
                        "messages": [{"role": "user", "content": f"n {i}"}]}
                try:
                    gate.wait()
                    # Arrivals spread over 1.5 s, as clients do: later calls find
                    # keys whose earlier authorize left ample budget (the case
                    # in which SPECULATIVE_AUTH started calls early).
                    time.sleep((i * 7919 % RACERS) * 1.5 / RACERS)
                    st, h, _ = request("POST", g.port, "/v1/chat/completions", body=body,
                                       headers={"Authorization": "Bearer " + key}, timeout=120)
                except Exception as e:  # noqa: BLE001 - counted below
                    st = repr(e)
                results.append(st)

            threads = [threading.Thread(target=call, args=(i,)) for i in range(RACERS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(180)
            assert len(results) == RACERS, len(results)
            assert results.count(200) == PAID, (rnd, results.count(200),
                                                 [r for r in results if r not in (200, 401, 403)])
            assert all(r in (200, 401, 403) for r in results), set(map(str, results))
            st, _, body = request("GET", port, "/__mock/requests")
            upstream = [r for r in json.loads(body) if r["path"].endswith("/chat/completions")]
            assert len(upstream) == PAID, (rnd, len(upstream))
            uid = sql(a, "SELECT id FROM users WHERE username = 'root'")[0][0]
            tk = f"tf:{{s{uid % 16}}}:t:{tid}"
            assert rcli(a, "HGET", tk, "remain_quota") == "0"
            wait_for(lambda: rcli(a, "HGET", tk, "reserved") in ("0", ""), 10, 0.1,
                     what="the reservations to settle")

            def billed():
                return sql(a, "SELECT COUNT(*), COALESCE(SUM(quota), 0) FROM logs WHERE type = 2 "
                              "AND token_id = ? AND quota > 0", tid)[0] == (PAID, PAID * 1000)
            wait_for(billed, 30, 0.2, what=f"{PAID} billed log rows")
        b.stop()
        b = None
    finally:
        if b:
            b.kill()
        a.stop()
        stop()


if __name__ == "__main__":
    try:
        main()
    finally:
        if S:
            S["g"].kill()
            S["stop"]()
