#!/usr/bin/env python3
"""/api/token against the real gateway: create/list/search/get/update/delete, key
reveal (single and batch), masking, the per-user cap, ownership between users,
bad input on every handler (no change: table snapshots compared), with every field
checked in SQL and in the Redis mirror (scripts/README.md key schema). Runs on
SQLite, and once per backend on MariaDB and PostgreSQL.

usage: test_api_tokens.py [BUILD_DIR]    (TEST_CASE=name runs one case)

The helpers (Env: users with personal access tokens, SQL and Redis access that work
on every backend) are shared with test_api_redemptions.py."""
import csv
import hashlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbservers  # noqa: E402
from apihelp import Suite  # noqa: E402
from harness import Gateway, case, request  # noqa: E402

# ---- shared helpers ------------------------------------------------------------


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


class Sql:
    """Runs SQL on the gateway's database, whatever the backend. Values come back as
    strings (NULL as None, booleans as "0"/"1"); '?' takes lit()-quoted arguments
    (test-controlled values only)."""

    def __init__(self, g, srv=None):
        self.g, self.srv = g, srv
        self.kind = srv.kind if srv else "sqlite"

    def _sql(self, sql, args):
        parts = sql.split("?")
        assert len(parts) == len(args) + 1, sql
        out = parts[0]
        for a, p in zip(args, parts[1:]):
            out += lit(a) + p
        return out.replace("`", '"') if self.kind == "postgres" else out

    def rows(self, sql, *args):
        text = self._sql(sql, args)
        if self.kind == "sqlite":
            c = sqlite3.connect(os.path.join(self.g.data_dir, "token-factory.db"), timeout=30)
            try:
                cur = c.execute(text)
                res = [tuple(None if v is None else str(v) for v in r) for r in cur.fetchall()]
                c.commit()
                return res
            finally:
                c.close()
        if self.kind == "mariadb":  # batch mode escapes \n \t \\ \0 inside values
            cmd = ["mariadb", "--no-defaults", "-uroot", "--socket=" + self.srv.socket, "-N",
                   "-B", dbservers.DBNAME, "-e", text]
        else:  # CSV keeps newlines inside quoted values
            cmd = [dbservers.PG_BIN + "/psql", "-X", "-q", "-t", "--csv", "-P", "null=\\N",
                   "-v", "ON_ERROR_STOP=1", "-h", self.srv.socket, "-p", str(self.srv.port),
                   "-U", "postgres", "-d", dbservers.DBNAME, "-c", text]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        assert p.returncode == 0, (text, p.stderr)
        if self.kind == "mariadb":
            esc = {"n": "\n", "t": "\t", "\\": "\\", "0": "\0"}
            raw = [[None if v == "NULL" else re.sub(r"\\(.)", lambda m: esc.get(m[1], m[1]), v)
                    for v in line.split("\t")] for line in p.stdout.splitlines()]
        else:
            raw = [[None if v == "\\N" else {"t": "1", "f": "0"}.get(v, v) for v in r]
                   for r in csv.reader(io.StringIO(p.stdout)) if r]
        return [tuple(r) for r in raw]

    def one(self, sql, *args):
        r = self.rows(sql, *args)
        assert len(r) == 1, (sql, r)
        return r[0]

    def val(self, sql, *args):
        return self.one(sql, *args)[0]

    def exec(self, sql, *args):
        self.rows(sql, *args)


