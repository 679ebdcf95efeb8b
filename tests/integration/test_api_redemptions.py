#!/usr/bin/env python3
"""/api/redemption and POST /api/user/topup against the real gateway: create 1-100
codes, list, search, get, update, delete, delete invalid; redeeming credits the
user's Redis quota through adjust.lua (one redeem ledger entry), exactly once —
also when 20 requests race on two replicas sharing one SQLite file and one Redis —
and an interrupted credit is finished by sending the code again. Bad input changes
nothing (snapshots compared). Runs on SQLite, and once per backend on MariaDB and
PostgreSQL.

usage: test_api_redemptions.py [BUILD_DIR]    (TEST_CASE=name runs one case)"""
import json
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_api_tokens as tk  # noqa: E402  (shared helpers; its own cases are not run here)
from apihelp import Suite  # noqa: E402
from harness import Gateway, case, request  # noqa: E402

harness._cases.clear()
Env = tk.Env
HEX32 = re.compile(r"^[0-9a-f]{32}$")

COLS = ("id, user_id, `key`, status, name, quota, created_time, redeemed_time, used_user_id, "
        "expired_time, deleted_at")


def snapshot(e):
    return e.sql.rows("SELECT " + COLS + " FROM redemptions ORDER BY id")


def code_row(e, key):
    names = [c.strip(" `") for c in COLS.split(",")]
    return dict(zip(names, e.sql.one("SELECT " + COLS + " FROM redemptions WHERE `key` = ?", key)))


def make(e, name="promo", count=1, quota=1000, expired_time=0):
    j = e.ok("POST", "/api/redemption/", e.root_pat,
             {"name": name, "count": count, "quota": quota, "expired_time": expired_time})
    keys = j["data"]
    assert isinstance(keys, list) and len(keys) == count and len(set(keys)) == count, j
    return keys


def redis_quota(e, uid):
    return int(e.rcmd("HGET", tk.ukey(uid), "quota")[0])


def redeems(e, uid, rid):
    return [x for x in e.ledger(uid) if x["type"] == "redeem" and x["op"] == "redeem:%s" % rid]


# ---- the suite (every backend) ----------------------------------------------------------


def check_create_list_get(e):
    now = int(time.time())
    keys = make(e, name="batch-a", count=3, quota=1234, expired_time=now + 3600)
    for k in keys:
        assert HEX32.match(k) and k[12] == "4" and k[16] in "89ab", k  # a UUIDv4
        r = code_row(e, k)
        assert r["user_id"] == str(e.root) and r["status"] == "1" and r["name"] == "batch-a", r
        assert r["quota"] == "1234" and r["expired_time"] == str(now + 3600), r
        assert r["redeemed_time"] == "0" and r["used_user_id"] == "0", r
        assert r["deleted_at"] is None and abs(int(r["created_time"]) - now) < 60, r
    assert len(make(e, name="兑" * 20, count=100, quota=1)) == 100
    e.refused("POST", "/api/redemption/", e.root_pat,
              {"name": "兑" * 21, "count": 1, "quota": 1})
    total = int(e.sql.val("SELECT COUNT(*) FROM redemptions WHERE deleted_at IS NULL"))
    d = e.ok("GET", "/api/redemption/?p=1&page_size=2", e.root_pat)["data"]
    assert d["page"] == 1 and d["page_size"] == 2 and d["total"] == total, d
    assert len(d["items"]) == 2 and d["items"][0]["id"] > d["items"][1]["id"]
    last = code_row(e, keys[-1])
    item = [i for i in e.ok("GET", "/api/redemption/?p=2&page_size=100",
                            e.root_pat)["data"]["items"] if i["key"] == keys[-1]][0]
    want = {"id": int(last["id"]), "user_id": e.root, "key": keys[-1], "status": 1,
            "name": "batch-a", "quota": 1234, "created_time": int(last["created_time"]),
            "redeemed_time": 0, "used_user_id": 0, "expired_time": now + 3600, "count": 0}
    assert item == want, (item, want)
    assert e.ok("GET", "/api/redemption/%s" % last["id"], e.root_pat)["data"] == want
    # Search: name prefix, id, whole key (dashes ignored), status filter.
    d = e.ok("GET", "/api/redemption/search?keyword=batch-&page_size=100", e.root_pat)["data"]
    assert sorted(i["key"] for i in d["items"]) == sorted(keys) and d["total"] == 3, d
    d = e.ok("GET", "/api/redemption/search?keyword=%s" % last["id"], e.root_pat)["data"]
    assert last["id"] in [str(i["id"]) for i in d["items"]]
    dashed = "%s-%s-%s-%s-%s" % (keys[0][:8], keys[0][8:12], keys[0][12:16], keys[0][16:20],
                                 keys[0][20:])
    d = e.ok("GET", "/api/redemption/search?keyword=" + dashed, e.root_pat)["data"]
    assert [i["key"] for i in d["items"]] == [keys[0]], d
    d = e.ok("GET", "/api/redemption/search?keyword=%27%20OR%201%3D1%20--", e.root_pat)["data"]
    assert d["items"] == [] and d["total"] == 0
    d = e.ok("GET", "/api/redemption/search?keyword=batch%25", e.root_pat)["data"]
    assert d["items"] == []  # % is literal here: names are matched by prefix
    # A common user reaches none of it.
    _, upat = e.user("plain")
    st, _, _ = request("GET", e.g.port, "/api/redemption/", headers={"Authorization": upat})
    assert st == 403


