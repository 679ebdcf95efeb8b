"""Fixtures for relay tests: a gateway with a root user, channels pointing at
the OpenAI mock upstream (tests/mock-upstream/openai_mock.py), and a token,
all created through the management API as an admin would."""
import json
import os
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "mock-upstream"))
import openai_mock  # noqa: E402
from harness import Gateway, case, main, request, wait_for  # noqa: E402


def api(g, method, path, token=None, body=None, headers=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    st, hd, b = request(method, g.port, path, body=body, headers=h)
    try:
        return st, json.loads(b) if b else None
    except ValueError:
        return st, b


def root_pat(g):
    st, j = api(g, "POST", "/api/setup", body={"username": "root", "password": "rootpass1",
                                               "confirmPassword": "rootpass1"})
    assert j["success"], j
    st, _, b = request("POST", g.port, "/api/user/login",
                       body={"username": "root", "password": "rootpass1"})
    tok = json.loads(b)["data"]["access_token"]
    st, j = api(g, "GET", "/api/user/token", token=tok)
    return j["data"]


def set_option(g, pat, key, value):
    st, j = api(g, "PUT", "/api/option/", token=pat, body={"key": key, "value": value})
    assert j["success"], (key, j)


def set_option_settled(g, pat, key, value):
    """set_option, then the moment options take to reach every worker
    through the config version."""
    set_option(g, pat, key, value)
    time.sleep(0.6)


def set_ratios(g, pat, names, **ratios):
    """Each ratio option given (ModelRatio=1, CompletionRatio=2, ...) set to
    the same value for every model in names, settled."""
    for option, value in ratios.items():
        set_option_settled(g, pat, option, json.dumps({n: value for n in names}))


def add_channel(g, pat, name, base_url, key, models, priority=0, weight=0, type_=1, extra=None):
    ch = {"type": type_, "name": name, "key": key, "base_url": base_url, "models": models,
          "group": "default", "priority": priority, "weight": weight}
    ch.update(extra or {})
    st, j = api(g, "POST", "/api/channel/", token=pat, body={"mode": "single", "channel": ch})
    assert j["success"], j
    return sql(g, "SELECT id FROM channels WHERE name = ?", name)[0][0]


def add_token(g, pat, name, remain_quota=1000000, unlimited=False):
    st, j = api(g, "POST", "/api/token/", token=pat,
                body={"name": name, "remain_quota": remain_quota, "unlimited_quota": unlimited,
                      "expired_time": -1})
    assert j["success"], j
    tid = sql(g, "SELECT id FROM tokens WHERE name = ?", name)[0][0]
    st, j = api(g, "POST", f"/api/token/{tid}/key", token=pat)
    assert j["success"], j
    key = j["data"]["key"] if isinstance(j["data"], dict) else j["data"]
    return tid, key if key.startswith("sk-") else "sk-" + key


def sql(g, q, *a):
    c = sqlite3.connect(os.path.join(g.data_dir, "token-factory.db"))
    try:
        return c.execute(q, a).fetchall()
    finally:
        c.close()


def rcli(g, *args):
    return subprocess.run(["redis-cli", "-s", os.path.join(g.data_dir, "redis.sock")] +
                          [str(a) for a in args], text=True, stdout=subprocess.PIPE,
                          check=True).stdout.strip()


def user_quota(g, uid):
    return int(rcli(g, "HGET", f"tf:{{s{uid % 16}}}:u:{uid}", "quota") or 0)


def wait_routable(g, key, model, timeout=10):
    """Workers pick up new channels through the config version (250 ms poll).
    Several answers in a row, so that every worker has been asked."""
    def ok():
        for _ in range(8):
            st, j = api(g, "GET", "/v1/models", headers={"Authorization": "Bearer " + key})
            if st != 200 or model not in [m["id"] for m in j.get("data", [])]:
                return False
        return True
    wait_for(ok, timeout, 0.1, what=f"{model} to be routable")


def wait_priced(g, model, timeout=10, **ratios):
    """Ratio options reach each worker through the same 250 ms poll, on their
    own: a worker can route a new channel before it has the ratio saved just
    before. /api/pricing shows what the answering worker charges; several
    answers in a row, so that every worker has been asked."""
    def ok():
        for _ in range(8):
            st, j = api(g, "GET", "/api/pricing")
            row = next((i for i in (j.get("data") or []) if i.get("model_name") == model), None)
            if st != 200 or row is None or any(row.get(k) != v for k, v in ratios.items()):
                return False
        return True
    wait_for(ok, timeout, 0.1, what=f"{model} to be priced at {ratios}")


def chat(g, key, body, headers=None):
    h = {"Authorization": "Bearer " + key}
    h.update(headers or {})
    return request("POST", g.port, "/v1/chat/completions", body=body, headers=h, timeout=30)


def root_uid(g):
    return sql(g, "SELECT id FROM users WHERE username = 'root'")[0][0]


def token_hash(uid, tid):
    """The redis hash of token tid (owned by uid): remain_quota, reserved."""
    return f"tf:{{s{uid % 16}}}:t:{tid}"


def text(b):
    return b.decode() if isinstance(b, bytes) else b


def sse_events(body):
    """[(event name or None, data text)] of an SSE body."""
    out = []
    for block in text(body).replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            out.append((name, "\n".join(data)))
    return out


def stop_shared(S, kill=False):
    """Stops a file's shared gateway (S["g"]) and its mocks (S["stops"]),
    and forgets them; nothing when none was set up."""
    if not S:
        return
    if kill:
        S["g"].kill()
    else:
        S["g"].stop()
    for stop in S["stops"]:
        stop()
    S.clear()


def run_cases(S):
    """harness.main(), then whatever a case left of the shared setup S is killed."""
    try:
        main()
    finally:
        stop_shared(S, kill=True)


def assert_budget_paid_exactly(g, tid, paid, quota_each):
    """After a race for a budget of exactly `paid` calls: token tid is
    drained, its reservations settle, and exactly `paid` log rows bill
    quota_each each."""
    tk = token_hash(root_uid(g), tid)
    assert rcli(g, "HGET", tk, "remain_quota") == "0"
    wait_for(lambda: rcli(g, "HGET", tk, "reserved") in ("0", ""), 10, 0.1,
             what="the reservations to settle")

    def billed():
        return sql(g, "SELECT COUNT(*), COALESCE(SUM(quota), 0) FROM logs WHERE type = 2 "
                      "AND token_id = ? AND quota > 0", tid)[0] == (paid, paid * quota_each)
    wait_for(billed, 30, 0.2, what=f"{paid} billed log rows")


def assert_free_since(g, uid, tid, quota, last_id):
    """Nothing was charged: a moment after the call (a charge would have
    settled by then) the user's quota is still quota, and token tid has no
    billed log row after last_id."""
    time.sleep(1)
    assert user_quota(g, uid) == quota
    assert sql(g, "SELECT COALESCE(SUM(quota), 0) FROM logs WHERE type = 2 AND token_id = ? "
                  "AND id > ?", tid, last_id)[0][0] == 0


def shared_gateway_case(S, setup):
    """Registers a file's last case: its shared gateway and mocks stop cleanly."""
    def shared_gateway_stops_cleanly():
        setup()
        stop_shared(S)
    case(shared_gateway_stops_cleanly)


def replica_of(a, workers=2):
    """A second gateway (not started yet) on gateway a's redis and SQLite
    database: a replica."""
    env = {"REDIS_CONN_STRING": "unix://" + os.path.join(a.data_dir, "redis.sock"),
           "SQLITE_PATH": os.path.join(a.data_dir, "token-factory.db")}
    return Gateway(workers=workers, env=env)