class Env:
    """A running gateway (SQLite, or the given dbservers server) with a root user."""

    def __init__(self, srv=None, workers=2, gateway=None):
        env = {"SQL_DSN": srv.dsn} if srv else {}
        self.g = gateway or Gateway(workers=workers, env=env).start()
        self.sql = Sql(self.g, srv)
        self.n = 0
        self.root, self.root_pat = self.user("root", role=100, quota=100000000)

    def stop(self):
        self.g.stop()

    def redis(self, *args):
        p = subprocess.run(["redis-cli", "-s", os.path.join(self.g.data_dir, "redis.sock"),
                            "--no-raw"] + [str(a) for a in args], stdout=subprocess.PIPE,
                           text=True, timeout=30)
        return p.stdout

    def rraw(self, *args):
        """Raw redis-cli answer text, without the final newline."""
        p = subprocess.run(["redis-cli", "-s", os.path.join(self.g.data_dir, "redis.sock")] +
                           [str(a) for a in args], stdout=subprocess.PIPE, text=True, timeout=30)
        return p.stdout[:-1] if p.stdout.endswith("\n") else p.stdout

    def rcmd(self, *args):
        """Raw redis-cli answer lines."""
        return self.rraw(*args).splitlines()

    def hgetall(self, key):
        # Field by field: a value may hold newlines (allow_ips).
        return {f: self.rraw("HGET", key, f) for f in self.rcmd("HKEYS", key)}

    def user(self, name, role=1, group="default", quota=0, mirror=True):
        """A user row plus a personal access token; mirrored into Redis as the cold
        start would (the gateway has no user API of ours to create it)."""
        self.n += 1
        pat = ("pat%s%d" % (name, self.n) + "x" * 32)[:32]
        self.sql.exec("INSERT INTO users (username, password, display_name, role, status, "
                      "access_token, `group`, quota) VALUES (?, 'x', ?, ?, 1, ?, ?, ?)",
                      name, name, role, pat, group, quota)
        uid = int(self.sql.val("SELECT id FROM users WHERE username = ?", name))
        if mirror:
            self.mirror_user(uid, name, role, group, quota)
        return uid, pat

    def mirror_user(self, uid, name, role=1, group="default", quota=0):
        self.rcmd("HSET", ukey(uid), "quota", quota, "reserved", 0, "used_quota", 0,
                  "request_count", 0, "status", 1, "group", group, "role", role,
                  "username", name)

    def api(self, method, path, pat, body=None, raw=None):
        h = {"Authorization": "Bearer " + pat} if pat else {}
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        st, _, b = request(method, self.g.port, path, body=data, headers=h, timeout=30)
        assert st == 200, (method, path, st, b[:300])
        return json.loads(b)

    def ok(self, method, path, pat, body=None):
        j = self.api(method, path, pat, body)
        assert j["success"] is True and j["message"] == "", (method, path, body, j)
        return j

    def refused(self, method, path, pat, body=None, raw=None, has=None):
        j = self.api(method, path, pat, body, raw)
        assert j["success"] is False and j["message"], (method, path, body, raw, j)
        assert "data" not in j, j
        if has:
            assert has in j["message"], (has, j)
        return j

    def ledger(self, uid):
        """The entries of the user's shard ledger, as dicts (with "_id")."""
        script = ("local out = {} for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) "
                  "do local m = {_id = e[1]} for i = 1, #e[2], 2 do m[e[2][i]] = e[2][i + 1] "
                  "end out[#out + 1] = m end return cjson.encode(out)")
        out = self.rcmd("EVAL", script, 1, "tf:{s%d}:ledger" % (uid % 16))
        assert len(out) == 1, out
        return [] if out[0] == "{}" else json.loads(out[0])


def ukey(uid):
    return "tf:{s%d}:u:%d" % (uid % 16, uid)


def tkey(uid, tid):
    return "tf:{s%d}:t:%d" % (uid % 16, tid)


def lookup_key(key):
    return "tf:tk:" + hashlib.sha256(key.encode()).hexdigest()


def masked(key):
    return key[:4] + "*" * 10 + key[-4:]


# ---- token helpers ---------------------------------------------------------------

COLS = ("id, user_id, `key`, status, name, created_time, accessed_time, expired_time, "
        "remain_quota, unlimited_quota, model_limits_enabled, model_limits, allow_ips, "
        "used_quota, `group`, cross_group_retry, deleted_at")


def snapshot(e):
    return e.sql.rows("SELECT " + COLS + " FROM tokens ORDER BY id")


def token_row(e, tid):
    names = [c.strip(" `") for c in COLS.split(",")]
    return dict(zip(names, e.sql.one("SELECT " + COLS + " FROM tokens WHERE id = ?", tid)))


def newest(e, uid):
    return int(e.sql.val("SELECT MAX(id) FROM tokens WHERE user_id = ?", uid))


