#!/usr/bin/env python3
"""The official SDKs, unchanged, against the gateway, through a same-format
channel and through a converted one (issue 11, "How it is checked"):
  - @anthropic-ai/sdk (messages.create, messages.stream + finalMessage, tools,
    thinking, countTokens) through an Anthropic channel (type 14) and through
    an OpenAI channel (converted to chat completions);
  - @google/genai (generateContent, generateContentStream, function calls,
    thinking, countTokens, embeddings) through a Gemini channel (type 24) and
    through an OpenAI channel;
  - across: @anthropic-ai/sdk through the Gemini channel, @google/genai
    through the Anthropic channel;
  - openai responses.create (stream and not, tools, retrieve / input_items /
    delete) over an OpenAI channel (Responses upstream) and over a chat-only
    DeepSeek channel (type 43, converted).
Each case checks what the SDK got, what the mock upstream received and the
exact quota billed (ModelRatio 1, CompletionRatio 2 — 5 for claude-sonnet-4-5,
whose ratio the reference hard-codes and locks (setting/ratio_setting/
model_ratio.go GetCompletionRatio) —, CacheRatio 0.5, CreateCacheRatio 1.25,
so quota = prompt + CR x completion + cache terms)."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, Gateway, case, request, wait_for  # noqa: E402
from relayfix import (add_channel, add_token, root_pat, run_cases, set_option,  # noqa: E402
                      shared_gateway_case, user_quota, wait_routable)

sys.path.insert(0, os.path.join(ROOT, "tests", "mock-upstream"))
import anthropic_mock  # noqa: E402
import gemini_mock  # noqa: E402
import openai_mock  # noqa: E402

COMPAT = os.path.join(ROOT, "tests", "compat")
CLAUDE, CLAUDE_CACHE, GEMINI, EMBED, GPT, DEEPSEEK = (
    "claude-sonnet-4-5", "claude-cache", "gemini-2.5-flash", "gemini-embedding-001", "gpt-4o-mini", "deepseek-chat")
CACHE_SPEC = "cache-read-6,cache-5m-4,cache-1h-5"
CR = {CLAUDE: 5}     # completion ratios other than 2
S = {}


def ensure_sdks():
    nm = os.path.join(COMPAT, "node_modules")
    if not all(os.path.isdir(os.path.join(nm, p)) for p in ("openai", "@anthropic-ai/sdk", "@google/genai")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=COMPAT,
                       check=True, timeout=600)


def setup():
    if S:
        return S
    ensure_sdks()
    oa_port, oa_stop = openai_mock.start(keys=["k-oa"])
    an_port, an_stop = anthropic_mock.start(keys=["k-an"])
    ge_port, ge_stop = gemini_mock.start(keys=["k-ge"])
    S.update(stops=[oa_stop, an_stop, ge_stop], ports={"oa": oa_port, "an": an_port, "ge": ge_port})
    g = Gateway(workers=2).start()
    S["g"] = g
    pat = root_pat(g)
    models = (CLAUDE, CLAUDE_CACHE, GEMINI, EMBED, GPT, DEEPSEEK)
    set_option(g, pat, "ModelRatio", json.dumps({m: 1 for m in models}))
    set_option(g, pat, "CompletionRatio", json.dumps({m: CR.get(m, 2) for m in models}))
    set_option(g, pat, "CacheRatio", json.dumps({m: 0.5 for m in models}))
    set_option(g, pat, "CreateCacheRatio", json.dumps({m: 1.25 for m in models}))
    add_channel(g, pat, "oa", f"http://127.0.0.1:{oa_port}", "k-oa", GPT, type_=1)
    add_channel(g, pat, "ds", f"http://127.0.0.1:{oa_port}", "k-oa", DEEPSEEK, type_=43)
    add_channel(g, pat, "an", f"http://127.0.0.1:{an_port}", "k-an", f"{CLAUDE},{CLAUDE_CACHE}", type_=14,
                extra={"model_mapping": json.dumps({CLAUDE_CACHE: f"{CLAUDE}@{CACHE_SPEC}"})})
    add_channel(g, pat, "ge", f"http://127.0.0.1:{ge_port}", "k-ge", f"{GEMINI},{EMBED}", type_=24)
    tid, key = add_token(g, pat, "t-fmt")
    for m in models:
        wait_routable(g, key, m)
    time.sleep(0.6)
    S.update(key=key)
    return S


def sdk(script, scenario, model, auth=None):
    s = setup()
    base = f"http://127.0.0.1:{s['g'].port}" + ("/v1" if script == "openai_sdk.mjs" else "")
    env = dict(os.environ, GW_BASE_URL=base, GW_API_KEY=s["key"], GW_MODEL=model, GW_EMBED_MODEL=EMBED)
    if auth:
        env["GW_AUTH"] = auth
    p = subprocess.run(["node", os.path.join(COMPAT, script), scenario], env=env, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    lines = p.stdout.strip().splitlines()
    assert lines, (script, scenario, p.stdout)
    out = json.loads(lines[-1])
    return out


def ok(script, scenario, model, auth=None):
    out = sdk(script, scenario, model, auth)
    assert "thrown" not in out, (script, scenario, model, out)
    return out


def recorded(mock):
    st, _, b = request("GET", S["ports"][mock], "/__mock/requests")
    return json.loads(b)


def clear(mock):
    request("DELETE", S["ports"][mock], "/__mock/requests")


def hdr(rec, name):
    return next((v for k, v in rec["headers"] if k.lower() == name), None)


def billed(q0, expected):
    """Waits (bounded) for the settlement to land; returns nothing, raises with the actual figure."""
    g = S["g"]
    try:
        wait_for(lambda: user_quota(g, 1) == q0 - expected, 10, 0.05, what="settlement")
    except AssertionError:
        raise AssertionError(f"billed {q0 - user_quota(g, 1)}, expected {expected}")


def words(t):
    return len(t.split())


def chat_prompt(rec):
    return openai_mock.prompt_tokens_chat(rec["json"]["messages"])


# ---- @anthropic-ai/sdk -------------------------------------------------------

@case
def anthropic_sdk_same_format():
    setup()
    clear("an")
    q0 = user_quota(S["g"], 1)
    out = ok("anthropic_sdk.mjs", "create", CLAUDE, auth="x-api-key")
    assert out["text"] == "Mock reply to: Say hello" and out["stop_reason"] == "end_turn", out
    assert out["usage"]["input_tokens"] == 5 and out["usage"]["output_tokens"] == 5, out
    rec = recorded("an")[-1]
    assert rec["route"] == "/v1/messages" and hdr(rec, "x-api-key") == "k-an", rec
    assert hdr(rec, "anthropic-version") == "2023-06-01" and hdr(rec, "authorization") is None, rec
    assert rec["json"]["system"] == "be brief" and rec["json"]["model"] == CLAUDE and rec["json"]["max_tokens"] == 100
    billed(q0, 5 + CR[CLAUDE] * 5)

    q0 = user_quota(S["g"], 1)
    out = ok("anthropic_sdk.mjs", "stream", CLAUDE)
    assert out["streamed"] == out["text"] == "Mock reply to: Count please", out
    assert out["usage"]["output_tokens"] == 5 and out["usage"]["input_tokens"] == 3, out
    rec = recorded("an")[-1]
    assert rec["json"]["stream"] is True and hdr(rec, "x-api-key") == "k-an", rec
    billed(q0, 3 + CR[CLAUDE] * 5)

    out = ok("anthropic_sdk.mjs", "tools", CLAUDE)
    assert out["stop_reason"] == "tool_use" and out["call"]["name"] == "get_weather", out
    assert out["call"]["input"] == {"input": "weather in Paris? use tools"} and out["call"]["id"].startswith("toolu_"), out
    assert out["answer"] == "Tool said: sunny" and out["second_stop"] == "end_turn", out
    assert out["streamed"]["call"]["input"] == {"input": "weather in Paris? use tools"}, out
    second = [r for r in recorded("an") if r["route"] == "/v1/messages"][-2]
    assert second["json"]["messages"][-1]["content"][0]["type"] == "tool_result", second["json"]

    out = ok("anthropic_sdk.mjs", "thinking", CLAUDE)
    t = "Thinking about: Think first"
    assert out["thinking"] == t and out["block"]["signature"] == anthropic_mock.signature_of(t), out
    assert recorded("an")[-1]["json"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}

    q0 = user_quota(S["g"], 1)
    out = ok("anthropic_sdk.mjs", "count_tokens", CLAUDE)
    assert out["input_tokens"] == 5, out
    assert recorded("an")[-1]["route"] == "/v1/messages/count_tokens"
    time.sleep(0.3)
    assert user_quota(S["g"], 1) == q0, "count_tokens must be free"

    out = ok("anthropic_sdk.mjs", "bad_key", CLAUDE)
    assert out["status"] == 401 and out["body_type"] == "error" and out["type"] == "authentication_error", out


@case
def anthropic_sdk_cache_usage_billed_with_1h_writes():
    """message_start carries input and cache counts, message_delta the output:
    billed (3 + 6 x 0.5 + 4 x 1.25 + 5 x 1.25 x 1.6 + 2 x 5) = 31."""
    setup()
    q0 = user_quota(S["g"], 1)
    out = ok("anthropic_sdk.mjs", "stream", CLAUDE_CACHE)
    u = out["usage"]
    assert (u["input_tokens"], u["cache_read_input_tokens"], u["cache_creation_input_tokens"]) == (3, 6, 9), u
    assert u["cache_creation"] == {"ephemeral_5m_input_tokens": 4, "ephemeral_1h_input_tokens": 5}, u
    assert recorded("an")[-1]["json"]["model"] == f"{CLAUDE}@{CACHE_SPEC}"
    billed(q0, 3 + 3 + 5 + 10 + 10)


@case
def anthropic_sdk_through_openai_channel():
    setup()
    clear("oa")
    q0 = user_quota(S["g"], 1)
    out = ok("anthropic_sdk.mjs", "create", GPT)
    assert out["text"] == "Mock reply to: Say hello" and out["stop_reason"] == "end_turn" and out["type"] == "message", out
    rec = recorded("oa")[-1]
    assert rec["route"] == "/v1/chat/completions" and hdr(rec, "authorization") == "Bearer k-oa", rec
    msgs = rec["json"]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user"] and openai_mock.text_of(msgs[0]["content"]) == "be brief", msgs
    p = chat_prompt(rec)
    assert out["usage"]["input_tokens"] == p == 6 and out["usage"]["output_tokens"] == 5, out
    billed(q0, p + 2 * 5)

    q0 = user_quota(S["g"], 1)
    out = ok("anthropic_sdk.mjs", "stream", GPT)
    assert out["streamed"] == out["text"] == "Mock reply to: Count please" and out["stop_reason"] == "end_turn", out
    rec = recorded("oa")[-1]
    assert rec["json"]["stream"] is True and rec["json"].get("stream_options", {}).get("include_usage") is True, rec["json"]
    assert out["usage"]["output_tokens"] == 5, out
    billed(q0, chat_prompt(rec) + 2 * 5)

    out = ok("anthropic_sdk.mjs", "tools", GPT)
    assert out["stop_reason"] == "tool_use" and out["call"]["name"] == "get_weather", out
    assert out["call"]["input"] == {"input": "weather in Paris? use tools"}, out
    assert out["answer"] == "Tool said: sunny", out
    assert out["streamed"]["stop_reason"] == "tool_use" and out["streamed"]["call"]["input"] == {
        "input": "weather in Paris? use tools"}, out
    chats = [r for r in recorded("oa") if r["route"] == "/v1/chat/completions"]
    second = chats[-2]["json"]
    assert second["tools"][0]["function"]["name"] == "get_weather", second
    tool_msg = second["messages"][-1]
    assert tool_msg["role"] == "tool" and openai_mock.text_of(tool_msg["content"]) == "sunny", second["messages"]
    assert tool_msg["tool_call_id"] == second["messages"][-2]["tool_calls"][0]["id"], second["messages"]


@case
def anthropic_sdk_through_gemini_channel():
    """Messages -> Gemini: the converted request, the answer, and quota from Gemini's usage."""
    setup()
    clear("ge")
    q0 = user_quota(S["g"], 1)
    out = ok("anthropic_sdk.mjs", "create", GEMINI)
    assert out["text"] == "Mock reply to: Say hello" and out["stop_reason"] == "end_turn", out
    rec = recorded("ge")[-1]
    assert rec["route"] == f"/v1beta/models/{GEMINI}:generateContent", rec
    p = gemini_mock.prompt_tokens(rec["json"])
    assert p == 5 and out["usage"]["input_tokens"] == p and out["usage"]["output_tokens"] == 5, (rec["json"], out)
    billed(q0, p + 2 * 5)

    q0 = user_quota(S["g"], 1)
    out = ok("anthropic_sdk.mjs", "stream", GEMINI)
    assert out["streamed"] == out["text"] == "Mock reply to: Count please" and out["stop_reason"] == "end_turn", out
    rec = recorded("ge")[-1]
    assert rec["route"] == f"/v1beta/models/{GEMINI}:streamGenerateContent", rec
    assert out["usage"]["output_tokens"] == 5, out
    billed(q0, gemini_mock.prompt_tokens(rec["json"]) + 2 * 5)

    out = ok("anthropic_sdk.mjs", "tools", GEMINI)
    assert out["stop_reason"] == "tool_use" and out["call"]["input"] == {"input": "weather in Paris? use tools"}, out
    assert out["answer"].startswith("Tool said: ") and "sunny" in out["answer"], out
    assert out["streamed"]["call"]["name"] == "get_weather", out


