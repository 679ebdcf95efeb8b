#!/usr/bin/env python3
"""The dashboard's usage data (issue 12): new-api's quota_data hourly aggregates,
written by the ledger persister, read through /api/data/, /api/data/users and
/api/data/self; and /api/models (DashboardListModels).

- Real relayed calls by two users on two models through the mock upstream: once
  the persister has written their log rows, quota_data holds exactly their
  calls, quota and tokens per (user, model, hour), keyed as the reference (group,
  token, channel, node ''), and every endpoint sums them as the reference's
  queries do (per model and hour over every user; per user with username; per
  username; the caller's own). The user's used_quota agrees.
- Rows seeded in SQL in other hours (and two rows of one key, as a database
  new-api wrote may hold) are summed per hour, and the range filter is inclusive.
- Replays add nothing: every consumer group is rewound so that the persister is
  handed every applied entry again, and the ledger process is killed (-9) while
  calls keep coming; afterwards quota_data still equals the consume logs.
- Roles (a user cannot read /api/data/ or /api/data/users, anonymous callers get
  401), the envelope, and bad input (non-numeric, missing, negative, huge or
  inverted timestamps, a self range over 30 days, a long username) answered with
  success false and a message, never a crash.

Runs on SQLite, then every check again on MariaDB and PostgreSQL.

usage: test_api_data.py [BUILD_DIR]    (TEST_CASE=name runs one case)"""
import json
import os
import signal
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_api_tokens as tk  # noqa: E402  (shared helpers; its own cases are not run here)
from apihelp import Suite  # noqa: E402
from harness import descendants, wait_for  # noqa: E402
from relayfix import chat, openai_mock, set_option, wait_routable  # noqa: E402

harness._cases.clear()

MODELS = ("data-m1", "data-m2")
LONG = "data-long-" + "\u00e9" * 80     # 170 bytes: past quota_data's varchar(64)
FIELDS = ["id", "user_id", "username", "model_name", "created_at", "use_group", "token_id",
          "channel_id", "node_name", "token_used", "count", "quota"]


class Env(tk.Env):
    """tk.Env plus a mock upstream, a channel serving MODELS, their prices, and two
    users (alice, bob) with a key each."""

    def __init__(self, srv=None):
        super().__init__(srv)
        self.port, self.stop_mock = openai_mock.start(keys=["k-data"])
        try:
            set_option(self.g, self.root_pat, "ModelRatio",
                       json.dumps({"data-m1": 1.5, "data-m2": 3, "data-m3": 1, LONG: 1}))
            set_option(self.g, self.root_pat, "CompletionRatio",
                       json.dumps({"data-m1": 2, "data-m2": 4, "data-m3": 1, LONG: 1}))
            time.sleep(0.6)     # options reach every worker through the config version
            self.ok("POST", "/api/channel/", self.root_pat, {"mode": "single", "channel": {
                "type": 1, "name": "data-chan", "key": "k-data",
                "base_url": "http://127.0.0.1:%d" % self.port,
                "models": ",".join(MODELS + ("data-m3", LONG)), "group": "default"}})
            self.cid = int(self.sql.val("SELECT id FROM channels WHERE name = 'data-chan'"))
            self.people = {}
            for name in ("alice", "bob"):
                uid, pat = self.user(name, quota=10 ** 9)
                tid = tk.create(self, pat, uid, name=name + "-key", unlimited_quota=True)
                key = self.ok("POST", "/api/token/%d/key" % tid, pat)["data"]["key"]
                key = key if key.startswith("sk-") else "sk-" + key
                self.people[name] = {"uid": uid, "pat": pat, "tid": tid, "key": key}
            for m in MODELS:
                wait_routable(self.g, self.people["alice"]["key"], m)
        except BaseException:
            self.stop_mock()
            raise

    def stop(self):
        try:
            super().stop()
        finally:
            self.stop_mock()


def call(e, who, model, stream=False, text="hello there"):
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    st, _, b = chat(e.g, e.people[who]["key"], body)
    assert st == 200, (who, model, st, b[:300])


