#!/usr/bin/env python3
"""Console sign-in and the per-route guards: login, JWT checks (expiry,
pinned algorithm, signature), refresh rotation and reuse detection, logout,
sessions, personal access tokens, New-Api-User, disabled users, and a walk
of the whole route table with no auth, the wrong role and the right role."""
import base64
import hashlib
import hmac
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, case, main, request  # noqa: E402

SECRET = "test-session-secret-0123456789"


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def forge(claims, alg="HS256", purpose="access"):
    key = hmac.new(SECRET.encode(), f"new-api/auth/{purpose}/v1".encode(), hashlib.sha256).digest()
    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    sig = b64(hmac.new(key, f"{head}.{body}".encode(), digest).digest())
    return f"{head}.{body}.{sig}"


def api(g, method, path, token=None, body=None, headers=None, cookie=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = token if token.startswith("Bearer ") else "Bearer " + token
    if cookie:
        h["Cookie"] = cookie
    st, hdrs, b = request(method, g.port, path, body=body, headers=h)
    return st, hdrs, (json.loads(b) if b else None)


def setup_root(g):
    st, _, j = api(g, "POST", "/api/setup", body={"username": "root", "password": "rootpass1",
                                                  "confirmPassword": "rootpass1"})
    assert j["success"], j


def login(g, user="root", pw="rootpass1"):
    st, h, j = api(g, "POST", "/api/user/login", body={"username": user, "password": pw})
    assert st == 200 and j["success"], j
    cookie = h["set-cookie"].split(";")[0]
    return j["data"], cookie


def db(g):
    return sqlite3.connect(os.path.join(g.data_dir, "token-factory.db"))


def add_user(g, name, role, pat):
    c = db(g)
    c.execute("INSERT INTO users (username, password, role, status, access_token, `group`) "
              "VALUES (?, 'x', ?, 1, ?, 'default')", (name, role, pat))
    c.commit()
    uid = c.execute("SELECT id FROM users WHERE username = ?", (name,)).fetchone()[0]
    c.close()
    return uid


G = None


def gw():
    global G
    if G is None:
        G = Gateway(workers=2, env={"SESSION_SECRET": SECRET}).start()
        setup_root(G)
    return G


@case
def login_issues_jwt_and_refresh_cookie():
    g = gw()
    d, cookie = login(g)
    assert d["token_type"] == "Bearer" and d["access_token"].count(".") == 2
    assert d["user"]["username"] == "root" and d["user"]["role"] == 100
    assert d["id"] == d["user"]["id"]  # older consoles read the user at the top level
    assert abs(d["access_expires_at"] - time.time() - 900) < 60
    st, h, j = api(g, "POST", "/api/user/login", body={"username": "root", "password": "rootpass1"})
    sc = h["set-cookie"]
    assert "HttpOnly" in sc and "SameSite=Strict" in sc and "Path=/api/user/auth" in sc
    st, _, j = api(g, "GET", "/api/user/sessions", token=d["access_token"])
    assert st == 200 and j["success"]
    cur = [s for s in j["data"] if s["current"]]
    assert len(cur) == 1 and cur[0]["sid"] == d["session"]["sid"]
    c = db(g)
    hashes = [r[0] for r in c.execute("SELECT refresh_hash FROM user_sessions")]
    c.close()
    secret = cookie.split("=", 1)[1].split(".", 1)[1]
    assert all(secret not in h for h in hashes) and all(len(h) == 64 for h in hashes)


@case
def wrong_password_and_bad_bodies():
    g = gw()
    for body in ({"username": "root", "password": "nope-nope"},
                 {"username": "ghost", "password": "rootpass1"},
                 {"username": "root"}, {"username": 1, "password": 2}):
        st, _, j = api(g, "POST", "/api/user/login", body=body)
        assert st == 200 and j["success"] is False, (body, j)
    st, _, j = api(g, "POST", "/api/user/login", body=b"{broken")
    assert j["success"] is False and "JSON" in j["message"]


@case
def jwt_checks():
    g = gw()
    d, _ = login(g)
    uid, sid = d["user"]["id"], d["session"]["sid"]
    base = {"iss": "new-api", "aud": "new-api-dashboard", "sub": str(uid), "sid": sid,
            "token_use": "access", "uv": 1, "iat": int(time.time())}
    ok = forge(dict(base, exp=int(time.time()) + 60))
    assert api(g, "GET", "/api/user/sessions", token=ok)[0] == 200
    st, _, j = api(g, "GET", "/api/user/sessions", token=forge(dict(base, exp=int(time.time()) - 5)))
    assert st == 401 and j["code"] == "AUTH_TOKEN_EXPIRED", j
    st, _, j = api(g, "GET", "/api/user/sessions",
                   token=forge(dict(base, exp=int(time.time()) + 60), alg="HS512"))
    assert st == 401, "an HS512 token must not pass: the algorithm is pinned"
    st, _, j = api(g, "GET", "/api/user/sessions",
                   token=forge(dict(base, exp=int(time.time()) + 60), purpose="refresh"))
    assert st == 401
    none = b64(b'{"alg":"none"}') + "." + b64(json.dumps(dict(base, exp=9999999999)).encode()) + "."
    assert api(g, "GET", "/api/user/sessions", token=none)[0] == 401
    st, _, j = api(g, "GET", "/api/user/sessions", token=forge(dict(base, exp=9999999999, uv=2)))
    assert st == 401 and j["code"] == "AUTH_SESSION_REVOKED", j
    st, _, j = api(g, "GET", "/api/user/sessions")
    assert st == 401 and j["code"] == "AUTH_UNAUTHORIZED"


@case
def refresh_rotates_and_detects_reuse():
    g = gw()
    d, cookie = login(g)
    st, h, j = api(g, "POST", "/api/user/auth/refresh", cookie=cookie)
    assert st == 200 and j["success"], j
    new_cookie = h["set-cookie"].split(";")[0]
    assert new_cookie != cookie
    new_token = j["data"]["access_token"]
    assert api(g, "GET", "/api/user/sessions", token=new_token)[0] == 200
    # The rotated-out cookie comes back: treat it as stolen, revoke the session.
    st, _, j = api(g, "POST", "/api/user/auth/refresh", cookie=cookie)
    assert st == 401 and j["code"] == "AUTH_SESSION_REVOKED"
    st, _, j = api(g, "GET", "/api/user/sessions", token=new_token)
    assert st == 401 and j["code"] == "AUTH_SESSION_REVOKED"
    assert api(g, "POST", "/api/user/auth/refresh", cookie=new_cookie)[0] == 401
    assert api(g, "POST", "/api/user/auth/refresh")[0] == 401
    assert api(g, "POST", "/api/user/auth/refresh", cookie="new_api_refresh=garbage")[0] == 401


@case
def logout_and_revocation():
    g = gw()
    d1, c1 = login(g)
    d2, c2 = login(g)
    st, h, j = api(g, "POST", "/api/user/auth/logout", cookie=c1)
    assert j["success"] and "Max-Age=0" in h["set-cookie"]
    assert api(g, "GET", "/api/user/sessions", token=d1["access_token"])[0] == 401
    t2 = d2["access_token"]
    d3, _ = login(g)
    st, _, j = api(g, "POST", "/api/user/sessions/revoke-others", token=t2)
    assert j["success"]
    assert api(g, "GET", "/api/user/sessions", token=d3["access_token"])[0] == 401
    assert api(g, "GET", "/api/user/sessions", token=t2)[0] == 200
    st, _, j = api(g, "DELETE", "/api/user/sessions/" + d2["session"]["sid"], token=t2)
    assert j["success"]
    assert api(g, "GET", "/api/user/sessions", token=t2)[0] == 401


@case
def revoking_another_users_session_is_not_found():
    # DELETE /api/user/sessions/<sid> of someone else once answered success and
    # did nothing: the reference answers 404 AUTH_SESSION_NOT_FOUND.
    g = gw()
    d, _ = login(g)
    sid, tok = d["session"]["sid"], d["access_token"]
    pat = "evetoken0123456789abcdefghijklmn"
    add_user(g, "eve", 1, pat)
    for target in (sid, sid + "x", sid[:-1], "0" * 64, "a" * 300):
        st, _, j = api(g, "DELETE", "/api/user/sessions/" + target, token=pat)
        assert st == 404 and j == {"success": False, "code": "AUTH_SESSION_NOT_FOUND",
                                   "message": "session not found"}, (target, st, j)
    assert api(g, "GET", "/api/user/sessions", token=tok)[0] == 200  # still alive
    c = db(g)
    assert c.execute("SELECT status FROM user_sessions WHERE sid = ?", (sid,)).fetchone()[0] == "active"
    c.close()
    # Its owner revokes it; a second time it is gone.
    st, _, j = api(g, "DELETE", "/api/user/sessions/" + sid, token=tok)
    assert st == 200 and j["success"], j
    st, _, j = api(g, "DELETE", "/api/user/sessions/" + sid, token=pat)
    assert st == 404, j


@case
def personal_access_tokens_and_new_api_user():
    g = gw()
    d, _ = login(g)
    st, _, j = api(g, "GET", "/api/user/token", token=d["access_token"])
    pat = j["data"]
    assert j["success"] and len(pat) == 32 and pat.isalnum()
    for form in (pat, "Bearer " + pat):
        st, _, j = request("GET", g.port, "/api/user/sessions", headers={"Authorization": form})
        assert st == 200, (form, st)
    uid = d["user"]["id"]
    assert api(g, "GET", "/api/user/sessions", token=pat,
               headers={"New-Api-User": str(uid)})[0] == 200
    st, _, j = api(g, "GET", "/api/user/sessions", token=pat, headers={"New-Api-User": "999"})
    assert st == 401
    assert api(g, "GET", "/api/user/sessions", token=pat, headers={"New-Api-User": "x"})[0] == 401
    assert api(g, "GET", "/api/user/sessions", token="wrong" * 6)[0] == 401


@case
def disabled_user_is_refused():
    g = gw()
    add_user(g, "bob", 1, "bobtoken0123456789abcdefghijklmn")
    assert api(g, "GET", "/api/user/sessions", token="bobtoken0123456789abcdefghijklmn")[0] == 200
    c = db(g)
    c.execute("UPDATE users SET status = 2 WHERE username = 'bob'")
    c.commit()
    c.close()
    st, _, j = api(g, "GET", "/api/user/sessions", token="bobtoken0123456789abcdefghijklmn")
    assert st == 403 and j["code"] == "AUTH_USER_DISABLED"


@case
def route_table_guards():
    g = gw()
    st, _, routes = api(g, "GET", "/__test/routes")
    user_pat = "userpat0123456789abcdefghijklmno"
    admin_pat = "adminpat123456789abcdefghijklmno"
    root_pat = "rootpat0123456789abcdefghijklmno"
    add_user(g, "walker", 1, user_pat)
    add_user(g, "boss", 10, admin_pat)
    c = db(g)
    c.execute("UPDATE users SET access_token = ? WHERE username = 'root'", (root_pat,))
    c.commit()
    c.close()
    def reset_pats():  # routes like GET /api/user/token rotate the caller's PAT
        c = db(g)
        for name, pat in (("walker", user_pat), ("boss", admin_pat), ("root", root_pat)):
            c.execute("UPDATE users SET access_token = ? WHERE username = ?", (pat, name))
        c.commit()
        c.close()

    names = {1: "GET", 2: "POST", 4: "PUT", 8: "PATCH", 16: "DELETE"}
    walked = 0
    for rt in routes:
        if rt["min_role"] == 0:
            continue
        path = rt["pattern"].replace(":id", "999999").replace(":sid", "nosuchsession")
        for bit, m in names.items():
            if not rt["methods"] & bit:
                continue
            walked += 1
            st, _, j = api(g, m, path, body={} if m in ("POST", "PUT") else None)
            if path.startswith("/pg/"):
                # A relay route the console calls with its session: OpenAI-shaped
                # refusals, and a personal access token is not a session.
                assert st == 401 and j["error"]["code"] == "AUTH_UNAUTHORIZED", (path, st, j)
                st, _, j = api(g, m, path, token=user_pat, body={})
                assert st == 403 and j["error"]["code"] == "access_denied", (path, st, j)
                continue
            assert st == 401 and j["success"] is False, (m, path, st, j)
            wrong = {1: None, 10: user_pat, 100: admin_pat}[rt["min_role"]]
            if wrong:
                st, _, j = api(g, m, path, token=wrong, body={} if m in ("POST", "PUT") else None)
                assert st == 403 and j["code"] == "AUTH_INSUFFICIENT_PRIVILEGE", (m, path, st, j)
            if (m, path) == ("DELETE", "/api/user/self"):
                continue  # would delete the walking user; covered by test_api_users
            right = {1: user_pat, 10: admin_pat, 100: root_pat}[rt["min_role"]]
            st, _, j = api(g, m, path, token=right, body={} if m in ("POST", "PUT") else None)
            assert st not in (401, 403), (m, path, st, j)
            reset_pats()
    assert walked > 40, walked


@case
def shared_gateway_stops_cleanly():
    global G
    g, G = gw(), None
    g.stop()


if __name__ == "__main__":
    try:
        main()
    finally:
        if G is not None:
            G.kill()
