#!/usr/bin/env python3
"""The official `openai` npm SDK, unchanged, against the gateway: chat,
streaming (with and without usage), tool calls streamed and not,
completions, embeddings, models and an invalid key. Checks what the SDK
got, what the upstream received and what was billed."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, Gateway, case, main, request  # noqa: E402
from relayfix import (add_channel, add_token, openai_mock, root_pat, set_option, sql,  # noqa: E402
                      user_quota, wait_routable)

COMPAT = os.path.join(ROOT, "tests", "compat")
MODEL = "gpt-4o-mini"
S = {}


def ensure_sdk():
    if not os.path.isdir(os.path.join(COMPAT, "node_modules", "openai")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=COMPAT,
                       check=True, timeout=600)


def setup():
    if S:
        return S
    ensure_sdk()
    port, stop = openai_mock.start(keys=["k-sdk"])
    g = Gateway(workers=2).start()
    pat = root_pat(g)
    set_option(g, pat, "ModelRatio", json.dumps({MODEL: 1}))
    set_option(g, pat, "CompletionRatio", json.dumps({MODEL: 2}))
    add_channel(g, pat, "sdk", f"http://127.0.0.1:{port}", "k-sdk", MODEL)
    tid, key = add_token(g, pat, "t-sdk")
    wait_routable(g, key, MODEL)
    time.sleep(0.6)
    S.update(g=g, port=port, stop=stop, key=key)
    return S


def sdk(scenario):
    s = setup()
    env = dict(os.environ, GW_BASE_URL=f"http://127.0.0.1:{s['g'].port}/v1", GW_API_KEY=s["key"],
               GW_MODEL=MODEL)
    p = subprocess.run(["node", os.path.join(COMPAT, "openai_sdk.mjs"), scenario], env=env,
                       text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert "thrown" not in out, out
    return out


def upstream_requests():
    st, _, b = request("GET", S["port"], "/__mock/requests")
    return json.loads(b)


@case
def sdk_chat():
    g = setup()["g"]
    q0 = user_quota(g, 1)
    out = sdk("chat")
    assert out["content"] == "Mock reply to: Say hello", out
    u = out["usage"]
    assert user_quota(g, 1) == q0 - (u["prompt_tokens"] + 2 * u["completion_tokens"])
    last = upstream_requests()[-1]
    assert dict((k.lower(), v) for k, v in last["headers"])["authorization"] == "Bearer k-sdk"


@case
def sdk_streaming():
    out = sdk("stream")
    assert out["content"] == "Mock reply to: Count please" and out["usage"] is None, out
    assert out["chunks"] >= 3
    out = sdk("stream_usage")
    assert out["content"] == "Mock reply to: Count please" and out["usage"]["prompt_tokens"] == 3


@case
def sdk_tool_calls():
    out = sdk("tools")
    tc = out["tool_calls"][0]
    assert tc["function"]["name"] == "get_weather"
    assert json.loads(tc["function"]["arguments"]) == {"input": "weather in Paris? use tools"}
    assert out["streamed"]["name"] == "get_weather"
    assert json.loads(out["streamed"]["args"]) == {"input": "weather in Paris? use tools"}


@case
def sdk_completions_embeddings_models():
    out = sdk("completions")
    assert out["text"] == "Mock reply to: Once upon a time" and out["usage"]["prompt_tokens"] == 4
    out = sdk("embeddings")
    assert out["dims"] == 8 and out["usage"]["prompt_tokens"] == 2
    out = sdk("models")
    assert MODEL in out["ids"]
    g = S["g"]
    logs = sql(g, "SELECT COUNT(*) FROM logs WHERE type = 2")
    assert logs is not None


@case
def sdk_sees_errors_as_openai_errors():
    out = sdk("bad_key")
    assert out["status"] == 401 and "request id" in out["message"], out


@case
def shared_gateway_stops_cleanly():
    s = setup()
    s["g"].stop()
    s["stop"]()
    S.clear()


if __name__ == "__main__":
    try:
        main()
    finally:
        if S:
            S["g"].kill()
            S["stop"]()
