#!/usr/bin/env python3
"""The ledger end to end in the real gateway: a redemption credited through
adjust.lua reaches SQL through the persister of the ledger process exactly
once; a reservation abandoned past its deadline (as by a worker killed with
-9) is refunded by the reaper with a ledger entry; admins see the per-replica
ledger counters in /api/status; the ledger process survives kill -9."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, case, descendants, main, request, wait_for  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tools"))
import lua_scripts  # noqa: E402 (scripts as the gateway loads them)


def api(g, method, path, token=None, body=None):
    h = {"Authorization": "Bearer " + token} if token else {}
    st, _, b = request(method, g.port, path, body=body, headers=h)
    return st, json.loads(b) if b else None


def rcli(g, *args):
    return subprocess.run(["redis-cli", "-s", os.path.join(g.data_dir, "redis.sock")] + list(args),
                          text=True, stdout=subprocess.PIPE, check=True).stdout.strip()


def sql(g, q, *a):
    c = sqlite3.connect(os.path.join(g.data_dir, "token-factory.db"))
    try:
        return c.execute(q, a).fetchall()
    finally:
        c.close()


def root_pat(g):
    st, j = api(g, "POST", "/api/setup", body={"username": "root", "password": "rootpass1",
                                               "confirmPassword": "rootpass1"})
    assert j["success"], j
    st, _, b = request("POST", g.port, "/api/user/login",
                       body={"username": "root", "password": "rootpass1"})
    tok = json.loads(b)["data"]["access_token"]
    st, j = api(g, "GET", "/api/user/token", token=tok)
    return j["data"]


@case
def redemption_reaches_sql_exactly_once_and_admins_see_ledger_stats():
    with Gateway(workers=2) as g:
        pat = root_pat(g)
        uid = sql(g, "SELECT id FROM users WHERE username = 'root'")[0][0]
        before = sql(g, "SELECT quota FROM users WHERE id = ?", uid)[0][0]
        st, j = api(g, "POST", "/api/redemption/", token=pat,
                     body={"name": "gift", "quota": 12345, "count": 1})
        assert j["success"], j
        key = j["data"][0]
        st, j = api(g, "POST", "/api/user/topup", token=pat, body={"key": key})
        assert j["success"], j
        # Redis moved at once; SQL follows through the persister.
        assert int(rcli(g, "HGET", f"tf:{{s{uid % 16}}}:u:{uid}", "quota")) == before + 12345
        wait_for(lambda: sql(g, "SELECT quota FROM users WHERE id = ?", uid)[0][0] == before + 12345,
                 15, 0.1, what="the persister to apply the redemption")
        logs = sql(g, "SELECT type, quota, user_id FROM logs WHERE type = 1")
        assert logs == [(1, 12345, uid)], logs
        # Public callers don't see ledger internals; admins do.
        st, _, b = request("GET", g.port, "/api/status")
        assert "ledger" not in json.loads(b)["data"]
        def applied_node():  # counters are published every 2 s
            st, j = api(g, "GET", "/api/status", token=pat)
            nodes = j["data"].get("ledger", {}).get("nodes") or {}
            return next((n for n in nodes.values() if n["applied"] >= 1), None)
        node = wait_for(applied_node, 10, 0.2, what="ledger counters")
        assert node["applied"] >= 1 and node["sql_up"] is True and node["pending"] == 0, node
        time.sleep(0.5)
        assert sql(g, "SELECT quota FROM users WHERE id = ?", uid)[0][0] == before + 12345
        g.stop()


@case
def reaper_refunds_an_abandoned_reservation():
    with Gateway(workers=1) as g:
        pat = root_pat(g)
        uid = sql(g, "SELECT id FROM users WHERE username = 'root'")[0][0]
        st, j = api(g, "POST", "/api/token/", token=pat,
                     body={"name": "t1", "remain_quota": 5000, "expired_time": -1,
                           "unlimited_quota": False})
        assert j["success"], j
        tid = sql(g, "SELECT id FROM tokens WHERE name = 't1'")[0][0]
        s = uid % 16
        ukey, tkey = f"tf:{{s{s}}}:u:{uid}", f"tf:{{s{s}}}:t:{tid}"
        quota0 = int(rcli(g, "HGET", ukey, "quota"))
        keys = [ukey, tkey, f"tf:{{s{s}}}:res", f"tf:{{s{s}}}:resdl", f"tf:{{s{s}}}:resseq",
                f"tf:{{s{s}}}:rl:u:{uid}", f"tf:{{s{s}}}:rl:t:{tid}", f"tf:{{s{s}}}:cc:u:{uid}",
                f"tf:{{s{s}}}:cc:t:{tid}"]
        script = lua_scripts.text("authorize").decode()  # with the shared helpers
        now = int(time.time() * 1000)
        # A reservation with a 1 ms lifetime, never settled: what a worker killed
        # with -9 leaves behind.
        out = rcli(g, "EVAL", script, "9", *keys, str(uid), str(tid), "gpt-x", "700", "10", "1",
                   str(now))
        assert out.splitlines()[0] == "1", out
        assert int(rcli(g, "HGET", ukey, "quota")) == quota0 - 700
        wait_for(lambda: rcli(g, "HGET", ukey, "reserved") == "0", 10, 0.1, what="the reaper")
        assert int(rcli(g, "HGET", ukey, "quota")) == quota0
        assert int(rcli(g, "HGET", tkey, "remain_quota")) == 5000
        assert rcli(g, "GET", f"tf:{{s{s}}}:cc:u:{uid}") in ("0", "")
        entries = rcli(g, "XRANGE", f"tf:{{s{s}}}:ledger", "-", "+")
        assert "reap" in entries, entries
        # The reap entry becomes a system log row; money in SQL is untouched.
        wait_for(lambda: sql(g, "SELECT COUNT(*) FROM logs WHERE type = 4")[0][0] == 1, 15, 0.1,
                 what="the reap log row")
        g.stop()


@case
def ledger_process_is_restarted_after_kill_9():
    with Gateway(workers=1) as g:
        pat = root_pat(g)
        ledger = [p for p in descendants(g.proc.pid)
                  if open(f"/proc/{p}/comm").read().startswith("tf-ledger")]
        assert len(ledger) == 1
        os.kill(ledger[0], signal.SIGKILL)
        wait_for(lambda: "ledger process died" in g.read_log(), 10, what="restart")
        uid = sql(g, "SELECT id FROM users WHERE username = 'root'")[0][0]
        before = sql(g, "SELECT quota FROM users WHERE id = ?", uid)[0][0]
        st, j = api(g, "POST", "/api/redemption/", token=pat,
                     body={"name": "gift2", "quota": 777, "count": 1})
        st, j = api(g, "POST", "/api/user/topup", token=pat, body={"key": j["data"][0]})
        assert j["success"], j
        wait_for(lambda: sql(g, "SELECT quota FROM users WHERE id = ?", uid)[0][0] == before + 777,
                 15, 0.1, what="the new ledger process to apply")
        g.stop()


if __name__ == "__main__":
    main()
