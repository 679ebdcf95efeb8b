#!/usr/bin/env python3
"""/api/channel/fetch_models (reference controller/channel.go FetchModels and
FetchUpstreamModels) against the real gateway and the mock upstreams:

- POST {base_url, type, key} lists an unsaved channel's models in each list
  shape our adapters speak: OpenAI /v1/models (data[].id, Bearer), Anthropic
  (x-api-key, anthropic-version), Gemini (models[].name without "models/",
  x-goog-api-key); GET /:id lists a saved channel's with its own key;
- admins only; the destination policy of relayed calls applies: an admin
  below root may not reach a private address, nobody reaches the cloud
  metadata address (no socket is even made);
- unreachable, non-2xx and non-list answers are success:false with a clear
  message that never holds the key.

usage: test_api_fetch_models.py [BUILD_DIR]    (TEST_CASE=name runs one case)"""
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, case, free_port, request  # noqa: E402
from relayfix import add_channel, api, openai_mock, root_pat, run_cases  # noqa: E402
from relayfix import shared_gateway_case  # noqa: E402
import anthropic_mock  # noqa: E402
import gemini_mock  # noqa: E402

S = {}
ADMIN_PAT = "fmadmin" + "a" * 25
USER_PAT = "fmuser" + "b" * 26
OPENAI_MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-3.5-turbo-instruct", "text-embedding-3-small",
                 "omni-moderation-latest"]


def setup():
    if S:
        return S
    oport, ostop = openai_mock.start(keys=["k-good"])
    aport, astop = anthropic_mock.start(keys=["ak1"])
    gport, gstop = gemini_mock.start(keys=["gk1"])
    g = Gateway(workers=1).start()  # one worker: its counters are the whole gateway's
    pat = root_pat(g)
    c = sqlite3.connect(os.path.join(g.data_dir, "token-factory.db"), timeout=30)
    for name, role, p in (("fmadmin", 10, ADMIN_PAT), ("fmuser", 1, USER_PAT)):
        c.execute("INSERT INTO users (username, password, display_name, role, status, "
                  "access_token, `group`, quota) VALUES (?, 'x', ?, ?, 1, ?, 'default', 0)",
                  (name, name, role, p))
    c.commit()
    c.close()
    S.update(g=g, pat=pat, stops=[ostop, astop, gstop], oport=oport, aport=aport, gport=gport,
             obase=f"http://127.0.0.1:{oport}")
    S["cid"] = add_channel(g, pat, "listed", S["obase"], "k-good", "gpt-4o")
    S["odd"] = add_channel(g, pat, "gemini-as-openai", f"http://127.0.0.1:{gport}", "gk1",
                           "gemini-2.5-flash",
                           extra={"header_override": json.dumps({"x-goog-api-key": "gk1"})})
    time.sleep(0.6)  # the worker's routing table follows the config version (250 ms)
    return S


def fetch(token, body):
    st, j = api(S["g"], "POST", "/api/channel/fetch_models", token=token, body=body)
    assert st == 200, (st, j)
    return j


def failed(j, *has):
    assert j["success"] is False and j["message"].startswith("获取模型列表失败"), j
    for h in has:
        assert h in j["message"], (h, j)
    return j["message"]


def mock_requests(port):
    return json.loads(request("GET", port, "/__mock/requests")[2])


def clear(port):
    request("DELETE", port, "/__mock/requests")


def header(rec, name):
    return [v for k, v in rec["headers"] if k.lower() == name.lower()]


@case
def lists_models_in_each_wire_shape():
    s = setup()
    clear(s["oport"])
    j = fetch(s["pat"], {"base_url": s["obase"] + "/", "type": 1, "key": " k-good \nk-second"})
    assert j["success"] and j["data"] == OPENAI_MODELS, j
    got = mock_requests(s["oport"])
    assert [(r["method"], r["path"]) for r in got] == [("GET", "/v1/models")], got
    assert header(got[0], "Authorization") == ["Bearer k-good"], got[0]  # the first line only
    clear(s["aport"])
    j = fetch(s["pat"], {"base_url": f"http://127.0.0.1:{s['aport']}", "type": 14, "key": "ak1"})
    assert j["success"] and j["data"] == list(anthropic_mock.MODELS), j
    a = mock_requests(s["aport"])
    assert a[0]["path"] == "/v1/models?limit=1000", a
    assert header(a[0], "x-api-key") == ["ak1"] and header(a[0], "anthropic-version"), a
    clear(s["gport"])
    j = fetch(s["pat"], {"base_url": f"http://127.0.0.1:{s['gport']}", "type": 24, "key": "gk1"})
    assert j["success"] and j["data"] == list(gemini_mock.MODELS), j
    gm = mock_requests(s["gport"])
    assert gm[0]["path"] == "/v1beta/models" and header(gm[0], "x-goog-api-key") == ["gk1"], gm
    assert "gk1" not in gm[0]["path"]


