#!/usr/bin/env python3
"""/api/user against the real gateway: registration (option gates, QuotaForNewUser,
inviter codes), self get/update/delete, aff code, self models/groups, and the admin
endpoints (list, search, get, create, update, hard delete, manage), with every field
checked in SQL and in the Redis mirror; role rules; admin quota edits through the
ledger (a manage entry with the right dq, in-flight reservations kept); bad input on
every handler changes nothing (table and mirror snapshots compared). Runs on SQLite,
and once per backend on MariaDB and PostgreSQL.

usage: test_api_users.py [BUILD_DIR]    (TEST_CASE=name runs one case)"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from apihelp import Suite  # noqa: E402
from test_api_tokens import Env, lookup_key, tkey, ukey  # noqa: E402

harness._cases.clear()  # importing the token suite registered its cases: not ours
from harness import case, request  # noqa: E402

USER_FIELDS = {"id", "username", "display_name", "role", "status", "email", "github_id",
               "discord_id", "oidc_id", "wechat_id", "telegram_id", "quota", "used_quota",
               "request_count", "group", "aff_code", "aff_count", "aff_quota",
               "aff_history_quota", "inviter_id", "DeletedAt", "linux_do_id", "setting",
               "stripe_customer", "created_at", "last_login_at"}
SECRET_KEYS = ("password", "access_token", "original_password")
COLS = ("id, username, password, display_name, role, status, email, quota, used_quota, "
        "request_count, `group`, aff_code, aff_count, aff_quota, aff_history, inviter_id, "
        "remark, setting, auth_version, access_token, deleted_at")


# ---- helpers ------------------------------------------------------------------------


def urow(e, uid):
    names = [c.strip(" `") for c in COLS.split(",")]
    return dict(zip(names, e.sql.one("SELECT " + COLS + " FROM users WHERE id = ?", uid)))


def uid_of(e, name):
    return int(e.sql.val("SELECT id FROM users WHERE username = ?", name))


def snapshot(e):
    """Users, sessions and every user mirror in Redis."""
    rows = e.sql.rows("SELECT " + COLS + " FROM users ORDER BY id")
    sess = e.sql.rows("SELECT sid, user_id, status, user_auth_version FROM user_sessions "
                      "ORDER BY sid")
    mirrors = {int(r[0]): e.hgetall(ukey(int(r[0]))) for r in rows}
    return rows, sess, mirrors


def no_secrets(obj):
    text = json.dumps(obj)
    for k in SECRET_KEYS:
        assert '"%s"' % k not in text, (k, text[:300])


def raw_api(e, method, path, token=None, body=None):
    h = {"Authorization": "Bearer " + token} if token else {}
    data = None if body is None else json.dumps(body).encode()
    st, _, b = request(method, e.g.port, path, body=data, headers=h, timeout=30)
    return st, (json.loads(b) if b else None)


def login(e, name, pw):
    j = e.ok("POST", "/api/user/login", None, {"username": name, "password": pw})
    return j["data"]["access_token"]


def register(e, name, pw="password1", **extra):
    body = {"username": name, "password": pw}
    body.update(extra)
    j = e.ok("POST", "/api/user/register", None, body)
    assert "data" not in j, j
    return uid_of(e, name.strip())


def set_option(e, key, value):
    e.ok("PUT", "/api/option/", e.root_pat, {"key": key, "value": value})
    time.sleep(0.6)  # every worker reloads its snapshot within ~250 ms


def wait_sql(e, sql, want, *args, timeout=15):
    """Polls until the value reaches want (the persister applies ledger entries)."""
    deadline = time.time() + timeout
    v = None
    while time.time() < deadline:
        v = e.sql.val(sql, *args)
        if v == want:
            return
        time.sleep(0.1)
    raise AssertionError("%s: %r, want %r" % (sql, v, want))


def mirror_of(e, uid):
    """The user's Redis mirror without its settings version "sv" (a fresh value
    on every mirror write, which workers compare with their cached copy)."""
    h = e.hgetall(ukey(uid))
    h.pop("sv", None)
    return h


# ---- the suite (every backend) ---------------------------------------------------------


def check_register(e):
    before = int(e.sql.val("SELECT COUNT(*) FROM users"))
    uid = register(e, "  reggie  ")  # the reference trims the name
    r = urow(e, uid)
    assert r["username"] == "reggie" and r["display_name"] == "reggie", r
    assert r["role"] == "1" and r["status"] == "1" and r["group"] == "default", r
    assert r["quota"] == "0" and r["used_quota"] == "0" and r["request_count"] == "0", r
    assert r["password"].startswith("$2") and len(r["password"]) == 60, r
    assert len(r["aff_code"]) == 4 and r["aff_code"].isalnum(), r
    assert r["inviter_id"] in ("0", None) and r["deleted_at"] is None, r
    assert r["access_token"] is None and r["auth_version"] == "1", r
    assert mirror_of(e, uid) == {"quota": "0", "reserved": "0", "used_quota": "0",
                                 "request_count": "0", "status": "1", "group": "default",
                                 "role": "1", "username": "reggie"}, mirror_of(e, uid)
    assert int(e.sql.val("SELECT COUNT(*) FROM users")) == before + 1
    tok = login(e, "reggie", "password1")
    assert e.ok("GET", "/api/user/self", tok)["data"]["id"] == uid
    # Taken names (also by a deleted user) are refused and change nothing.
    snap = snapshot(e)
    e.refused("POST", "/api/user/register", None, {"username": "reggie", "password": "password2"},
              has="already exists")
    e.sql.exec("UPDATE users SET deleted_at = CURRENT_TIMESTAMP WHERE username = 'root'")
    try:
        e.refused("POST", "/api/user/register", None, {"username": "root", "password": "password2"},
                  has="already exists")
    finally:
        e.sql.exec("UPDATE users SET deleted_at = NULL WHERE username = 'root'")
    assert snapshot(e) == snap
    # QuotaForNewUser, and an inviter's aff code: invitee quota, inviter affiliate credit.
    set_option(e, "QuotaForNewUser", 500)
    set_option(e, "QuotaForInvitee", 100)
    set_option(e, "QuotaForInviter", 50)
    try:
        uid2 = register(e, "invitee", aff_code=r["aff_code"])
        r2 = urow(e, uid2)
        assert r2["quota"] == "600" and r2["inviter_id"] == str(uid), r2
        assert mirror_of(e, uid2)["quota"] == "600"
        r1 = urow(e, uid)
        assert r1["aff_count"] == "1" and r1["aff_quota"] == "50" and r1["aff_history"] == "50", r1
        uid3 = register(e, "nocode", aff_code="zzzz-unknown")
        assert urow(e, uid3)["quota"] == "500" and urow(e, uid3)["inviter_id"] in ("0", None)
    finally:
        set_option(e, "QuotaForNewUser", 0)
        set_option(e, "QuotaForInvitee", 0)
        set_option(e, "QuotaForInviter", 0)
    # The option gates.
    for key in ("RegisterEnabled", "PasswordRegisterEnabled"):
        set_option(e, key, False)
        try:
            snap = snapshot(e)
            e.refused("POST", "/api/user/register", None,
                      {"username": "gated", "password": "password1"}, has="disabled")
            assert snapshot(e) == snap
        finally:
            set_option(e, key, True)
    register(e, "gated")


def check_self(e):
    uid = register(e, "selfie", "password1")
    pat_uid, pat = e.user("patuser")
    tok = login(e, "selfie", "password1")
    d = e.ok("GET", "/api/user/self", tok)["data"]
    no_secrets(d)
    want = USER_FIELDS - {"DeletedAt", "created_at", "last_login_at"} | {"sidebar_modules",
                                                                          "permissions"}
    assert set(d) == want, set(d) ^ want
    assert d["id"] == uid and d["username"] == "selfie" and d["role"] == 1 and d["status"] == 1
    assert d["group"] == "default" and d["quota"] == 0 and d["aff_history_quota"] == 0, d
    assert d["permissions"] == {"sidebar_settings": True, "sidebar_modules": {"admin": False}}
    droot = e.ok("GET", "/api/user/self", e.root_pat)["data"]
    assert droot["role"] == 100 and droot["permissions"]["sidebar_settings"] is False
    # display_name and username; role, quota, status, group in the body are ignored.
    e.ok("PUT", "/api/user/self", tok, {"display_name": "Selfie Q", "username": "selfie2",
                                         "role": 100, "quota": 999, "status": 2, "group": "vip"})
    r = urow(e, uid)
    assert r["display_name"] == "Selfie Q" and r["username"] == "selfie2", r
    assert r["role"] == "1" and r["quota"] == "0" and r["status"] == "1" and r["group"] == "default"
    h = mirror_of(e, uid)
    assert h["username"] == "selfie2" and h["role"] == "1" and h["quota"] == "0", h
    e.refused("PUT", "/api/user/self", tok, {"username": "patuser"}, has="taken")
    # Settings.
    e.ok("PUT", "/api/user/self", tok, {"sidebar_modules": '{"chat":{"enabled":false}}'})
    assert json.loads(urow(e, uid)["setting"])["sidebar_modules"] == '{"chat":{"enabled":false}}'
    assert e.ok("GET", "/api/user/self", tok)["data"]["sidebar_modules"] == \
        '{"chat":{"enabled":false}}'
    e.ok("PUT", "/api/user/self", tok, {"language": "en"})
    s = json.loads(urow(e, uid)["setting"])
    assert s["language"] == "en" and "sidebar_modules" in s, s
    # Password: needs the original and a console session.
    e.refused("PUT", "/api/user/self", pat, {"password": "newpassword1",
                                             "original_password": "x"}, has="session")
    other = login(e, "selfie2", "password1")  # a second session, revoked by the change
    snap = snapshot(e)
    e.refused("PUT", "/api/user/self", tok, {"password": "newpassword1",
                                             "original_password": "wrong-one"}, has="original")
    e.refused("PUT", "/api/user/self", tok, {"password": "short", "original_password":
                                             "password1"}, has="8")
    assert snapshot(e) == snap
    d = e.ok("PUT", "/api/user/self", tok, {"password": "newpassword1",
                                             "original_password": "password1"})["data"]
    assert d["token_type"] == "Bearer" and d["access_token"] != tok, d
    assert d["session"]["current"] is True and d["session"]["sid"], d
    new = d["access_token"]
    assert urow(e, uid)["auth_version"] == "2"
    assert e.ok("GET", "/api/user/self", new)["data"]["id"] == uid
    for old in (tok, other):
        st, j = raw_api(e, "GET", "/api/user/self", old)
        assert st == 401 and j["success"] is False, (st, j)
    st, j = raw_api(e, "POST", "/api/user/login", None, {"username": "selfie2",
                                                         "password": "password1"})
    assert j["success"] is False, j
    login(e, "selfie2", "newpassword1")
    assert pat_uid


def check_self_delete(e):
    uid = register(e, "leaver")
    tok = login(e, "leaver", "password1")
    # A live token of the user: its mirror goes with the user.
    e.ok("POST", "/api/token/", tok, {"name": "t", "remain_quota": 0, "unlimited_quota": True})
    tid = int(e.sql.val("SELECT MAX(id) FROM tokens WHERE user_id = ?", uid))
    key = e.sql.val("SELECT `key` FROM tokens WHERE id = ?", tid)
    assert e.rcmd("EXISTS", tkey(uid, tid)) == ["1"]
    e.ok("DELETE", "/api/user/self", tok)
    r = urow(e, uid)
    assert r["deleted_at"] is not None, r
    assert e.rcmd("EXISTS", ukey(uid)) == ["0"]
    assert e.rcmd("EXISTS", tkey(uid, tid)) == ["0"] and e.rcmd("EXISTS", lookup_key(key)) == ["0"]
    st, _ = raw_api(e, "GET", "/api/user/self", tok)
    assert st == 401
    snap = snapshot(e)
    e.refused("DELETE", "/api/user/self", e.root_pat, has="root")
    assert snapshot(e) == snap


def check_aff(e):
    uid, pat = e.user("affy")
    assert urow(e, uid)["aff_code"] is None or urow(e, uid)["aff_code"] == ""
    code = e.ok("GET", "/api/user/aff", pat)["data"]
    assert isinstance(code, str) and len(code) == 4 and code.isalnum(), code
    assert urow(e, uid)["aff_code"] == code
    assert e.ok("GET", "/api/user/aff", pat)["data"] == code


def check_models_groups(e):
    e.sql.exec("DELETE FROM abilities")
    for g, m, en in (("default", "m-default", "TRUE"), ("vip", "m-vip", "TRUE"),
                     ("svip", "m-svip", "TRUE"), ("default", "m-off", "FALSE"),
                     ("vip", "m-default", "TRUE")):
        e.sql.exec("INSERT INTO abilities (`group`, model, channel_id, enabled, priority, weight, "
                   "tag) VALUES (?, ?, 1, %s, 0, 0, '')" % en, g, m)
    try:
        _, pat = e.user("grouper")
        assert e.ok("GET", "/api/user/self/models", pat)["data"] == ["m-default", "m-vip"]
        assert e.ok("GET", "/api/user/models", pat)["data"] == ["m-default", "m-vip"]
        _, spat = e.user("svipper", group="svip")
        assert e.ok("GET", "/api/user/self/models", spat)["data"] == \
            ["m-default", "m-svip", "m-vip"]
        d = e.ok("GET", "/api/user/self/groups", pat)["data"]
        assert d == {"default": {"ratio": 1, "desc": "默认分组"},
                     "vip": {"ratio": 1, "desc": "vip分组"}}, d
        d = e.ok("GET", "/api/user/self/groups", spat)["data"]
        assert d["svip"] == {"ratio": 1, "desc": "用户分组"} and set(d) == {"default", "vip", "svip"}
        set_option(e, "GroupRatio", {"default": 1, "vip": 0.5, "svip": 2})
        set_option(e, "GroupGroupRatio", {"svip": {"vip": 0.25}})
        try:
            d = e.ok("GET", "/api/user/self/groups", spat)["data"]
            assert d["vip"]["ratio"] == 0.25 and d["svip"]["ratio"] == 2, d
            assert e.ok("GET", "/api/user/self/groups", pat)["data"]["vip"]["ratio"] == 0.5
        finally:
            set_option(e, "GroupRatio", {"default": 1, "vip": 1, "svip": 1})
            set_option(e, "GroupGroupRatio", {"vip": {"edit_this": 0.9}})
    finally:
        e.sql.exec("DELETE FROM abilities")


def check_admin_read(e):
    _, apat = e.user("lister", role=10)
    ids = [e.user("member%d" % i)[0] for i in range(3)]
    total = int(e.sql.val("SELECT COUNT(*) FROM users"))
    d = e.ok("GET", "/api/user/?p=1&page_size=2", apat)["data"]
    assert d["page"] == 1 and d["page_size"] == 2 and d["total"] == total, d
    top = [int(x[0]) for x in e.sql.rows("SELECT id FROM users ORDER BY id DESC")]
    assert [i["id"] for i in d["items"]] == top[:2], d
    for it in d["items"]:
        no_secrets(it)
        assert set(it) == USER_FIELDS, set(it) ^ USER_FIELDS
    d2 = e.ok("GET", "/api/user/?p=2&ps=2", apat)["data"]
    assert [i["id"] for i in d2["items"]] == top[2:4]
    it = next(i for i in e.ok("GET", "/api/user/?page_size=100", apat)["data"]["items"]
              if i["id"] == ids[0])
    r = urow(e, ids[0])
    assert it["username"] == "member0" and it["role"] == 1 and it["status"] == 1, it
    assert it["quota"] == int(r["quota"]) and it["group"] == r["group"] and it["DeletedAt"] is None
    # Deleted users are listed too (reference: Unscoped), with DeletedAt set.
    e.sql.exec("UPDATE users SET deleted_at = CURRENT_TIMESTAMP WHERE id = ?", ids[2])
    it = next(i for i in e.ok("GET", "/api/user/?page_size=100", apat)["data"]["items"]
              if i["id"] == ids[2])
    assert isinstance(it["DeletedAt"], str) and it["DeletedAt"].endswith("Z"), it
    e.refused("GET", "/api/user/%d" % ids[2], apat, has="not found")

    def found(q, who=apat):
        d = e.ok("GET", "/api/user/search?" + q, who)["data"]
        assert d["total"] == len(d["items"]) or d["total"] > len(d["items"]), d
        return sorted(i["id"] for i in d["items"])
    assert found("keyword=member") == sorted(ids)
    assert found("keyword=ember1") == [ids[1]]
    assert found("keyword=%d" % ids[1]) == [ids[1]]
    assert found("keyword=member&group=vip") == []
    assert found("keyword=member&role=10") == []
    assert found("keyword=member&status=1") == sorted(ids)
    assert found("keyword=mem%25ber") == []          # % is text, not a wildcard
    assert found("keyword=member_") == []
    assert found("keyword=%27%3B%20DROP%20TABLE%20users%3B%20--") == []
    assert int(e.sql.val("SELECT COUNT(*) FROM users")) == total
    # GET by id, and the role rule: an admin sees only users below it.
    g = e.ok("GET", "/api/user/%d" % ids[0], apat)["data"]
    assert set(g) == USER_FIELDS and g["username"] == "member0", g
    e.refused("GET", "/api/user/%d" % e.root, apat, has="permission")
    other_admin, _ = e.user("lister2", role=10)
    e.refused("GET", "/api/user/%d" % other_admin, apat, has="permission")
    assert e.ok("GET", "/api/user/%d" % other_admin, e.root_pat)["data"]["role"] == 10
    assert e.ok("GET", "/api/user/%d" % e.root, e.root_pat)["data"]["role"] == 100
    r = urow(e, ids[0])
    e.sql.exec("UPDATE users SET remark = 'vip customer' WHERE id = ?", ids[0])
    assert e.ok("GET", "/api/user/%d" % ids[0], apat)["data"]["remark"] == "vip customer"
    assert "remark" not in e.ok("GET", "/api/user/self", e.root_pat)["data"]


def check_admin_create(e):
    _, apat = e.user("creator", role=10)
    e.ok("POST", "/api/user/", apat, {"username": "made1", "password": "password1",
                                       "display_name": "Made One"})
    uid = uid_of(e, "made1")
    r = urow(e, uid)
    assert r["display_name"] == "Made One" and r["role"] == "1" and r["password"].startswith("$2")
    assert mirror_of(e, uid) == {"quota": "0", "reserved": "0", "used_quota": "0",
                                 "request_count": "0", "status": "1", "group": "default",
                                 "role": "1", "username": "made1"}
    login(e, "made1", "password1")
    snap = snapshot(e)
    e.refused("POST", "/api/user/", apat, {"username": "made2", "password": "password1",
                                           "role": 10}, has="role")
    e.refused("POST", "/api/user/", apat, {"username": "made1", "password": "password1"},
              has="already exists")
    assert snapshot(e) == snap
    e.ok("POST", "/api/user/", e.root_pat, {"username": "made2", "password": "password1",
                                             "role": 10})
    assert urow(e, uid_of(e, "made2"))["role"] == "10"
    assert urow(e, uid_of(e, "made2"))["display_name"] == "made2"
    e.refused("POST", "/api/user/", e.root_pat, {"username": "made3", "password": "password1",
                                                 "role": 100}, has="role")
    set_option(e, "QuotaForNewUser", 777)
    try:
        e.ok("POST", "/api/user/", apat, {"username": "made4", "password": "password1"})
        u4 = uid_of(e, "made4")
        assert urow(e, u4)["quota"] == "777" and mirror_of(e, u4)["quota"] == "777"
    finally:
        set_option(e, "QuotaForNewUser", 0)


def manage_entries(e, uid):
    return [x for x in e.ledger(uid) if x["type"] == "manage" and x["uid"] == str(uid)]


def check_admin_update(e):
    _, apat = e.user("editor", role=10)
    uid = register(e, "editee")
    tok = login(e, "editee", "password1")
    e.ok("PUT", "/api/user/", apat, {"id": uid, "display_name": "Edited", "group": "vip",
                                      "remark": "a'b; --", "username": "editee2"})
    r = urow(e, uid)
    assert r["display_name"] == "Edited" and r["group"] == "vip" and r["remark"] == "a'b; --"
    assert r["username"] == "editee2" and r["quota"] == "0", r
    h = mirror_of(e, uid)
    assert h["group"] == "vip" and h["username"] == "editee2" and h["quota"] == "0", h
    # Quota goes through the ledger: a manage entry with dq, Redis first, SQL by the persister.
    n0 = len(manage_entries(e, uid))
    e.ok("PUT", "/api/user/", apat, {"id": uid, "quota": 5000})
    ents = manage_entries(e, uid)
    assert len(ents) == n0 + 1 and ents[-1]["dq"] == "5000" and ents[-1]["log"] == "3", ents
    assert ents[-1]["op"].startswith("user:"), ents[-1]
    assert mirror_of(e, uid)["quota"] == "5000"
    wait_sql(e, "SELECT quota FROM users WHERE id = ?", "5000", uid)
    # The same quota again is no change: no entry.
    e.ok("PUT", "/api/user/", apat, {"id": uid, "quota": 5000, "display_name": "Again"})
    assert len(manage_entries(e, uid)) == n0 + 1
    # In flight: 300 reserved. A set to 8000 keeps the reservation (quota = 8000 - 300).
    e.rcmd("HSET", ukey(uid), "quota", 4700, "reserved", 300)
    e.ok("PUT", "/api/user/", apat, {"id": uid, "quota": 8000})
    h = mirror_of(e, uid)
    assert h["quota"] == "7700" and h["reserved"] == "300", h
    assert manage_entries(e, uid)[-1]["dq"] == "3000"
    e.rcmd("HSET", ukey(uid), "quota", 8000, "reserved", 0)
    wait_sql(e, "SELECT quota FROM users WHERE id = ?", "8000", uid)
    # Password reset by an admin: every session of the user ends.
    e.ok("PUT", "/api/user/", apat, {"id": uid, "password": "resetpass1", "quota": 8000})
    st, _ = raw_api(e, "GET", "/api/user/self", tok)
    assert st == 401
    login(e, "editee2", "resetpass1")
    # Empty username/password from a console form mean "keep".
    e.ok("PUT", "/api/user/", apat, {"id": uid, "username": "", "password": ""})
    assert urow(e, uid)["username"] == "editee2"
    login(e, "editee2", "resetpass1")
    # Role rules.
    adm2, _ = e.user("editor2", role=10)
    snap = snapshot(e)
    e.refused("PUT", "/api/user/", apat, {"id": adm2, "display_name": "x"}, has="permission")
    e.refused("PUT", "/api/user/", apat, {"id": e.root, "quota": 1}, has="permission")
    e.refused("PUT", "/api/user/", apat, {"id": uid, "role": 10}, has="role")
    e.refused("PUT", "/api/user/", apat, {"id": uid, "username": "editor2"}, has="taken")
    assert snapshot(e) == snap
    e.ok("PUT", "/api/user/", e.root_pat, {"id": adm2, "display_name": "by root"})
    assert urow(e, adm2)["display_name"] == "by root"


def check_admin_delete(e):
    _, apat = e.user("deleter", role=10)
    uid = register(e, "goner")
    tok = login(e, "goner", "password1")
    e.ok("POST", "/api/token/", tok, {"name": "t", "remain_quota": 5})
    tid = int(e.sql.val("SELECT MAX(id) FROM tokens WHERE user_id = ?", uid))
    adm2, _ = e.user("deleter2", role=10)
    snap = snapshot(e)
    e.refused("DELETE", "/api/user/%d" % adm2, apat, has="permission")
    e.refused("DELETE", "/api/user/%d" % e.root, e.root_pat, has="permission")
    e.refused("DELETE", "/api/user/987654321", apat, has="not found")
    assert snapshot(e) == snap
    e.ok("DELETE", "/api/user/%d" % uid, apat)
    assert e.sql.rows("SELECT id FROM users WHERE id = ?", uid) == []  # hard delete
    assert e.sql.rows("SELECT sid FROM user_sessions WHERE user_id = ?", uid) == []
    assert e.rcmd("EXISTS", ukey(uid)) == ["0"] and e.rcmd("EXISTS", tkey(uid, tid)) == ["0"]
    st, _ = raw_api(e, "GET", "/api/user/self", tok)
    assert st == 401
    register(e, "goner")  # the name is free again


def check_manage(e):
    _, apat = e.user("manager", role=10)
    uid, upat = e.user("managee", quota=1000)
    e.ok("GET", "/api/user/self", upat)

    def manage(action, who=apat, **kw):
        body = {"id": uid, "action": action}
        body.update(kw)
        return e.ok("POST", "/api/user/manage", who, body)
    assert manage("disable")["data"] == {"role": 1, "status": 2}
    assert urow(e, uid)["status"] == "2" and mirror_of(e, uid)["status"] == "2"
    st, _ = raw_api(e, "GET", "/api/user/self", upat)
    assert st == 403
    assert manage("enable")["data"] == {"role": 1, "status": 1}
    assert urow(e, uid)["status"] == "1" and mirror_of(e, uid)["status"] == "1"
    e.refused("POST", "/api/user/manage", apat, {"id": uid, "action": "promote"}, has="root")
    assert manage("promote", e.root_pat)["data"] == {"role": 10, "status": 1}
    assert urow(e, uid)["role"] == "10" and mirror_of(e, uid)["role"] == "10"
    e.refused("POST", "/api/user/manage", e.root_pat, {"id": uid, "action": "promote"},
              has="already")
    e.refused("POST", "/api/user/manage", apat, {"id": uid, "action": "demote"},
              has="permission")  # an admin does not manage another admin
    assert manage("demote", e.root_pat)["data"] == {"role": 1, "status": 1}
    assert urow(e, uid)["role"] == "1" and mirror_of(e, uid)["role"] == "1"
    e.refused("POST", "/api/user/manage", e.root_pat, {"id": uid, "action": "demote"},
              has="already")
    snap = snapshot(e)
    for action in ("disable", "demote", "delete"):
        e.refused("POST", "/api/user/manage", e.root_pat, {"id": e.root, "action": action},
                  has="root")
        e.refused("POST", "/api/user/manage", apat, {"id": e.root, "action": action},
                  has="permission")
    assert snapshot(e) == snap
    # add_quota through the ledger.
    n0 = len(manage_entries(e, uid))
    manage("add_quota", mode="add", value=250)
    manage("add_quota", mode="subtract", value=50)
    manage("add_quota", mode="override", value=3000)
    ents = manage_entries(e, uid)[n0:]
    assert [x["dq"] for x in ents] == ["250", "-50", "1800"], ents
    assert mirror_of(e, uid)["quota"] == "3000"
    wait_sql(e, "SELECT quota FROM users WHERE id = ?", "3000", uid)
    # delete is a soft delete here; the mirror goes.
    manage("delete")
    assert urow(e, uid)["deleted_at"] is not None and e.rcmd("EXISTS", ukey(uid)) == ["0"]
    st, _ = raw_api(e, "GET", "/api/user/self", upat)
    assert st == 401
    # A deleted user can still be managed (Unscoped), but never re-mirrored.
    manage("disable")
    assert urow(e, uid)["status"] == "2" and e.rcmd("EXISTS", ukey(uid)) == ["0"]


def check_quota_bound(e):
    """One quota bound, 1e15, inclusive: add_quota reaches it and stops there
    (it once pushed a user to 2e15), subtracting exactly 1e15 works (it once
    failed), and PUT's cap is the same number."""
    M = 10 ** 15
    uid, _ = e.user("bounded", quota=0)
    root = e.root_pat

    def manage(mode, value):
        return e.api("POST", "/api/user/manage", root,
                     {"id": uid, "action": "add_quota", "mode": mode, "value": value})
    n0 = len(manage_entries(e, uid))
    assert manage("add", M)["success"]
    assert mirror_of(e, uid)["quota"] == str(M)
    for mode, value in (("add", 1), ("add", M)):
        j = manage(mode, value)
        assert j["success"] is False and "1000000000000000" in j["message"], j
    assert mirror_of(e, uid)["quota"] == str(M)
    assert manage("subtract", M)["success"]
    assert mirror_of(e, uid)["quota"] == "0"
    assert manage("subtract", M)["success"]
    assert mirror_of(e, uid)["quota"] == str(-M)
    j = manage("subtract", 1)
    assert j["success"] is False and "refused" in j["message"], j
    for mode, value in (("add", M + 1), ("subtract", M + 1), ("override", M + 1)):
        e.refused("POST", "/api/user/manage", root,
                  {"id": uid, "action": "add_quota", "mode": mode, "value": value})
    assert manage("override", M)["success"]
    assert mirror_of(e, uid)["quota"] == str(M)
    row = e.api("GET", "/api/user/%d" % uid, root)["data"]
    body = {"id": uid, "username": "bounded", "display_name": "bounded", "group": "default",
            "quota": M + 1}
    e.refused("PUT", "/api/user/", root, dict(row, **body))
    assert e.api("PUT", "/api/user/", root, dict(row, **dict(body, quota=M)))["success"]
    assert mirror_of(e, uid)["quota"] == str(M)
    ents = manage_entries(e, uid)[n0:]
    assert [x["dq"] for x in ents] == [str(M), str(-M), str(-M), str(2 * M)], ents
    wait_sql(e, "SELECT quota FROM users WHERE id = ?", str(M), uid)


