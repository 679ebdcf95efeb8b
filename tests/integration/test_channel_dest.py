#!/usr/bin/env python3
"""Channel destinations (SSRF guard, gateway/core/dest.h): an admin below root
cannot point a channel at loopback or private addresses unless root allows
it, nobody reaches link-local / cloud metadata addresses unless root allows
it, ports can be restricted, the policy judges the address a name resolves
to, and it refuses before any packet leaves (the worker's upstream_connects
counter counts the sockets made). Every upstream here is a loopback mock;
169.254.169.254 is only ever refused, never connected to."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, case, free_port, main, request, wait_for  # noqa: E402
from relayfix import (add_channel, add_token, api, chat, openai_mock, rcli, root_pat,  # noqa: E402
                      sql, wait_routable)
from relayfix import set_option as _set_option  # noqa: E402

ADMIN_PAT = "destadmin" + "a" * 23
S = {}


def set_option(g, pat, key, value):
    _set_option(g, pat, key, value)
    time.sleep(0.6)  # options reach the worker through the config version (250 ms poll)


def setup():
    if S:
        return S
    port, stop = openai_mock.start(keys=["k-good"])
    g = Gateway(workers=1).start()  # one worker: its counters are the whole gateway's
    pat = root_pat(g)
    set_option(g, pat, "ModelRatio", json.dumps({"m-root": 1, "m-forced": 1, "m-meta": 1,
                                                 "m-local": 1, "m-port": 1, "m-admin": 1,
                                                 "m-down": 1}))
    sql_exec(g, "INSERT INTO users (username, password, display_name, role, status, access_token, "
                f"`group`, quota) VALUES ('destadmin', 'x', 'destadmin', 10, 1, '{ADMIN_PAT}', "
                "'default', 0)")
    base = f"http://127.0.0.1:{port}"
    cid = add_channel(g, pat, "root-local", base, "k-good", "m-root")
    tid, key = add_token(g, pat, "t-dest", remain_quota=100_000_000)
    wait_routable(g, key, "m-root")
    S.update(g=g, pat=pat, port=port, stop=stop, base=base, cid=cid, key=key)
    return S


def sql_exec(g, q, *a):
    import sqlite3
    c = sqlite3.connect(os.path.join(g.data_dir, "token-factory.db"), timeout=30)
    try:
        c.execute(q, a)
        c.commit()
    finally:
        c.close()


def by_root(g, cid):
    """channel_destinations.set_by_root of a channel (None: no row)."""
    r = sql(g, "SELECT set_by_root FROM channel_destinations WHERE channel_id = ?", cid)
    return r[0][0] if r else None


def cid_of(g, name):
    return sql(g, "SELECT id FROM channels WHERE name = ?", name)[0][0]


def reload_routing(g):
    rcli(g, "INCR", "tf:cfgver")


def mock_requests():
    st, _, b = request("GET", S["port"], "/__mock/requests")
    return json.loads(b)


def clear_mock():
    request("DELETE", S["port"], "/__mock/requests")


def ask(model):
    return chat(S["g"], S["key"], {"model": model, "messages": [{"role": "user", "content": "hi"}]})


def message(body):
    """The error message without its request id (whose digits could hold anything)."""
    return json.loads(body)["error"]["message"].split(" (request id:")[0]


def admin_create(g, name, base_url, models, extra=None):
    ch = {"type": 1, "name": name, "key": "k-good", "base_url": base_url, "models": models,
          "group": "default"}
    ch.update(extra or {})
    return api(g, "POST", "/api/channel/", token=ADMIN_PAT, body={"mode": "single", "channel": ch})[1]


def refused_at_connect(model, connects_before=None):
    """One call to model is refused by the policy: 502 in OpenAI shape, a fixed
    message naming no host or port, no request reached the mock, and (when
    connects_before is given) no socket was even made."""
    g = S["g"]
    clear_mock()
    st0 = g.stats()
    st, _, b = ask(model)
    assert st == 502, (st, b)
    msg = message(b)
    assert msg == "the channel's upstream address is not allowed by the destination policy", msg
    assert "127.0.0.1" not in msg and str(S["port"]) not in msg
    st1 = g.stats()
    assert st1["dest_refused"] >= st0["dest_refused"] + 1, (st0, st1)
    if connects_before is not None:
        assert st1["upstream_connects"] == st0["upstream_connects"], (st0, st1)
    assert mock_requests() == [], "nothing may reach the upstream"


@case
def root_channels_at_loopback_work_by_default():
    s = setup()
    clear_mock()
    st, _, b = ask("m-root")
    assert st == 200, b
    assert len(mock_requests()) == 1
    assert by_root(s["g"], s["cid"]) == 1


@case
def an_admin_below_root_cannot_set_a_private_or_local_destination():
    s = setup()
    g = s["g"]
    for url in (s["base"], f"http://localhost:{s['port']}", f"http://[::1]:{s['port']}",
                "http://10.1.2.3", "http://0.0.0.0:80", "http://2130706433/",
                "http://169.254.169.254/latest"):
        j = admin_create(g, "adm-bad", url, "m-admin")
        assert not j["success"] and "base_url refused" in j["message"], (url, j)
    # a proxy is a destination too
    j = admin_create(g, "adm-proxy", "https://api.example.com", "m-admin",
                     {"setting": json.dumps({"proxy": f"http://127.0.0.1:{s['port']}"})})
    assert not j["success"] and "setting.proxy refused" in j["message"], j
    # an Ollama channel with no base_url goes to its default, localhost
    j = admin_create(g, "adm-ollama", "", "m-admin", {"type": 4})
    assert not j["success"] and "base_url refused" in j["message"], j
    assert not sql(g, "SELECT id FROM channels WHERE name LIKE 'adm-%'")
    # editing root's channel: changing where it goes is refused, and so is a
    # private proxy; editing anything else keeps root's approval
    cid = s["cid"]
    for body in ({"id": cid, "base_url": f"http://127.0.0.2:{s['port']}"},
                 {"id": cid, "setting": json.dumps({"proxy": "socks5://192.168.0.1:1080"})}):
        st, j = api(g, "PUT", "/api/channel/", token=ADMIN_PAT, body=body)
        assert not j["success"] and "refused" in j["message"], j
    st, j = api(g, "PUT", "/api/channel/", token=ADMIN_PAT,
                body={"id": cid, "models": "m-root", "base_url": s["base"]})
    assert j["success"], j
    assert sql(g, "SELECT base_url FROM channels WHERE id = ?", cid)[0][0] == s["base"]
    assert by_root(g, cid) == 1
    clear_mock()
    st, _, b = ask("m-root")
    assert st == 200, b
    # a public destination is fine for an admin, and recorded as not root's
    j = admin_create(g, "adm-public", "https://api.example.com", "m-admin")
    assert j["success"], j
    assert by_root(g, cid_of(g, "adm-public")) == 0
    # the flag is not a writable field
    st, j = api(g, "PUT", "/api/channel/", token=ADMIN_PAT,
                body={"id": sql(g, "SELECT id FROM channels WHERE name = 'adm-public'")[0][0],
                      "name": "adm-public", "dest_set_by_root": 1})
    assert j["success"], j
    assert by_root(g, cid_of(g, "adm-public")) == 0
    sql_exec(g, "DELETE FROM channels WHERE name = 'adm-public'")
    sql_exec(g, "DELETE FROM abilities WHERE model = 'm-admin'")


@case
def a_private_destination_forced_into_the_database_is_refused_at_connect():
    """An admin's channel at loopback that got into the table anyway (a
    database edit, or a name that later resolves there) never connects."""
    s = setup()
    g = s["g"]
    cid = add_channel(g, s["pat"], "forced", s["base"], "k-good", "m-forced")
    wait_routable(g, s["key"], "m-forced")
    assert ask("m-forced")[0] == 200  # root's: it works, and curl keeps the connection
    sql_exec(g, "UPDATE channel_destinations SET set_by_root = 0 WHERE channel_id = ?", cid)
    reload_routing(g)
    # the keep-alive connection root's channel opened is not reused either
    wait_for(lambda: ask("m-forced")[0] == 502, 10, 0.2, what="the reload")
    refused_at_connect("m-forced")
    # a name that resolves to loopback is judged by its address: curl
    # resolves "localhost" itself, and the policy sees 127.0.0.1
    sql_exec(g, "UPDATE channels SET base_url = ? WHERE id = ?", f"http://localhost:{s['port']}",
             cid)
    reload_routing(g)
    time.sleep(0.6)
    refused_at_connect("m-forced", connects_before=True)
    assert "destination refused" in g.read_log()
    # root allows admins' private destinations: the same channel works
    set_option(g, s["pat"], "channel_destination_setting.allow_private_ip", True)
    clear_mock()
    st, _, b = ask("m-forced")
    assert st == 200, b
    assert len(mock_requests()) == 1
    # and an admin may then save one
    j = admin_create(g, "adm-ok", s["base"], "m-admin")
    assert j["success"], j
    set_option(g, s["pat"], "channel_destination_setting.allow_private_ip", False)
    sql_exec(g, "DELETE FROM channels WHERE id = ? OR name = 'adm-ok'", cid)
    sql_exec(g, "DELETE FROM abilities WHERE model IN ('m-forced', 'm-admin')")
    reload_routing(g)


@case
def metadata_and_link_local_are_refused_before_any_connect():
    s = setup()
    g = s["g"]
    # root too: the API refuses it unless root's option allows link-local
    st, j = api(g, "POST", "/api/channel/", token=s["pat"], body={"mode": "single", "channel": {
        "type": 1, "name": "meta", "key": "k", "base_url": "http://169.254.169.254",
        "models": "m-meta", "group": "default"}})
    assert not j["success"] and "link-local" in j["message"], j
    # forced into the table (root's flag set): refused in the connect
    # callback, before a socket exists; the address is never connected to
    cid = add_channel(g, s["pat"], "meta", s["base"], "k-good", "m-meta")
    wait_routable(g, s["key"], "m-meta")
    sql_exec(g, "UPDATE channels SET base_url = 'http://169.254.169.254:80' WHERE id = ?", cid)
    reload_routing(g)
    wait_for(lambda: ask("m-meta")[0] == 502, 10, 0.2, what="the reload")
    refused_at_connect("m-meta", connects_before=True)
    # the IPv4-mapped IPv6 form of the same address
    sql_exec(g, "UPDATE channels SET base_url = 'http://[::ffff:169.254.169.254]:80' WHERE id = ?",
             cid)
    reload_routing(g)
    time.sleep(0.6)
    refused_at_connect("m-meta", connects_before=True)
    # with root's option the API accepts it (no call is made to it here)
    set_option(g, s["pat"], "channel_destination_setting.allow_link_local", True)
    st, j = api(g, "PUT", "/api/channel/", token=s["pat"],
                body={"id": cid, "base_url": "http://169.254.169.254"})
    assert j["success"], j
    set_option(g, s["pat"], "channel_destination_setting.allow_link_local", False)
    sql_exec(g, "DELETE FROM channels WHERE id = ?", cid)
    sql_exec(g, "DELETE FROM abilities WHERE channel_id = ?", cid)
    reload_routing(g)


@case
def ports_can_be_restricted():
    s = setup()
    g, pat = s["g"], s["pat"]
    for bad in (["0"], ["70000"], ["9-8"], ["http"], [80]):
        st, j = api(g, "PUT", "/api/option/", token=pat,
                    body={"key": "channel_destination_setting.allowed_ports", "value": json.dumps(bad)})
        assert not j["success"] and "allowed_ports" in j["message"], (bad, j)
    other = s["port"] + 1 if s["port"] < 65535 else s["port"] - 1
    set_option(g, pat, "channel_destination_setting.allowed_ports", json.dumps([str(other)]))
    refused_at_connect("m-root")
    # a new channel on a port outside the list is refused when saved, even by root
    st, j = api(g, "POST", "/api/channel/", token=pat, body={"mode": "single", "channel": {
        "type": 1, "name": "port-bad", "key": "k", "base_url": s["base"], "models": "m-port",
        "group": "default"}})
    assert not j["success"] and "port" in j["message"], j
    lo, hi = min(s["port"], other), max(s["port"], other)
    set_option(g, pat, "channel_destination_setting.allowed_ports", json.dumps([f"{lo}-{hi}"]))
    assert ask("m-root")[0] == 200
    set_option(g, pat, "channel_destination_setting.allowed_ports", "[]")
    assert ask("m-root")[0] == 200


@case
def connection_errors_name_no_host_or_port():
    s = setup()
    g = s["g"]
    dead = free_port()  # nothing listens there
    add_channel(g, s["pat"], "down", f"http://127.0.0.1:{dead}", "k", "m-down")
    wait_routable(g, s["key"], "m-down")
    st, _, b = ask("m-down")
    assert st == 502, (st, b)
    msg = message(b)
    assert msg == "upstream connection failed", msg
    assert str(dead) not in msg and "127.0.0.1" not in msg
    # the detail is in the gateway's log, for the operator
    assert str(dead) in g.read_log()


@case
def shared_gateway_stops_cleanly():
    if S:
        code = S["g"].stop()
        S["stop"]()
        assert code == 0, f"gateway exit {code}:\n{S['g'].read_log()[-3000:]}"
        S.clear()


if __name__ == "__main__":
    main()