def create(e, pat, uid, **fields):
    body = {"name": "t", "remain_quota": 100, "expired_time": -1}
    body.update(fields)
    j = e.ok("POST", "/api/token/", pat, body)
    assert "data" not in j, j  # the reference answers creation without data
    return newest(e, uid)


# ---- the suite (every backend) -------------------------------------------------------


def check_create_and_read(e):
    uid, pat = e.user("alice", group="default")
    now = int(time.time())
    exp = now + 3600
    tid = create(e, pat, uid, name="alpha", remain_quota=5000, unlimited_quota=False,
                 expired_time=exp, model_limits_enabled=True,
                 model_limits=" gpt-4o, claude-3 ,,", group="vip",
                 allow_ips="10.0.0.1\n192.168.0.0/24\n ::1 \n2001:db8::/32")
    row = token_row(e, tid)
    key = row["key"]
    assert len(key) == 48 and key.isalnum() and key.isascii() and not key.startswith("sk-"), key
    assert row["user_id"] == str(uid) and row["status"] == "1" and row["name"] == "alpha"
    assert row["remain_quota"] == "5000" and row["unlimited_quota"] == "0", row
    assert row["expired_time"] == str(exp) and row["model_limits_enabled"] == "1", row
    assert row["model_limits"] == "gpt-4o,claude-3", row
    assert row["allow_ips"] == "10.0.0.1\n192.168.0.0/24\n ::1 \n2001:db8::/32", row
    assert row["group"] == "vip" and row["used_quota"] == "0" and row["deleted_at"] is None
    assert abs(int(row["created_time"]) - now) < 60 and row["cross_group_retry"] == "0"
    h = e.hgetall(tkey(uid, tid))
    assert re.fullmatch(r"[0-9a-f]+\.[0-9a-f]+\.[0-9a-f]+", h.pop("sv")), h  # settings version
    assert h == {"uid": str(uid), "status": "1", "name": "alpha", "expired_time": str(exp),
                 "unlimited_quota": "0", "model_limits_enabled": "1",
                 "model_limits": "gpt-4o,claude-3", "group": "vip", "remain_quota": "5000",
                 "reserved": "0", "used_quota": "0",
                 "allow_ips": "10.0.0.1\n192.168.0.0/24\n ::1 \n2001:db8::/32"}, h
    assert e.rcmd("GET", lookup_key(key)) == ["%d:%d" % (uid, tid)]

    d = e.ok("GET", "/api/token/?p=1&page_size=5", pat)["data"]
    assert d["page"] == 1 and d["page_size"] == 5 and d["total"] == 1, d
    it = d["items"][0]
    assert it["key"] == masked(key), it
    assert key not in json.dumps(d)
    want = {"id": tid, "user_id": uid, "status": 1, "name": "alpha", "expired_time": exp,
            "remain_quota": 5000, "unlimited_quota": False, "model_limits_enabled": True,
            "model_limits": "gpt-4o,claude-3", "group": "vip", "used_quota": 0,
            "cross_group_retry": False, "auto_groups": None, "key": masked(key),
            "allow_ips": "10.0.0.1\n192.168.0.0/24\n ::1 \n2001:db8::/32"}
    for k, v in want.items():
        assert it[k] == v, (k, it[k], v)
    assert isinstance(it["created_time"], int) and isinstance(it["accessed_time"], int)
    g = e.ok("GET", "/api/token/%d" % tid, pat)["data"]
    assert g == it, (g, it)
    assert e.ok("POST", "/api/token/%d/key" % tid, pat)["data"] == {"key": key}
    t2 = create(e, pat, uid, name="beta")
    k2 = token_row(e, t2)["key"]
    d = e.ok("POST", "/api/token/batch/keys", pat, {"ids": [tid, t2, 99999999]})["data"]
    assert d == {"keys": {str(tid): key, str(t2): k2}}, d
    d = e.ok("GET", "/api/token/", pat)["data"]
    assert [i["id"] for i in d["items"]] == [t2, tid], d  # newest first
    # The user's own group is always usable; unlimited tokens; SQL metacharacters
    # in a name are stored verbatim.
    u2, p2 = e.user("carol", group="special")
    t3 = create(e, p2, u2, name="a'b\"c;-- %_", group="special", unlimited_quota=True,
                remain_quota=0)
    r3 = token_row(e, t3)
    assert r3["name"] == "a'b\"c;-- %_" and r3["group"] == "special", r3
    assert r3["unlimited_quota"] == "1" and r3["expired_time"] == "-1", r3
    assert e.hgetall(tkey(u2, t3))["unlimited_quota"] == "1"


