// One log row in full (reference usage-logs details dialog): tokens with the
// cache reads and writes, the ratios and the price they came from, timing,
// the request id, stream flag and IP; the raw `other` JSON last.
import type { ReactNode } from 'react';
import { Badge, Code, Group, Table, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { CopyIcon } from '../../components/CopyIcon';
import { formatDateTime, formatDuration, formatNumber, formatQuota, getDisplaySettings } from '../../lib/format';
import { logType, parseOther, type LogRow } from './logs';

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Table.Tr>
      <Table.Th w="45%" fw={500} c="dimmed" scope="row">
        {label}
      </Table.Th>
      <Table.Td style={{ wordBreak: 'break-all' }}>{children}</Table.Td>
    </Table.Tr>
  );
}

const ratio = (v: number | undefined) => (typeof v === 'number' ? formatNumber(v, 6) : '—');

export function LogDetail({ log, admin }: { log: LogRow; admin: boolean }) {
  const { t } = useTranslation(['logs', 'common']);
  const o = parseOther(log.other);
  const qpu = getDisplaySettings().quota_per_unit;
  const perCall = typeof o.model_price === 'number' && o.model_price >= 0;
  const type = logType(log.type);
  const hasCacheWrite = (o.cache_creation_tokens ?? 0) > 0;
  const splitWrite = (o.cache_creation_tokens_1h ?? 0) > 0;

  return (
    <>
      <Table withRowBorders verticalSpacing={6} fz="sm" aria-label={t('detail.title', { id: log.id })}>
        <Table.Tbody>
          <Row label={t('col.time')}>{formatDateTime(log.created_at)}</Row>
          <Row label={t('col.type')}>
            <Badge color={type.color} variant="light">
              {t(`type.${type.key}`)}
            </Badge>
          </Row>
          {admin && <Row label={t('col.user')}>{log.username || '—'}</Row>}
          <Row label={t('col.key')}>{log.token_name || '—'}</Row>
          <Row label={t('detail.group')}>{log.group || '—'}</Row>
          <Row label={t('col.model')}>{log.model_name || '—'}</Row>
          {o.is_model_mapped && o.upstream_model_name && (
            <Row label={t('detail.upstreamModel')}>{o.upstream_model_name}</Row>
          )}
          {admin && (
            <Row label={t('col.channel')}>
              {log.channel ? `#${log.channel}${log.channel_name ? ` ${log.channel_name}` : ''}` : '—'}
            </Row>
          )}
          {admin && typeof o.channels_tried === 'number' && o.channels_tried > 1 && (
            <Row label={t('detail.channelsTried')}>{formatNumber(o.channels_tried, 0)}</Row>
          )}
          <Row label={t('detail.requestId')}>
            {log.request_id ? (
              <Group gap={4} wrap="nowrap" align="center">
                <Text size="sm" ff="monospace" style={{ wordBreak: 'break-all' }}>
                  {log.request_id}
                </Text>
                <CopyIcon value={log.request_id} label={t('detail.copyRequestId')} size="sm" iconSize={14} />
              </Group>
            ) : (
              '—'
            )}
          </Row>
          <Row label={t('detail.stream')}>{log.is_stream ? t('detail.yes') : t('detail.no')}</Row>
          <Row label={t('detail.ip')}>{log.ip || '—'}</Row>
          <Row label={t('detail.useTime')}>{t('seconds', { n: formatNumber(log.use_time || 0, 0) })}</Row>
          <Row label={t('detail.frt')}>{typeof o.frt === 'number' && o.frt >= 0 ? formatDuration(o.frt) : '—'}</Row>
          <Row label={t('detail.promptTokens')}>{formatNumber(log.prompt_tokens || 0, 0)}</Row>
          <Row label={t('detail.completionTokens')}>{formatNumber(log.completion_tokens || 0, 0)}</Row>
          <Row label={t('detail.cacheRead')}>{formatNumber(o.cache_tokens ?? 0, 0)}</Row>
          <Row label={t('detail.cacheWrite')}>
            {formatNumber(o.cache_creation_tokens ?? 0, 0)}
            {splitWrite &&
              ` (${t('detail.cacheWrite5m')}: ${formatNumber(o.cache_creation_tokens_5m ?? 0, 0)}, ${t('detail.cacheWrite1h')}: ${formatNumber(o.cache_creation_tokens_1h ?? 0, 0)})`}
          </Row>
          {perCall ? (
            <Row label={t('detail.pricePerCall')}>{formatQuota((o.model_price ?? 0) * qpu, 6)}</Row>
          ) : (
            <>
              <Row label={t('detail.modelRatio')}>{ratio(o.model_ratio)}</Row>
              <Row label={t('detail.completionRatio')}>{ratio(o.completion_ratio)}</Row>
            </>
          )}
          <Row label={t('detail.groupRatio')}>{ratio(o.group_ratio)}</Row>
          {!perCall && typeof o.cache_ratio === 'number' && <Row label={t('detail.cacheRatio')}>{ratio(o.cache_ratio)}</Row>}
          {!perCall && hasCacheWrite && <Row label={t('detail.cacheWriteRatio')}>{ratio(o.cache_creation_ratio)}</Row>}
          {!perCall && splitWrite && <Row label={t('detail.cacheWriteRatio1h')}>{ratio(o.cache_creation_ratio_1h)}</Row>}
          {!perCall && typeof o.model_ratio === 'number' && (
            <>
              <Row label={t('detail.inputPrice')}>{formatQuota(o.model_ratio * 2 * qpu, 6)}</Row>
              {typeof o.completion_ratio === 'number' && (
                <Row label={t('detail.outputPrice')}>{formatQuota(o.model_ratio * o.completion_ratio * 2 * qpu, 6)}</Row>
              )}
            </>
          )}
          <Row label={t('col.cost')}>{formatQuota(log.quota || 0, 6)}</Row>
          {o.local_count_tokens && <Row label={t('detail.localCount')}>{t('detail.yes')}</Row>}
          {o.settle_error && <Row label={t('detail.settleError')}>{String(o.settle_error)}</Row>}
          {log.content && <Row label={t('col.content')}>{log.content}</Row>}
        </Table.Tbody>
      </Table>
      {log.other && (
        <>
          <Title order={4} size="h6" mt="md" mb={4}>
            {t('detail.raw')}
          </Title>
          <Code block style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
            {JSON.stringify(o, null, 2)}
          </Code>
        </>
      )}
    </>
  );
}