# ---- @google/genai -----------------------------------------------------------

@case
def genai_sdk_same_format():
    setup()
    clear("ge")
    q0 = user_quota(S["g"], 1)
    out = ok("gemini_sdk.mjs", "generate", GEMINI)
    assert out["text"] == "Mock reply to: Say hello" and out["finish"] == "STOP", out
    assert out["usage"]["promptTokenCount"] == 5 and out["usage"]["candidatesTokenCount"] == 5, out
    rec = recorded("ge")[-1]
    assert rec["route"] == f"/v1beta/models/{GEMINI}:generateContent", rec
    assert hdr(rec, "x-goog-api-key") == "k-ge" or rec["query"].get("key") == "k-ge", rec
    assert S["key"] not in json.dumps(rec), "the client's key must not reach the upstream"
    billed(q0, 5 + 2 * 5)

    q0 = user_quota(S["g"], 1)
    out = ok("gemini_sdk.mjs", "stream", GEMINI)
    assert out["text"] == "Mock reply to: Count please" and out["finish"] == "STOP", out
    assert out["usage"]["candidatesTokenCount"] == 5, out
    rec = recorded("ge")[-1]
    assert rec["route"] == f"/v1beta/models/{GEMINI}:streamGenerateContent" and rec["query"].get("alt") == "sse", rec
    billed(q0, 3 + 2 * 5)

    out = ok("gemini_sdk.mjs", "tools", GEMINI)
    assert out["call"]["name"] == "get_weather" and out["call"]["args"] == {"input": "weather in Paris? use tools"}, out
    assert out["answer"] == 'Tool said: {"forecast": "sunny"}', out
    assert out["streamed"]["name"] == "get_weather", out

    q0 = user_quota(S["g"], 1)
    out = ok("gemini_sdk.mjs", "thinking", GEMINI)
    assert out["thought"] == "Thinking about: Think first" and out["text"] == "Mock reply to: Think first", out
    assert out["usage"]["thoughtsTokenCount"] == 4 and out["signature"], out
    billed(q0, 3 + 2 * (5 + 4))     # thought tokens are billed as completion

    q0 = user_quota(S["g"], 1)
    n = len(recorded("ge"))
    out = ok("gemini_sdk.mjs", "count_tokens", GEMINI)
    # Relayed to the upstream's :countTokens (then its count), or answered by a local estimate.
    sent = [r for r in recorded("ge")[n:] if "countTokens" in r["route"] or "generateContent" in r["route"]]
    if sent:
        assert [r["route"] for r in sent] == [f"/v1beta/models/{GEMINI}:countTokens"], sent
        assert out["totalTokens"] == 4, out
    assert isinstance(out["totalTokens"], int) and out["totalTokens"] > 0, out
    time.sleep(0.3)
    assert user_quota(S["g"], 1) == q0, "countTokens must be free"
    out = ok("gemini_sdk.mjs", "embed", GEMINI)
    assert out["dims"] == [4, 4] and recorded("ge")[-1]["route"].endswith(f"{EMBED}:batchEmbedContents"), out
    assert [r["content"]["parts"][0]["text"] for r in recorded("ge")[-1]["json"]["requests"]] == ["a b", "c"]

    out = ok("gemini_sdk.mjs", "bad_key", GEMINI)
    assert out["status"] in (400, 401, 403) and out["body"]["error"]["code"] == out["status"], out
    assert isinstance(out["body"]["error"].get("status"), str), out


