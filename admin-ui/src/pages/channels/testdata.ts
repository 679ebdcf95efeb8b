// Fixtures and API mocks shared by the channel page tests.
import { ADMIN_USER, mockApi, STATUS, type ApiHandler } from '../../test/render';
import type { Channel } from './types';

export function channel(over: Partial<Channel> = {}): Channel {
  return {
    id: 5,
    type: 1,
    openai_organization: '',
    test_model: '',
    status: 1,
    name: 'openai-main',
    weight: 3,
    created_time: 1700000000,
    test_time: 0,
    response_time: 0,
    base_url: 'https://api.example.com',
    other: '',
    balance: 0,
    balance_updated_time: 0,
    models: 'gpt-4o,gpt-4o-mini',
    group: 'default,vip',
    used_quota: 250000,
    model_mapping: '{"gpt-4o":"gpt-4o-2024-11-20"}',
    status_code_mapping: '',
    priority: 10,
    auto_ban: 1,
    other_info: '',
    tag: '',
    setting: '{"proxy":"socks5://127.0.0.1:1080","http_protocol":"http1"}',
    param_override: '',
    header_override: '',
    remark: '',
    channel_info: { is_multi_key: false, multi_key_size: 0, multi_key_mode: '' },
    settings: '',
    ...over,
  };
}

/** The page's API with `items` as the channel list; extra routes win. */
export function mockChannelsApi(items: Channel[], extra: Record<string, ApiHandler | unknown> = {}, user = ADMIN_USER) {
  return mockApi({
    '/api/status': STATUS,
    '/api/user/self': user,
    'GET /api/channel/': { items, total: items.length, page: 1, page_size: 20, type_counts: { '1': items.length } },
    'GET /api/channel/search': { items, total: items.length, page: 1, page_size: 20, type_counts: {} },
    'GET /api/group/': ['default', 'vip'],
    'GET /api/channel/models': [{ id: 'gpt-4o' }],
    ...extra,
  });
}