def check_update_delete(e):
    now = int(time.time())
    k = make(e, name="upd", quota=50)[0]
    rid = code_row(e, k)["id"]
    d = e.ok("PUT", "/api/redemption/", e.root_pat,
             {"id": int(rid), "name": "renamed", "quota": 75, "expired_time": now + 60,
              "status": 2})["data"]
    assert d["name"] == "renamed" and d["quota"] == 75 and d["expired_time"] == now + 60, d
    assert d["status"] == 1, d  # the full edit ignores status, as the reference does
    e.ok("PUT", "/api/redemption/", e.root_pat, {"id": int(rid), "quota": 80})
    r = code_row(e, k)
    assert r["name"] == "renamed" and r["quota"] == "80" and r["expired_time"] == str(now + 60)
    d = e.ok("PUT", "/api/redemption/?status_only=true", e.root_pat,
             {"id": int(rid), "status": 2, "quota": 1})["data"]
    assert d["status"] == 2 and d["quota"] == 80, d
    uid, pat = e.user("updater", quota=0)
    e.refused("POST", "/api/user/topup", pat, {"key": k}, has="disabled")
    assert code_row(e, k)["status"] == "2" and redis_quota(e, uid) == 0
    e.ok("PUT", "/api/redemption/?status_only=1", e.root_pat, {"id": int(rid), "status": 1})
    assert e.ok("POST", "/api/user/topup", pat, {"key": k})["data"] == 80
    e.refused("PUT", "/api/redemption/?status_only=1", e.root_pat, {"id": int(rid), "status": 1},
              has="used")
    e.refused("PUT", "/api/redemption/?status_only=1", e.root_pat, {"id": int(rid), "status": 2},
              has="used")
    assert code_row(e, k)["status"] == "3"
    # Delete: soft, once.
    k2 = make(e, name="del")[0]
    rid2 = code_row(e, k2)["id"]
    e.ok("DELETE", "/api/redemption/%s" % rid2, e.root_pat)
    assert code_row(e, k2)["deleted_at"] is not None
    e.refused("GET", "/api/redemption/%s" % rid2, e.root_pat, has="not found")
    e.refused("DELETE", "/api/redemption/%s" % rid2, e.root_pat, has="not found")
    e.refused("POST", "/api/user/topup", pat, {"key": k2}, has="invalid")
    # Delete invalid: used, disabled, and enabled-but-expired codes go; the rest stay.
    keep = make(e, name="keep")[0]
    dis = make(e, name="dis")[0]
    e.ok("PUT", "/api/redemption/?status_only=1", e.root_pat,
         {"id": int(code_row(e, dis)["id"]), "status": 2})
    e.sql.exec("INSERT INTO redemptions (user_id, `key`, status, name, quota, created_time, "
               "redeemed_time, used_user_id, expired_time) VALUES (?, ?, 1, 'old', 5, ?, 0, 0, ?)",
               e.root, "e" * 32, now - 100, now - 10)
    want = int(e.sql.val("SELECT COUNT(*) FROM redemptions WHERE deleted_at IS NULL AND "
                         "(status IN (2, 3) OR (status = 1 AND expired_time <> 0 AND "
                         "expired_time < ?))", now))
    assert want >= 3
    assert e.ok("DELETE", "/api/redemption/invalid", e.root_pat)["data"] == want
    for gone in (k, dis, "e" * 32):
        assert code_row(e, gone)["deleted_at"] is not None, gone
    assert code_row(e, keep)["deleted_at"] is None
    assert e.ok("DELETE", "/api/redemption/invalid", e.root_pat)["data"] == 0


