// The channel table: selection for batch actions, status, type (marked when
// the gateway cannot relay it), priority and weight edited in place, the last
// test's response time, balance and used quota; per-row test and actions.
// Tag mode shows a header row per tag with the tag's own switches.
import { Fragment } from 'react';
import { ActionIcon, Badge, Button, Checkbox, Group, Menu, Stack, Table, Text, Tooltip } from '@mantine/core';
import { IconCopy, IconDots, IconEdit, IconFlask, IconPlayerPause, IconPlayerPlay, IconTrash } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { formatDateTime, formatDuration, formatNumber, formatQuota } from '../../lib/format';
import { InlineNumber } from './InlineNumber';
import type { TestResult } from './ops';
import { channelType, splitList, STATUS_AUTO_DISABLED, STATUS_ENABLED, type Channel } from './types';

// Badges keep their full text: the table scrolls sideways instead of cutting them.
const FIT = { minWidth: 'max-content' } as const;

export interface RowActions {
  onEdit: (c: Channel) => void;
  onCopy: (c: Channel) => void;
  onDelete: (c: Channel) => void;
  onToggle: (c: Channel) => void;
  onTest: (c: Channel) => void;
  onTestModel: (c: Channel) => void;
  onField: (c: Channel, field: 'priority' | 'weight', n: number) => Promise<unknown>;
  onTagField: (tag: string, field: 'priority' | 'weight', n: number) => Promise<unknown>;
  onTagStatus: (tag: string, enable: boolean) => void;
  onTagEdit: (tag: string) => void;
}

interface Props extends RowActions {
  items: Channel[];
  tagMode: boolean;
  selected: Set<number>;
  onSelect: (ids: number[], on: boolean) => void;
  testing: Set<number>;
  results: Record<number, TestResult>;
}

export function StatusBadge({ status }: { status: number }) {
  const { t } = useTranslation();
  if (status === STATUS_ENABLED) return <Badge style={FIT} color="green" variant="light">{t('status.enabled')}</Badge>;
  if (status === STATUS_AUTO_DISABLED)
    return (
      <Badge style={FIT} color="orange" variant="light">
        {t('status.autoDisabled')}
      </Badge>
    );
  return <Badge style={FIT} color="gray" variant="light">{t('status.disabled')}</Badge>;
}

function TestCell({ c, result, busy, onTest }: { c: Channel; result?: TestResult; busy: boolean; onTest: () => void }) {
  const { t } = useTranslation('channels');
  const shown = result
    ? result.ok
      ? { color: 'green', text: formatDuration(result.time * 1000), tip: result.message || t('test.ok') }
      : { color: 'red', text: t('test.failed'), tip: result.message }
    : c.test_time
      ? { color: c.response_time > 5000 ? 'orange' : 'gray', text: formatDuration(c.response_time), tip: t('test.lastAt', { time: formatDateTime(c.test_time) }) }
      : { color: 'gray', text: '—', tip: t('test.never') };
  return (
    <Stack gap={2}>
      <Group gap={6} wrap="nowrap">
      <Tooltip label={shown.tip} multiline maw={320} withArrow>
        <Badge style={FIT} color={shown.color} variant="light" data-testid={`channel-test-result-${c.id}`}>
          {shown.text}
        </Badge>
      </Tooltip>
      <Button size="compact-xs" variant="light" loading={busy} onClick={onTest} data-testid={`channel-test-${c.id}`} aria-label={t('test.one', { name: c.name })}>
        <IconFlask size={14} />
      </Button>
      </Group>
      {result && !result.ok && result.message && (
        <Text size="xs" c="red" lineClamp={2} maw={220} title={result.message}>
          {result.message}
        </Text>
      )}
    </Stack>
  );
}