def data(e, path, pat, **params):
    """The data rows of a successful answer, checked for the envelope and shape."""
    j = e.api("GET", path + "?" + urllib.parse.urlencode(params), pat)
    assert j["success"] is True and j["message"] == "", (path, params, j)
    assert isinstance(j["data"], list), j
    for row in j["data"]:
        assert list(row) == FIELDS, row     # the reference's QuotaData, in its order
        assert row["created_at"] % 3600 == 0, row
    return j["data"]


def refused(e, path, pat, has, **params):
    j = e.api("GET", path + "?" + urllib.parse.urlencode(params), pat)
    assert j["success"] is False and has in j["message"] and "data" not in j, (path, params, j)


def consume_logs(e, models):
    """The consume log rows of models: [(uid, username, model, hour, quota, tokens)]."""
    marks = ", ".join("'%s'" % m for m in models)
    rows = e.sql.rows("SELECT user_id, username, model_name, created_at, quota, prompt_tokens, "
                      "completion_tokens FROM logs WHERE type = 2 AND model_name IN (%s)" % marks)
    return [(int(u), n, m, int(c) - int(c) % 3600, int(q), int(p) + int(t))
            for u, n, m, c, q, p, t in rows]


def sums(logs, key):
    """{key(row): [count, quota, tokens]} over consume log rows."""
    out = {}
    for r in logs:
        s = out.setdefault(key(r), [0, 0, 0])
        s[0] += 1
        s[1] += r[4]
        s[2] += r[5]
    return out


def quota_data_of(e, models):
    marks = ", ".join("'%s'" % m for m in models)
    rows = e.sql.rows("SELECT user_id, username, model_name, created_at, use_group, token_id, "
                      "channel_id, node_name, count, quota, token_used FROM quota_data "
                      "WHERE model_name IN (%s)" % marks)
    return [(int(u), n, m, int(c), g, int(t), int(ch), nn, int(k), int(q), int(tu))
            for u, n, m, c, g, t, ch, nn, k, q, tu in rows]


def table_sums(e, models):
    """{(uid, model, hour): [count, quota, tokens]} of quota_data."""
    out = {}
    for u, _, m, c, _, _, _, _, k, q, tu in quota_data_of(e, models):
        s = out.setdefault((u, m, c), [0, 0, 0])
        s[0] += k
        s[1] += q
        s[2] += tu
    return out


def wait_logged(e, models, n):
    wait_for(lambda: len(consume_logs(e, models)) >= n, 30, 0.1,
             what="%d consume log rows" % n)
    return consume_logs(e, models)


def as_map(rows, key):
    out = {}
    for r in rows:
        k = key(r)
        assert k not in out, ("one row per group", k, rows)
        out[k] = [r["count"], r["quota"], r["token_used"]]
    return out


def rng(logs):
    hours = [r[3] for r in logs]
    return {"start_timestamp": min(hours), "end_timestamp": max(hours) + 3599}


# ---- checks (every backend) ---------------------------------------------------------