@case
def genai_sdk_through_openai_channel():
    setup()
    clear("oa")
    q0 = user_quota(S["g"], 1)
    out = ok("gemini_sdk.mjs", "generate", GPT)
    assert out["text"] == "Mock reply to: Say hello" and out["finish"] == "STOP", out
    rec = recorded("oa")[-1]
    assert rec["route"] == "/v1/chat/completions" and hdr(rec, "authorization") == "Bearer k-oa", rec
    assert [m["role"] for m in rec["json"]["messages"]] == ["system", "user"], rec["json"]
    p = chat_prompt(rec)
    assert out["usage"]["promptTokenCount"] == p and out["usage"]["candidatesTokenCount"] == 5, out
    billed(q0, p + 2 * 5)

    q0 = user_quota(S["g"], 1)
    out = ok("gemini_sdk.mjs", "stream", GPT)
    assert out["text"] == "Mock reply to: Count please" and out["finish"] == "STOP", out
    rec = recorded("oa")[-1]
    assert rec["json"]["stream"] is True, rec["json"]
    assert out["usage"]["candidatesTokenCount"] == 5, out
    billed(q0, chat_prompt(rec) + 2 * 5)

    out = ok("gemini_sdk.mjs", "tools", GPT)
    assert out["call"]["name"] == "get_weather" and out["call"]["args"] == {"input": "weather in Paris? use tools"}, out
    assert out["answer"].startswith("Tool said: ") and "sunny" in out["answer"], out
    assert out["streamed"]["name"] == "get_weather" and out["streamed"]["args"] == {
        "input": "weather in Paris? use tools"}, out
    chats = [r for r in recorded("oa") if r["route"] == "/v1/chat/completions"]
    tool_msg = chats[-2]["json"]["messages"][-1]
    assert tool_msg["role"] == "tool" and "sunny" in openai_mock.text_of(tool_msg["content"]), chats[-2]["json"]


