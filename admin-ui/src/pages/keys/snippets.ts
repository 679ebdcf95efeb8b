// "Use this key" code samples: the site's address and the full key filled in,
// for curl, the OpenAI SDKs, the Anthropic SDK and Google's @google/genai.

export interface Snippet {
  id: 'curl' | 'openai-js' | 'openai-py' | 'anthropic' | 'gemini';
  label: string;
  language: string;
  code: string;
}

/** The address clients call: the site's configured address, else this page's origin. */
export function baseUrl(serverAddress: string | undefined, origin: string): string {
  const s = (serverAddress || '').trim() || origin;
  return s.replace(/\/+$/, '');
}

/** JSON-safe inside a double-quoted string literal of JS or Python. */
function q(s: string): string {
  return JSON.stringify(s);
}

/** Safe inside a POSIX single-quoted shell word. */
function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function buildSnippets(base: string, key: string, model: string): Snippet[] {
  const chatBody = JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello!' }] });
  return [
    {
      id: 'curl',
      label: 'curl',
      language: 'bash',
      code: [
        `curl ${sh(`${base}/v1/chat/completions`)} \\`,
        `  -H 'Content-Type: application/json' \\`,
        `  -H ${sh(`Authorization: Bearer ${key}`)} \\`,
        `  -d ${sh(chatBody)}`,
      ].join('\n'),
    },
    {
      id: 'openai-js',
      label: 'OpenAI (JavaScript)',
      language: 'javascript',
      code: [
        `import OpenAI from 'openai';`,
        ``,
        `const client = new OpenAI({`,
        `  baseURL: ${q(`${base}/v1`)},`,
        `  apiKey: ${q(key)},`,
        `});`,
        ``,
        `const completion = await client.chat.completions.create({`,
        `  model: ${q(model)},`,
        `  messages: [{ role: 'user', content: 'Hello!' }],`,
        `});`,
        `console.log(completion.choices[0].message.content);`,
      ].join('\n'),
    },
    {
      id: 'openai-py',
      label: 'OpenAI (Python)',
      language: 'python',
      code: [
        `from openai import OpenAI`,
        ``,
        `client = OpenAI(`,
        `    base_url=${q(`${base}/v1`)},`,
        `    api_key=${q(key)},`,
        `)`,
        ``,
        `completion = client.chat.completions.create(`,
        `    model=${q(model)},`,
        `    messages=[{"role": "user", "content": "Hello!"}],`,
        `)`,
        `print(completion.choices[0].message.content)`,
      ].join('\n'),
    },
    {
      id: 'anthropic',
      label: 'Anthropic (Python)',
      language: 'python',
      code: [
        `import anthropic`,
        ``,
        `client = anthropic.Anthropic(`,
        `    base_url=${q(base)},`,
        `    api_key=${q(key)},`,
        `)`,
        ``,
        `message = client.messages.create(`,
        `    model=${q(model)},`,
        `    max_tokens=1024,`,
        `    messages=[{"role": "user", "content": "Hello!"}],`,
        `)`,
        `print(message.content[0].text)`,
      ].join('\n'),
    },
    {
      id: 'gemini',
      label: 'Gemini (@google/genai)',
      language: 'javascript',
      code: [
        `import { GoogleGenAI } from '@google/genai';`,
        ``,
        `const ai = new GoogleGenAI({`,
        `  apiKey: ${q(key)},`,
        `  httpOptions: { baseUrl: ${q(base)} },`,
        `});`,
        ``,
        `const response = await ai.models.generateContent({`,
        `  model: ${q(model)},`,
        `  contents: 'Hello!',`,
        `});`,
        `console.log(response.text);`,
      ].join('\n'),
    },
  ];
}
