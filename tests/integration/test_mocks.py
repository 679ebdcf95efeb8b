#!/usr/bin/env python3
"""The mock upstreams speak their provider's real wire format: each official
SDK, pointed DIRECTLY at its mock (no gateway), parses every answer —
@anthropic-ai/sdk at anthropic_mock.py, @google/genai at gemini_mock.py,
openai (Responses API) at openai_mock.py — and each mock's own self-test
passes. Needs no gateway build (the build argument is ignored)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, case, main  # noqa: E402

MOCKS = os.path.join(ROOT, "tests", "mock-upstream")
COMPAT = os.path.join(ROOT, "tests", "compat")
sys.path.insert(0, MOCKS)
import anthropic_mock  # noqa: E402
import gemini_mock  # noqa: E402
import openai_mock  # noqa: E402


def ensure_sdks():
    nm = os.path.join(COMPAT, "node_modules")
    if not all(os.path.isdir(os.path.join(nm, p)) for p in ("openai", "@anthropic-ai/sdk", "@google/genai")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=COMPAT,
                       check=True, timeout=600)


def run(script, scenario, base, key, model, **env):
    ensure_sdks()
    e = dict(os.environ, GW_BASE_URL=base, GW_API_KEY=key, GW_MODEL=model, **env)
    p = subprocess.run(["node", os.path.join(COMPAT, script), scenario], env=e, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = json.loads(p.stdout.strip().splitlines()[-1])
    return out


def ok(script, scenario, base, key, model, **env):
    out = run(script, scenario, base, key, model, **env)
    assert "thrown" not in out, (scenario, out)
    return out


def recorded(port):
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/__mock/requests" % port, timeout=10) as r:
        return json.loads(r.read())


def hdr(rec, name):
    return next((v for k, v in rec["headers"] if k.lower() == name), None)


@case
def mock_selftests():
    for m in ("openai_mock.py", "anthropic_mock.py", "gemini_mock.py"):
        p = subprocess.run([sys.executable, os.path.join(MOCKS, m), "--selftest"], text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        assert p.returncode == 0 and "selftest: OK" in p.stdout, (m, p.stdout)


@case
def anthropic_sdk_parses_anthropic_mock():
    port, stop = anthropic_mock.start(keys=["ak"])
    try:
        a = ("anthropic_sdk.mjs", )
        base, m = f"http://127.0.0.1:{port}", "claude-sonnet-4-5"
        out = ok(*a, "create", base, "ak", m)
        assert out["text"] == "Mock reply to: Say hello" and out["stop_reason"] == "end_turn", out
        assert out["usage"]["input_tokens"] == 5 and out["usage"]["output_tokens"] == 5, out
        rec = recorded(port)[-1]
        assert rec["path"] == "/v1/messages" and hdr(rec, "authorization") == "Bearer ak" and hdr(rec, "anthropic-version"), rec
        out = ok(*a, "stream", base, "ak", m + "@cache-read-3,cache-1h-2")
        assert out["streamed"] == out["text"] == "Mock reply to: Count please", out
        u = out["usage"]
        assert (u["output_tokens"], u["cache_read_input_tokens"], u["cache_creation"]["ephemeral_1h_input_tokens"]) == (5, 3, 2), u
        out = ok(*a, "stream_raw", base, "ak", m)
        assert out["types"][:3] == ["message_start", "content_block_start", "content_block_delta"], out
        assert out["types"][-2:] == ["message_delta", "message_stop"] and out["delta_usage"]["output_tokens"] == 5, out
        out = ok(*a, "tools", base, "ak", m)
        assert out["stop_reason"] == "tool_use" and out["call"]["name"] == "get_weather", out
        assert out["call"]["input"] == {"input": "weather in Paris? use tools"}, out
        assert out["answer"] == "Tool said: sunny" and out["second_stop"] == "end_turn", out
        assert out["streamed"]["call"]["input"] == {"input": "weather in Paris? use tools"}, out
        out = ok(*a, "thinking", base, "ak", m)
        assert out["thinking"] == "Thinking about: Think first" == out["block"]["thinking"], out
        assert out["block"]["signature"].startswith("EqMock") and out["text"] == "Mock reply to: Think first", out
        out = ok(*a, "count_tokens", base, "ak", m)
        assert out["input_tokens"] == 5, out
        out = ok(*a, "bad_key", base, "ak", m)
        assert out["status"] == 401 and out["type"] == "authentication_error" and out["body_type"] == "error", out
        out = run(*a, "stream", base, "ak", m + "@overloaded-mid")   # an error event mid-stream
        assert "thrown" in out and "overloaded_error" in out["thrown"], out
        out = run(*a, "create", base, "ak", m + "@529")
        assert out.get("status") == 529 and "Overloaded" in out["thrown"], out
    finally:
        stop()


@case
def genai_sdk_parses_gemini_mock():
    port, stop = gemini_mock.start(keys=["gk"])
    try:
        a = ("gemini_sdk.mjs", )
        base, m = f"http://127.0.0.1:{port}", "gemini-2.5-flash"
        out = ok(*a, "generate", base, "gk", m)
        assert out["text"] == "Mock reply to: Say hello" and out["finish"] == "STOP", out
        assert out["usage"]["promptTokenCount"] == 5 and out["usage"]["candidatesTokenCount"] == 5, out
        rec = recorded(port)[-1]
        assert rec["route"] == "/v1beta/models/gemini-2.5-flash:generateContent" and hdr(rec, "x-goog-api-key") == "gk", rec
        out = ok(*a, "stream", base, "gk", m + "@cache-read-1")
        assert out["text"] == "Mock reply to: Count please" and out["chunks"] == 5 and out["finish"] == "STOP", out
        assert out["usage"]["candidatesTokenCount"] == 5 and out["usage"]["cachedContentTokenCount"] == 1, out
        assert recorded(port)[-1]["query"] == {"alt": "sse"}
        out = ok(*a, "tools", base, "gk", m)
        assert out["call"]["name"] == "get_weather" and out["call"]["args"] == {"input": "weather in Paris? use tools"}, out
        assert out["answer"] == 'Tool said: {"forecast": "sunny"}', out
        assert out["streamed"]["name"] == "get_weather", out
        out = ok(*a, "thinking", base, "gk", m)
        assert out["thought"] == "Thinking about: Think first" and out["text"] == "Mock reply to: Think first", out
        assert out["usage"]["thoughtsTokenCount"] == 4 and out["signature"], out
        out = ok(*a, "count_tokens", base, "gk", m)
        assert out["totalTokens"] == 4, out
        out = ok(*a, "embed", base, "gk", m)
        assert out["dims"] == [4, 4], out
        assert recorded(port)[-1]["route"].endswith("gemini-embedding-001:batchEmbedContents")
        out = ok(*a, "bad_key", base, "gk", m)
        assert out["status"] == 400 and "API key not valid" in out["message"], out
        out = ok(*a, "generate", base, "gk", m, GW_API_VERSION="v1")
        assert out["text"] == "Mock reply to: Say hello" and recorded(port)[-1]["route"].startswith("/v1/models/")
    finally:
        stop()


@case
def openai_sdk_parses_responses_mock():
    port, stop = openai_mock.start(keys=["ok"])
    try:
        a = ("openai_sdk.mjs", )
        base, m = f"http://127.0.0.1:{port}/v1", "gpt-4o"
        out = ok(*a, "responses", base, "ok", m)
        assert out["object"] == "response" and out["text"] == "Mock reply to: Say hello", out
        assert out["usage"]["input_tokens"] == 5 and out["usage"]["output_tokens"] == 5, out
        out = ok(*a, "responses_stream", base, "ok", m)
        assert out["text"] == out["final_text"] == "Mock reply to: Count please", out
        assert out["usage"]["output_tokens"] == 5, out
        assert out["seq"] == list(range(len(out["types"]))) and out["types"][-1] == "response.completed", out
        assert out["helper"]["text"] == "Mock reply to: Count please" and out["helper"]["usage"]["output_tokens"] == 5, out
        out = ok(*a, "responses_tools", base, "ok", m)
        assert out["call"]["name"] == "get_weather" and json.loads(out["call"]["arguments"]) == {
            "input": "weather in Paris? use tools"}, out
        assert out["answer"] == "Tool said: sunny" and out["streamed"]["name"] == "get_weather", out
        assert json.loads(out["streamed"]["args"]) == {"input": "weather in Paris? use tools"}, out
        out = ok(*a, "responses_ops", base, "ok", m)
        assert out["same"] and out["items"][0]["content"][0]["text"] == "Keep this" and out["after"] == 404, out
        paths = [(r["method"], r["route"]) for r in recorded(port)[-4:]]
        rid = out["id"]
        assert paths == [("GET", f"/v1/responses/{rid}"), ("GET", f"/v1/responses/{rid}/input_items"),
                         ("DELETE", f"/v1/responses/{rid}"), ("GET", f"/v1/responses/{rid}")], paths
    finally:
        stop()


if __name__ == "__main__":
    main()