def check_search(e):
    uid, pat = e.user("sam")
    a = create(e, pat, uid, name="search-one")
    b = create(e, pat, uid, name="search-two")
    create(e, pat, uid, name="other_x")
    ka = token_row(e, a)["key"]

    def ids(q):
        d = e.ok("GET", "/api/token/search?" + q, pat)["data"]
        assert d["total"] == len(d["items"]), d
        assert all(i["key"] != ka for i in d["items"])
        return sorted(i["id"] for i in d["items"])
    assert ids("keyword=search-one") == [a]
    assert ids("keyword=search") == []                 # no % : exact
    assert ids("keyword=search%25") == [a, b]
    assert ids("keyword=%25one") == [a]
    assert ids("keyword=other%5Fx") == [ids("keyword=other_x")[0]]
    assert ids("keyword=other%25x") == ids("keyword=other_x")
    assert ids("keyword=otherxx") == []
    assert ids("token=" + ka) == [a]
    assert ids("token=sk-" + ka) == [a]
    assert ids("token=" + ka[:10] + "%25") == [a]
    assert ids("keyword=%27%20OR%201%3D1%20--") == []
    for bad in ("keyword=%25%25x", "keyword=s%25", "keyword=%25a%25b%25c", "keyword=" + "x" * 300):
        e.refused("GET", "/api/token/search?" + bad, pat)
    _, other = e.user("sam2")
    d = e.ok("GET", "/api/token/search?keyword=search%25", other)["data"]
    assert d["items"] == [] and d["total"] == 0