def check_relayed_calls_are_aggregated_exactly(e):
    plan = [("alice", "data-m1", False)] * 3 + [("alice", "data-m2", True)] * 2 + \
           [("bob", "data-m1", True)] * 2 + [("bob", "data-m2", False)]
    for i, (who, model, stream) in enumerate(plan):
        call(e, who, model, stream, text="call number %d " % i + "word " * i)
    logs = wait_logged(e, MODELS, len(plan))
    assert len(logs) == len(plan), logs
    assert all(r[4] > 0 and r[5] > 0 for r in logs), logs    # billed, with tokens
    alice, bob = e.people["alice"], e.people["bob"]

    # the table: the logs' sums per (user, model, hour), keyed as the reference
    assert table_sums(e, MODELS) == sums(logs, lambda r: (r[0], r[2], r[3]))
    for u, name, m, c, grp, tid, cid, node, k, q, tu in quota_data_of(e, MODELS):
        who = alice if u == alice["uid"] else bob
        assert (name, grp, tid, cid, node) == (
            "alice" if who is alice else "bob", "default", who["tid"], e.cid, ""), name

    r = rng(logs)
    # admin, every user: one row per (model, hour), users summed
    rows = data(e, "/api/data/", e.root_pat, **r)
    got = as_map([x for x in rows if x["model_name"] in MODELS],
                 lambda x: (x["model_name"], x["created_at"]))
    assert got == sums(logs, lambda r: (r[2], r[3])), (got, logs)
    assert all(x["user_id"] == 0 and x["username"] == "" for x in rows), rows
    assert data(e, "/api/data", e.root_pat, **r) == rows       # without the slash too
    # admin, one username: that user's rows
    rows = data(e, "/api/data/", e.root_pat, username="alice", **r)
    got = as_map(rows, lambda x: (x["user_id"], x["username"], x["model_name"], x["created_at"]))
    want = sums([x for x in logs if x[0] == alice["uid"]], lambda r: (r[0], r[1], r[2], r[3]))
    assert got == want, (got, want)
    # admin, per username
    rows = data(e, "/api/data/users", e.root_pat, **r)
    got = as_map([x for x in rows if x["username"] in ("alice", "bob")],
                 lambda x: (x["username"], x["created_at"]))
    assert got == sums(logs, lambda r: (r[1], r[3])), got
    assert all(x["model_name"] == "" for x in rows), rows
    # self: only the caller's rows, and they sum to the user's used_quota
    for who in (alice, bob):
        rows = data(e, "/api/data/self", who["pat"], **r)
        assert {x["user_id"] for x in rows} == {who["uid"]}, rows
        got = as_map(rows, lambda x: (x["model_name"], x["created_at"]))
        assert got == sums([x for x in logs if x[0] == who["uid"]], lambda r: (r[2], r[3]))
        used = e.ok("GET", "/api/user/self", who["pat"])["data"]["used_quota"]
        assert used == sum(x["quota"] for x in rows) > 0, (used, rows)
        assert sum(x["count"] for x in rows) == \
            e.ok("GET", "/api/user/self", who["pat"])["data"]["request_count"]
    # a range that ends before the calls holds none of them
    before = data(e, "/api/data/", e.root_pat, start_timestamp=1,
                  end_timestamp=r["start_timestamp"] - 1)
    assert not [x for x in before if x["model_name"] in MODELS], before