def check_topup(e):
    now = int(time.time())
    uid, pat = e.user("buyer", quota=500)
    k = make(e, name="gift", quota=2500)[0]
    rid = code_row(e, k)["id"]
    j = e.ok("POST", "/api/user/topup", pat, {"key": " %s " % k})
    assert j["data"] == 2500, j
    r = code_row(e, k)
    assert r["status"] == "3" and r["used_user_id"] == str(uid), r
    assert abs(int(r["redeemed_time"]) - now) < 60, r
    assert redis_quota(e, uid) == 3000
    led = redeems(e, uid, rid)
    assert len(led) == 1, led
    x = led[0]
    assert x["uid"] == str(uid) and x["dq"] == "2500" and x["quota"] == "2500", x
    assert x["log"] == "1" and x["tid"] == "0" and k in x["other"], x
    # Once only: again, by anyone.
    e.refused("POST", "/api/user/topup", pat, {"key": k}, has="used")
    _, pat2 = e.user("buyer2")
    e.refused("POST", "/api/user/topup", pat2, {"key": k}, has="used")
    assert redis_quota(e, uid) == 3000 and len(redeems(e, uid, rid)) == 1
    # Expired and unknown codes.
    e.sql.exec("INSERT INTO redemptions (user_id, `key`, status, name, quota, created_time, "
               "redeemed_time, used_user_id, expired_time) VALUES (?, ?, 1, 'exp', 5, ?, 0, 0, ?)",
               e.root, "f" * 32, now - 100, now - 10)
    e.refused("POST", "/api/user/topup", pat, {"key": "f" * 32}, has="expired")
    e.refused("POST", "/api/user/topup", pat, {"key": "0" * 32}, has="invalid")
    assert code_row(e, "f" * 32)["status"] == "1" and redis_quota(e, uid) == 3000
    # A user the quota store does not hold yet: nothing credited, the code is given back.
    nuid, npat = e.user("newcomer", mirror=False)
    k3 = make(e, name="later", quota=40)[0]
    e.refused("POST", "/api/user/topup", npat, {"key": k3}, has="try again")
    r3 = code_row(e, k3)
    assert r3["status"] == "1" and r3["used_user_id"] == "0" and r3["redeemed_time"] == "0", r3
    e.mirror_user(nuid, "newcomer", quota=0)
    assert e.ok("POST", "/api/user/topup", npat, {"key": k3})["data"] == 40
    assert redis_quota(e, nuid) == 40
    # An interrupted redemption (claimed in SQL, credit never sent: a crash) is
    # finished by the same user sending the code again once the claim is settled...
    k4 = make(e, name="crash", quota=7)[0]
    rid4 = code_row(e, k4)["id"]
    e.sql.exec("UPDATE redemptions SET status = 3, used_user_id = ?, redeemed_time = ? WHERE "
               "`key` = ?", uid, now - 60, k4)
    assert e.ok("POST", "/api/user/topup", pat, {"key": k4})["data"] == 7
    assert redis_quota(e, uid) == 3007 and len(redeems(e, uid, rid4)) == 1
    e.refused("POST", "/api/user/topup", pat, {"key": k4}, has="used")  # a replay: no credit
    assert redis_quota(e, uid) == 3007 and len(redeems(e, uid, rid4)) == 1
    # ...but not while the first request may still be crediting, nor by someone else.
    k5 = make(e, name="fresh", quota=9)[0]
    e.sql.exec("UPDATE redemptions SET status = 3, used_user_id = ?, redeemed_time = ? WHERE "
               "`key` = ?", uid, now - 2, k5)
    e.refused("POST", "/api/user/topup", pat, {"key": k5}, has="used")
    e.sql.exec("UPDATE redemptions SET redeemed_time = ? WHERE `key` = ?", now - 60, k5)
    e.refused("POST", "/api/user/topup", pat2, {"key": k5}, has="used")
    assert redis_quota(e, uid) == 3007