def check_update(e):
    uid, pat = e.user("ursula")
    now = int(time.time())
    tid = create(e, pat, uid, name="u1", remain_quota=5000, expired_time=now + 3600,
                 model_limits_enabled=True, model_limits="a,b", allow_ips="10.0.0.1")
    d = e.ok("PUT", "/api/token/", pat,
             {"id": tid, "name": "renamed", "remain_quota": 7000, "expired_time": -1,
              "model_limits_enabled": False, "model_limits": "", "allow_ips": "",
              "group": "vip", "unlimited_quota": False, "status": 2})["data"]
    assert d["id"] == tid and d["name"] == "renamed" and d["remain_quota"] == 7000, d
    assert d["status"] == 1 and d["group"] == "vip" and d["expired_time"] == -1, d
    assert d["key"] == masked(token_row(e, tid)["key"])
    row = token_row(e, tid)
    assert row["name"] == "renamed" and row["expired_time"] == "-1" and row["group"] == "vip"
    assert row["model_limits"] == "" and row["allow_ips"] == "" and row["status"] == "1", row
    # remain_quota moved through the ledger (adjust token_set), not by an SQL write:
    # Redis holds it now, the persister brings it to SQL.
    h = e.hgetall(tkey(uid, tid))
    assert h["remain_quota"] == "7000" and h["name"] == "renamed" and h["group"] == "vip", h
    assert h["expired_time"] == "-1" and h["model_limits_enabled"] == "0", h
    sets = [x for x in e.ledger(uid) if x.get("tid") == str(tid) and x["type"] == "manage"]
    assert len(sets) == 1 and sets[0]["dtr"] == "2000" and sets[0]["dq"] == "0", sets
    assert sets[0]["op"].startswith("token_set:")
    if row["remain_quota"] == "5000":  # no persister in this process: apply it as it would
        e.sql.exec("UPDATE tokens SET remain_quota = 7000 WHERE id = ?", tid)
    # Same quota again: no second ledger entry.
    e.ok("PUT", "/api/token/", pat, {"id": tid, "remain_quota": 7000})
    assert len([x for x in e.ledger(uid) if x.get("tid") == str(tid)]) == 1
    # Partial update keeps what is not sent.
    e.ok("PUT", "/api/token/", pat, {"id": tid, "name": "only-name"})
    r2 = token_row(e, tid)
    assert r2["name"] == "only-name" and r2["group"] == "vip" and r2["expired_time"] == "-1"
    # status_only toggles 1 <-> 2, and touches nothing else.
    d = e.ok("PUT", "/api/token/?status_only=true", pat,
             {"id": tid, "status": 2, "name": "ignored"})["data"]
    assert d["status"] == 2 and d["name"] == "only-name"
    assert token_row(e, tid)["status"] == "2" and e.hgetall(tkey(uid, tid))["status"] == "2"
    e.ok("PUT", "/api/token/?status_only=true", pat, {"id": tid, "status": 1})
    assert token_row(e, tid)["status"] == "1" and e.hgetall(tkey(uid, tid))["status"] == "1"
    # Expired: enabling needs a future expiry first.
    e.sql.exec("UPDATE tokens SET status = 3, expired_time = ? WHERE id = ?", now - 10, tid)
    e.refused("PUT", "/api/token/?status_only=true", pat, {"id": tid, "status": 1},
              has="expired")
    e.refused("PUT", "/api/token/", pat, {"id": tid, "expired_time": now - 5})
    e.ok("PUT", "/api/token/", pat, {"id": tid, "name": "still-expired"})  # expiry untouched
    e.ok("PUT", "/api/token/", pat, {"id": tid, "expired_time": now + 100})
    assert token_row(e, tid)["status"] == "3"
    e.ok("PUT", "/api/token/?status_only=1", pat, {"id": tid, "status": 1})
    assert token_row(e, tid)["status"] == "1" and e.hgetall(tkey(uid, tid))["status"] == "1"
    # Exhausted: enabling needs quota (or unlimited) first.
    e.sql.exec("UPDATE tokens SET status = 4, remain_quota = 0 WHERE id = ?", tid)
    e.refused("PUT", "/api/token/?status_only=1", pat, {"id": tid, "status": 1}, has="quota")
    e.ok("PUT", "/api/token/", pat, {"id": tid, "unlimited_quota": True})
    e.ok("PUT", "/api/token/?status_only=1", pat, {"id": tid, "status": 1})
    assert token_row(e, tid)["status"] == "1" and token_row(e, tid)["unlimited_quota"] == "1"


def check_delete(e):
    uid, pat = e.user("dora")
    ouid, opat = e.user("dora2")
    a = create(e, pat, uid, name="d1")
    b = create(e, pat, uid, name="d2")
    c = create(e, pat, uid, name="d3")
    other = create(e, opat, ouid, name="theirs")
    ka = token_row(e, a)["key"]
    e.ok("DELETE", "/api/token/%d" % a, pat)
    assert token_row(e, a)["deleted_at"] is not None  # soft delete
    assert e.rcmd("EXISTS", tkey(uid, a)) == ["0"] and e.rcmd("EXISTS", lookup_key(ka)) == ["0"]
    e.refused("GET", "/api/token/%d" % a, pat, has="not found")
    e.refused("DELETE", "/api/token/%d" % a, pat, has="not found")
    e.refused("POST", "/api/token/%d/key" % a, pat)
    assert [i["id"] for i in e.ok("GET", "/api/token/", pat)["data"]["items"]] == [c, b]
    keys = {t: token_row(e, t)["key"] for t in (b, c, other)}
    j = e.ok("POST", "/api/token/batch", pat, {"ids": [b, c, other, a, 987654321]})
    assert j["data"] == 2, j
    for t in (b, c):
        assert token_row(e, t)["deleted_at"] is not None
        assert e.rcmd("EXISTS", tkey(uid, t)) == ["0"]
        assert e.rcmd("EXISTS", lookup_key(keys[t])) == ["0"]
    assert token_row(e, other)["deleted_at"] is None
    assert e.rcmd("GET", lookup_key(keys[other])) == ["%d:%d" % (ouid, other)]
    assert e.ok("GET", "/api/token/", pat)["data"]["total"] == 0


