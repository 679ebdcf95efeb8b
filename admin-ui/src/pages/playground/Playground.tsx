// Playground (reference: the playground feature): chat with any model the
// account may use, through POST /pg/chat/completions with the signed-in
// session (no API key needed). Streams the answer (SSE) and renders it as
// Markdown while it arrives; stop, clear, system prompt and parameters.
import { useEffect, useRef, useState } from 'react';
import {
  Alert,
  Badge,
  Box,
  Button,
  Collapse,
  Grid,
  Group,
  Loader,
  NumberInput,
  Paper,
  Select,
  Stack,
  Switch,
  Text,
  Textarea,
  Title,
} from '@mantine/core';
import { useMediaQuery } from '@mantine/hooks';
import { IconAdjustments, IconPlayerStop, IconSend, IconTrash } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { authFetch } from '../../api/client';
import { ErrorAlert, PageHeader } from '../../components/common';
import { formatNumber } from '../../lib/format';
import { useUserGroups, useUserModels } from '../keys/KeyForm';
import { Markdown } from './markdown';
import { errorText, readChatResponse, type Usage } from './sse';

export interface ChatMessage {
  id: number;
  role: 'user' | 'assistant';
  content: string;
  reasoning?: string;
  error?: string;
  usage?: Usage;
  stopped?: boolean;
  pending?: boolean;
}

export interface PlaygroundParams {
  model: string;
  group: string;
  system: string;
  temperature: number | string;
  top_p: number | string;
  max_tokens: number | string;
  stream: boolean;
}

const num = (v: number | string): number | undefined => {
  if (v === '' || v === null || v === undefined) return undefined;
  const n = typeof v === 'number' ? v : parseFloat(v);
  return Number.isFinite(n) ? n : undefined;
};

/** The body of POST /pg/chat/completions: the history without failed answers. */
export function buildChatRequest(p: PlaygroundParams, history: ChatMessage[]): Record<string, unknown> {
  const messages: Array<{ role: string; content: string }> = [];
  if (p.system.trim()) messages.push({ role: 'system', content: p.system });
  for (const m of history) {
    if (m.role === 'assistant' && (m.error || !m.content)) continue;
    messages.push({ role: m.role, content: m.content });
  }
  const body: Record<string, unknown> = { model: p.model, messages, stream: p.stream };
  if (p.group) body.group = p.group;
  const temperature = num(p.temperature);
  const top_p = num(p.top_p);
  const max_tokens = num(p.max_tokens);
  if (temperature !== undefined) body.temperature = temperature;
  if (top_p !== undefined) body.top_p = top_p;
  if (max_tokens !== undefined) body.max_tokens = Math.round(max_tokens);
  if (p.stream) body.stream_options = { include_usage: true };
  return body;
}

let nextId = 1;

const STORE_KEY = 'tf_playground';
const DEFAULT_PARAMS: PlaygroundParams = {
  model: '',
  group: '',
  system: '',
  temperature: '',
  top_p: '',
  max_tokens: '',
  stream: true,
};

/** The settings of the last visit (model, group, system prompt, parameters). */
function loadParams(): PlaygroundParams {
  try {
    const raw = JSON.parse(localStorage.getItem(STORE_KEY) || 'null');
    if (!raw || typeof raw !== 'object') return DEFAULT_PARAMS;
    const out = { ...DEFAULT_PARAMS };
    for (const k of ['model', 'group', 'system'] as const) if (typeof raw[k] === 'string') out[k] = raw[k];
    for (const k of ['temperature', 'top_p', 'max_tokens'] as const)
      if (typeof raw[k] === 'number' || raw[k] === '') out[k] = raw[k];
    if (typeof raw.stream === 'boolean') out.stream = raw.stream;
    return out;
  } catch {
    return DEFAULT_PARAMS;
  }
}

function UsageLine({ usage }: { usage: Usage }) {
  const { t } = useTranslation('playground');
  return (
    <Text size="xs" c="dimmed" data-testid="playground-usage">
      {t('usage', {
        prompt: formatNumber(usage.prompt_tokens ?? 0, 0),
        completion: formatNumber(usage.completion_tokens ?? 0, 0),
        total: formatNumber(usage.total_tokens ?? (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0), 0),
      })}
    </Text>
  );
}

