#!/usr/bin/env python3
"""Reads show the truth (issue 10, part 7): Redis holds the money, SQL follows it
one persister batch later, so every management read that shows quota,
used_quota, remain_quota or request_count takes them from Redis.

Each check writes, then reads at once, ten times: a token's remain_quota set by
PUT /api/token/ (get, list, search), a redemption code (GET /api/user/self),
an admin's quota edit and add_quota (get, list, search, self), a relayed call
(token and user). The values are the SQL-visible ones (quota + reserved), and a
row Redis does not hold keeps its SQL value. While a check writes and reads, the
ledger process is stopped (SIGSTOP), so SQL cannot catch up and a read served from
SQL would be stale every time, on every backend. Runs on SQLite, and the suite again
on MariaDB and PostgreSQL. A page costs one pipelined Redis write, not one per
row (the worker's counters, /__test/stats).

usage: test_api_live_reads.py [BUILD_DIR]    (TEST_CASE=name runs one case)"""
import contextlib
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_api_tokens as tk  # noqa: E402  (shared helpers; its own cases are not run here)
from apihelp import Suite  # noqa: E402
from harness import Gateway, case, descendants, request  # noqa: E402
from relayfix import (add_channel, add_token, chat, openai_mock, root_pat, set_option,  # noqa: E402
                      wait_priced)
from relayfix import wait_routable  # noqa: E402

harness._cases.clear()

ROUNDS = 10


def item(page, rid):
    got = [i for i in page["items"] if i["id"] == rid]
    assert len(got) == 1, (rid, page)
    return got[0]


@contextlib.contextmanager
def sql_frozen(g):
    """The ledger process stopped (SIGSTOP): the persister cannot bring SQL up to
    Redis meanwhile, so a read served from SQL would be stale every time, not only
    when it beats the next batch."""
    def comm(p):
        try:
            with open("/proc/%d/comm" % p) as f:
                return f.read().strip()
        except OSError:
            return ""
    pids = [p for p in descendants(g.proc.pid) if comm(p) == "tf-ledger"]
    assert len(pids) == 1, pids
    os.kill(pids[0], signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pids[0], signal.SIGCONT)


# ---- the suite (every backend) ---------------------------------------------------------


def check_token_put_then_read(e):
    uid, pat = e.user("livetok", quota=10**9)
    tid = tk.create(e, pat, uid, name="live-tok", remain_quota=100)
    with sql_frozen(e.g):
        for i in range(ROUNDS):
            want = 5000 + 37 * i
            e.ok("PUT", "/api/token/", pat, {"id": tid, "remain_quota": want})
            d = e.ok("GET", "/api/token/%d" % tid, pat)["data"]
            assert d["remain_quota"] == want, (i, d)
            d = e.ok("GET", "/api/token/?p=1&page_size=100", pat)["data"]
            assert item(d, tid)["remain_quota"] == want, (i, d)
            d = e.ok("GET", "/api/token/search?keyword=live-tok", pat)["data"]
            assert item(d, tid)["remain_quota"] == want, (i, d)
        # The reads did not come from SQL: it still holds the first value.
        assert e.sql.val("SELECT remain_quota FROM tokens WHERE id = ?", tid) == "100"


def check_topup_then_self(e):
    uid, pat = e.user("livebuyer", quota=500)
    j = e.ok("POST", "/api/redemption/", e.root_pat,
             {"name": "live", "count": ROUNDS, "quota": 250, "expired_time": 0})
    want = 500
    with sql_frozen(e.g):
        for i, k in enumerate(j["data"]):
            assert e.ok("POST", "/api/user/topup", pat, {"key": k})["data"] == 250
            want += 250
            d = e.ok("GET", "/api/user/self", pat)["data"]
            assert d["quota"] == want, (i, want, d)
        assert e.sql.val("SELECT quota FROM users WHERE id = ?", uid) == "500"


def check_admin_edit_then_read(e):
    uid, pat = e.user("liveadm", quota=0)
    with sql_frozen(e.g):
        admin_rounds(e, uid, pat)
        assert e.sql.val("SELECT quota FROM users WHERE id = ?", uid) == "0"