def check_ownership(e):
    ua, pa = e.user("owner")
    ub, pb = e.user("intruder")
    uadm, padm = e.user("admin1", role=10)
    t = create(e, pa, ua, name="mine", remain_quota=10)
    before, redis_before = snapshot(e), e.hgetall(tkey(ua, t))
    for who in (pb, padm, e.root_pat):
        e.refused("GET", "/api/token/%d" % t, who, has="not found")
        e.refused("POST", "/api/token/%d/key" % t, who, has="not found")
        e.refused("DELETE", "/api/token/%d" % t, who, has="not found")
        e.refused("PUT", "/api/token/", who, {"id": t, "name": "stolen", "remain_quota": 9})
        e.refused("PUT", "/api/token/?status_only=1", who, {"id": t, "status": 2})
        assert e.ok("POST", "/api/token/batch", who, {"ids": [t]})["data"] == 0
        assert e.ok("POST", "/api/token/batch/keys", who, {"ids": [t]})["data"] == {"keys": {}}
        d = e.ok("GET", "/api/token/", who)["data"]
        assert t not in [i["id"] for i in d["items"]]  # admins see only their own tokens
        d = e.ok("GET", "/api/token/search?keyword=mine", who)["data"]
        assert d["items"] == []
    assert snapshot(e) == before and e.hgetall(tkey(ua, t)) == redis_before


def check_cap(e):
    uid, pat = e.user("hoarder")
    now = int(time.time())
    rows = ",".join("(%d, 'capkey%06d%s', 1, 'bulk', %d, -1, 0)" % (uid, i, "x" * 30, now)
                    for i in range(999))
    e.sql.exec("INSERT INTO tokens (user_id, `key`, status, name, created_time, expired_time, "
               "remain_quota) VALUES " + rows)
    create(e, pat, uid, name="the-1000th")
    before = snapshot(e)
    j = e.refused("POST", "/api/token/", pat, {"name": "one-too-many", "expired_time": -1},
                  has="1000")
    assert snapshot(e) == before, j
    assert e.sql.val("SELECT COUNT(*) FROM tokens WHERE user_id = ? AND deleted_at IS NULL",
                     uid) == "1000"
    # A deleted token frees a place.
    e.ok("DELETE", "/api/token/%d" % newest(e, uid), pat)
    create(e, pat, uid, name="again")
    d = e.ok("GET", "/api/token/?p=100&page_size=10", pat)["data"]
    assert d["total"] == 1000 and len(d["items"]) == 10, (d["total"], len(d["items"]))
    # 40 concurrent creates at 997 of 1000: exactly three places are taken (without
    # the owner row lock, MariaDB and PostgreSQL let several more through).
    e.sql.exec("UPDATE tokens SET deleted_at = CURRENT_TIMESTAMP WHERE id IN (SELECT id FROM "
               "(SELECT id FROM tokens WHERE user_id = ? AND deleted_at IS NULL ORDER BY id "
               "LIMIT 3) AS x)", uid)
    go, out = threading.Barrier(40), []

    def one(i):
        go.wait(30)
        st, _, b = request("POST", e.g.port, "/api/token/", body={"name": "race%d" % i},
                           headers={"Authorization": "Bearer " + pat}, timeout=60)
        out.append(json.loads(b)["success"])
    threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert sorted(out) == [False] * 37 + [True] * 3, out
    assert e.sql.val("SELECT COUNT(*) FROM tokens WHERE user_id = ? AND deleted_at IS NULL",
                     uid) == "1000"


