#!/usr/bin/env python3
"""The OpenAI Responses API through the gateway (issue 11), end to end against
the mock upstream (tests/mock-upstream/openai_mock.py + openai_responses.py):
- a Responses client on an OpenAI channel: the same-format fast path, JSON and
  stream (the official `openai` SDK's responses.stream().finalResponse());
- a Responses client on a chat-only channel (type 43, DeepSeek): converted to
  chat completions and back, stream and not; what only a Responses upstream can
  do (previous_response_id, built-in tools) refused with a 400 before anything
  goes upstream;
- a chat client on an OpenAI channel under
  global.chat_completions_to_responses_policy, and a Responses client under
  global.responses_to_chat_completions_policy; bad policies refused by the
  option API;
- GET / DELETE / cancel / input_items of /v1/responses/{id} reaching the
  channel that served the response, free, and only for the user who made it;
- exact billing from the upstream's usage: ModelRatio 1, CompletionRatio 2."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, Gateway, case, request, wait_for  # noqa: E402
from relayfix import (add_channel, add_token, api, openai_mock, rcli, root_pat,  # noqa: E402
                      run_cases, set_option, shared_gateway_case, sql, sse_events, user_quota,
                      wait_routable)
import anthropic_mock  # noqa: E402  (relayfix put tests/mock-upstream on the path)
import gemini_mock  # noqa: E402

COMPAT = os.path.join(ROOT, "tests", "compat")
MODELS = ["gpt-r", "gpt-rb", "ds-r", "gpt-pol", "gpt-r2c", "gpt-fail", "gpt-429", "ds-429",
          "gpt-failpol", "claude-r", "gemini-r", "long-r", "long-ds"]
S = {}


class StateB(openai_mock.MockState):
    """Mock B's ids start elsewhere: both mocks number their responses."""

    def __init__(self, keys):
        super().__init__(keys)
        self.counter = 500000


def setup():
    if S:
        return S
    pa, stop_a = openai_mock.start(keys=["k-a"])
    pb, stop_b = openai_mock.start(keys=["k-b"], state=StateB)
    pan, stop_an = anthropic_mock.start(keys=["k-an"])
    pge, stop_ge = gemini_mock.start(keys=["k-ge"])
    g = Gateway(workers=2).start()
    pat = root_pat(g)
    set_option(g, pat, "ModelRatio", json.dumps({m: 1 for m in MODELS}))
    set_option(g, pat, "CompletionRatio", json.dumps({m: 1 if m.startswith("long") else 2
                                                      for m in MODELS}))
    a = add_channel(g, pat, "oa-a", f"http://127.0.0.1:{pa}", "k-a", "gpt-r,gpt-pol,gpt-r2c")
    b = add_channel(g, pat, "oa-b", f"http://127.0.0.1:{pb}", "k-b", "gpt-rb")
    d = add_channel(g, pat, "ds", f"http://127.0.0.1:{pb}", "k-b", "ds-r", type_=43)
    # mock behaviours through model_mapping (tests/mock-upstream/README.md)
    add_channel(g, pat, "oa-faults", f"http://127.0.0.1:{pa}", "k-a", "gpt-fail,gpt-429,gpt-failpol",
                extra={"model_mapping": json.dumps({"gpt-fail": "gpt-fail@fail-mid",
                                                    "gpt-429": "gpt-429@429",
                                                    "gpt-failpol": "gpt-failpol@fail-mid"})})
    add_channel(g, pat, "ds-faults", f"http://127.0.0.1:{pb}", "k-b", "ds-429", type_=43,
                extra={"model_mapping": json.dumps({"ds-429": "ds-429@429"})})
    add_channel(g, pat, "long-r", f"http://127.0.0.1:{pa}", "k-a", "long-r",
                extra={"model_mapping": json.dumps({"long-r": "long@long-1000"})})
    add_channel(g, pat, "long-ds", f"http://127.0.0.1:{pb}", "k-b", "long-ds", type_=43,
                extra={"model_mapping": json.dumps({"long-ds": "long@long-3000"})})
    add_channel(g, pat, "an", f"http://127.0.0.1:{pan}", "k-an", "claude-r", type_=14)
    add_channel(g, pat, "ge", f"http://127.0.0.1:{pge}", "k-ge", "gemini-r", type_=24)
    tid, key = add_token(g, pat, "t-resp")
    for m in MODELS:
        wait_routable(g, key, m)
    time.sleep(0.6)
    S.update(g=g, pat=pat, pa=pa, pb=pb, pan=pan, pge=pge, stops=[stop_a, stop_b, stop_an, stop_ge],
             key=key, a=a, b=b, d=d)
    return S