def admin_rounds(e, uid, pat):
    for i in range(ROUNDS):
        want = 1000 * (i + 1) + i
        e.ok("PUT", "/api/user/", e.root_pat, {"id": uid, "quota": want})
        assert e.ok("GET", "/api/user/%d" % uid, e.root_pat)["data"]["quota"] == want, i
        d = e.ok("GET", "/api/user/?p=1&page_size=100", e.root_pat)["data"]
        assert item(d, uid)["quota"] == want, (i, d)
        d = e.ok("GET", "/api/user/search?keyword=liveadm", e.root_pat)["data"]
        assert item(d, uid)["quota"] == want, (i, d)
        e.ok("POST", "/api/user/manage", e.root_pat,
             {"id": uid, "action": "add_quota", "mode": "add", "value": 7})
        assert e.ok("GET", "/api/user/self", pat)["data"]["quota"] == want + 7, i
        assert e.ok("GET", "/api/user/%d" % uid, e.root_pat)["data"]["quota"] == want + 7, i


def check_values_are_the_sql_visible_ones(e):
    """quota + reserved (what SQL holds once the persister has caught up), used and
    count from Redis; a user or token Redis does not hold keeps its SQL values."""
    uid, pat = e.user("livehash", quota=100)
    tid = tk.create(e, pat, uid, name="hash-tok", remain_quota=900)
    # As if requests were in flight: 30 of the user's and 40 of the token's
    # quota reserved; spent and counted by Redis, not yet by SQL.
    e.rcmd("HSET", tk.ukey(uid), "quota", 70, "reserved", 30, "used_quota", 55,
           "request_count", 3)
    e.rcmd("HSET", tk.tkey(uid, tid), "remain_quota", 860, "reserved", 40, "used_quota", 12)
    for path, pat_ in (("/api/user/self", pat), ("/api/user/%d" % uid, e.root_pat)):
        d = e.ok("GET", path, pat_)["data"]
        assert (d["quota"], d["used_quota"], d["request_count"]) == (100, 55, 3), (path, d)
    d = e.ok("GET", "/api/token/%d" % tid, pat)["data"]
    assert (d["remain_quota"], d["used_quota"]) == (900, 12), d
    e.rcmd("HSET", tk.ukey(uid), "quota", 100, "reserved", 0, "used_quota", 0,
           "request_count", 0)
    e.rcmd("HSET", tk.tkey(uid, tid), "remain_quota", 900, "reserved", 0, "used_quota", 0)
    # Not in Redis (never warmed, say): the SQL row.
    nuid, npat = e.user("livecold", quota=321, mirror=False)
    e.sql.exec("UPDATE users SET used_quota = 9, request_count = 2 WHERE id = ?", nuid)
    for path, pat_ in (("/api/user/self", npat), ("/api/user/%d" % nuid, e.root_pat)):
        d = e.ok("GET", path, pat_)["data"]
        assert (d["quota"], d["used_quota"], d["request_count"]) == (321, 9, 2), (path, d)
    d = e.ok("GET", "/api/user/search?keyword=livecold", e.root_pat)["data"]
    assert item(d, nuid)["quota"] == 321, d


def check_set_back_to_the_old_value(e):
    """A set compares with the live value, not with SQL's: setting back the value
    SQL still shows (the persister has not applied the first set yet) is a change."""
    uid, pat = e.user("liveback", quota=1000)
    tid = tk.create(e, pat, uid, name="back-tok", remain_quota=5000)
    with sql_frozen(e.g):
        for i in range(ROUNDS):
            e.ok("PUT", "/api/token/", pat, {"id": tid, "remain_quota": 7000 + i})
            e.ok("PUT", "/api/token/", pat, {"id": tid, "remain_quota": 5000})
            assert e.ok("GET", "/api/token/%d" % tid, pat)["data"]["remain_quota"] == 5000, i
            e.ok("PUT", "/api/user/", e.root_pat, {"id": uid, "quota": 3000 + i})
            e.ok("PUT", "/api/user/", e.root_pat, {"id": uid, "quota": 1000})
            assert e.ok("GET", "/api/user/%d" % uid, e.root_pat)["data"]["quota"] == 1000, i
    assert e.rraw("HGET", tk.tkey(uid, tid), "remain_quota") == "5000"
    assert e.rraw("HGET", tk.ukey(uid), "quota") == "1000"
    # Setting the value it already has writes no ledger entry and no log.
    n = len(e.ledger(uid))
    e.ok("PUT", "/api/token/", pat, {"id": tid, "remain_quota": 5000})
    e.ok("PUT", "/api/user/", e.root_pat, {"id": uid, "quota": 1000})
    assert len(e.ledger(uid)) == n, e.ledger(uid)[n:]