function MessageView({ m, last }: { m: ChatMessage; last: boolean }) {
  const { t } = useTranslation('playground');
  if (m.role === 'user') {
    return (
      <Group justify="flex-end" wrap="nowrap">
        <Paper
          px="sm"
          py={6}
          radius="md"
          bg="var(--mantine-primary-color-light)"
          maw="85%"
          style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}
          aria-label={t('you')}
        >
          <Text size="sm">{m.content}</Text>
        </Paper>
      </Group>
    );
  }
  return (
    <Paper withBorder px="sm" py={6} radius="md" data-testid={last ? 'playground-answer' : undefined} aria-label={t('assistant')} aria-busy={m.pending || undefined} style={{ minWidth: 0 }}>
      {m.reasoning && (
        <Text size="xs" c="dimmed" mb={4} style={{ whiteSpace: 'pre-wrap' }}>
          {t('reasoning')}: {m.reasoning}
        </Text>
      )}
      {m.content ? <Markdown text={m.content} /> : m.pending ? <Loader size="xs" type="dots" aria-label={t('thinking')} /> : null}
      {m.error && (
        <Alert color="red" role="alert" title={t('errorTitle')} mt={m.content ? 'xs' : 0} p="xs" data-testid="playground-error">
          <Text size="sm" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
            {m.error}
          </Text>
        </Alert>
      )}
      {m.stopped && (
        <Badge color="gray" variant="light" size="sm" mt={4}>
          {t('stopped')}
        </Badge>
      )}
      {m.usage && <UsageLine usage={m.usage} />}
    </Paper>
  );
}