def check_hours_and_duplicate_rows_are_summed(e):
    alice, bob = e.people["alice"]["uid"], e.people["bob"]["uid"]
    h = (int(time.time()) // 3600 - 30) * 3600      # hours of the past, not of the calls
    seed = [(alice, "alice", h - 7200, 2, 20, 200), (alice, "alice", h - 7200, 3, 30, 300),
            (bob, "bob", h - 7200, 4, 40, 400), (alice, "alice", h - 10800, 1, 10, 100)]
    for u, n, c, k, q, tu in seed:   # two rows of one key: as new-api may leave them
        e.sql.exec("INSERT INTO quota_data (user_id, username, model_name, created_at, "
                   "token_used, count, quota) VALUES (?, ?, 'data-seed', ?, ?, ?, ?)",
                   u, n, c, tu, k, q)
    r = {"start_timestamp": h - 10800, "end_timestamp": h - 7200}
    got = as_map([x for x in data(e, "/api/data/", e.root_pat, **r)],
                 lambda x: (x["model_name"], x["created_at"]))
    assert got == {("data-seed", h - 10800): [1, 10, 100],
                   ("data-seed", h - 7200): [9, 90, 900]}, got
    got = as_map(data(e, "/api/data/", e.root_pat, username="alice", **r),
                 lambda x: (x["user_id"], x["created_at"]))
    assert got == {(alice, h - 10800): [1, 10, 100], (alice, h - 7200): [5, 50, 500]}, got
    got = as_map(data(e, "/api/data/users", e.root_pat, **r),
                 lambda x: (x["username"], x["created_at"]))
    assert got == {("alice", h - 10800): [1, 10, 100], ("alice", h - 7200): [5, 50, 500],
                   ("bob", h - 7200): [4, 40, 400]}, got
    got = as_map(data(e, "/api/data/self", e.people["bob"]["pat"], **r),
                 lambda x: (x["model_name"], x["created_at"]))
    assert got == {("data-seed", h - 7200): [4, 40, 400]}, got
    # the range is inclusive at both ends, and a single hour may be asked
    one = data(e, "/api/data/", e.root_pat, start_timestamp=h - 7200, end_timestamp=h - 7200)
    assert [(x["created_at"], x["count"]) for x in one] == [(h - 7200, 9)], one
    assert data(e, "/api/data/", e.root_pat, start_timestamp=h - 7199,
                end_timestamp=h - 3601) == []
    assert data(e, "/api/data/", e.root_pat, username="nobody", **r) == []


def check_roles_and_bad_input(e):
    alice = e.people["alice"]["pat"]
    now = int(time.time())
    ok = {"start_timestamp": now - 3600, "end_timestamp": now}
    q = "?" + urllib.parse.urlencode(ok)
    for path in ("/api/data/", "/api/data", "/api/data/users"):
        st, _, _ = harness.request("GET", e.g.port, path + q)
        assert st == 401, (path, st)
        st, _, b = harness.request("GET", e.g.port, path + q,
                                   headers={"Authorization": "Bearer " + alice})
        j = json.loads(b)
        assert st == 403 and j["success"] is False, (path, st, j)
        assert j["code"] == "AUTH_INSUFFICIENT_PRIVILEGE", j
    for path in ("/api/data/self", "/api/models"):
        st, _, _ = harness.request("GET", e.g.port, path + q)
        assert st == 401, (path, st)
    for path in ("/api/data/", "/api/data/users", "/api/data/self"):
        pat = alice if path.endswith("self") else e.root_pat
        refused(e, path, pat, "invalid start_timestamp")
        refused(e, path, pat, "invalid start_timestamp", start_timestamp="abc", end_timestamp=now)
        refused(e, path, pat, "invalid start_timestamp", start_timestamp="-5", end_timestamp=now)
        refused(e, path, pat, "invalid start_timestamp", start_timestamp="0", end_timestamp=now)
        refused(e, path, pat, "invalid start_timestamp", start_timestamp="1e9", end_timestamp=now)
        refused(e, path, pat, "invalid start_timestamp", start_timestamp="9" * 40,
                end_timestamp=now)
        refused(e, path, pat, "invalid start_timestamp", start_timestamp="1 OR 1=1",
                end_timestamp=now)
        refused(e, path, pat, "invalid end_timestamp", start_timestamp=now)
        refused(e, path, pat, "invalid end_timestamp", start_timestamp=now, end_timestamp="x")
        refused(e, path, pat, "invalid time range", start_timestamp=now, end_timestamp=now - 1)
        data(e, path, pat, **ok)                       # and the endpoint still answers
    refused(e, "/api/data/self", alice, "1 month", start_timestamp=now - 2592001,
            end_timestamp=now)
    data(e, "/api/data/self", alice, start_timestamp=now - 2592000, end_timestamp=now)
    data(e, "/api/data/", e.root_pat, start_timestamp=1, end_timestamp=now)  # admins: no limit
    refused(e, "/api/data/", e.root_pat, "username", username="u" * 300, **ok)
    assert data(e, "/api/data/", e.root_pat, username="x' OR '1'='1", **ok) == []


def check_a_long_model_name_is_cut_to_the_column(e):
    """quota_data's model_name is varchar(64): the name is cut on a character
    boundary (never refused by a strict server, which would hold the ledger back),
    and the calls after it are aggregated as usual."""
    wait_routable(e.g, e.people["bob"]["key"], LONG)
    call(e, "bob", LONG)
    call(e, "bob", "data-m2", text="after the long one")
    cut = LONG.encode()[:64].decode()
    assert cut == "data-long-" + "\u00e9" * 27, cut
    logs = wait_logged(e, (LONG,), 1)
    rows = quota_data_of(e, (cut,))
    assert [(r[0], r[2], r[3], r[8], r[9]) for r in rows] == \
        [(e.people["bob"]["uid"], cut, logs[0][3], 1, logs[0][4])], (rows, logs)
    logs = consume_logs(e, MODELS)
    wait_for(lambda: table_sums(e, MODELS) == sums(consume_logs(e, MODELS),
                                                   lambda r: (r[0], r[2], r[3])),
             30, 0.1, what="the next call aggregated")
    got = data(e, "/api/data/self", e.people["bob"]["pat"], **rng(logs))
    assert cut in [x["model_name"] for x in got], got


def check_dashboard_models(e):
    for pat in (e.people["alice"]["pat"], e.root_pat):
        st, _, j = harness.request("GET", e.g.port, "/api/models",
                                   headers={"Authorization": "Bearer " + pat})
        assert st == 200, st
        j = json.loads(j)
        assert j["success"] is True and set(j) == {"success", "data"}, j
        d = j["data"]
        assert "gpt-4o-mini" in d["1"] and "gpt-4o-mini" in d["3"], d["1"][:20]
        assert d["14"] and all(m.startswith("claude-") for m in d["14"]), d["14"]
        assert d["24"] and all(m.startswith(("gemini-", "gemma-")) for m in d["24"]), d["24"]
        assert d["43"] and all(m.startswith("deepseek-") for m in d["43"]), d["43"]
        assert not any("*" in m for v in d.values() for m in v)
        assert all(len(v) == len(set(v)) for v in d.values())
        assert "2" not in d and "5" not in d        # types without an adapter


def comm(p):
    try:
        with open("/proc/%d/comm" % p) as f:
            return f.read().strip()
    except OSError:
        return ""


def ledgers(e):
    return [p for p in descendants(e.g.proc.pid) if comm(p) == "tf-ledger"]


def ledger_pid(e):
    pids = ledgers(e)
    assert len(pids) == 1, pids
    return pids[0]


def replays(e):
    return sum(json.loads(v).get("replays", 0)
               for v in e.rcmd("HVALS", "tf:nodes") if v.startswith("{"))


def pending(e):
    total = 0
    for s in range(16):
        out = e.rcmd("XPENDING", "tf:{s%d}:ledger" % s, "persister")
        total += int(out[0]) if out and out[0].lstrip("-").isdigit() else 0
    return total


def check_replays_and_a_killed_ledger_add_nothing(e):
    models = ("data-m3",)
    for i in range(4):
        call(e, ("alice", "bob")[i % 2], "data-m3", text="replay %d" % i)
    logs = wait_logged(e, models, 4)
    want = sums(logs, lambda r: (r[0], r[2], r[3]))
    assert table_sums(e, models) == want
    wait_for(lambda: pending(e) == 0, 30, 0.1, what="every entry acknowledged")

    # every applied entry handed to the persister again
    before = replays(e)
    for s in range(16):
        key = "tf:{s%d}:ledger" % s
        if e.rcmd("EXISTS", key) == ["1"]:
            assert e.rcmd("XGROUP", "SETID", key, "persister", "0") == ["OK"]
    wait_for(lambda: replays(e) >= before + 4 and pending(e) == 0, 30, 0.1,
             what="the redelivered entries to be replayed")
    assert table_sums(e, models) == want
    assert len(consume_logs(e, models)) == 4

    # the ledger process killed while calls keep coming; the supervisor restarts it
    stop, errors, n = threading.Event(), [], [0]

    def caller():
        while not stop.is_set() and n[0] < 200:
            try:
                call(e, ("alice", "bob")[n[0] % 2], "data-m3", text="burst %d" % n[0])
                n[0] += 1
            except AssertionError as ex:
                errors.append(ex)
                return
    t = threading.Thread(target=caller)
    t.start()
    try:
        for _ in range(2):
            wait_for(lambda: n[0] >= 3, 30, 0.02, what="calls in flight")
            old = ledger_pid(e)
            os.kill(old, signal.SIGKILL)
            wait_for(lambda: [p for p in ledgers(e) if p != old], 30, 0.1,
                     what="the ledger process to be restarted")
            start = n[0]
            wait_for(lambda: n[0] >= start + 3, 30, 0.02, what="more calls")
    finally:
        stop.set()
        t.join(60)
    assert not errors, errors
    total = 4 + n[0]
    logs = wait_logged(e, models, total)
    assert len(logs) == total, (len(logs), total)
    wait_for(lambda: pending(e) == 0, 30, 0.1, what="every entry acknowledged")
    assert table_sums(e, models) == sums(logs, lambda r: (r[0], r[2], r[3]))


CHECKS = (check_relayed_calls_are_aggregated_exactly, check_hours_and_duplicate_rows_are_summed,
          check_roles_and_bad_input, check_a_long_model_name_is_cut_to_the_column,
          check_dashboard_models,
          check_replays_and_a_killed_ledger_add_nothing)
suite = Suite(lambda srv=None: Env(srv), CHECKS)
suite.check_cases()
suite.stop_case()
suite.backend_cases()

if __name__ == "__main__":
    suite.main()
