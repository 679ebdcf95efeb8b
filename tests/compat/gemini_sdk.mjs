// Drives a Gemini endpoint (the gateway, or gemini_mock.py directly) with the
// official @google/genai SDK, unchanged.
// usage: node gemini_sdk.mjs <scenario>   (env: GW_BASE_URL without /v1beta, GW_API_KEY, GW_MODEL,
//        GW_API_VERSION default v1beta, GW_EMBED_MODEL)
// Prints one JSON object with what the SDK returned, for the Python tests to check.
import { GoogleGenAI, Type } from "@google/genai";

const opts = (apiKey) => ({
  apiKey,
  httpOptions: {
    baseUrl: process.env.GW_BASE_URL, apiVersion: process.env.GW_API_VERSION || "v1beta",
    timeout: 30000, retryOptions: { attempts: 1 },
  },
});
const ai = new GoogleGenAI(opts(process.env.GW_API_KEY));
const model = process.env.GW_MODEL || "gemini-2.5-flash";
const tools = [{ functionDeclarations: [{
  name: "get_weather", description: "The weather in a city",
  parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING } } },
}] }];
const partsOf = (r) => r.candidates?.[0]?.content?.parts ?? [];

async function main(scenario) {
  switch (scenario) {
    case "generate": {
      const r = await ai.models.generateContent({ model, contents: "Say hello", config: { systemInstruction: "be brief" } });
      return { text: r.text, finish: r.candidates[0].finishReason, usage: r.usageMetadata, parts: partsOf(r) };
    }
    case "stream": {
      const s = await ai.models.generateContentStream({ model, contents: "Count please" });
      let text = "", chunks = 0, usage = null, finish = null;
      for await (const c of s) {
        chunks++;
        text += c.text ?? "";
        if (c.usageMetadata) usage = c.usageMetadata;
        if (c.candidates?.[0]?.finishReason) finish = c.candidates[0].finishReason;
      }
      return { text, chunks, usage, finish };
    }
    case "tools": {
      const q = "weather in Paris? use tools";
      const r = await ai.models.generateContent({ model, contents: q, config: { tools } });
      const call = r.functionCalls?.[0];
      const r2 = await ai.models.generateContent({
        model, config: { tools },
        contents: [{ role: "user", parts: [{ text: q }] }, r.candidates[0].content,
          { role: "user", parts: [{ functionResponse: { name: call.name, response: { forecast: "sunny" } } }] }],
      });
      const s = await ai.models.generateContentStream({ model, contents: q, config: { tools } });
      let scall = null;
      for await (const c of s) if (c.functionCalls?.length) scall = c.functionCalls[0];
      return { call: { name: call.name, args: call.args, id: call.id ?? null }, answer: r2.text, streamed: scall };
    }
    case "thinking": {
      const s = await ai.models.generateContentStream({
        model, contents: "Think first", config: { thinkingConfig: { includeThoughts: true, thinkingBudget: 512 } },
      });
      let thought = "", text = "", usage = null, signature = null;
      for await (const c of s) {
        for (const p of partsOf(c)) {
          if (p.thought) thought += p.text ?? ""; else text += p.text ?? "";
          if (p.thoughtSignature) signature = p.thoughtSignature;
        }
        if (c.usageMetadata) usage = c.usageMetadata;
      }
      return { thought, text, usage, signature };
    }
    case "count_tokens": {
      const r = await ai.models.countTokens({ model, contents: "Say hello there" });
      return { totalTokens: r.totalTokens };
    }
    case "embed": {
      const r = await ai.models.embedContent({
        model: process.env.GW_EMBED_MODEL || "gemini-embedding-001", contents: ["a b", "c"],
        config: { outputDimensionality: 4 },
      });
      return { dims: r.embeddings.map((e) => e.values.length) };
    }
    case "bad_key": {
      const bad = new GoogleGenAI(opts("sk-nope"));
      try {
        await bad.models.generateContent({ model, contents: "x" });
        return { error: null };
      } catch (e) {
        let body = null;
        try { body = JSON.parse(e.message); } catch { /* not JSON */ }
        return { status: e.status, message: e.message, body };
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