def check_wallet_topup_info_and_records(e):
    """GET /api/user/topup/info says what the wallet may offer (online payment is
    not built: every enable_* off, no pay methods; redemption on); the top-up
    records are the top_ups rows (30 days for the user, all for admins; none are
    written by a redemption); online payment endpoints answer 501."""
    now = int(time.time())
    uid, pat = e.user("wallet", quota=0)
    other, opat = e.user("wallet2", quota=0)
    d = e.ok("GET", "/api/user/topup/info", pat)["data"]
    for k in ("enable_online_topup", "enable_stripe_topup", "enable_creem_topup",
              "enable_waffo_topup", "enable_waffo_pancake_topup", "payment_compliance_confirmed"):
        assert d[k] is False, (k, d)
    assert d["enable_redemption"] is True and d["pay_methods"] == [], d
    assert d["min_topup"] == 1 and d["topup_link"] == "" and d["amount_options"], d
    e.ok("PUT", "/api/option/", e.root_pat, {"key": "TopUpLink", "value": "https://shop.example"})
    e.ok("PUT", "/api/option/", e.root_pat, {"key": "PayMethods", "value":
                                            json.dumps([{"name": "x", "type": "alipay"}])})
    time.sleep(0.6)  # options reach every worker through the config version
    d = e.ok("GET", "/api/user/topup/info", pat)["data"]
    assert d["topup_link"] == "https://shop.example" and d["pay_methods"] == [], d
    assert d["enable_online_topup"] is False, d
    # Records: none yet; a redemption is logged, not a top-up record.
    empty = e.ok("GET", "/api/user/topup/self", pat)["data"]
    assert empty == {"page": 1, "page_size": 10, "total": 0, "items": []}, empty
    k = make(e, name="wallet", quota=321)[0]
    assert e.ok("POST", "/api/user/topup", pat, {"key": k})["data"] == 321
    assert e.ok("GET", "/api/user/topup/self", pat)["data"]["total"] == 0
    rows = [(uid, 500000, 1.5, "T-A-100", "alipay", "epay", now - 60, now - 30, "success"),
            (uid, 200000, 0.6, "T-B_200", "stripe", "stripe", now - 10, 0, "pending"),
            (uid, 200000, 0.6, "T-BX200", "stripe", "stripe", now - 20, 0, "pending"),
            (uid, 100000, 0.3, "T-OLD", "alipay", "epay", now - 40 * 86400, 0, "expired"),
            (other, 100000, 0.3, "T-OTHER", "alipay", "epay", now - 5, 0, "pending")]
    for r in rows:
        e.sql.exec("INSERT INTO top_ups (user_id, amount, money, trade_no, payment_method, "
                   "payment_provider, create_time, complete_time, status) VALUES "
                   "(?, ?, ?, ?, ?, ?, ?, ?, ?)", *r)
    d = e.ok("GET", "/api/user/topup/self?p=1&page_size=10", pat)["data"]
    assert d["total"] == 3, d
    assert [i["trade_no"] for i in d["items"]] == ["T-BX200", "T-B_200", "T-A-100"], d
    first = d["items"][2]
    want = {"user_id": uid, "amount": 500000, "money": 1.5, "trade_no": "T-A-100",
            "payment_method": "alipay", "payment_provider": "epay", "create_time": now - 60,
            "complete_time": now - 30, "status": "success"}
    assert {k: first[k] for k in want} == want, first
    d = e.ok("GET", "/api/user/topup/self?keyword=T-B_200", pat)["data"]  # '_' is literal
    assert [i["trade_no"] for i in d["items"]] == ["T-B_200"], d
    d = e.ok("GET", "/api/user/topup/self?keyword=T-B%25", pat)["data"]  # '%' a wildcard
    assert [i["trade_no"] for i in d["items"]] == ["T-BX200", "T-B_200"], d
    e.refused("GET", "/api/user/topup/self?keyword=%25", pat)
    assert e.ok("GET", "/api/user/topup/self", opat)["data"]["total"] == 1
    # Admins see everyone's, with no time window.
    d = e.ok("GET", "/api/user/topup?page_size=100", e.root_pat)["data"]
    assert {"T-A-100", "T-B_200", "T-OLD", "T-OTHER"} <= {i["trade_no"] for i in d["items"]}, d
    st, _, b = request("GET", e.g.port, "/api/user/topup", headers={"Authorization": "Bearer " + pat})
    assert st == 403, (st, b)
    # Online payment is not built: a clear 501, never a fake success.
    for path in ("/api/user/pay", "/api/user/amount", "/api/user/stripe/pay",
                 "/api/user/creem/pay", "/api/user/waffo/pay"):
        st, _, b = request("POST", e.g.port, path, body={"amount": 10, "payment_method": "alipay"},
                           headers={"Authorization": "Bearer " + pat})
        j = json.loads(b)
        assert st == 501 and j["success"] is False and "not implemented" in j["message"], (path, j)
    st, _, b = request("POST", e.g.port, "/api/stripe/webhook", body={})
    assert st == 501 and json.loads(b)["success"] is False, b
    assert redis_quota(e, uid) == 321


