#!/usr/bin/env python3
"""A token's access settings through real calls (issue 10, parts 3 and 9):
IP allow-lists and model limits are never cut to fit a buffer, an allow-list
stored in Redis that no longer parses denies everyone, and a change of
allow_ips, model_limits or group made through the API applies to the very
next call on every worker (WORKERS=2)."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, case, main, request  # noqa: E402
from relayfix import (add_channel, add_token, api, chat, openai_mock, rcli, root_pat,  # noqa: E402
                      set_option, sql, wait_routable)

MODEL = "gpt-4o-mini"
MSG = {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}
S = {}


def setup():
    if S:
        return S
    port, stop = openai_mock.start(keys=["k-good"])
    g = Gateway(workers=2).start()
    pat = root_pat(g)
    set_option(g, pat, "ModelRatio", json.dumps({MODEL: 1, "other-model": 1}))
    base = f"http://127.0.0.1:{port}"
    add_channel(g, pat, "main", base, "k-good", MODEL + ",other-model")
    tid, key = add_token(g, pat, "t-warm", remain_quota=10_000_000)
    wait_routable(g, key, MODEL)
    time.sleep(0.6)  # the channel's config bump (it flushes key caches) has landed
    S.update(g=g, pat=pat, stop=stop)
    return S


def put_token(g, pat, tid, **fields):
    body = {"id": tid}
    body.update(fields)
    st, j = api(g, "PUT", "/api/token/", token=pat, body=body)
    assert st == 200 and j["success"], j


def codes(g, key, n=8, body=MSG):
    """n calls, each on a fresh connection (the kernel spreads them over the
    workers): their statuses and error codes."""
    out = []
    for _ in range(n):
        st, _, b = chat(g, key, body)
        out.append((st, json.loads(b)["error"]["code"] if st != 200 else None))
    return out


def models(g, key):
    st, _, b = request("GET", g.port, "/v1/models", headers={"Authorization": "Bearer " + key})
    assert st == 200, b
    return [m["id"] for m in json.loads(b)["data"]]


def list_at_496(last):
    """Non-matching entries filling exactly 496 bytes, then `last`: the old
    key cache (char[512]) kept 511 bytes of it."""
    text, i = "", 0
    while len(text) + len("10.0.0.0\n") <= 496:
        text += "10.0.%d.%d\n" % (i // 250, i % 250)
        i += 1
    text = text[:-1] + " " * (496 - len(text)) + "\n"
    assert len(text) == 496
    return text + last


@case
def allow_list_entry_at_byte_496_is_kept_whole():
    s = setup()
    g, pat = s["g"], s["pat"]
    tid, key = add_token(g, pat, "t-496")
    put_token(g, pat, tid, allow_ips=list_at_496("127.255.255.0/24"))
    # 127.0.0.1 is outside 127.255.255.0/24 (inside the /2 a cut would leave).
    got = codes(g, key)
    assert got == [(403, "ip_not_allowed")] * 8, got
    put_token(g, pat, tid, allow_ips=list_at_496("127.0.0.1/32"))
    got = codes(g, key)
    assert got == [(200, None)] * 8, got


@case
def long_model_limits_keep_their_last_entry():
    s = setup()
    g, pat = s["g"], s["pat"]
    tid, key = add_token(g, pat, "t-ml")
    filler = ",".join("model-%04d" % i for i in range(300))  # 3299 bytes
    put_token(g, pat, tid, model_limits_enabled=True, model_limits=filler + "," + MODEL)
    assert models(g, key) == [MODEL]
    got = codes(g, key, 4)
    assert got == [(200, None)] * 4, got
    st, _, b = chat(g, key, dict(MSG, model="other-model"))
    assert st == 403 and json.loads(b)["error"]["code"] == "model_not_allowed", b


@case
def unparsable_stored_allow_list_denies_everyone():
    # An old row (or a hand edit) whose text the strict parser refuses: it
    # must not open access. "10.0.0.1/-0" once acted as /0.
    s = setup()
    g, pat = s["g"], s["pat"]
    tid, key = add_token(g, pat, "t-bad")
    uid = sql(g, "SELECT user_id FROM tokens WHERE id = ?", tid)[0][0]
    rcli(g, "HSET", f"tf:{{s{uid % 16}}}:t:{tid}", "allow_ips", "10.0.0.1/-0", "sv", "hand-edit")
    got = codes(g, key, 4)
    assert got == [(403, "ip_not_allowed")] * 4, got
    st, _, b = request("GET", g.port, "/v1/models", headers={"Authorization": "Bearer " + key})
    assert st == 403 and json.loads(b)["error"]["code"] == "ip_not_allowed", b
    with open(g.log_path, errors="replace") as f:
        log = f.read()
    assert f"token {tid} of user {uid}: stored allow_ips does not parse" in log
    assert '"10.0.0.1/-0"' in log


def settings_apply_to_the_next_call(g, pat, name):
    tid, key = add_token(g, pat, name, remain_quota=10_000_000)
    # Both workers cache the key (and, with SPECULATIVE_AUTH, start its next
    # call before authorize answers: a stale cache then cancels that start).
    got = codes(g, key, 10)
    assert got == [(200, None)] * 10, got
    put_token(g, pat, tid, allow_ips="10.9.9.9")
    got = codes(g, key)
    assert got == [(403, "ip_not_allowed")] * 8, got
    put_token(g, pat, tid, allow_ips="::1, 127.0.0.0/8")
    got = codes(g, key)
    assert got == [(200, None)] * 8, got
    put_token(g, pat, tid, model_limits_enabled=True, model_limits="other-model")
    assert models(g, key) == ["other-model"]
    got = codes(g, key)
    assert got == [(403, "model_not_allowed")] * 8, got
    put_token(g, pat, tid, model_limits_enabled=False)
    assert sorted(models(g, key)) == sorted([MODEL, "other-model"])
    got = codes(g, key)
    assert got == [(200, None)] * 8, got
    # A group without channels: the next call is routed in it, and fails.
    put_token(g, pat, tid, group="vip")
    got = codes(g, key, 4)
    assert all(st != 200 for st, _ in got), got
    put_token(g, pat, tid, group="")
    got = codes(g, key)
    assert got == [(200, None)] * 8, got
    # The owner's group too (the user's mirror carries its own version).
    uid = sql(g, "SELECT user_id FROM tokens WHERE id = ?", tid)[0][0]
    st, row = api(g, "GET", f"/api/user/{uid}", token=pat)
    st, j = api(g, "PUT", "/api/user/", token=pat, body=dict(row["data"], group="vip"))
    assert j["success"], j
    got = codes(g, key, 4)
    assert all(st != 200 for st, _ in got), got
    st, j = api(g, "PUT", "/api/user/", token=pat, body=dict(row["data"], group="default"))
    assert j["success"], j
    got = codes(g, key)
    assert got == [(200, None)] * 8, got
    # Calls that no change touched cost no extra reads: a long run stays 200.
    got = codes(g, key, 12)
    assert got == [(200, None)] * 12, got


@case
def token_settings_apply_to_the_next_call_on_every_worker():
    s = setup()
    settings_apply_to_the_next_call(s["g"], s["pat"], "t-live")


@case
def token_settings_apply_to_the_next_call_with_speculative_start():
    port, stop = openai_mock.start(keys=["k-good"])
    g = Gateway(workers=2, env={"SPECULATIVE_AUTH": "true"}).start()
    try:
        pat = root_pat(g)
        set_option(g, pat, "ModelRatio", json.dumps({MODEL: 1, "other-model": 1}))
        add_channel(g, pat, "main", f"http://127.0.0.1:{port}", "k-good", MODEL + ",other-model")
        tid, key = add_token(g, pat, "t-warm", remain_quota=10_000_000)
        wait_routable(g, key, MODEL)
        time.sleep(0.6)
        settings_apply_to_the_next_call(g, pat, "t-spec")
    finally:
        g.stop()
        stop()


@case
def stop():
    if S:
        S["g"].stop()
        S["stop"]()


if __name__ == "__main__":
    main()