@case
def a_saved_channel_is_listed_with_its_own_key():
    s = setup()
    clear(s["oport"])
    st, j = api(s["g"], "GET", f"/api/channel/fetch_models/{s['cid']}", token=ADMIN_PAT)
    assert st == 200 and j["success"] and j["data"] == OPENAI_MODELS, j
    got = mock_requests(s["oport"])
    assert header(got[0], "Authorization") == ["Bearer k-good"], got
    st, j = api(s["g"], "GET", "/api/channel/fetch_models/999999", token=ADMIN_PAT)
    failed(j, "channel not found")
    st, j = api(s["g"], "GET", "/api/channel/fetch_models/abc", token=ADMIN_PAT)
    assert j["success"] is False, j


@case
def admins_only_and_the_destination_policy_applies():
    s = setup()
    g = s["g"]
    st, j = api(g, "POST", "/api/channel/fetch_models", token=USER_PAT,
                body={"base_url": s["obase"], "type": 1, "key": "k-good"})
    assert st == 403 and j["code"] == "AUTH_INSUFFICIENT_PRIVILEGE", (st, j)
    st, j = api(g, "GET", f"/api/channel/fetch_models/{s['cid']}", token=USER_PAT)
    assert st == 403, (st, j)
    st, j = api(g, "POST", "/api/channel/fetch_models", body={"type": 1})
    assert st == 401, (st, j)
    clear(s["oport"])
    # An admin below root may not point the gateway at a private address...
    st0 = g.stats()
    msg = failed(fetch(ADMIN_PAT, {"base_url": s["obase"], "type": 1, "key": "k-good"}),
                 "destination")
    assert str(s["oport"]) not in msg, msg
    assert mock_requests(s["oport"]) == []
    st1 = g.stats()
    assert st1["upstream_connects"] == st0["upstream_connects"], (st0, st1)
    assert st1["dest_refused"] >= st0["dest_refused"] + 1, (st0, st1)
    # ...and nobody at the cloud metadata address (no socket is made).
    for who in (s["pat"], ADMIN_PAT):
        st0 = g.stats()
        failed(fetch(who, {"base_url": "http://169.254.169.254", "type": 1, "key": "k"}),
               "destination")
        st1 = g.stats()
        assert st1["upstream_connects"] == st0["upstream_connects"], (st0, st1)
    # A saved root channel keeps root's approval for an admin's fetch.
    st, j = api(g, "GET", f"/api/channel/fetch_models/{s['cid']}", token=ADMIN_PAT)
    assert j["success"], j


@case
def failures_are_clear_and_never_show_the_key():
    s = setup()
    dead = free_port()
    failed(fetch(s["pat"], {"base_url": f"http://127.0.0.1:{dead}", "type": 1, "key": "k-good"}),
           "unreachable")
    secret = "k-wrong-0123456789"
    msg = failed(fetch(s["pat"], {"base_url": s["obase"], "type": 1, "key": secret}), "HTTP 401")
    assert secret not in msg, msg
    # A 200 that is not a model list: the Gemini mock's answer read as OpenAI's
    # (a saved channel: its header_override carries Gemini's key header).
    st, j = api(s["g"], "GET", f"/api/channel/fetch_models/{s['odd']}", token=s["pat"])
    failed(j, "not a model list")
    failed(fetch(s["pat"], {"base_url": s["obase"] + "/nothing-here", "type": 1,
                            "key": "k-good"}), "HTTP 404")
    # Bad input.
    for body in ({"type": "x"}, {"type": 1, "key": 5}, {"type": 1, "base_url": ["x"]},
                 {"type": 1, "channel_id": 3}, {"type": 8, "key": "k"}):
        j = fetch(s["pat"], body)
        assert j["success"] is False and j["message"], (body, j)
    st, _, b = request("POST", s["g"].port, "/api/channel/fetch_models", body="{not json",
                       headers={"Authorization": "Bearer " + s["pat"]})
    assert json.loads(b)["success"] is False, b


shared_gateway_case(S, setup)

if __name__ == "__main__":
    run_cases(S)