@case
def genai_sdk_through_anthropic_channel():
    """Gemini -> Messages: the converted request, the answer, and quota from Claude's usage."""
    setup()
    clear("an")
    q0 = user_quota(S["g"], 1)
    out = ok("gemini_sdk.mjs", "generate", CLAUDE)
    assert out["text"] == "Mock reply to: Say hello" and out["finish"] == "STOP", out
    rec = recorded("an")[-1]
    assert rec["route"] == "/v1/messages" and hdr(rec, "x-api-key") == "k-an", rec
    assert isinstance(rec["json"].get("max_tokens"), int), rec["json"]
    p = anthropic_mock.prompt_tokens(rec["json"])
    assert p == 5 and out["usage"]["promptTokenCount"] == p and out["usage"]["candidatesTokenCount"] == 5, out
    billed(q0, p + CR[CLAUDE] * 5)

    q0 = user_quota(S["g"], 1)
    out = ok("gemini_sdk.mjs", "stream", CLAUDE)
    assert out["text"] == "Mock reply to: Count please" and out["finish"] == "STOP", out
    rec = recorded("an")[-1]
    assert rec["json"]["stream"] is True and out["usage"]["candidatesTokenCount"] == 5, (rec["json"], out)
    billed(q0, anthropic_mock.prompt_tokens(rec["json"]) + CR[CLAUDE] * 5)

    out = ok("gemini_sdk.mjs", "tools", CLAUDE)
    assert out["call"]["name"] == "get_weather" and out["call"]["args"] == {"input": "weather in Paris? use tools"}, out
    assert out["answer"].startswith("Tool said: ") and "sunny" in out["answer"], out
    assert out["streamed"]["name"] == "get_weather", out