function Row({ c, p }: { c: Channel; p: Props }) {
  const { t } = useTranslation(['channels', 'common']);
  const ct = channelType(c.type);
  const groups = splitList(c.group);
  const result = p.results[c.id];
  return (
    <Table.Tr>
      <Table.Td>
        <Checkbox
          aria-label={t('table.select', { name: c.name })}
          checked={p.selected.has(c.id)}
          onChange={(e) => p.onSelect([c.id], e.currentTarget.checked)}
        />
      </Table.Td>
      <Table.Td>{c.id}</Table.Td>
      <Table.Td maw={220}>
        <Text size="sm" fw={500} truncate="end">
          {c.name}
        </Text>
        {c.remark && (
          <Text size="xs" c="dimmed" truncate="end">
            {c.remark}
          </Text>
        )}
        {c.channel_info?.is_multi_key && (
          <Badge style={FIT} size="xs" variant="outline">
            {t('table.multiKey', { count: c.channel_info.multi_key_size ?? 0 })}
          </Badge>
        )}
      </Table.Td>
      <Table.Td>
        <Group gap={4} wrap="nowrap">
          <Text size="sm">{ct.name}</Text>
          {!ct.relayed && (
            <Tooltip label={t('form.notRelayed', { type: ct.name })} multiline maw={280}>
              <Badge style={FIT} size="xs" color="yellow" variant="light">
                {t('form.notRelayedShort')}
              </Badge>
            </Tooltip>
          )}
        </Group>
      </Table.Td>
      <Table.Td>
        <StatusBadge status={c.status} />
      </Table.Td>
      <Table.Td>
        <Group gap={4} wrap="nowrap">
          {groups.map((g) => (
            <Badge style={FIT} key={g} size="sm" variant="outline">
              {g}
            </Badge>
          ))}
        </Group>
      </Table.Td>
      <Table.Td>{c.tag || '—'}</Table.Td>
      <Table.Td>
        <InlineNumber value={c.priority} label={t('table.priorityOf', { name: c.name })} onSave={(n) => p.onField(c, 'priority', n)} />
      </Table.Td>
      <Table.Td>
        <InlineNumber value={c.weight} min={0} label={t('table.weightOf', { name: c.name })} onSave={(n) => p.onField(c, 'weight', n)} />
      </Table.Td>
      <Table.Td>
        <TestCell c={c} result={result} busy={p.testing.has(c.id)} onTest={() => p.onTest(c)} />
      </Table.Td>
      <Table.Td>{c.balance ? formatNumber(c.balance, 2) : '—'}</Table.Td>
      <Table.Td>{formatQuota(c.used_quota || 0)}</Table.Td>
      <Table.Td>
        <Group gap={4} wrap="nowrap">
          <Tooltip label={t('common:actions.edit')}>
            <ActionIcon variant="subtle" aria-label={t('table.edit', { name: c.name })} onClick={() => p.onEdit(c)}>
              <IconEdit size={16} />
            </ActionIcon>
          </Tooltip>
          <Menu position="bottom-end" withinPortal>
            <Menu.Target>
              <ActionIcon variant="subtle" aria-label={t('table.more', { name: c.name })}>
                <IconDots size={16} />
              </ActionIcon>
            </Menu.Target>
            <Menu.Dropdown>
              <Menu.Item leftSection={<IconFlask size={14} />} onClick={() => p.onTestModel(c)}>
                {t('test.withModel')}
              </Menu.Item>
              <Menu.Item
                leftSection={c.status === STATUS_ENABLED ? <IconPlayerPause size={14} /> : <IconPlayerPlay size={14} />}
                onClick={() => p.onToggle(c)}
              >
                {c.status === STATUS_ENABLED ? t('common:actions.disable') : t('common:actions.enable')}
              </Menu.Item>
              <Menu.Item leftSection={<IconCopy size={14} />} onClick={() => p.onCopy(c)}>
                {t('actions.copyChannel')}
              </Menu.Item>
              <Menu.Divider />
              <Menu.Item color="red" leftSection={<IconTrash size={14} />} onClick={() => p.onDelete(c)}>
                {t('common:actions.delete')}
              </Menu.Item>
            </Menu.Dropdown>
          </Menu>
        </Group>
      </Table.Td>
    </Table.Tr>
  );
}