SUITE = (check_token_put_then_read, check_topup_then_self, check_admin_edit_then_read,
         check_values_are_the_sql_visible_ones, check_set_back_to_the_old_value)


# ---- SQLite only ----------------------------------------------------------------------


def stats(port):
    st, _, b = request("GET", port, "/__test/stats")
    assert st == 200, b
    return json.loads(b)


@case
def a_page_is_one_pipelined_redis_read():
    """60 rows, one worker: the HMGETs leave together, not one round trip per row
    (a few writes of the worker's own timers may fall in between)."""
    e = tk.Env(workers=1)
    try:
        uid, pat = e.user("pager", quota=10**9)
        for i in range(60):
            tk.create(e, pat, uid, name="p%02d" % i, remain_quota=1000 + i)
        for _ in range(3):
            s0 = stats(e.g.port)
            d = e.ok("GET", "/api/token/?p=1&page_size=100", pat)["data"]
            s1 = stats(e.g.port)
            assert len(d["items"]) == 60, d
            sent = s1["redis_sent"] - s0["redis_sent"]
            flushes = s1["redis_flushes"] - s0["redis_flushes"]
            assert sent >= 60, (sent, flushes)
            # One round trip per row would be 60 writes at least; the slack is
            # for the worker's own pollers (4 a second) on a loaded machine.
            assert flushes <= 30, (sent, flushes)
        assert sorted(i["remain_quota"] for i in d["items"]) == list(range(1000, 1060))
    finally:
        e.stop()


MODEL = "gpt-4o-mini"


@case
def a_relayed_call_shows_in_the_next_read():
    port, stop_mock = openai_mock.start(keys=["k-live"])
    g = Gateway(workers=2).start()
    try:
        pat = root_pat(g)
        set_option(g, pat, "ModelRatio", json.dumps({MODEL: 1}))
        set_option(g, pat, "CompletionRatio", json.dumps({MODEL: 2}))
        add_channel(g, pat, "live", "http://127.0.0.1:%d" % port, "k-live", MODEL)
        tid, key = add_token(g, pat, "t-live", remain_quota=10_000_000)
        wait_routable(g, key, MODEL)
        wait_priced(g, MODEL, model_ratio=1, completion_ratio=2)
        h = {"Authorization": "Bearer " + pat}

        def get(path):
            st, _, b = request("GET", g.port, path, headers=h)
            j = json.loads(b)
            assert st == 200 and j["success"], (path, j)
            return j["data"]
        me = get("/api/user/self")
        tok = get("/api/token/%d" % tid)
        with sql_frozen(g):
            relay_rounds(g, key, tid, get, me, tok)
    finally:
        g.stop()
        stop_mock()


def relay_rounds(g, key, tid, get, me, tok):
    for i in range(ROUNDS):
        st, _, b = chat(g, key, {"model": MODEL,
                                 "messages": [{"role": "user", "content": "hi %d" % i}]})
        assert st == 200, b
        u = json.loads(b)["usage"]
        cost = u["prompt_tokens"] + 2 * u["completion_tokens"]
        me2, tok2 = get("/api/user/self"), get("/api/token/%d" % tid)
        assert me2["quota"] == me["quota"] - cost, (i, cost, me, me2)
        assert me2["used_quota"] == me["used_quota"] + cost, (i, me, me2)
        assert me2["request_count"] == me["request_count"] + 1, (i, me, me2)
        assert tok2["remain_quota"] == tok["remain_quota"] - cost, (i, tok, tok2)
        assert tok2["used_quota"] == tok["used_quota"] + cost, (i, tok, tok2)
        row = [x for x in get("/api/token/?p=1&page_size=100")["items"] if x["id"] == tid][0]
        assert row["remain_quota"] == tok2["remain_quota"], (row, tok2)
        me, tok = me2, tok2


S = Suite(tk.Env, SUITE)
S.check_cases()
S.stop_case()
S.backend_cases()

if __name__ == "__main__":
    S.main()
