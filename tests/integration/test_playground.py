#!/usr/bin/env python3
"""POST /pg/chat/completions, the console's playground (reference
controller/playground.go, router/relay-router.go /pg), against the real
gateway and the OpenAI mock upstream:

- a user signed in to the console (JWT access token, no API key) streams and
  non-streams through the relay; the user's quota drops by exactly the
  logged quota; the log row has token_name "playground-<group>" and
  token_id 0, and no token's money moves;
- the body's "group" is honoured when the user may use it (the user's own,
  UserUsableGroups, any GroupRatio group for admins), refused otherwise, and
  never reaches the upstream;
- refusals are OpenAI-shaped: no session, a bad or revoked session, a
  personal access token, a disabled user, too little quota, a model the
  group has no channel for.

usage: test_playground.py [BUILD_DIR]    (TEST_CASE=name runs one case)"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, case, request, wait_for  # noqa: E402
from relayfix import (add_channel, api, openai_mock, rcli, root_pat, root_uid,  # noqa: E402
                      run_cases, set_option_settled, shared_gateway_case, sql, sse_events,
                      user_quota)

S = {}
GROUPS = {"default": 1, "vip": 1, "secret": 1}


def setup():
    if S:
        return S
    port, stop = openai_mock.start(keys=["k-good"])
    g = Gateway(workers=2).start()
    pat = root_pat(g)
    set_option_settled(g, pat, "ModelRatio",
                       json.dumps({"gpt-4o": 1, "vip-model": 1, "secret-model": 1}))
    set_option_settled(g, pat, "CompletionRatio",
                       json.dumps({"gpt-4o": 1, "vip-model": 1, "secret-model": 1}))
    set_option_settled(g, pat, "GroupRatio", json.dumps(GROUPS))
    base = f"http://127.0.0.1:{port}"
    add_channel(g, pat, "pg-default", base, "k-good", "gpt-4o")
    add_channel(g, pat, "pg-vip", base, "k-good", "vip-model", extra={"group": "vip"})
    add_channel(g, pat, "pg-secret", base, "k-good", "secret-model", extra={"group": "secret"})
    S.update(g=g, pat=pat, port=port, stops=[stop], base=base)
    S["uid"], S["jwt"] = new_user(g, pat, "player", quota=5_000_000)
    S["root_jwt"] = login(g, "root", "rootpass1")
    time.sleep(0.6)  # the channels reach every worker through the config version
    return S


def login(g, user, pw):
    st, _, b = request("POST", g.port, "/api/user/login", body={"username": user, "password": pw})
    j = json.loads(b)
    assert st == 200 and j["success"], j
    return j["data"]["access_token"]


def new_user(g, pat, name, quota):
    st, j = api(g, "POST", "/api/user/", token=pat,
                body={"username": name, "password": "password1", "display_name": name})
    assert j["success"], j
    uid = sql(g, "SELECT id FROM users WHERE username = ?", name)[0][0]
    st, j = api(g, "PUT", "/api/user/", token=pat, body={"id": uid, "quota": quota})
    assert j["success"], j
    return uid, login(g, name, "password1")


def pg(g, jwt, body, headers=None):
    h = {"Authorization": "Bearer " + jwt} if jwt else {}
    h.update(headers or {})
    return request("POST", g.port, "/pg/chat/completions", body=body, headers=h, timeout=30)


def ask(model="gpt-4o", stream=False, **extra):
    body = {"model": model, "stream": stream,
            "messages": [{"role": "user", "content": "say something nice"}]}
    if stream:
        body["stream_options"] = {"include_usage": True}
    body.update(extra)
    return body


def openai_error(st, b, status, code):
    """b is an OpenAI error object with that status and code; its message."""
    j = json.loads(b)
    assert st == status and isinstance(j.get("error"), dict), (st, b)
    assert j["error"].get("code") == code, (code, j)
    assert isinstance(j["error"].get("message"), str) and j["error"]["message"], j
    return j["error"]["message"]


def reserved(g, uid):
    return int(rcli(g, "HGET", f"tf:{{s{uid % 16}}}:u:{uid}", "reserved") or 0)


def settled_quota(g, uid):
    wait_for(lambda: reserved(g, uid) == 0, 15, 0.05, what="the settlement")
    return user_quota(g, uid)


def log_row(g, rid):
    rows = wait_for(lambda: sql(g, "SELECT quota, token_name, token_id, user_id, model_name, "
                                   "`group`, type FROM logs WHERE request_id = ?", rid),
                    15, 0.1, what=f"the log row of {rid}")
    assert len(rows) == 1, rows
    return dict(zip(("quota", "token_name", "token_id", "user_id", "model", "group", "type"),
                    rows[0]))


def mock_requests():
    return json.loads(request("GET", S["port"], "/__mock/requests")[2])


def clear_mock():
    request("DELETE", S["port"], "/__mock/requests")


@case
def signed_in_user_chats_and_pays_exactly_the_logged_quota():
    s = setup()
    g, uid = s["g"], s["uid"]
    tokens_before = sql(g, "SELECT id, remain_quota, used_quota FROM tokens ORDER BY id")
    for stream in (False, True):
        q0 = settled_quota(g, uid)
        st, h, b = pg(g, s["jwt"], ask(stream=stream))
        assert st == 200, (st, b)
        if stream:
            ev = sse_events(b)
            assert ev[-1][1] == "[DONE]", ev[-3:]
            chunks = [json.loads(d) for _, d in ev[:-1]]
            text = "".join(c["choices"][0]["delta"].get("content") or ""
                           for c in chunks if c.get("choices"))
            assert text and any(c.get("usage") for c in chunks), chunks
        else:
            j = json.loads(b)
            assert j["choices"][0]["message"]["content"] and j["usage"]["total_tokens"] > 0, j
        q1 = settled_quota(g, uid)
        row = log_row(g, h["x-oneapi-request-id"])
        assert row["quota"] > 0 and q0 - q1 == row["quota"], (stream, q0, q1, row)
        assert row == dict(row, token_name="playground-default", token_id=0, user_id=uid,
                           model="gpt-4o", group="default", type=2), row
    # No token's money moved, and no token hash was made for "token 0".
    assert sql(g, "SELECT id, remain_quota, used_quota FROM tokens ORDER BY id") == tokens_before
    assert rcli(g, "EXISTS", f"tf:{{s{uid % 16}}}:t:0") == "0"
    # The user's SQL row follows the ledger: quota + used stay what was granted.
    wait_for(lambda: sql(g, "SELECT quota + used_quota FROM users WHERE id = ?", uid)[0][0]
             == 5_000_000, 15, 0.1, what="the persister")


@case
def the_body_group_is_honoured_when_usable_and_never_sent_upstream():
    s = setup()
    g, uid = s["g"], s["uid"]
    clear_mock()
    q0 = settled_quota(g, uid)
    st, h, b = pg(g, s["jwt"], ask("vip-model", group="vip"))  # UserUsableGroups has vip
    assert st == 200, (st, b)
    row = log_row(g, h["x-oneapi-request-id"])
    assert (row["token_name"], row["group"]) == ("playground-vip", "vip"), row
    assert q0 - settled_quota(g, uid) == row["quota"] > 0
    sent = [r["json"] for r in mock_requests() if r["path"].endswith("/chat/completions")]
    assert len(sent) == 1 and "group" not in sent[0] and sent[0]["model"] == "vip-model", sent
    # The user's own group named explicitly is the same call.
    st, _, b = pg(g, s["jwt"], ask(group="default"))
    assert st == 200, b


@case
def a_common_user_cannot_use_another_group():
    s = setup()
    g, uid = s["g"], s["uid"]
    q0 = settled_quota(g, uid)
    n0 = sql(g, "SELECT COUNT(*) FROM logs WHERE user_id = ?", uid)[0][0]
    clear_mock()
    st, _, b = pg(g, s["jwt"], ask("secret-model", group="secret"))
    openai_error(st, b, 403, "group_access_denied")
    st, _, b = pg(g, s["jwt"], ask("gpt-4o", group="no-such-group"))
    openai_error(st, b, 403, "group_access_denied")
    st, _, b = pg(g, s["jwt"], ask("gpt-4o", group=7))
    openai_error(st, b, 400, "invalid_request")
    assert mock_requests() == [] and user_quota(g, uid) == q0
    time.sleep(0.5)
    assert sql(g, "SELECT COUNT(*) FROM logs WHERE user_id = ?", uid)[0][0] == n0
    # An admin may use any group of GroupRatio (the reference's role-usable groups).
    st, h, b = pg(g, s["root_jwt"], ask("secret-model", group="secret"))
    assert st == 200, (st, b)
    row = log_row(g, h["x-oneapi-request-id"])
    assert (row["token_name"], row["user_id"]) == ("playground-secret", root_uid(g)), row


@case
def a_model_outside_the_group_is_refused():
    s = setup()
    g = s["g"]
    clear_mock()
    st, _, b = pg(g, s["jwt"], ask("vip-model"))  # the user's group (default) has no channel
    msg = openai_error(st, b, 503, "model_not_found")
    assert "vip-model" in msg and "default" in msg, msg
    st, _, b = pg(g, s["jwt"], ask("secret-model", stream=True))
    openai_error(st, b, 503, "model_not_found")
    assert mock_requests() == []


@case
def sessions_only_and_refusals_in_openai_shape():
    s = setup()
    g = s["g"]
    clear_mock()
    st, _, b = pg(g, None, ask())
    openai_error(st, b, 401, "AUTH_UNAUTHORIZED")
    st, _, b = pg(g, "not.a.jwt", ask())
    openai_error(st, b, 401, "AUTH_UNAUTHORIZED")
    # An API key is not a console session.
    st, _, b = pg(g, "sk-" + "a" * 48, ask())
    assert st == 401, (st, b)
    # A personal access token is refused, as the reference's playground does.
    st, j = api(g, "GET", "/api/user/token", token=s["jwt"])
    assert j["success"], j
    st, _, b = pg(g, j["data"], ask())
    openai_error(st, b, 403, "access_denied")
    # New-Api-User must be the signed-in user.
    st, _, b = pg(g, s["jwt"], ask(), headers={"New-Api-User": str(s["uid"] + 1000)})
    openai_error(st, b, 401, "AUTH_UNAUTHORIZED")
    st, _, b = pg(g, s["jwt"], ask(), headers={"New-Api-User": str(s["uid"])})
    assert st == 200, b
    # A revoked session (signed out from another one).
    uid, jwt = new_user(g, s["pat"], "leaver", quota=1_000_000)
    st, _, b = pg(g, jwt, ask())
    assert st == 200, b
    other = login(g, "leaver", "password1")  # a second session revokes the first
    st, j = api(g, "POST", "/api/user/sessions/revoke-others", token=other)
    assert j["success"], j
    st, _, b = pg(g, jwt, ask())
    openai_error(st, b, 401, "AUTH_SESSION_REVOKED")
    # Bad bodies: the relay's own 400s.
    st, _, b = pg(g, s["jwt"], "{not json")
    assert st == 400 and "error" in json.loads(b), b
    assert len(mock_requests()) == 2  # only the two calls that were let through


@case
def a_disabled_user_or_one_without_quota_is_refused():
    s = setup()
    g, pat = s["g"], s["pat"]
    clear_mock()
    uid, jwt = new_user(g, pat, "broke", quota=0)
    st, _, b = pg(g, jwt, ask())
    openai_error(st, b, 403, "insufficient_user_quota")
    st, _, b = pg(g, jwt, ask(stream=True))
    openai_error(st, b, 403, "insufficient_user_quota")
    assert user_quota(g, uid) == 0 and reserved(g, uid) == 0
    # Enough for one call's reservation only after a top-up.
    st, j = api(g, "PUT", "/api/user/", token=pat, body={"id": uid, "quota": 100000})
    assert j["success"], j
    st, _, b = pg(g, jwt, ask())
    assert st == 200, b
    uid2, jwt2 = new_user(g, pat, "banned", quota=1_000_000)
    st, j = api(g, "POST", "/api/user/manage", token=pat, body={"id": uid2, "action": "disable"})
    assert j["success"], j
    st, _, b = pg(g, jwt2, ask())
    openai_error(st, b, 403, "AUTH_USER_DISABLED")
    assert user_quota(g, uid2) == 1_000_000
    assert len(mock_requests()) == 1


shared_gateway_case(S, setup)

if __name__ == "__main__":
    run_cases(S)