def check_bad_input(e):
    uid, pat = e.user("mallory")
    tid = create(e, pat, uid, name="keep", remain_quota=10)
    now = int(time.time())
    cases = [
        ("POST", "/api/token/", None, b"{broken"),
        ("POST", "/api/token/", None, b"[1,2]"),
        ("POST", "/api/token/", None, b""),
        ("POST", "/api/token/", {}, None),
        ("POST", "/api/token/", {"name": 5}, None),
        ("POST", "/api/token/", {"name": ""}, None),
        ("POST", "/api/token/", {"name": "x" * 51}, None),
        ("POST", "/api/token/", {"name": "ok", "remain_quota": "100"}, None),
        ("POST", "/api/token/", {"name": "ok", "remain_quota": -1}, None),
        ("POST", "/api/token/", {"name": "ok", "remain_quota": 1.5}, None),
        ("POST", "/api/token/", {"name": "ok", "remain_quota": 2 ** 31}, None),
        ("POST", "/api/token/", {"name": "ok", "unlimited_quota": "yes"}, None),
        ("POST", "/api/token/", {"name": "ok", "model_limits_enabled": 1}, None),
        ("POST", "/api/token/", {"name": "ok", "expired_time": now - 10}, None),
        ("POST", "/api/token/", {"name": "ok", "expired_time": 0}, None),
        ("POST", "/api/token/", {"name": "ok", "expired_time": "never"}, None),
        ("POST", "/api/token/", {"name": "ok", "allow_ips": "not-an-ip"}, None),
        ("POST", "/api/token/", {"name": "ok", "allow_ips": "10.0.0.1/33"}, None),
        ("POST", "/api/token/", {"name": "ok", "allow_ips": ["10.0.0.1"]}, None),
        ("POST", "/api/token/", {"name": "ok", "group": "svip"}, None),
        ("POST", "/api/token/", {"name": "ok", "group": "'; DROP TABLE tokens; --"}, None),
        ("POST", "/api/token/", {"name": "ok", "group": "g" * 65}, None),
        ("POST", "/api/token/", {"name": "ok", "model_limits": "m" * 20000}, None),
        ("POST", "/api/token/", {"name": "ok", "model_limits": ["a"]}, None),
        ("PUT", "/api/token/", None, b"{broken"),
        ("PUT", "/api/token/", {}, None),
        ("PUT", "/api/token/", {"id": str(tid), "name": "x"}, None),
        ("PUT", "/api/token/", {"id": None, "name": "x"}, None),
        ("PUT", "/api/token/", {"id": tid, "name": 7}, None),
        ("PUT", "/api/token/", {"id": tid, "name": ""}, None),
        ("PUT", "/api/token/", {"id": tid, "name": "n" * 51}, None),
        ("PUT", "/api/token/", {"id": tid, "remain_quota": -5}, None),
        ("PUT", "/api/token/", {"id": tid, "remain_quota": "5"}, None),
        ("PUT", "/api/token/", {"id": tid, "expired_time": now - 100}, None),
        ("PUT", "/api/token/", {"id": tid, "allow_ips": "1.2.3"}, None),
        ("PUT", "/api/token/", {"id": tid, "group": "svip"}, None),
        ("PUT", "/api/token/", {"id": 99999999, "name": "x"}, None),
        ("PUT", "/api/token/?status_only=1", {"id": tid, "status": 3}, None),
        ("PUT", "/api/token/?status_only=1", {"id": tid, "status": "1"}, None),
        ("PUT", "/api/token/?status_only=1", {"id": tid}, None),
        ("GET", "/api/token/abc", None, None),
        ("GET", "/api/token/-1", None, None),
        ("GET", "/api/token/1%27%20OR%20%271%27=%271", None, None),
        ("GET", "/api/token/99999999", None, None),
        ("DELETE", "/api/token/abc", None, None),
        ("DELETE", "/api/token/0", None, None),
        ("POST", "/api/token/abc/key", None, None),
        ("POST", "/api/token/batch", None, b"{broken"),
        ("POST", "/api/token/batch", {}, None),
        ("POST", "/api/token/batch", {"ids": []}, None),
        ("POST", "/api/token/batch", {"ids": str(tid)}, None),
        ("POST", "/api/token/batch", {"ids": [str(tid)]}, None),
        ("POST", "/api/token/batch", {"ids": [tid, 1.5]}, None),
        ("POST", "/api/token/batch", {"ids": [tid, -1]}, None),
        ("POST", "/api/token/batch", {"ids": list(range(1, 1002))}, None),
        ("POST", "/api/token/batch/keys", {"ids": list(range(1, 102))}, None),
        ("POST", "/api/token/batch/keys", {"ids": [[tid]]}, None),
        ("GET", "/api/token/search?keyword=%25%25", None, None),
        ("GET", "/api/token/search?token=" + "k" * 300, None, None),
    ]
    before, rbefore = snapshot(e), e.hgetall(tkey(uid, tid))
    nledger = len(e.ledger(uid))
    for m, path, body, raw in cases:
        e.refused(m, path, pat, body, raw)
    assert snapshot(e) == before
    assert e.hgetall(tkey(uid, tid)) == rbefore and len(e.ledger(uid)) == nledger