function TagHeader({ tag, list, p }: { tag: string; list: Channel[]; p: Props }) {
  const { t } = useTranslation(['channels', 'common']);
  const ids = list.map((c) => c.id);
  const all = ids.every((id) => p.selected.has(id));
  // Channels without a tag come back in tag mode too: one header, no tag actions.
  if (!tag)
    return (
      <Table.Tr bg="var(--mantine-color-default-hover)">
        <Table.Td>
          <Checkbox aria-label={t('table.selectUntagged')} checked={all} onChange={(e) => p.onSelect(ids, e.currentTarget.checked)} />
        </Table.Td>
        <Table.Td colSpan={12}>
          <Text fw={600}>{t('table.untagged', { count: list.length })}</Text>
        </Table.Td>
      </Table.Tr>
    );
  return (
    <Table.Tr bg="var(--mantine-color-default-hover)">
      <Table.Td>
        <Checkbox aria-label={t('table.selectTag', { tag })} checked={all} onChange={(e) => p.onSelect(ids, e.currentTarget.checked)} />
      </Table.Td>
      <Table.Td colSpan={6}>
        <Group gap="xs" wrap="nowrap">
          <Text fw={600}>{t('table.tagTitle', { tag, count: list.length })}</Text>
          <Button size="compact-xs" variant="light" color="green" onClick={() => p.onTagStatus(tag, true)}>
            {t('actions.enableTag')}
          </Button>
          <Button size="compact-xs" variant="light" color="gray" onClick={() => p.onTagStatus(tag, false)}>
            {t('actions.disableTag')}
          </Button>
          <Button size="compact-xs" variant="light" leftSection={<IconEdit size={12} />} onClick={() => p.onTagEdit(tag)}>
            {t('actions.editTag')}
          </Button>
        </Group>
      </Table.Td>
      <Table.Td>
        <InlineNumber value={list[0]?.priority ?? 0} label={t('table.tagPriority', { tag })} onSave={(n) => p.onTagField(tag, 'priority', n)} />
      </Table.Td>
      <Table.Td>
        <InlineNumber value={list[0]?.weight ?? 0} min={0} label={t('table.tagWeight', { tag })} onSave={(n) => p.onTagField(tag, 'weight', n)} />
      </Table.Td>
      <Table.Td colSpan={4} />
    </Table.Tr>
  );
}

export function ChannelTable(p: Props) {
  const { t } = useTranslation(['channels', 'common']);
  const ids = p.items.map((c) => c.id);
  const allOn = ids.length > 0 && ids.every((id) => p.selected.has(id));
  const someOn = ids.some((id) => p.selected.has(id));
  const byTag: Array<[string, Channel[]]> = [];
  if (p.tagMode) {
    for (const c of p.items) {
      const tag = c.tag || '';
      const last = byTag[byTag.length - 1];
      if (last && last[0] === tag) last[1].push(c);
      else byTag.push([tag, [c]]);
    }
  }
  return (
    <Table.ScrollContainer minWidth={1180}>
      <Table striped highlightOnHover verticalSpacing="xs" style={{ whiteSpace: 'nowrap' }} data-testid="channels-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={36}>
              <Checkbox
                aria-label={t('table.selectPage')}
                checked={allOn}
                indeterminate={someOn && !allOn}
                onChange={(e) => p.onSelect(ids, e.currentTarget.checked)}
              />
            </Table.Th>
            <Table.Th>{t('fields.id')}</Table.Th>
            <Table.Th>{t('fields.name')}</Table.Th>
            <Table.Th>{t('fields.type')}</Table.Th>
            <Table.Th>{t('fields.status')}</Table.Th>
            <Table.Th>{t('fields.groups')}</Table.Th>
            <Table.Th>{t('fields.tag')}</Table.Th>
            <Table.Th>{t('fields.priority')}</Table.Th>
            <Table.Th>{t('fields.weight')}</Table.Th>
            <Table.Th>{t('fields.responseTime')}</Table.Th>
            <Table.Th>{t('fields.balance')}</Table.Th>
            <Table.Th>{t('fields.usedQuota')}</Table.Th>
            <Table.Th>{t('common:table.actions')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {p.tagMode
            ? byTag.map(([tag, list]) => (
                <Fragment key={`tag-${tag}`}>
                  <TagHeader tag={tag} list={list} p={p} />
                  {list.map((c) => (
                    <Row key={c.id} c={c} p={p} />
                  ))}
                </Fragment>
              ))
            : p.items.map((c) => <Row key={c.id} c={c} p={p} />)}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
