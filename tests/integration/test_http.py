#!/usr/bin/env python3
"""HTTP layer: envelope and headers, keep-alive, CORS, error shapes, and one
regression test per libwebsockets 4.1.6 pitfall (c-core-notes P1-P6)."""
import json
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Gateway, Responses, case, connect, get_json, main,  # noqa: E402
                     read_response, request, wait_for)

RID_RE = re.compile(r"^\d{14}\d{1,9}[0-9A-Za-z]{8}$")
GW = None


def gw():
    """One shared gateway for the cases that don't need their own."""
    global GW
    if GW is None:
        GW = Gateway(workers=1).start()
    return GW


@case
def status_envelope_and_fields():
    st, h, j = get_json(gw().port, "/api/status")
    assert st == 200
    assert j["success"] is True and j["message"] == ""
    d = j["data"]
    for k in ("version", "start_time", "system_name", "quota_per_unit", "display_in_currency",
              "github_oauth", "email_verification", "turnstile_check", "setup", "chats",
              "self_use_mode_enabled", "demo_site_enabled", "price", "_qn"):
        assert k in d, k
    assert d["quota_per_unit"] == 500000
    assert d["setup"] is False
    assert d["redis"]["ok"] is True and d["sql"]["ok"] is True and d["sql"]["type"] == "sqlite"
    assert RID_RE.match(h["x-oneapi-request-id"]), h["x-oneapi-request-id"]
    assert h["x-new-api-version"]
    assert h["content-type"].startswith("application/json")


@case
def request_ids_are_unique_and_logged():
    ids = set()
    for _ in range(20):
        _, h, _ = request("GET", gw().port, "/api/status")
        ids.add(h["x-oneapi-request-id"])
    assert len(ids) == 20
    rid = sorted(ids)[0]
    wait_for(lambda: rid in gw().read_log(), 5, what="access log line")
    line = [ln for ln in gw().read_log().splitlines() if rid in ln][0]
    assert "GET /api/status 200" in line and "us" in line, line


@case
def keepalive_serves_many_requests_on_one_connection():
    with connect(gw().port) as s:
        for i in range(5):
            s.sendall(b"GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n")
            st, h, body = read_response(s)
            assert st == 200 and json.loads(body)["success"] is True


@case
def cors_preflight_and_simple():
    st, h, _ = request("OPTIONS", gw().port, "/v1/chat/completions",
                       headers={"Origin": "http://example.com",
                                "Access-Control-Request-Method": "POST",
                                "Access-Control-Request-Headers": "authorization,content-type"})
    assert st == 204, st
    assert h["access-control-allow-origin"] == "*"
    assert "POST" in h["access-control-allow-methods"]
    assert "authorization" in h["access-control-allow-headers"]
    st, h, _ = request("GET", gw().port, "/api/status", headers={"Origin": "http://x"})
    assert h["access-control-allow-origin"] == "*"


@case
def unknown_routes_answer_in_the_callers_format():
    st, _, body = request("POST", gw().port, "/v1/no-such-thing", body={"a": 1})
    j = json.loads(body)
    assert st == 404 and "Invalid URL (POST /v1/no-such-thing)" in j["error"]["message"]
    assert j["error"]["type"] == "invalid_request_error"
    st, _, body = request("GET", gw().port, "/api/no-such-thing")
    j = json.loads(body)
    assert st == 404 and j["success"] is False
    st, _, body = request("DELETE", gw().port, "/api/status")
    assert st == 405 and json.loads(body)["success"] is False


def echo_req(method=b"GET", query=b"", body=None, extra=b""):
    head = b"%s /__test/echo?%s HTTP/1.1\r\nHost: x\r\n%s" % (method, query, extra)
    if body is None:
        return head + b"\r\n"
    return head + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def body_sum(b):
    s = 0
    for c in b:
        s = (s * 31 + c) & 0xFFFFFFFFFFFFFFFF
    return s & 0x7fffffff