def check_bad_input(e):
    now = int(time.time())
    uid, pat = e.user("fuzzer", quota=0)
    k = make(e, name="target", quota=10)[0]
    rid = int(code_row(e, k)["id"])
    root = e.root_pat
    cases = [
        (root, "POST", "/api/redemption/", None, b"{broken"),
        (root, "POST", "/api/redemption/", None, b"[]"),
        (root, "POST", "/api/redemption/", None, b""),
        (root, "POST", "/api/redemption/", {}, None),
        (root, "POST", "/api/redemption/", {"count": 1, "quota": 1}, None),
        (root, "POST", "/api/redemption/", {"name": "", "count": 1, "quota": 1}, None),
        (root, "POST", "/api/redemption/", {"name": "x" * 21, "count": 1, "quota": 1}, None),
        (root, "POST", "/api/redemption/", {"name": 5, "count": 1, "quota": 1}, None),
        (root, "POST", "/api/redemption/", {"name": "n", "quota": 1}, None),
        (root, "POST", "/api/redemption/", {"name": "n", "count": 0, "quota": 1}, None),
        (root, "POST", "/api/redemption/", {"name": "n", "count": 101, "quota": 1}, None),
        (root, "POST", "/api/redemption/", {"name": "n", "count": "2", "quota": 1}, None),
        (root, "POST", "/api/redemption/", {"name": "n", "count": 1}, None),
        (root, "POST", "/api/redemption/", {"name": "n", "count": 1, "quota": 0}, None),
        (root, "POST", "/api/redemption/", {"name": "n", "count": 1, "quota": -5}, None),
        (root, "POST", "/api/redemption/", {"name": "n", "count": 1, "quota": 1.5}, None),
        (root, "POST", "/api/redemption/", {"name": "n", "count": 1, "quota": 2 ** 31}, None),
        (root, "POST", "/api/redemption/",
         {"name": "n", "count": 1, "quota": 1, "expired_time": now - 5}, None),
        (root, "POST", "/api/redemption/",
         {"name": "n", "count": 1, "quota": 1, "expired_time": "soon"}, None),
        (root, "PUT", "/api/redemption/", None, b"{broken"),
        (root, "PUT", "/api/redemption/", {}, None),
        (root, "PUT", "/api/redemption/", {"id": str(rid), "name": "x"}, None),
        (root, "PUT", "/api/redemption/", {"id": rid, "name": ""}, None),
        (root, "PUT", "/api/redemption/", {"id": rid, "name": "'; DROP TABLE redemptions; --"},
         None),
        (root, "PUT", "/api/redemption/", {"id": rid, "quota": 0}, None),
        (root, "PUT", "/api/redemption/", {"id": rid, "quota": "9"}, None),
        (root, "PUT", "/api/redemption/", {"id": rid, "expired_time": now - 5}, None),
        (root, "PUT", "/api/redemption/", {"id": 99999999, "name": "x"}, None),
        (root, "PUT", "/api/redemption/?status_only=1", {"id": rid, "status": 3}, None),
        (root, "PUT", "/api/redemption/?status_only=1", {"id": rid}, None),
        (root, "PUT", "/api/redemption/?status_only=1", {"id": rid, "status": True}, None),
        (root, "GET", "/api/redemption/abc", None, None),
        (root, "GET", "/api/redemption/0", None, None),
        (root, "GET", "/api/redemption/1%27%20OR%20%271%27=%271", None, None),
        (root, "GET", "/api/redemption/99999999", None, None),
        (root, "DELETE", "/api/redemption/abc", None, None),
        (root, "DELETE", "/api/redemption/99999999", None, None),
        (root, "GET", "/api/redemption/search?keyword=" + "k" * 300, None, None),
        (pat, "POST", "/api/user/topup", None, b"{broken"),
        (pat, "POST", "/api/user/topup", None, b""),
        (pat, "POST", "/api/user/topup", {}, None),
        (pat, "POST", "/api/user/topup", {"key": 5}, None),
        (pat, "POST", "/api/user/topup", {"key": [k]}, None),
        (pat, "POST", "/api/user/topup", {"key": ""}, None),
        (pat, "POST", "/api/user/topup", {"key": "k" * 65}, None),
        (pat, "POST", "/api/user/topup", {"key": "' OR '1'='1"}, None),
        (pat, "POST", "/api/user/topup", {"key": k[:31]}, None),
        (pat, "POST", "/api/user/topup", {"key": k + "%"}, None),
    ]
    before, nled = snapshot(e), len(e.ledger(uid))
    for who, m, path, body, raw in cases:
        e.refused(m, path, who, body, raw)
    assert snapshot(e) == before
    assert redis_quota(e, uid) == 0 and len(e.ledger(uid)) == nled