def hdr(key):
    return {"Authorization": "Bearer " + key}


def post(path, body, key=None):
    st, h, b = request("POST", S["g"].port, path, body=body, headers=hdr(key or S["key"]),
                       timeout=30)
    return st, h, b


def recorded(port):
    st, _, b = request("GET", port, "/__mock/requests")
    return json.loads(b)


def forget(*ports):
    for p in ports:
        request("DELETE", p, "/__mock/requests")


def sse(body):
    """[(event, data)] of an SSE body; data parsed when JSON."""
    out = []
    for ev, d in sse_events(body):
        try:
            d = json.loads(d)
        except ValueError:
            pass
        out.append((ev, d))
    return out


def quota_settles(q0, want, timeout=10):
    """The user's quota has moved by exactly want (settle runs after the answer)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if q0 - user_quota(S["g"], 1) == want:
            return
        time.sleep(0.05)
    raise AssertionError(f"billed {q0 - user_quota(S['g'], 1)}, expected {want}")


def bill(u):
    return u["input_tokens"] + 2 * u["output_tokens"]


def ensure_sdk():
    if not os.path.isdir(os.path.join(COMPAT, "node_modules", "openai")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=COMPAT,
                       check=True, timeout=600)


def sdk(scenario, model):
    ensure_sdk()
    env = dict(os.environ, GW_BASE_URL=f"http://127.0.0.1:{S['g'].port}/v1",
               GW_API_KEY=S["key"], GW_MODEL=model)
    p = subprocess.run(["node", os.path.join(COMPAT, "openai_sdk.mjs"), scenario], env=env,
                       text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert "thrown" not in out, out
    return out


# ---- Responses client, OpenAI channel: the fast path --------------------------------

@case
def responses_on_openai_channel_is_the_fast_path():
    setup()
    forget(S["pa"])
    q0 = user_quota(S["g"], 1)
    st, _, b = post("/v1/responses", {"model": "gpt-r", "instructions": "be brief",
                                      "input": "Say hello", "x_vendor_field": {"keep": True}})
    assert st == 200, b
    j = json.loads(b)
    assert j["object"] == "response" and j["id"].startswith("resp_"), j
    text = j["output"][-1]["content"][0]["text"]
    assert text == "Mock reply to: Say hello", j
    up = [r for r in recorded(S["pa"]) if r["method"] == "POST"]
    assert [r["path"] for r in up] == ["/v1/responses"], up
    # the client's body as sent: unknown fields kept, nothing converted
    assert up[0]["json"]["x_vendor_field"] == {"keep": True}, up[0]["json"]
    assert up[0]["json"]["instructions"] == "be brief" and up[0]["json"]["input"] == "Say hello"
    quota_settles(q0, bill(j["usage"]))


@case
def responses_stream_on_openai_channel_with_the_sdk():
    setup()
    q0 = user_quota(S["g"], 1)
    out = sdk("responses_stream", "gpt-r")
    assert out["types"][0] == "response.created" and out["types"][-1] == "response.completed", out
    assert out["seq"] == list(range(len(out["seq"]))), out["seq"]
    assert out["text"] == "Mock reply to: Count please" == out["final_text"], out
    assert out["helper"]["text"] == "Mock reply to: Count please", out
    # two streamed calls (the raw one and the helper's), each billed from its usage
    quota_settles(q0, bill(out["usage"]) + bill(out["helper"]["usage"]))


# ---- Responses client, chat-only channel: converted ---------------------------------

@case
def responses_on_a_chat_only_channel_is_converted():
    setup()
    forget(S["pb"])
    q0 = user_quota(S["g"], 1)
    st, _, b = post("/v1/responses", {"model": "ds-r", "instructions": "be brief",
                                      "input": [{"role": "user", "content": [
                                          {"type": "input_text", "text": "Say hello"}]}],
                                      "max_output_tokens": 50})
    assert st == 200, b
    j = json.loads(b)
    assert j["object"] == "response" and j["status"] == "completed", j
    msg = [o for o in j["output"] if o["type"] == "message"][0]
    assert msg["content"][0]["text"] == "Mock reply to: Say hello", j
    up = recorded(S["pb"])
    assert [r["path"] for r in up] == ["/v1/chat/completions"], up
    sent = up[0]["json"]
    assert sent["messages"] == [{"role": "system", "content": "be brief"},
                                {"role": "user", "content": "Say hello"}], sent
    assert sent["max_tokens"] == 50 and sent["model"] == "ds-r", sent
    u = j["usage"]
    assert u["input_tokens"] > 0 and u["output_tokens"] > 0, u
    quota_settles(q0, bill(u))


@case
def responses_stream_on_a_chat_only_channel_with_the_sdk():
    setup()
    forget(S["pb"])
    q0 = user_quota(S["g"], 1)
    out = sdk("responses_stream", "ds-r")
    assert out["types"][0] == "response.created" and out["types"][-1] == "response.completed", out
    assert out["seq"] == list(range(len(out["seq"]))), out["seq"]
    assert out["text"] == "Mock reply to: Count please" == out["final_text"], out
    assert out["helper"]["text"] == "Mock reply to: Count please", out
    assert out["helper"]["status"] == "completed"
    assert {r["path"] for r in recorded(S["pb"])} == {"/v1/chat/completions"}
    quota_settles(q0, bill(out["usage"]) + bill(out["helper"]["usage"]))


@case
def responses_on_claude_and_gemini_channels_are_converted():
    setup()
    forget(S["pan"], S["pge"])
    for model, port, route in (("claude-r", S["pan"], "/v1/messages"),
                               ("gemini-r", S["pge"], "/v1beta/models/gemini-r:generateContent")):
        q0 = user_quota(S["g"], 1)
        st, _, b = post("/v1/responses", {"model": model, "instructions": "be brief",
                                          "input": "Say hello", "max_output_tokens": 64})
        assert st == 200, (model, b)
        j = json.loads(b)
        msg = [o for o in j["output"] if o["type"] == "message"][0]
        assert msg["content"][0]["text"] == "Mock reply to: Say hello", j
        up = recorded(port)
        assert [r["path"].split("?")[0] for r in up] == [route], up
        quota_settles(q0, bill(j["usage"]))
        out = sdk("responses_stream", model)
        assert out["types"][0] == "response.created" and out["types"][-1] == "response.completed"
        assert out["seq"] == list(range(len(out["seq"]))), out["seq"]
        assert out["text"] == "Mock reply to: Count please" == out["helper"]["text"], out
        forget(port)


@case
def responses_tools_on_a_chat_only_channel_with_the_sdk():
    setup()
    out = sdk("responses_tools", "ds-r")
    assert out["call"]["type"] == "function_call" and out["call"]["name"] == "get_weather", out
    assert out["call"]["call_id"], out
    assert out["streamed"]["name"] == "get_weather" and json.loads(out["streamed"]["args"]), out
    assert "sunny" in out["answer"], out


@case
def what_a_chat_channel_cannot_do_is_refused_before_the_upstream():
    setup()
    forget(S["pb"])
    q0 = user_quota(S["g"], 1)
    for body, word in [({"model": "ds-r", "input": "and then?", "previous_response_id": "resp_x"},
                        "previous_response_id"),
                       ({"model": "ds-r", "input": "news", "tools": [{"type": "web_search"}]},
                        "web_search")]:
        st, _, b = post("/v1/responses", body)
        assert st == 400, (st, b)
        e = json.loads(b)["error"]
        assert word in e["message"] and e["type"] == "invalid_request_error", e
    assert recorded(S["pb"]) == []
    time.sleep(0.3)
    assert user_quota(S["g"], 1) == q0


@case
def upstream_errors_reach_a_responses_client_in_its_shape():
    setup()
    q0 = user_quota(S["g"], 1)
    for model in ("gpt-429", "ds-429"):  # the fast path, and converted from chat
        st, h, b = post("/v1/responses", {"model": model, "input": "hi"})
        assert st == 429, (model, st, b)
        e = json.loads(b)["error"]
        assert e["message"] and e["type"], e
    time.sleep(0.3)
    assert user_quota(S["g"], 1) == q0  # every try failed: not billed


@case
def a_stream_that_fails_upstream_ends_in_the_clients_shape():
    setup()
    # the fast path: the upstream's own error events, forwarded
    st, _, b = post("/v1/responses", {"model": "gpt-fail", "input": "Say hello", "stream": True})
    assert st == 200, b
    evs = sse(b)
    assert evs[0][0] == "response.created" and evs[-1][0] == "response.failed", evs
    assert evs[-1][1]["response"]["error"]["message"] == "The model failed.", evs[-1]
    # a chat client whose call went upstream as Responses: an error chunk, then [DONE]
    set_option(S["g"], S["pat"], "global.chat_completions_to_responses_policy", json.dumps(
        {"enabled": True, "all_channels": True, "model_patterns": ["^gpt-failpol$"]}))
    time.sleep(0.6)
    st, _, b = post("/v1/chat/completions", {"model": "gpt-failpol", "stream": True,
                                             "messages": [{"role": "user", "content": "hi"}]})
    assert st == 200, b
    evs = sse(b)
    assert evs[-1][1] == "[DONE]", evs
    errs = [d["error"] for _, d in evs if isinstance(d, dict) and "error" in d]
    assert errs and errs[0]["message"].startswith("The model failed."), evs
    set_option(S["g"], S["pat"], "global.chat_completions_to_responses_policy",
               json.dumps({"enabled": False, "all_channels": True}))


@case
def a_spent_budget_cuts_a_responses_stream_with_error_and_response_failed():
    # PreConsumedQuota 0: the reservation is the prompt estimate + 1000; a
    # token of 1100 lets it grow by about 100 more. The upstream streams about
    # 1200 tokens of text: the stream is cut with an "error" event then
    # response.failed, and billed what was delivered (no upstream usage came:
    # 4 characters a token), never more than the budget.
    setup()
    g, pat = S["g"], S["pat"]
    set_option(g, pat, "PreConsumedQuota", "0")
    time.sleep(0.6)
    try:
        for model, route in (("long-r", "fast path"), ("long-ds", "converted")):
            tname = "t-cut-" + model
            tid, key = add_token(g, pat, tname, remain_quota=1100)
            st, _, b = post("/v1/responses", {"model": model, "input": "go", "stream": True,
                                              "max_output_tokens": 1000}, key=key)
            assert st == 200, (route, st, b[:300])
            evs = sse(b)
            assert evs[0][0] == "response.created", (route, evs[:2])
            assert [e for e, _ in evs[-2:]] == ["error", "response.failed"], (route, evs[-3:])
            err = evs[-2][1]
            assert err["code"] == "insufficient_user_quota" and "quota" in err["message"], err
            assert evs[-1][1]["response"]["status"] == "failed", evs[-1]
            text = "".join(d["delta"] for e, d in evs if e == "response.output_text.delta")
            assert 0 < text.count("w") < 1000, (route, text.count("w"))
            tkey = f"tf:{{s{1 % 16}}}:t:{tid}"
            wait_for(lambda: rcli(g, "HGET", tkey, "reserved") in ("0", ""), 15, 0.1,
                     what="settlement")
            row = wait_for(lambda: sql(g, "SELECT quota, prompt_tokens, completion_tokens FROM "
                                          "logs WHERE type = 2 AND token_name = ?", tname),
                           15, 0.1, what="the log row")[0]
            remain = int(rcli(g, "HGET", tkey, "remain_quota"))
            assert row[2] == (len(text) + 3) // 4, (route, row, len(text))
            # charged exactly what was delivered, and nothing is delivered past
            # the budget (no packet is fed while it could pass the reservation)
            delivered = row[1] + row[2]
            assert row[0] == delivered == 1100 - remain, (route, row, remain)
    finally:
        set_option(g, pat, "PreConsumedQuota", "500")


# ---- the two policies -----------------------------------------------------------------

@case
def bad_policies_are_refused_by_the_option_api():
    setup()
    for key in ("global.chat_completions_to_responses_policy",
                "global.responses_to_chat_completions_policy"):
        for bad in ("{not json", "[1]", json.dumps({"enabled": True, "model_patterns": ["gpt-(5"]}),
                    json.dumps({"enabled": "yes"})):
            st, j = api(S["g"], "PUT", "/api/option/", token=S["pat"],
                        body={"key": key, "value": bad})
            assert st == 400 or j.get("success") is False, (key, bad, st, j)


@case
def chat_client_goes_as_responses_under_the_policy():
    setup()
    set_option(S["g"], S["pat"], "global.chat_completions_to_responses_policy", json.dumps(
        {"enabled": True, "all_channels": False, "channel_ids": [S["a"]],
         "model_patterns": ["^gpt-pol$"]}))
    time.sleep(0.6)  # the workers' option snapshots
    forget(S["pa"])
    q0 = user_quota(S["g"], 1)
    st, _, b = post("/v1/chat/completions", {"model": "gpt-pol", "max_tokens": 40, "messages": [
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "Say hello"}]})
    assert st == 200, b
    j = json.loads(b)
    assert j["object"] == "chat.completion", j
    assert j["choices"][0]["message"]["content"] == "Mock reply to: Say hello", j
    up = recorded(S["pa"])
    assert [r["path"] for r in up] == ["/v1/responses"], up
    sent = up[0]["json"]
    assert sent["instructions"] == "be brief" and sent["max_output_tokens"] == 40, sent
    assert sent["input"] == [{"role": "user", "content": "Say hello"}], sent
    u = j["usage"]
    quota_settles(q0, u["prompt_tokens"] + 2 * u["completion_tokens"])
    # streamed: chat chunks and [DONE]
    q0 = user_quota(S["g"], 1)
    st, _, b = post("/v1/chat/completions", {"model": "gpt-pol", "stream": True,
                                             "stream_options": {"include_usage": True},
                                             "messages": [{"role": "user", "content": "Count please"}]})
    assert st == 200, b
    evs = sse(b)
    assert evs[-1][1] == "[DONE]", evs[-3:]
    text = "".join(d["choices"][0]["delta"].get("content") or "" for _, d in evs
                   if isinstance(d, dict) and d.get("choices"))
    assert text == "Mock reply to: Count please", evs
    usage = [d["usage"] for _, d in evs if isinstance(d, dict) and d.get("usage")][-1]
    quota_settles(q0, usage["prompt_tokens"] + 2 * usage["completion_tokens"])
    # a model the patterns do not name stays on chat completions
    forget(S["pa"])
    st, _, b = post("/v1/chat/completions", {"model": "gpt-r", "messages": [
        {"role": "user", "content": "hi"}]})
    assert st == 200 and [r["path"] for r in recorded(S["pa"])] == ["/v1/chat/completions"], b
    set_option(S["g"], S["pat"], "global.chat_completions_to_responses_policy",
               json.dumps({"enabled": False, "all_channels": True}))


@case
def responses_client_goes_as_chat_under_the_reverse_policy():
    setup()
    set_option(S["g"], S["pat"], "global.responses_to_chat_completions_policy", json.dumps(
        {"enabled": True, "all_channels": True, "model_patterns": ["^gpt-r2c$"]}))
    time.sleep(0.6)
    forget(S["pa"])
    st, _, b = post("/v1/responses", {"model": "gpt-r2c", "input": "Say hello"})
    assert st == 200, b
    j = json.loads(b)
    assert j["object"] == "response", j
    assert [r["path"] for r in recorded(S["pa"])] == ["/v1/chat/completions"]
    set_option(S["g"], S["pat"], "global.responses_to_chat_completions_policy",
               json.dumps({"enabled": False, "all_channels": True}))


# ---- /v1/responses/{id} -----------------------------------------------------------------

def op(method, path, key=None):
    st, _, b = request(method, S["g"].port, path, headers=hdr(key or S["key"]),
                       body=b"{}" if method == "POST" else None, timeout=30)
    return st, json.loads(b) if b else None


@case
def operations_reach_the_channel_that_served_the_response():
    setup()
    # one response from channel B (JSON), one from channel A (streamed)
    st, _, b = post("/v1/responses", {"model": "gpt-rb", "input": "Keep this"})
    assert st == 200, b
    rb = json.loads(b)
    st, _, b = post("/v1/responses", {"model": "gpt-r", "input": "Keep that", "stream": True})
    assert st == 200, b
    created = [d for e, d in sse(b) if e == "response.created"][0]["response"]
    forget(S["pa"], S["pb"])
    q0 = user_quota(S["g"], 1)

    st, got = op("GET", "/v1/responses/" + rb["id"])
    assert st == 200 and got["id"] == rb["id"] and got["output"] == rb["output"], got
    st, items = op("GET", f"/v1/responses/{rb['id']}/input_items?limit=5&order=asc")
    assert st == 200 and items["object"] == "list", items
    assert items["data"][0]["content"][0]["text"] == "Keep this", items
    st, got = op("GET", "/v1/responses/" + created["id"])
    assert st == 200 and got["id"] == created["id"], got
    # cancel of a response that is not background: the upstream's own 400, relayed
    st, e = op("POST", f"/v1/responses/{rb['id']}/cancel")
    assert st == 400 and "error" in e, (st, e)
    st, d = op("DELETE", "/v1/responses/" + rb["id"])
    assert st == 200 and d["deleted"] is True, d
    st, e = op("GET", "/v1/responses/" + rb["id"])
    assert st == 404 and "not found" in e["error"]["message"], e

    on_b = [(r["method"], r["path"]) for r in recorded(S["pb"])]
    on_a = [(r["method"], r["path"]) for r in recorded(S["pa"])]
    rid = rb["id"]
    assert on_b == [("GET", f"/v1/responses/{rid}"),
                    ("GET", f"/v1/responses/{rid}/input_items?limit=5&order=asc"),
                    ("POST", f"/v1/responses/{rid}/cancel"),
                    ("DELETE", f"/v1/responses/{rid}"),
                    ("GET", f"/v1/responses/{rid}")], on_b
    assert on_a == [("GET", f"/v1/responses/{created['id']}")], on_a
    hb = dict((k.lower(), v) for k, v in recorded(S["pb"])[0]["headers"])
    assert hb["authorization"] == "Bearer k-b", hb
    time.sleep(0.3)
    assert user_quota(S["g"], 1) == q0  # free


@case
def operations_refuse_unknown_ids_other_users_and_no_key():
    setup()
    st, _, b = post("/v1/responses", {"model": "gpt-rb", "input": "Mine"})
    rid = json.loads(b)["id"]
    forget(S["pb"])
    st, e = op("GET", "/v1/responses/resp_unknown123")
    assert st == 404 and e["error"]["type"] == "invalid_request_error", e
    assert "resp_unknown123" in e["error"]["message"], e
    # the record: channel B, user 1
    assert rcli(S["g"], "GET", "tf:resp:" + rid) == f"{S['b']}:1"
    # a token of user 1 that is not the same token still reaches it (the user's own)
    tid, key2 = add_token(S["g"], S["pat"], "t-resp-2")
    st, got = op("GET", "/v1/responses/" + rid, key=key2)
    assert st == 200 and got["id"] == rid, got
    # a response another user made: the same 404 as an unknown id, nothing upstream
    rcli(S["g"], "SET", "tf:resp:" + rid, f"{S['b']}:999")
    st, e = op("GET", "/v1/responses/" + rid)
    assert st == 404 and rid in e["error"]["message"], e
    st, _, b = request("GET", S["g"].port, "/v1/responses/" + rid)
    assert st == 401, b
    assert len([r for r in recorded(S["pb"]) if r["method"] == "GET"]) == 1
    # the TTL is the documented 30 days
    ttl = int(rcli(S["g"], "TTL", "tf:resp:" + json.loads(
        post("/v1/responses", {"model": "gpt-rb", "input": "ttl"})[2])["id"]))
    assert 30 * 86400 - 60 <= ttl <= 30 * 86400, ttl


@case
def sdk_operations_through_the_gateway():
    setup()
    out = sdk("responses_ops", "gpt-rb")
    assert out["same"] is True, out
    assert out["items"] and out["deleted"]["deleted"] is True and out["after"] == 404, out


shared_gateway_case(S, setup)

if __name__ == "__main__":
    run_cases(S)
