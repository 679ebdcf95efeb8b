// Drives the gateway with the official `openai` npm package, unchanged.
// usage: node openai_sdk.mjs <scenario>   (env: GW_BASE_URL, GW_API_KEY, GW_MODEL)
// Prints one JSON object with what the SDK returned, for the Python test to check.
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.GW_BASE_URL,
  apiKey: process.env.GW_API_KEY,
  maxRetries: 0,
  timeout: 30000,
});
const model = process.env.GW_MODEL || "gpt-4o-mini";
// The text of a Responses API response's message items (output_text is only added to non-stream results).
const textOfResponse = (r) => (r?.output ?? []).filter((o) => o.type === "message")
  .flatMap((o) => o.content).filter((c) => c.type === "output_text").map((c) => c.text).join("");

async function main(scenario) {
  switch (scenario) {
    case "chat": {
      const r = await client.chat.completions.create({
        model, messages: [{ role: "user", content: "Say hello" }],
      });
      return { content: r.choices[0].message.content, usage: r.usage, id: r.id };
    }
    case "stream": {
      const s = await client.chat.completions.create({
        model, stream: true, messages: [{ role: "user", content: "Count please" }],
      });
      let content = "", chunks = 0, usage = null;
      for await (const ch of s) {
        chunks++;
        if (ch.usage) usage = ch.usage;
        content += ch.choices?.[0]?.delta?.content ?? "";
      }
      return { content, chunks, usage };
    }
    case "stream_usage": {
      const s = await client.chat.completions.create({
        model, stream: true, stream_options: { include_usage: true },
        messages: [{ role: "user", content: "Count please" }],
      });
      let content = "", usage = null;
      for await (const ch of s) {
        if (ch.usage) usage = ch.usage;
        content += ch.choices?.[0]?.delta?.content ?? "";
      }
      return { content, usage };
    }
    case "tools": {
      const tools = [{ type: "function", function: { name: "get_weather",
        parameters: { type: "object", properties: { city: { type: "string" } } } } }];
      const r = await client.chat.completions.create({
        model, tools, messages: [{ role: "user", content: "weather in Paris? use tools" }],
      });
      const s = await client.chat.completions.create({
        model, tools, stream: true,
        messages: [{ role: "user", content: "weather in Paris? use tools" }],
      });
      let args = "", name = "";
      for await (const ch of s) {
        const tc = ch.choices?.[0]?.delta?.tool_calls?.[0];
        if (tc?.function?.name) name = tc.function.name;
        if (tc?.function?.arguments) args += tc.function.arguments;
      }
      return { tool_calls: r.choices[0].message.tool_calls, streamed: { name, args } };
    }
    case "completions": {
      const r = await client.completions.create({ model, prompt: "Once upon a time" });
      return { text: r.choices[0].text, usage: r.usage };
    }
    case "embeddings": {
      const r = await client.embeddings.create({ model, input: "hello world" });
      return { dims: r.data[0].embedding.length, usage: r.usage };
    }
    case "models": {
      const list = await client.models.list();
      const ids = [];
      for await (const m of list) ids.push(m.id);
      return { ids };
    }
    case "responses": {
      const r = await client.responses.create({ model, instructions: "be brief", input: "Say hello" });
      return { id: r.id, object: r.object, status: r.status, text: r.output_text, usage: r.usage, output: r.output };
    }
    case "responses_stream": {
      const s = await client.responses.create({ model, input: "Count please", stream: true });
      const types = [], seq = [];
      let text = "", final = null;
      for await (const ev of s) {
        types.push(ev.type);
        seq.push(ev.sequence_number);
        if (ev.type === "response.output_text.delta") text += ev.delta;
        if (ev.type === "response.completed") final = ev.response;
      }
      const h = client.responses.stream({ model, input: "Count please" });
      const fr = await h.finalResponse();
      return { types, seq, text, usage: final?.usage, final_text: textOfResponse(final),
               helper: { text: textOfResponse(fr), usage: fr.usage, status: fr.status } };
    }
    case "responses_tools": {
      const tools = [{ type: "function", name: "get_weather", description: "The weather in a city",
        parameters: { type: "object", properties: { city: { type: "string" } } } }];
      const q = "weather in Paris? use tools";
      const r = await client.responses.create({ model, tools, input: q });
      const call = r.output.find((o) => o.type === "function_call");
      const r2 = await client.responses.create({ model, tools, input: [{ role: "user", content: q }, call,
        { type: "function_call_output", call_id: call.call_id, output: "sunny" }] });
      const s = await client.responses.create({ model, tools, input: q, stream: true });
      let args = "", name = null;
      for await (const ev of s) {
        if (ev.type === "response.function_call_arguments.delta") args += ev.delta;
        if (ev.type === "response.output_item.added" && ev.item.type === "function_call") name = ev.item.name;
      }
      return { call, answer: r2.output_text, streamed: { name, args } };
    }
    case "responses_ops": {
      const r = await client.responses.create({ model, input: "Keep this" });
      const got = await client.responses.retrieve(r.id);
      const items = [];
      for await (const it of client.responses.inputItems.list(r.id)) items.push(it);
      let deleted = null;
      try { deleted = await client.responses.del(r.id); } catch (e) { deleted = { thrown: String(e), status: e.status }; }
      let after = null;
      try { await client.responses.retrieve(r.id); after = "still there"; } catch (e) { after = e.status; }
      return { id: r.id, same: JSON.stringify(got.output) === JSON.stringify(r.output), items, deleted, after };
    }
    case "bad_key": {
      const bad = new OpenAI({ baseURL: process.env.GW_BASE_URL, apiKey: "sk-nope", maxRetries: 0 });
      try {
        await bad.chat.completions.create({ model, messages: [{ role: "user", content: "x" }] });
        return { error: null };
      } catch (e) {
        return { status: e.status, message: e.message, type: e.error?.type ?? e.type };
      }
    }
    default:
      throw new Error("unknown scenario " + scenario);
  }
}

main(process.argv[2]).then(
  (out) => { process.stdout.write(JSON.stringify(out) + "\n"); },
  (e) => { process.stdout.write(JSON.stringify({ thrown: String(e), status: e.status }) + "\n"); process.exitCode = 1; },
);