SUITE = (check_create_list_get, check_update_delete, check_topup, check_bad_input,
         check_wallet_topup_info_and_records)

# ---- cases ------------------------------------------------------------------------------

S = Suite(Env, SUITE)
env = S.env


@case
def create_list_search_get():
    check_create_list_get(env())


@case
def update_and_delete():
    check_update_delete(env())


@case
def topup_redeems_once_through_the_ledger():
    check_topup(env())


@case
def bad_input_changes_nothing():
    check_bad_input(env())


@case
def wallet_topup_info_and_records():
    check_wallet_topup_info_and_records(env())


S.stop_case()


def race(e, ports, pats, key):
    """len(pats) topups of key at once, spread over ports; returns the answers."""
    go = threading.Barrier(len(pats))
    out = [None] * len(pats)

    def one(i):
        go.wait(30)
        st, _, b = request("POST", ports[i % len(ports)], "/api/user/topup", body={"key": key},
                           headers={"Authorization": "Bearer " + pats[i]}, timeout=60)
        out[i] = (st, json.loads(b))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(pats))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert all(o is not None for o in out), out
    assert all(st == 200 for st, _ in out), out
    return [j for _, j in out]


@case
def redemption_race_on_two_replicas():
    a = Gateway(workers=2).start()
    b = None
    try:
        b = Gateway(workers=2, env={
            "REDIS_CONN_STRING": "unix://" + os.path.join(a.data_dir, "redis.sock"),
            "SQLITE_PATH": os.path.join(a.data_dir, "token-factory.db")}).start()
        e = Env(gateway=a)
        uid, pat = e.user("racer", quota=100)
        for rnd in range(3):
            k = make(e, name="race%d" % rnd, quota=777)[0]
            rid = code_row(e, k)["id"]
            before = redis_quota(e, uid)
            answers = race(e, [a.port, b.port], [pat] * 20, k)
            wins = [j for j in answers if j["success"]]
            assert len(wins) == 1 and wins[0]["data"] == 777, answers
            assert all("used" in j["message"] for j in answers if not j["success"]), answers
            assert redis_quota(e, uid) == before + 777
            assert len(redeems(e, uid, rid)) == 1
            r = code_row(e, k)
            assert r["status"] == "3" and r["used_user_id"] == str(uid), r
        # Twenty different users on one code: one of them gets it.
        users = [e.user("racer%d" % i, quota=0) for i in range(20)]
        k = make(e, name="crowd", quota=99)[0]
        rid = code_row(e, k)["id"]
        answers = race(e, [a.port, b.port], [p for _, p in users], k)
        winners = [users[i][0] for i, j in enumerate(answers) if j["success"]]
        assert len(winners) == 1, answers
        assert [redis_quota(e, u) for u, _ in users].count(99) == 1
        assert sum(redis_quota(e, u) for u, _ in users) == 99
        assert len(redeems(e, winners[0], rid)) == 1
        assert code_row(e, k)["used_user_id"] == str(winners[0])
        b.stop()
        b = None
    finally:
        if b:
            b.kill()
        a.stop()


S.backend_cases()

if __name__ == "__main__":
    S.main()
