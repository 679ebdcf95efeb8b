// Drives an Anthropic Messages endpoint (the gateway, or anthropic_mock.py directly)
// with the official @anthropic-ai/sdk, unchanged.
// usage: node anthropic_sdk.mjs <scenario>   (env: GW_BASE_URL without /v1, GW_API_KEY, GW_MODEL)
// Prints one JSON object with what the SDK returned, for the Python tests to check.
import Anthropic from "@anthropic-ai/sdk";

// GW_AUTH=x-api-key: the key as `x-api-key` with anthropic-version 2023-06-01, as
// Claude Code and the 0.x SDKs send it; otherwise as this SDK does (Authorization: Bearer).
const client = process.env.GW_AUTH === "x-api-key"
  ? new Anthropic({
    baseURL: process.env.GW_BASE_URL, apiKey: null, authToken: null, maxRetries: 0, timeout: 30000,
    defaultHeaders: { "x-api-key": process.env.GW_API_KEY, "anthropic-version": "2023-06-01" },
  })
  : new Anthropic({ baseURL: process.env.GW_BASE_URL, apiKey: process.env.GW_API_KEY, maxRetries: 0, timeout: 30000 });
const model = process.env.GW_MODEL || "claude-sonnet-4-5";
const tools = [{
  name: "get_weather", description: "The weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } } },
}];
const ask = (content) => [{ role: "user", content }];
const textOf = (m) => m.content.filter((b) => b.type === "text").map((b) => b.text).join("");

async function main(scenario) {
  switch (scenario) {
    case "create": {
      const m = await client.messages.create({ model, max_tokens: 100, system: "be brief", messages: ask("Say hello") });
      return { id: m.id, type: m.type, role: m.role, model: m.model, text: textOf(m), stop_reason: m.stop_reason, usage: m.usage };
    }
    case "stream": {
      const s = client.messages.stream({ model, max_tokens: 100, messages: ask("Count please") });
      let streamed = "", events = 0;
      s.on("text", (t) => { streamed += t; });
      s.on("streamEvent", () => { events++; });
      const m = await s.finalMessage();
      return { streamed, events, text: textOf(m), stop_reason: m.stop_reason, usage: m.usage, id: m.id };
    }
    case "stream_raw": {
      const s = await client.messages.create({ model, max_tokens: 100, stream: true, messages: ask("Count please") });
      const types = [];
      let text = "", usage = null, delta_usage = null;
      for await (const ev of s) {
        types.push(ev.type);
        if (ev.type === "message_start") usage = ev.message.usage;
        if (ev.type === "message_delta") delta_usage = ev.usage;
        if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
      }
      return { types, text, usage, delta_usage };
    }
    case "tools": {
      const first = await client.messages.create({ model, max_tokens: 200, tools, messages: ask("weather in Paris? use tools") });
      const call = first.content.find((b) => b.type === "tool_use");
      const second = await client.messages.create({
        model, max_tokens: 200, tools,
        messages: [...ask("weather in Paris? use tools"), { role: "assistant", content: first.content },
          { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "sunny" }] }],
      });
      const s = client.messages.stream({ model, max_tokens: 200, tools, messages: ask("weather in Paris? use tools") });
      const sm = await s.finalMessage();
      const scall = sm.content.find((b) => b.type === "tool_use");
      return { stop_reason: first.stop_reason, call, answer: textOf(second), second_stop: second.stop_reason,
               streamed: { stop_reason: sm.stop_reason, call: scall } };
    }
    case "thinking": {
      const s = client.messages.stream({
        model, max_tokens: 2000, thinking: { type: "enabled", budget_tokens: 1024 }, messages: ask("Think first"),
      });
      let thinking = "";
      s.on("thinking", (t) => { thinking += t; });
      const m = await s.finalMessage();
      const tb = m.content.find((b) => b.type === "thinking");
      return { thinking, block: tb, text: textOf(m), usage: m.usage };
    }
    case "count_tokens": {
      const r = await client.messages.countTokens({ model, system: "be brief", messages: ask("Say hello") });
      return { input_tokens: r.input_tokens };
    }
    case "bad_key": {
      const bad = new Anthropic({ baseURL: process.env.GW_BASE_URL, apiKey: "sk-nope", maxRetries: 0 });
      try {
        await bad.messages.create({ model, max_tokens: 10, messages: ask("x") });
        return { error: null };
      } catch (e) {
        return { status: e.status, type: e.error?.error?.type, body_type: e.error?.type, message: e.message };
      }
    }
    default:
      throw new Error("unknown scenario " + scenario);
  }
}

main(process.argv[2]).then(
  (out) => { process.stdout.write(JSON.stringify(out) + "\n"); },
  (e) => { process.stdout.write(JSON.stringify({ thrown: String(e), status: e.status, error: e.error }) + "\n"); process.exitCode = 1; },
);
