#!/usr/bin/env python3
"""Faults around the ledger with the real relay: a worker killed with -9
while it holds a reservation (the reaper refunds it, with a ledger entry
saying why); a live stream longer than the reservation's lifetime keeps it
alive and is billed; Redis killed and restarted (AOF) keeps every settled
quota and the gateway reconnects."""
import json
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, case, descendants, main, wait_for  # noqa: E402
from relayfix import (add_channel, add_token, chat, openai_mock, rcli, root_pat, set_option,  # noqa: E402
                      sql, wait_routable)

MODEL = "gpt-4o-mini"


def gateway(port):
    g = Gateway(workers=1, env={"RESERVATION_TTL": "3"}).start()
    pat = root_pat(g)
    set_option(g, pat, "ModelRatio", json.dumps({MODEL: 1}))
    base = f"http://127.0.0.1:{port}"
    add_channel(g, pat, "stall", base, "k", MODEL, priority=5,
                extra={"model_mapping": json.dumps({MODEL: MODEL + "@stall-3"})})
    tid, key = add_token(g, pat, "t")
    wait_routable(g, key, MODEL)
    time.sleep(0.6)
    return g, pat, key, tid


def worker_pids(g):
    return [p for p in descendants(g.proc.pid)
            if open(f"/proc/{p}/comm").read().startswith("tf-worker")]


@case
def a_worker_killed_with_reservations_is_refunded_by_the_reaper():
    port, stop = openai_mock.start()
    g, pat, key, tid = gateway(port)
    try:
        uid = sql(g, "SELECT id FROM users WHERE username = 'root'")[0][0]
        ukey = f"tf:{{s{uid % 16}}}:u:{uid}"
        quota0 = int(rcli(g, "HGET", ukey, "quota"))
        s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
        body = json.dumps({"model": MODEL, "stream": True,
                           "messages": [{"role": "user", "content": "wait"}]}).encode()
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                  key.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(body), body))
        buf = b""
        while buf.count(b"data: ") < 2:
            buf += s.recv(65536)
        assert int(rcli(g, "HGET", ukey, "reserved")) > 0
        os.kill(worker_pids(g)[0], signal.SIGKILL)  # dies holding the reservation
        s.close()
        wait_for(lambda: rcli(g, "HGET", ukey, "reserved") == "0", 20, 0.2, what="the reaper")
        assert int(rcli(g, "HGET", ukey, "quota")) == quota0, "refunded in full"
        wait_for(lambda: sql(g, "SELECT content FROM logs WHERE type = 4"), 15, 0.2,
                 what="the reap log row")
        assert "expired" in sql(g, "SELECT content FROM logs WHERE type = 4")[0][0]
        # The supervisor replaced the worker; the gateway still serves.
        wait_for(lambda: len(worker_pids(g)) == 1, 10, what="a new worker")
        set_option(g, pat, "ModelRatio", json.dumps({MODEL: 1, "plain": 1}))
        add_channel(g, pat, "plain", f"http://127.0.0.1:{port}", "k", "plain")
        wait_routable(g, key, "plain")
        st, h, b = chat(g, key, {"model": "plain", "messages": [{"role": "user", "content": "x"}]})
        assert st == 200, b
        g.stop()
    finally:
        stop()
        if g.proc.poll() is None:
            g.kill()


@case
def a_live_stream_longer_than_the_reservation_ttl_is_not_reaped():
    port, stop = openai_mock.start()
    g, pat, key, tid = gateway(port)
    try:
        set_option(g, pat, "ModelRatio", json.dumps({MODEL: 1, "slow": 1}))
        add_channel(g, pat, "slow", f"http://127.0.0.1:{port}", "k", "slow",
                    extra={"model_mapping": json.dumps({"slow": "slow@delay-150,long-40"})})
        wait_routable(g, key, "slow")
        t0 = time.time()
        st, h, b = chat(g, key, {"model": "slow", "stream": True,
                                 "messages": [{"role": "user", "content": "go"}]})
        assert st == 200 and b.rstrip().endswith(b"data: [DONE]"), b[-200:]
        assert time.time() - t0 > 3, "the stream must outlive RESERVATION_TTL=3"
        wait_for(lambda: sql(g, "SELECT COUNT(*) FROM logs WHERE type = 2 AND model_name = 'slow'"
                             )[0][0] == 1, 15, 0.2, what="the stream's log row")
        assert sql(g, "SELECT COUNT(*) FROM logs WHERE type = 4")[0][0] == 0, "nothing reaped"
        g.stop()
    finally:
        stop()
        if g.proc.poll() is None:
            g.kill()


@case
def redis_restart_keeps_settled_quota():
    port, stop = openai_mock.start()
    g = Gateway(workers=1).start()
    try:
        pat = root_pat(g)
        set_option(g, pat, "ModelRatio", json.dumps({MODEL: 1}))
        add_channel(g, pat, "c", f"http://127.0.0.1:{port}", "k", MODEL)
        tid, key = add_token(g, pat, "t")
        wait_routable(g, key, MODEL)
        for _ in range(3):
            assert chat(g, key, {"model": MODEL,
                                 "messages": [{"role": "user", "content": "x"}]})[0] == 200
        uid = sql(g, "SELECT id FROM users WHERE username = 'root'")[0][0]
        ukey = f"tf:{{s{uid % 16}}}:u:{uid}"
        before = rcli(g, "HMGET", ukey, "quota", "used_quota")
        time.sleep(1.5)  # appendfsync everysec: what is older than a second is on disk
        redis = [p for p in descendants(g.proc.pid)
                 if "redis-server" in open(f"/proc/{p}/cmdline").read()][0]
        os.kill(redis, signal.SIGKILL)
        wait_for(lambda: "restarting it" in g.read_log(), 10, what="redis restart")
        wait_for(lambda: chat(g, key, {"model": MODEL, "messages": [
            {"role": "user", "content": "x"}]})[0] == 200, 20, 0.3, what="the gateway to reconnect")
        # State survived: the quota then moved by exactly the one new call.
        after = rcli(g, "HMGET", ukey, "quota", "used_quota").split()
        q0, u0 = (int(x) for x in before.split())
        assert int(after[0]) < q0 and int(after[0]) + int(after[1]) == q0 + u0, (before, after)
        g.stop()
    finally:
        stop()
        if g.proc.poll() is None:
            g.kill()


if __name__ == "__main__":
    main()
