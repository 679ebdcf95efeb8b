#!/usr/bin/env python3
"""Per-client-IP limits: the N+1st /api request gets 429 + Retry-After with a
JSON error, counted across two replicas on one Redis; the critical limit on
sign-in and setup on top of the API limit; X-Forwarded-For only from a
TRUSTED_PROXIES peer; the web limit on console files; switches off; a bad
TRUSTED_PROXIES refused at start. Buckets are per test IP (X-Forwarded-For
from a trusted 127.0.0.1) so the harness's own requests do not count."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, Gateway, case, main, request  # noqa: E402

DAY = "86400"  # a fixed window this long is not crossed during a test


def call(g, method, path, ip=None, body=None):
    h = {"X-Forwarded-For": ip} if ip else {}
    st, hdrs, b = request(method, g.port, path, body=body, headers=h)
    return st, hdrs, b


def assert_refused(st, hdrs, body, window=86400):
    assert st == 429, (st, body)
    ra = int(hdrs["retry-after"])
    assert 1 <= ra <= window, ra
    j = json.loads(body)
    assert j["success"] is False and "too many requests" in j["message"], j


@case
def api_limit_is_shared_by_two_replicas():
    env = {"GLOBAL_API_RATE_LIMIT_ENABLE": "true", "GLOBAL_API_RATE_LIMIT": "5",
           "GLOBAL_API_RATE_LIMIT_DURATION": DAY, "TRUSTED_PROXIES": "127.0.0.1, ::1"}
    a = Gateway(workers=2, env=env).start()
    b = None
    try:
        sock = os.path.join(a.data_dir, "redis.sock")
        b = Gateway(workers=2, env=dict(env, REDIS_CONN_STRING="unix://" + sock,
                                        SQLITE_PATH=os.path.join(a.data_dir, "token-factory.db")))
        b.start()
        ip = "10.1.0.1"
        for i, g in enumerate((a, b, a, b, a)):
            st, _, body = call(g, "GET", "/api/status", ip)
            assert st == 200, (i, st, body)
        assert_refused(*call(b, "GET", "/api/status", ip))
        assert_refused(*call(a, "GET", "/api/about", ip))
        assert_refused(*call(a, "POST", "/api/user/login", ip, {"username": "x"}))
        # Another client is not affected; nor is the relay.
        assert call(b, "GET", "/api/status", "10.1.0.2")[0] == 200
        assert call(a, "GET", "/v1/models", ip)[0] != 429
        # The proxy chain: the right-most untrusted hop is the client.
        assert_refused(*call(a, "GET", "/api/status", "203.0.113.9, 10.1.0.1"))
        assert call(a, "GET", "/api/status", "10.1.0.1, 10.1.0.3")[0] == 200
        b.stop()
        b = None
    finally:
        if b:
            b.kill()
        a.stop()


@case
def critical_limit_on_sign_in_and_setup():
    env = {"GLOBAL_API_RATE_LIMIT_ENABLE": "true", "GLOBAL_API_RATE_LIMIT": "1000",
           "CRITICAL_RATE_LIMIT_ENABLE": "true", "CRITICAL_RATE_LIMIT": "3",
           "CRITICAL_RATE_LIMIT_DURATION": DAY, "TRUSTED_PROXIES": "127.0.0.0/8"}
    with Gateway(workers=2, env=env) as g:
        ip = "10.2.0.1"
        for _ in range(3):
            st, _, body = call(g, "POST", "/api/user/login", ip,
                               {"username": "nobody", "password": "wrong-password"})
            assert st == 200 and json.loads(body)["success"] is False, body
        assert_refused(*call(g, "POST", "/api/user/login", ip, {"username": "a", "password": "b"}))
        assert_refused(*call(g, "POST", "/api/setup", ip, {"username": "root"}))
        # Ordinary API calls of that client still pass; other clients may sign in.
        assert call(g, "GET", "/api/status", ip)[0] == 200
        assert call(g, "GET", "/api/setup", ip)[0] == 200
        st, _, body = call(g, "POST", "/api/user/login", "10.2.0.2", {"username": "a", "password": "b"})
        assert st == 200, st
        g.stop()


@case
def forwarded_for_ignored_without_trusted_proxies():
    env = {"GLOBAL_API_RATE_LIMIT_ENABLE": "true", "GLOBAL_API_RATE_LIMIT": "20",
           "GLOBAL_API_RATE_LIMIT_DURATION": DAY,
           "GLOBAL_WEB_RATE_LIMIT_ENABLE": "true", "GLOBAL_WEB_RATE_LIMIT": "2",
           "GLOBAL_WEB_RATE_LIMIT_DURATION": DAY}
    with Gateway(workers=1, env=env) as g:
        # Each request claims a new address; all count against the peer.
        codes = [call(g, "GET", "/api/notice", f"10.3.0.{i}")[0] for i in range(21)]
        assert codes[-1] == 429 and codes.count(429) >= 1, codes
        # Console files have their own (GW) budget.
        assert [call(g, "GET", "/some/page")[0] != 429 for _ in range(2)] == [True, True]
        st, hdrs, body = call(g, "GET", "/some/page")
        assert st == 429 and int(hdrs["retry-after"]) >= 1, (st, body)
        g.stop()


@case
def limits_switched_off():
    env = {"GLOBAL_API_RATE_LIMIT_ENABLE": "false", "GLOBAL_API_RATE_LIMIT": "1",
           "CRITICAL_RATE_LIMIT_ENABLE": "false", "CRITICAL_RATE_LIMIT": "1"}
    with Gateway(workers=1, env=env) as g:
        for _ in range(5):
            assert call(g, "GET", "/api/status")[0] == 200
            assert call(g, "POST", "/api/user/login", None, {"username": "a"})[0] == 200
        g.stop()


@case
def bad_trusted_proxies_refused_at_start():
    # "/-0" was read as /0 by the limiter's own parser (every peer a trusted
    # proxy, so any client could pick its rate-limit IP); one parser now.
    for bad in ("not-an-ip", "10.0.0.0/33", "1.2.3.4,,5.6.7.8", "10.0.0.0/-0", "10.0.0.0/08"):
        env = dict(os.environ, TRUSTED_PROXIES=bad, PORT="1", DATA_DIR="/nonexistent")
        p = subprocess.run([BINARY], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30, text=True)
        assert p.returncode != 0 and "TRUSTED_PROXIES" in p.stdout, (bad, p.returncode, p.stdout)


if __name__ == "__main__":
    main()