def check_guards(e):
    _, upat = e.user("plain")
    for m, p in (("GET", "/api/user/"), ("GET", "/api/user/search?keyword=a"),
                 ("GET", "/api/user/1"), ("POST", "/api/user/"), ("PUT", "/api/user/"),
                 ("DELETE", "/api/user/1"), ("POST", "/api/user/manage")):
        st, j = raw_api(e, m, p, upat, {} if m in ("POST", "PUT") else None)
        assert st == 403 and j["success"] is False, (m, p, st, j)
        st, j = raw_api(e, m, p, None, {} if m in ("POST", "PUT") else None)
        assert st == 401 and j["success"] is False, (m, p, st, j)
    for m, p in (("GET", "/api/user/self"), ("PUT", "/api/user/self"),
                 ("DELETE", "/api/user/self"), ("GET", "/api/user/aff"),
                 ("GET", "/api/user/self/models"), ("GET", "/api/user/self/groups")):
        st, _ = raw_api(e, m, p, None, {} if m == "PUT" else None)
        assert st == 401, (m, p, st)


def check_bad_input(e):
    _, apat = e.user("badadmin", role=10)
    uid, upat = e.user("baduser", quota=100)
    long = "x" * 21
    sqli = "'; DROP TABLE users; --"
    cases = [  # (method, path, token, body or raw bytes)
        ("POST", "/api/user/register", None, b"{broken"),
        ("POST", "/api/user/register", None, b"[1]"),
        ("POST", "/api/user/register", None, b""),
        ("POST", "/api/user/register", None, {}),
        ("POST", "/api/user/register", None, {"username": "ok"}),
        ("POST", "/api/user/register", None, {"username": 5, "password": "password1"}),
        ("POST", "/api/user/register", None, {"username": "ok", "password": 12345678}),
        ("POST", "/api/user/register", None, {"username": "   ", "password": "password1"}),
        ("POST", "/api/user/register", None, {"username": long, "password": "password1"}),
        ("POST", "/api/user/register", None, {"username": "ok", "password": "short"}),
        ("POST", "/api/user/register", None, {"username": "ok", "password": "p" * 21}),
        ("POST", "/api/user/register", None, {"username": sqli[:20], "password": "x"}),
        ("POST", "/api/user/register", None, {"username": "baduser", "password": "password1"}),
        ("PUT", "/api/user/self", upat, b"{broken"),
        ("PUT", "/api/user/self", upat, {}),
        ("PUT", "/api/user/self", upat, {"display_name": 7}),
        ("PUT", "/api/user/self", upat, {"display_name": long}),
        ("PUT", "/api/user/self", upat, {"username": ["a"]}),
        ("PUT", "/api/user/self", upat, {"username": "badadmin"}),
        ("PUT", "/api/user/self", upat, {"sidebar_modules": 5}),
        ("PUT", "/api/user/self", upat, {"sidebar_modules": "s" * 5000}),
        ("PUT", "/api/user/self", upat, {"password": "newpassword1"}),
        ("POST", "/api/user/", apat, b"{broken"),
        ("POST", "/api/user/", apat, {}),
        ("POST", "/api/user/", apat, {"username": "n1"}),
        ("POST", "/api/user/", apat, {"username": "n1", "password": "short"}),
        ("POST", "/api/user/", apat, {"username": long, "password": "password1"}),
        ("POST", "/api/user/", apat, {"username": "n1", "password": "password1", "role": "1"}),
        ("POST", "/api/user/", apat, {"username": "n1", "password": "password1", "role": 5}),
        ("POST", "/api/user/", apat, {"username": "n1", "password": "password1", "role": 10}),
        ("POST", "/api/user/", apat, {"username": "n1", "password": "password1",
                                      "display_name": long}),
        ("PUT", "/api/user/", apat, b"{broken"),
        ("PUT", "/api/user/", apat, {}),
        ("PUT", "/api/user/", apat, {"id": str(uid), "display_name": "x"}),
        ("PUT", "/api/user/", apat, {"id": uid, "quota": -1}),
        ("PUT", "/api/user/", apat, {"id": uid, "quota": "100"}),
        ("PUT", "/api/user/", apat, {"id": uid, "quota": 1.5}),
        ("PUT", "/api/user/", apat, {"id": uid, "quota": 10 ** 16}),
        ("PUT", "/api/user/", apat, {"id": uid, "group": "g" * 65}),
        ("PUT", "/api/user/", apat, {"id": uid, "group": ""}),
        ("PUT", "/api/user/", apat, {"id": uid, "remark": "r" * 256}),
        ("PUT", "/api/user/", apat, {"id": uid, "password": "short"}),
        ("PUT", "/api/user/", apat, {"id": uid, "display_name": long}),
        ("PUT", "/api/user/", apat, {"id": 987654321, "display_name": "x"}),
        ("GET", "/api/user/abc", apat, None),
        ("GET", "/api/user/0", apat, None),
        ("GET", "/api/user/1%27%20OR%20%271%27=%271", apat, None),
        ("GET", "/api/user/987654321", apat, None),
        ("DELETE", "/api/user/abc", apat, None),
        ("DELETE", "/api/user/-1", apat, None),
        ("GET", "/api/user/search?keyword=" + "k" * 300, apat, None),
        ("POST", "/api/user/manage", apat, b"{broken"),
        ("POST", "/api/user/manage", apat, {}),
        ("POST", "/api/user/manage", apat, {"id": uid}),
        ("POST", "/api/user/manage", apat, {"id": uid, "action": "explode"}),
        ("POST", "/api/user/manage", apat, {"id": uid, "action": 3}),
        ("POST", "/api/user/manage", apat, {"id": str(uid), "action": "disable"}),
        ("POST", "/api/user/manage", apat, {"id": 987654321, "action": "disable"}),
        ("POST", "/api/user/manage", apat, {"id": uid, "action": sqli}),
        ("POST", "/api/user/manage", apat, {"id": uid, "action": "add_quota", "mode": "add",
                                            "value": -5}),
        ("POST", "/api/user/manage", apat, {"id": uid, "action": "add_quota", "mode": "add",
                                            "value": "5"}),
        ("POST", "/api/user/manage", apat, {"id": uid, "action": "add_quota", "mode": "x",
                                            "value": 5}),
        ("POST", "/api/user/manage", apat, {"id": uid, "action": "add_quota",
                                            "mode": "override", "value": -1}),
    ]
    before, nledger = snapshot(e), len(e.ledger(uid))
    for m, path, tok, body in cases:
        raw = body if isinstance(body, bytes) else None
        e.refused(m, path, tok, None if raw is not None else body, raw)
    assert snapshot(e) == before
    assert len(e.ledger(uid)) == nledger


SUITE = (check_register, check_self, check_self_delete, check_aff, check_models_groups,
         check_admin_read, check_admin_create, check_admin_update, check_admin_delete,
         check_manage, check_guards, check_bad_input)

# ---- cases ------------------------------------------------------------------------------

S = Suite(Env, SUITE)
env = S.env
S.check_cases()


@case
def quota_bound():
    check_quota_bound(S.env())


S.stop_case()
S.backend_cases()

if __name__ == "__main__":
    S.main()