# ---- openai responses --------------------------------------------------------

@case
def openai_responses_over_responses_channel():
    setup()
    clear("oa")
    q0 = user_quota(S["g"], 1)
    out = ok("openai_sdk.mjs", "responses", GPT)
    assert out["object"] == "response" and out["text"] == "Mock reply to: Say hello" and out["status"] == "completed", out
    rec = recorded("oa")[-1]
    assert rec["route"] == "/v1/responses" and rec["json"]["instructions"] == "be brief", rec
    assert out["usage"]["input_tokens"] == 5 and out["usage"]["output_tokens"] == 5, out
    billed(q0, 5 + 2 * 5)

    q0 = user_quota(S["g"], 1)
    out = ok("openai_sdk.mjs", "responses_stream", GPT)
    assert out["text"] == out["final_text"] == "Mock reply to: Count please", out
    assert out["seq"] == list(range(len(out["types"]))) and out["types"][-1] == "response.completed", out
    assert out["helper"]["text"] == "Mock reply to: Count please", out
    assert [r["route"] for r in recorded("oa")[-2:]] == ["/v1/responses"] * 2
    billed(q0, 2 * (3 + 2 * 5))     # two streamed calls

    out = ok("openai_sdk.mjs", "responses_tools", GPT)
    assert out["call"]["name"] == "get_weather" and json.loads(out["call"]["arguments"]) == {
        "input": "weather in Paris? use tools"}, out
    assert out["answer"] == "Tool said: sunny" and json.loads(out["streamed"]["args"]) == {
        "input": "weather in Paris? use tools"}, out

    out = ok("openai_sdk.mjs", "responses_ops", GPT)
    rid = out["id"]
    assert out["same"] and out["items"][0]["content"][0]["text"] == "Keep this" and out["after"] == 404, out
    got = [(r["method"], r["route"]) for r in recorded("oa")[-4:]]
    assert got == [("GET", f"/v1/responses/{rid}"), ("GET", f"/v1/responses/{rid}/input_items"),
                   ("DELETE", f"/v1/responses/{rid}"), ("GET", f"/v1/responses/{rid}")], got


