// Channel shapes as GET /api/channel/ answers them (gateway/api/channels.c,
// GW__CH_OUT_COLS: every column but the key), the channel types of the
// reference (constant/channel.go) and which of them this gateway can relay
// (adapters/registry.c).

export interface ChannelInfo {
  is_multi_key?: boolean;
  multi_key_size?: number;
  multi_key_mode?: string;
  [k: string]: unknown;
}

export interface Channel {
  id: number;
  type: number;
  openai_organization?: string | null;
  test_model?: string | null;
  status: number;
  name: string;
  weight: number;
  created_time: number;
  test_time: number;
  response_time: number;
  base_url?: string | null;
  other?: string | null;
  balance: number;
  balance_updated_time: number;
  models: string;
  group: string;
  used_quota: number;
  model_mapping?: string | null;
  status_code_mapping?: string | null;
  priority: number;
  auto_ban: number;
  other_info?: string | null;
  tag?: string | null;
  setting?: string | null;
  param_override?: string | null;
  header_override?: string | null;
  remark?: string | null;
  channel_info?: ChannelInfo | null;
  settings?: string | null;
}

export interface ChannelPage {
  items: Channel[];
  total: number;
  page: number;
  page_size: number;
  type_counts?: Record<string, number>;
}

export const STATUS_ENABLED = 1;
export const STATUS_DISABLED = 2;
export const STATUS_AUTO_DISABLED = 3;

export interface ChannelType {
  id: number;
  name: string;
  /** the gateway has an adapter for it (adapters/registry.c) */
  relayed: boolean;
  /** the reference's default base URL (empty: the operator must give one) */
  baseUrl: string;
}

// Types the gateway relays today: the rows of adapters/registry.c.
const RELAYED = new Set([1, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 19, 20, 24, 25, 27, 31, 40, 42, 43, 47, 48]);

// [id, name, default base URL] for every reference channel type (1..60).
const RAW: Array<[number, string, string]> = [
  [1, 'OpenAI', 'https://api.openai.com'],
  [2, 'Midjourney Proxy', ''],
  [3, 'Azure OpenAI', ''],
  [4, 'Ollama', 'http://localhost:11434'],
  [5, 'Midjourney Proxy Plus', ''],
  [6, 'OpenAIMax', 'https://api.openaimax.com'],
  [7, 'OhMyGPT', 'https://api.ohmygpt.com'],
  [8, 'Custom', ''],
  [9, 'AILS', 'https://api.caipacity.com'],
  [10, 'AIProxy', 'https://api.aiproxy.io'],
  [11, 'PaLM', ''],
  [12, 'API2GPT', 'https://api.api2gpt.com'],
  [13, 'AIGC2D', 'https://api.aigc2d.com'],
  [14, 'Anthropic', 'https://api.anthropic.com'],
  [15, 'Baidu', 'https://aip.baidubce.com'],
  [16, 'Zhipu', 'https://open.bigmodel.cn'],
  [17, 'Ali', 'https://dashscope.aliyuncs.com'],
  [18, 'Xunfei', ''],
  [19, '360', 'https://api.360.cn'],
  [20, 'OpenRouter', 'https://openrouter.ai/api'],
  [21, 'AI Proxy Library', 'https://api.aiproxy.io'],
  [22, 'FastGPT', 'https://fastgpt.run/api/openapi'],
  [23, 'Tencent', 'https://hunyuan.tencentcloudapi.com'],
  [24, 'Gemini', 'https://generativelanguage.googleapis.com'],
  [25, 'Moonshot', 'https://api.moonshot.cn'],
  [26, 'Zhipu V4', 'https://open.bigmodel.cn'],
  [27, 'Perplexity', 'https://api.perplexity.ai'],
  [31, 'LingYiWanWu', 'https://api.lingyiwanwu.com'],
  [33, 'AWS Bedrock', ''],
  [34, 'Cohere', 'https://api.cohere.ai'],
  [35, 'MiniMax', 'https://api.minimax.chat'],
  [36, 'SunoAPI', ''],
  [37, 'Dify', 'https://api.dify.ai'],
  [38, 'Jina', 'https://api.jina.ai'],
  [39, 'Cloudflare', 'https://api.cloudflare.com'],
  [40, 'SiliconFlow', 'https://api.siliconflow.cn'],
  [41, 'Vertex AI', ''],
  [42, 'Mistral', 'https://api.mistral.ai'],
  [43, 'DeepSeek', 'https://api.deepseek.com'],
  [44, 'MokaAI', 'https://api.moka.ai'],
  [45, 'VolcEngine', 'https://ark.cn-beijing.volces.com'],
  [46, 'Baidu V2', 'https://qianfan.baidubce.com'],
  [47, 'Xinference', ''],
  [48, 'xAI', 'https://api.x.ai'],
  [49, 'Coze', 'https://api.coze.cn'],
  [50, 'Kling', 'https://api.klingai.com'],
  [51, 'Jimeng', 'https://visual.volcengineapi.com'],
  [52, 'Vidu', 'https://api.vidu.cn'],
  [53, 'Submodel', 'https://llm.submodel.ai'],
  [54, 'Doubao Video', 'https://ark.cn-beijing.volces.com'],
  [55, 'Sora', 'https://api.openai.com'],
  [56, 'Replicate', 'https://api.replicate.com'],
  [57, 'Codex (ChatGPT subscription)', 'https://chatgpt.com'],
  [58, 'Advanced Custom', ''],
  [59, 'Sub2API', ''],
  [60, 'New API', ''],
];

export const CHANNEL_TYPES: ChannelType[] = RAW.map(([id, name, baseUrl]) => ({
  id,
  name,
  baseUrl,
  relayed: RELAYED.has(id),
}));

export function channelType(id: number): ChannelType {
  return CHANNEL_TYPES.find((c) => c.id === id) ?? { id, name: `#${id}`, relayed: false, baseUrl: '' };
}

/** Types whose requests cannot go anywhere without an explicit base URL. */
export const BASE_URL_REQUIRED = new Set([3, 8, 47]);

/** Types the reference makes fill `other` (Azure API version, Vertex region...). */
export const OTHER_REQUIRED = new Set([3, 18, 21, 39, 41, 49]);

// A starting model list per type ("fill the defaults"); fetch from the
// upstream for the provider's current list.
export const DEFAULT_MODELS: Record<number, string[]> = {
  1: ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'o3-mini', 'text-embedding-3-small'],
  3: ['gpt-4o', 'gpt-4o-mini'],
  4: ['llama3.1', 'qwen2.5'],
  14: ['claude-sonnet-4-5', 'claude-opus-4-1', 'claude-3-5-haiku-latest'],
  20: ['openai/gpt-4o-mini', 'anthropic/claude-sonnet-4.5', 'google/gemini-2.5-flash'],
  24: ['gemini-2.5-pro', 'gemini-2.5-flash', 'gemini-2.0-flash'],
  25: ['moonshot-v1-8k', 'moonshot-v1-32k', 'moonshot-v1-128k'],
  27: ['sonar', 'sonar-pro'],
  31: ['yi-lightning'],
  40: ['deepseek-ai/DeepSeek-V3', 'Qwen/Qwen2.5-72B-Instruct'],
  42: ['mistral-large-latest', 'mistral-small-latest', 'codestral-latest'],
  43: ['deepseek-chat', 'deepseek-reasoner'],
  48: ['grok-3', 'grok-3-mini'],
};

export function splitList(s: string | null | undefined): string[] {
  const out: string[] = [];
  for (const part of (s ?? '').split(',')) {
    const v = part.trim();
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}