def check_allow_ips_strict(e):
    """allow_ips is parsed when written: a bad entry is refused by name, in the
    reference's envelope, and nothing changes; good lists are stored as sent."""
    uid, pat = e.user("ipcheck")
    tid = create(e, pat, uid, name="ips", allow_ips="10.0.0.1")
    long_ok = "\n".join("10.%d.%d.0/24" % (i // 250, i % 250) for i in range(900))
    bad = ["10.0.0.1/-0", "+10.0.0.1", "10.0.0.1/", "10.0.0.1/+8", "10.0.0.1/08",
           "10.0.0.1/8x", "::1/129", "10.0.0.1/33", "fe80::1%eth0", "010.0.0.1",
           "10.0.0.1 /8", "1.2.3.4/8/8"]
    before, rbefore = snapshot(e), e.hgetall(tkey(uid, tid))
    for entry in bad:
        for text in (entry, long_ok + "\n" + entry, "1.1.1.1, " + entry + ", 2.2.2.2"):
            e.refused("POST", "/api/token/", pat, {"name": "x", "allow_ips": text},
                      has='allow_ips: "%s" is not an IP address or CIDR' % entry)
            e.refused("PUT", "/api/token/", pat, {"id": tid, "allow_ips": text},
                      has='allow_ips: "%s"' % entry)
    assert snapshot(e) == before and e.hgetall(tkey(uid, tid)) == rbefore
    for text in ("10.0.0.1, 10.0.0.2\t\n::1/128\n\n0.0.0.0/0", long_ok, "", " ::ffff:1.2.3.4 "):
        e.ok("PUT", "/api/token/", pat, {"id": tid, "allow_ips": text})
        assert token_row(e, tid)["allow_ips"] == text
        got = e.hgetall(tkey(uid, tid))["allow_ips"]
        assert got == text, (text[:80], got[:80])


def check_idem_bounded(e):
    """Each token PUT with remain_quota is an adjust op: its idempotency record
    expires (an hour), where one hash per shard once gained a field per PUT
    and never expired."""
    uid, pat = e.user("idem")
    tid = create(e, pat, uid, name="idem", remain_quota=10)
    shard = uid % 16
    for q in range(20, 30):
        e.ok("PUT", "/api/token/", pat, {"id": tid, "remain_quota": q})
    assert e.rcmd("EXISTS", "tf:{s%d}:idem" % shard) == ["0"]
    recs = [k for k in e.rcmd("KEYS", "tf:{s%d}:idem:*" % shard)]
    assert len(recs) >= 10, recs
    for k in recs:
        ttl = int(e.rcmd("PTTL", k)[0])
        assert 0 < ttl <= 3600000, (k, ttl)
    assert e.hgetall(tkey(uid, tid))["remain_quota"] == "29"


SUITE = (check_create_and_read, check_search, check_update, check_delete, check_ownership,
         check_cap, check_bad_input)

# ---- cases ---------------------------------------------------------------------------

S = Suite(Env, SUITE)
env = S.env


@case
def create_and_read():
    check_create_and_read(env())


@case
def search():
    check_search(env())


@case
def update():
    check_update(env())


@case
def delete():
    check_delete(env())


@case
def ownership():
    check_ownership(env())


@case
def cap_of_1000_tokens():
    check_cap(env())


@case
def bad_input_changes_nothing():
    check_bad_input(env())


@case
def idempotency_records_expire():
    check_idem_bounded(env())


@case
def allow_ips_parsed_strictly():
    check_allow_ips_strict(env())


S.stop_case()
S.backend_cases()

if __name__ == "__main__":
    S.main()