@case
def openai_responses_over_chat_only_channel():
    setup()
    clear("oa")
    q0 = user_quota(S["g"], 1)
    out = ok("openai_sdk.mjs", "responses", DEEPSEEK)
    assert out["object"] == "response" and out["text"] == "Mock reply to: Say hello" and out["status"] == "completed", out
    rec = recorded("oa")[-1]
    assert rec["route"] == "/v1/chat/completions" and rec["json"]["model"] == DEEPSEEK, rec
    assert [m["role"] for m in rec["json"]["messages"]] == ["system", "user"], rec["json"]
    p = chat_prompt(rec)
    assert out["usage"]["input_tokens"] == p and out["usage"]["output_tokens"] == 5, out
    billed(q0, p + 2 * 5)

    q0 = user_quota(S["g"], 1)
    out = ok("openai_sdk.mjs", "responses_stream", DEEPSEEK)
    assert out["text"] == out["final_text"] == "Mock reply to: Count please", out
    assert out["seq"] == list(range(len(out["types"]))) and out["types"][0] == "response.created", out
    assert out["types"][-1] == "response.completed" and out["usage"]["output_tokens"] == 5, out
    assert out["helper"]["text"] == "Mock reply to: Count please", out
    recs = recorded("oa")[-2:]
    assert all(r["route"] == "/v1/chat/completions" and r["json"]["stream"] is True for r in recs), recs
    billed(q0, sum(chat_prompt(r) + 2 * 5 for r in recs))

    out = ok("openai_sdk.mjs", "responses_tools", DEEPSEEK)
    assert out["call"]["name"] == "get_weather" and json.loads(out["call"]["arguments"]) == {
        "input": "weather in Paris? use tools"}, out
    assert out["answer"] == "Tool said: sunny" and json.loads(out["streamed"]["args"]) == {
        "input": "weather in Paris? use tools"}, out


shared_gateway_case(S, setup)

if __name__ == "__main__":
    run_cases(S)
