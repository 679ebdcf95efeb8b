/* The channel-type table: one row per reference channel type
 * (constant/channel.go; default base URLs from new-api-behaviour.md §7).
 * OpenAI-compatible providers are rows pointing at the OpenAI adapter; their
 * differences are flags. Types missing here have no adapter yet. */
#include "adapters/adapter.h"

#define OAI &gw_adapter_openai
#define SO GW_CT_STREAM_OPTIONS

/* Stream options: the reference's streamSupportedChannels among these rows
 * are OpenAI, Azure, Ollama, DeepSeek and xAI. */
static const struct gw_channel_type types[] = {
    {1, "OpenAI", "https://api.openai.com", OAI, SO | GW_CT_ORGANIZATION},
    {3, "Azure", "", &gw_adapter_azure, SO},
    {4, "Ollama", "http://localhost:11434", OAI, SO | GW_CT_HTTP},
    {6, "OpenAIMax", "https://api.openaimax.com", OAI, 0},
    {7, "OhMyGPT", "https://api.ohmygpt.com", OAI, 0},
    {8, "Custom", "", OAI, GW_CT_URL_TEMPLATE},
    {9, "AILS", "https://api.caipacity.com", OAI, 0},
    {10, "AIProxy", "https://api.aiproxy.io", OAI, 0},
    {12, "API2GPT", "https://api.api2gpt.com", OAI, 0},
    {13, "AIGC2D", "https://api.aigc2d.com", OAI, 0},
    {14, "Anthropic", "https://api.anthropic.com", &gw_adapter_anthropic, 0},
    {19, "360", "https://api.360.cn", OAI, 0},
    {20, "OpenRouter", "https://openrouter.ai/api", OAI, GW_CT_OPENROUTER},
    {24, "Gemini", "https://generativelanguage.googleapis.com", &gw_adapter_gemini, 0},
    {25, "Moonshot", "https://api.moonshot.cn", OAI, 0},
    {27, "Perplexity", "https://api.perplexity.ai", OAI, GW_CT_CHAT_NO_V1},
    {31, "LingYiWanWu", "https://api.lingyiwanwu.com", OAI, 0},
    {40, "SiliconFlow", "https://api.siliconflow.cn", OAI, 0},
    {42, "Mistral", "https://api.mistral.ai", OAI, 0},
    {43, "DeepSeek", "https://api.deepseek.com", OAI, SO | GW_CT_FIM_BETA},
    {47, "Xinference", "", OAI, 0},
    {48, "xAI", "https://api.x.ai", OAI, SO},
};

const struct gw_channel_type *gw_channel_type(int type)
{
    /* Rows are few and sorted; a scan is as fast as an index here. */
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (types[i].type == type)
            return &types[i];
    }
    return NULL;
}