export default function Playground() {
  const { t } = useTranslation(['playground', 'common']);
  const wide = useMediaQuery('(min-width: 62em)', true);
  const [showSettings, setShowSettings] = useState(false);
  const models = useUserModels();
  const groups = useUserGroups();
  const [params, setParams] = useState<PlaygroundParams>(loadParams);
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [input, setInput] = useState('');
  const [busy, setBusy] = useState(false);
  const abortRef = useRef<AbortController | null>(null);
  const endRef = useRef<HTMLDivElement | null>(null);

  const modelList = models.data ?? [];
  // the saved model while the list loads; the first listed one when it is gone
  const model = models.data ? (modelList.includes(params.model) ? params.model : modelList[0] || '') : params.model;
  const set = <K extends keyof PlaygroundParams>(k: K, v: PlaygroundParams[K]) => setParams((p) => ({ ...p, [k]: v }));

  useEffect(() => {
    endRef.current?.scrollIntoView({ block: 'end' });
  }, [messages]);
  useEffect(() => {
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify(params));
    } catch {
      /* storage unavailable */
    }
  }, [params]);
  useEffect(() => () => abortRef.current?.abort(), []);

  const patch = (id: number, f: (m: ChatMessage) => ChatMessage) =>
    setMessages((ms) => ms.map((m) => (m.id === id ? f(m) : m)));

  const send = async () => {
    const text = input.trim();
    if (!text || busy || !model) return;
    const user: ChatMessage = { id: nextId++, role: 'user', content: text };
    const answer: ChatMessage = { id: nextId++, role: 'assistant', content: '', pending: true };
    const history = [...messages, user];
    setMessages([...history, answer]);
    setInput('');
    setBusy(true);
    const ctrl = new AbortController();
    abortRef.current = ctrl;
    try {
      const res = await authFetch('/pg/chat/completions', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: params.stream ? 'text/event-stream' : 'application/json' },
        body: JSON.stringify(buildChatRequest({ ...params, model }, history)),
        signal: ctrl.signal,
      });
      if (!res.ok) {
        const body = await res.text();
        patch(answer.id, (m) => ({ ...m, error: errorText(body, `HTTP ${res.status}`) }));
        return;
      }
      await readChatResponse(res, (u) => {
        if (u.kind === 'delta')
          patch(answer.id, (m) => ({
            ...m,
            content: m.content + u.content,
            reasoning: u.reasoning ? (m.reasoning ?? '') + u.reasoning : m.reasoning,
            usage: u.usage ?? m.usage,
          }));
        else if (u.kind === 'error') patch(answer.id, (m) => ({ ...m, error: u.message }));
      });
    } catch (e) {
      if (ctrl.signal.aborted) patch(answer.id, (m) => ({ ...m, stopped: true }));
      else patch(answer.id, (m) => ({ ...m, error: e instanceof Error ? e.message : String(e) }));
    } finally {
      patch(answer.id, (m) => ({ ...m, pending: false }));
      abortRef.current = null;
      setBusy(false);
    }
  };

  const stop = () => abortRef.current?.abort();
  const clear = () => {
    stop();
    setMessages([]);
  };

  const groupOptions = Object.entries(groups.data ?? {}).map(([name, g]) => ({
    value: name,
    label: g?.desc && g.desc !== name ? `${name} — ${g.desc}` : name,
  }));

  const settings = (
    <Stack gap="sm">
      <Select
        label={t('model')}
        data={modelList}
        value={model || null}
        onChange={(v) => set('model', v ?? '')}
        searchable
        allowDeselect={false}
        placeholder={models.isPending ? t('common:loading') : t('noModels')}
        nothingFoundMessage={t('noModels')}
        data-testid="playground-model"
        error={models.error ? (models.error as Error).message : undefined}
      />
      <Select
        label={t('group')}
        data={groupOptions}
        value={params.group || null}
        onChange={(v) => set('group', v ?? '')}
        clearable
        placeholder={t('groupDefault')}
        error={groups.error ? (groups.error as Error).message : undefined}
      />
      <Textarea
        label={t('system')}
        placeholder={t('systemPlaceholder')}
        rows={3}
        value={params.system}
        onChange={(e) => set('system', e.currentTarget.value)}
      />
      <Group grow gap="xs" align="flex-start">
        <NumberInput
          label={t('temperature')}
          placeholder={t('default')}
          min={0}
          max={2}
          step={0.1}
          decimalScale={2}
          value={params.temperature}
          onChange={(v) => set('temperature', v)}
        />
        <NumberInput
          label={t('topP')}
          placeholder={t('default')}
          min={0}
          max={1}
          step={0.05}
          decimalScale={2}
          value={params.top_p}
          onChange={(v) => set('top_p', v)}
        />
      </Group>
      <NumberInput
        label={t('maxTokens')}
        placeholder={t('default')}
        min={1}
        step={256}
        allowDecimal={false}
        value={params.max_tokens}
        onChange={(v) => set('max_tokens', v)}
      />
      <Switch label={t('stream')} checked={params.stream} onChange={(e) => set('stream', e.currentTarget.checked)} />
    </Stack>
  );

  const lastAssistant = [...messages].reverse().find((m) => m.role === 'assistant');

  return (
    <>
      <PageHeader
        title={t('title')}
        actions={
          <>
            {!wide && (
              <Button variant="default" leftSection={<IconAdjustments size={16} />} onClick={() => setShowSettings((s) => !s)} aria-expanded={showSettings}>
                {t('settings')}
              </Button>
            )}
            <Button variant="default" leftSection={<IconTrash size={16} />} onClick={clear} disabled={!messages.length} data-testid="playground-clear">
              {t('clear')}
            </Button>
          </>
        }
      >
        <Text c="dimmed" size="sm">
          {t('intro')}
        </Text>
      </PageHeader>
      <ErrorAlert error={models.error} />
      <Grid gap="md">
        <Grid.Col span={{ base: 12, md: 4 }}>
          <Collapse expanded={wide || showSettings}>
            <Paper withBorder p="sm">
              {wide && (
                <Title order={4} mb="xs">
                  {t('settings')}
                </Title>
              )}
              {settings}
            </Paper>
          </Collapse>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 8 }} style={{ minWidth: 0 }}>
          <Paper withBorder p="sm" style={{ display: 'flex', flexDirection: 'column', minWidth: 0 }}>
            <Box mah="60vh" style={{ overflowY: 'auto', overflowX: 'hidden', minWidth: 0 }}>
              <Stack gap="sm" py="xs" aria-live="polite" data-testid="playground-messages">
                {messages.length === 0 ? (
                  <Text c="dimmed" size="sm" ta="center" py="xl">
                    {modelList.length || models.isPending ? t('empty') : t('noModelsHelp')}
                  </Text>
                ) : (
                  messages.map((m) => <MessageView key={m.id} m={m} last={m === lastAssistant} />)
                )}
                <div ref={endRef} />
              </Stack>
            </Box>
            <Box mt="sm">
              <Textarea
                label={t('message')}
                placeholder={t('messagePlaceholder')}
                description={t('keyboardHint')}
                rows={3}
                value={input}
                onChange={(e) => setInput(e.currentTarget.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
                    e.preventDefault();
                    send();
                  }
                }}
                data-testid="playground-input"
              />
              <Group justify="flex-end" mt="xs" gap="xs">
                {busy && (
                  <Button color="red" variant="light" leftSection={<IconPlayerStop size={16} />} onClick={stop} data-testid="playground-stop">
                    {t('stop')}
                  </Button>
                )}
                <Button
                  leftSection={<IconSend size={16} />}
                  onClick={send}
                  disabled={busy || !input.trim() || !model}
                  loading={busy}
                  data-testid="playground-send"
                >
                  {t('send')}
                </Button>
              </Group>
            </Box>
          </Paper>
        </Grid.Col>
      </Grid>
    </>
  );
}