@case
def p1_pipelined_posts_never_wedge_the_worker():
    g = gw()
    pid = g.stats()["pid"]
    body = b'{"model":"x","messages":[]}'
    req = (b"POST /__test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    for _ in range(30):
        with connect(g.port, timeout=10) as s:
            s.sendall(req * 3)  # three requests in one segment: all answered
            rd = Responses(s)
            for _ in range(3):
                st, _, b = rd.read()
                assert st == 200 and json.loads(b)["body_len"] == len(body)
        # The worker must still answer promptly on a new connection.
        st, _, _ = request("GET", g.port, "/api/status", timeout=5)
        assert st == 200
    assert g.stats()["pid"] == pid, "the worker died and was replaced"


def access_lines(g, rid):
    return [ln for ln in g.read_log().splitlines() if "ACCESS" in ln and rid in ln]


@case
def pipelined_requests_in_one_packet_are_answered_in_order():
    # Issue 10 part 5: the second of two pipelined requests dropped the
    # connection (499) and its access-log line was written twice.
    g = gw()
    cases = []
    for n in (2, 3):
        cases.append([echo_req(query=b"n=%d&i=%d" % (n, i)) for i in range(n)])
        cases.append([echo_req(b"POST", b"n=%d&i=%d" % (n, i), b'{"i":%d,"pad":"%s"}' % (i, b"x" * i))
                      for i in range(n)])
        # mixed, with a body-less POST-free GET after a POST with a body
        cases.append([echo_req(b"POST", b"m=%d&i=0" % n, b"abc"), echo_req(query=b"m=%d&i=1" % n)]
                     + [echo_req(b"PUT", b"m=%d&i=%d" % (n, i), b"z" * i) for i in range(2, n)])
    rids = []
    for reqs in cases:
        with connect(g.port, timeout=10) as s:
            s.sendall(b"".join(reqs))  # one send: one segment on loopback
            rd = Responses(s)
            for i, raw in enumerate(reqs):
                st, h, b = rd.read()
                j = json.loads(b)
                assert st == 200, (st, b)
                sent_query = raw.split(b" ")[1].split(b"?", 1)[1].decode()
                assert j["query"] == sent_query, (j["query"], sent_query)
                assert j["method"] == raw.split(b" ")[0].decode()
                sent_body = raw.split(b"\r\n\r\n", 1)[1]
                assert j["body_len"] == len(sent_body) and j["body_sum"] == body_sum(sent_body)
                rids.append(h["x-oneapi-request-id"])
            # the connection is still usable after the pipelined batch
            s.sendall(echo_req(query=b"after"))
            st, h, b = rd.read()
            assert st == 200 and json.loads(b)["query"] == "after"
            rids.append(h["x-oneapi-request-id"])
    assert len(set(rids)) == len(rids)
    wait_for(lambda: all(access_lines(g, r) for r in rids), 10, what="access log lines")
    for r in rids:
        lines = access_lines(g, r)
        assert len(lines) == 1, lines  # once each, never twice
        assert " 200 " in lines[0] and " 499 " not in lines[0], lines
    assert g.stats()["pid"]


# Header names that are strict prefixes of names lws 4.1.6 knows: its parser
# took the line after them into the unknown header's name (issue 10 part 5).
LWS_PREFIXES = ["X-F", "X", "Us", "Autho", "Acc", "Con", "Content-Typ"]


@case
def header_after_a_prefix_of_a_known_name_is_seen():
    g = gw()
    for p in LWS_PREFIXES:
        pb = p.encode()
        with connect(g.port, timeout=10) as s:
            s.sendall(echo_req(query=b"p=" + pb,
                               extra=b"%s: 1\r\nX-Probe: seen\r\nUser-Agent: ua/1\r\n" % pb))
            st, _, b = Responses(s).read()
            assert st == 200, (p, st, b)
            hdrs = json.loads(b)["headers"]
            assert hdrs == [["Host", "x"], [p, "1"], ["X-Probe", "seen"], ["User-Agent", "ua/1"]], \
                (p, hdrs)
        # As the last header, lws swallowed the blank line and the next
        # pipelined request with it.
        with connect(g.port, timeout=10) as s:
            s.sendall(echo_req(query=b"first", extra=b"%s: v\r\n" % pb) +
                      echo_req(query=b"second", extra=b"X-Second: 2\r\n"))
            rd = Responses(s)
            st1, _, b1 = rd.read()
            st2, _, b2 = rd.read()
            assert st1 == 200 and json.loads(b1)["headers"][-1] == [p, "v"], (p, b1)
            assert st2 == 200 and json.loads(b2)["query"] == "second", (p, b2)
            assert json.loads(b2)["headers"][-1] == ["X-Second", "2"]


@case
def authorization_after_a_prefix_header_is_honoured():
    # The repro: "X-F: 1" before "Authorization: Bearer ..." gave 401.
    from apihelp import login, setup_root
    with Gateway(workers=1) as g:
        setup_root(g)
        tok = login(g)
        st, _, b = request("GET", g.port, "/api/user/self", headers={"New-Api-User": "1"})
        assert st == 401, (st, b)
        for p in [None] + LWS_PREFIXES:
            with connect(g.port, timeout=10) as s:
                extra = b"" if p is None else b"%s: 1\r\n" % p.encode()
                s.sendall(b"GET /api/user/self HTTP/1.1\r\nHost: x\r\n" + extra +
                          b"Authorization: Bearer %s\r\nNew-Api-User: 1\r\n\r\n" % tok.encode())
                st, _, b = Responses(s).read()
                assert st == 200 and json.loads(b)["data"]["username"] == "root", (p, st, b)
        g.stop()


@case
def websocket_upgrade_never_reaches_lws_with_a_name_it_misparses():
    # Upgrades are the one path still parsed by lws (accept.c hands them
    # over); a head with such a name gets 400 instead of a swallowed line.
    g = gw()
    up = (b"GET /__test/ws-echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Sec-WebSocket-Version: 13\r\n")
    for extra, want in ((b"", 101), (b"X-F: 1\r\n", 400), (b"Con: 1\r\n", 400),
                        (b"X-Forwarded-For: 1.2.3.4\r\n", 101)):
        with connect(g.port, timeout=10) as s:
            s.sendall(up + extra + b"\r\n")
            buf = b""
            while b"\r\n\r\n" not in buf:
                more = s.recv(4096)
                assert more, (extra, buf)
                buf += more
            assert int(buf.split(b" ", 2)[1]) == want, (extra, buf)


@case
def malformed_heads_get_400_and_a_close():
    g = gw()
    bad = [b"GET /x HTTP/1.1\r\nBad Name: v\r\n\r\n",         # space in a name
           b"GET /x HTTP/1.1\r\nName : v\r\n\r\n",            # space before ':'
           b"GET /x HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n",     # obs-fold
           b"GET /x HTTP/1.1\r\nA: 1\rB: 2\r\n\r\n",           # bare CR
           b"GET /x HTTP/1.1\r\nA: \x01\r\n\r\n",             # control byte
           b"GET /%zz HTTP/1.1\r\n\r\n",                     # bad escape
           b"GET /a%0Ab HTTP/1.1\r\n\r\n",                   # escaped LF (log forging)
           b"GET x HTTP/1.1\r\n\r\n",                        # not origin-form
           b"GET / HTTP/2.0\r\n\r\n",
           b"POST /__test/echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"]
    for raw in bad:
        with connect(g.port, timeout=10) as s:
            s.sendall(raw + echo_req(query=b"smuggled"))
            rd = Responses(s)
            st, h, b = rd.read()
            assert st == 400 and h.get("connection") == "close", (raw, st, b)
            assert s.recv(100) == b"", raw  # the smuggled request is never answered
    with connect(g.port, timeout=10) as s:
        s.sendall(b"GET /x HTTP/1.1\r\nX-Big: " + b"a" * 17000 + b"\r\n\r\n")
        st, h, _ = Responses(s).read()
        assert st == 431, st
    # Paths are decoded and normalised once, here.
    st, _, b = request("GET", g.port, "/__test/../__test//./echo?a=%41+b")
    assert st == 200 and json.loads(b)["path"] == "/__test/echo", b
    assert json.loads(b)["query"] == "a=%41+b"


@case
def p4_expect_100_continue_is_answered():
    with connect(gw().port, timeout=5) as s:
        s.sendall(b"POST /__test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        st, _, rest = read_response(s)
        assert st == 100, st
        s.sendall(b"0123456789")
        st, _, body = read_response(s)
        assert st == 200 and json.loads(body)["body_len"] == 10


@case
def p5_chunked_request_body_gets_411():
    with connect(gw().port, timeout=5) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        st, h, body = read_response(s)
        assert st == 411, st
        assert "chunked" in json.loads(body)["error"]["message"]
        assert h.get("connection") == "close"
    # A POST without Content-Length has an empty body; lws would wait for
    # 100 MB of it, so the gateway answers and closes the connection.
    with connect(gw().port, timeout=5) as s:
        s.sendall(b"POST /__test/echo HTTP/1.1\r\nHost: x\r\n\r\n")
        st, h, body = read_response(s)
        assert st == 200 and json.loads(body)["body_len"] == 0
        assert h.get("connection") == "close"
        assert s.recv(100) == b""
    # Garbage Content-Length
    with connect(gw().port, timeout=5) as s:
        s.sendall(b"POST /__test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n")
        st, _, _ = read_response(s)
        assert st == 400


@case
def body_limit_gives_413_json():
    with Gateway(workers=1, env={"MAX_REQUEST_BODY_MB": "1"}) as g:
        with connect(g.port, timeout=5) as s:
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 2097152\r\n\r\n")
            st, _, body = read_response(s)
            assert st == 413, st
            assert "MAX_REQUEST_BODY_MB" in json.loads(body)["error"]["message"]
        data = b"x" * (1024 * 1024)
        st, _, body = request("POST", g.port, "/__test/echo", body=data)
        assert st == 200 and json.loads(body)["body_len"] == len(data)
        # Post with explicit zero length goes through.
        st, _, body = request("POST", g.port, "/__test/echo", body=b"")
        assert st == 200 and json.loads(body)["body_len"] == 0
        g.stop()


@case
def p3_connections_closed_early_leak_nothing():
    g = Gateway(workers=1).start()
    try:
        for i in range(40):
            s = connect(g.port)
            if i % 4 == 1:
                s.sendall(b"GET /api/sta")  # partial request line
            elif i % 4 == 2:
                s.sendall(b"POST /__test/echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
            elif i % 4 == 3:
                s.sendall(b"GET /__test/delay?ms=3000 HTTP/1.1\r\nHost: x\r\n\r\n")
                time.sleep(0.01)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                         if i % 2 else b"\x00" * 8)  # RST for odd ones
            s.close()
        wait_for(lambda: g.stats()["live_reqs"] == 1, 10, what="requests freed")  # the stats call
        st = g.stats()
        assert st["aborted"] >= 10, st
    finally:
        g.stop()  # LeakSanitizer runs at worker exit: a leak fails stop()


def sse_upstream(events, gate=None, forever=False, chunk=None, total=0):
    """A loopback upstream that streams text/event-stream. With gate, it
    waits for gate[i] before sending event i+1. Returns (port, state)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    state = {"closed_early": threading.Event(), "done": threading.Event()}

    def serve():
        srv.settimeout(30)
        try:
            c, _ = srv.accept()
        except OSError:
            return
        with c:
            c.recv(65536)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                      b"Connection: close\r\n\r\n")
            try:
                if chunk is not None:
                    sent = 0
                    while sent < total:
                        c.sendall(chunk)
                        sent += len(chunk)
                    state["done"].set()
                    return
                i = 0
                deadline = time.time() + 30
                while (forever or i < len(events)) and time.time() < deadline:
                    ev = events[i % len(events)] if events else b"data: x\n\n"
                    c.sendall(ev)
                    if gate and i < len(gate):
                        gate[i].wait(10)
                    elif forever:
                        time.sleep(0.02)
                    i += 1
                state["done"].set()
            except OSError:
                state["closed_early"].set()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1], state


@case
def sse_events_are_flushed_one_by_one():
    events = [b"data: {\"n\":%d}\n\n" % i for i in range(3)]
    gate = [threading.Event() for _ in events]
    up, state = sse_upstream(events, gate=gate)
    with connect(gw().port, timeout=10) as s:
        s.sendall(b"GET /__test/stream?url=http://127.0.0.1:%d/ HTTP/1.1\r\nHost: x\r\n\r\n" % up)
        buf = b""
        for i, ev in enumerate(events):
            # The upstream holds event i+1 until we have seen event i: a gateway
            # that buffered would never deliver it, and this would time out.
            while ev not in buf:
                more = s.recv(65536)
                assert more, "connection closed"
                buf += more
            gate[i].set()
        assert b"transfer-encoding: chunked" in buf.lower()
        while not buf.endswith(b"0\r\n\r\n"):
            more = s.recv(65536)
            assert more
            buf += more


@case
def streams_keep_every_request_header():
    # Request headers live in the request's arena (parsed by head.c), so a
    # handler reads any of them after its stream began, and the keep-alive
    # connection parses its next request normally.
    events = [b"data: {\"n\":1}\n\n"]
    up, state = sse_upstream(events)
    with connect(gw().port, timeout=10) as s:
        s.sendall(b"GET /__test/stream?echo_headers=1&url=http://127.0.0.1:%d/ HTTP/1.1\r\n"
                  b"Host: x\r\nUser-Agent: probe-agent/1.0\r\nX-Probe: custom-value\r\n\r\n" % up)
        st, h, body = read_response(s)
        assert st == 200, (st, body)
        assert body.startswith(events[0]), body
        assert body.endswith(b"[user-agent=probe-agent/1.0 x-probe=custom-value]"), body
        s.sendall(b"GET /api/status HTTP/1.1\r\nHost: x\r\nX-Probe: again\r\n\r\n")
        st, h, body = read_response(s)
        assert st == 200 and json.loads(body)["success"] is True, (st, body)


@case
def slow_client_gets_every_byte_with_backpressure():
    g = Gateway(workers=1).start()
    try:
        chunk = bytes(range(256)) * 64  # 16 KiB
        total = 8 * 1024 * 1024
        up, state = sse_upstream([], chunk=chunk, total=total)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(30)
        s.connect(("127.0.0.1", g.port))
        s.sendall(b"GET /__test/stream?url=http://127.0.0.1:%d/ HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n" % up)
        time.sleep(0.5)  # let the gateway hit its high-water mark
        st, h, body = read_response(s)
        s.close()
        assert st == 200 and len(body) == total, (st, len(body))
        assert body == chunk * (total // len(chunk))
        stats = g.stats()
        assert stats["upstream_pauses"] > 0, stats
        assert stats["live_xfers"] == 0
    finally:
        g.stop()


@case
def client_disconnect_mid_stream_frees_the_upstream_transfer():
    g = Gateway(workers=1).start()
    try:
        up, state = sse_upstream([b"data: tick\n\n"], forever=True)
        s = connect(g.port)
        s.sendall(b"GET /__test/stream?url=http://127.0.0.1:%d/ HTTP/1.1\r\nHost: x\r\n\r\n" % up)
        buf = b""
        while buf.count(b"tick") < 3:
            buf += s.recv(65536)
        assert g.stats()["live_xfers"] == 1
        s.close()
        wait_for(lambda: g.stats()["live_xfers"] == 0, 10, what="upstream transfer freed")
        assert state["closed_early"].wait(10), "upstream never saw the disconnect"
        st = g.stats()
        assert st["live_reqs"] == 1 and st["aborted"] >= 1, st
    finally:
        g.stop()


@case
def upstream_down_gives_502():
    with socket.socket() as tmp:
        tmp.bind(("127.0.0.1", 0))
        dead = tmp.getsockname()[1]
    st, _, body = request("GET", gw().port, f"/__test/stream?url=http://127.0.0.1:{dead}/")
    assert st == 502 and json.loads(body)["error"]["type"] == "upstream_error"


@case
def test_hooks_are_off_by_default():
    with Gateway(workers=1, env={"GW_TEST_HOOKS": "false"}) as g:
        st, _, _ = request("GET", g.port, "/__test/stats")
        assert st == 404
        g.stop()


@case
def shutdown_drains_in_flight_requests():
    g = Gateway(workers=1).start()
    results = []

    def slow():
        results.append(request("GET", g.port, "/__test/delay?ms=1500", timeout=20))

    threads = [threading.Thread(target=slow) for _ in range(4)]
    for t in threads:
        t.start()
    # four delayed requests plus the stats request itself
    wait_for(lambda: g.stats()["live_reqs"] == 5, 10, what="requests in flight")
    g.stop()  # SIGTERM while the four requests wait: they must complete
    for t in threads:
        t.join(20)
    assert len(results) == 4 and all(r[0] == 200 for r in results), results


@case
def supervisor_restarts_a_dead_worker():
    import signal as sig
    g = Gateway(workers=2).start()
    try:
        from harness import descendants
        def workers():
            return [p for p in descendants(g.proc.pid)
                    if open(f"/proc/{p}/comm").read().startswith("tf-worker")]
        assert len(workers()) == 2, workers()
        ledger = [p for p in descendants(g.proc.pid)
                  if open(f"/proc/{p}/comm").read().startswith("tf-ledger")]
        assert len(ledger) == 1, ledger
        os.kill(workers()[0], sig.SIGKILL)
        wait_for(lambda: "restarting" in g.read_log(), 10, what="restart")
        wait_for(lambda: len(workers()) == 2, 10, what="replacement worker")
        # The ledger process is supervised the same way.
        os.kill(ledger[0], sig.SIGKILL)
        wait_for(lambda: "ledger process died" in g.read_log(), 10, what="ledger restart")
        wait_for(lambda: any(open(f"/proc/{p}/comm").read().startswith("tf-ledger")
                             for p in descendants(g.proc.pid)), 10, what="new ledger process")
        for _ in range(10):
            assert request("GET", g.port, "/api/status")[0] == 200
    finally:
        g.stop()


@case
def shared_gateway_stops_cleanly():
    global GW
    g, GW = gw(), None
    g.stop()  # exit 0, no sanitizer report, nothing left behind


if __name__ == "__main__":
    try:
        main()
    finally:
        if GW is not None:
            GW.kill()
