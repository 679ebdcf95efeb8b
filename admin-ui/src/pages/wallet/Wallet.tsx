// Wallet: the balance, used quota and request count; redeeming a code
// (POST /api/user/topup); how to top up (online payment is not offered by this
// gateway: said plainly, with the site's top-up link when set); the top-up
// history when there is one; the invitation (affiliate) code.
import { useState, type FormEvent } from 'react';
import {
  Alert,
  Badge,
  Button,
  Card,
  Group,
  SimpleGrid,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { IconCheck, IconExternalLink, IconInfoCircle, IconTicket } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { CopyIcon } from '../../components/CopyIcon';
import { api } from '../../api/client';
import { useAuth } from '../../auth/AuthProvider';
import { ErrorAlert, PageHeader } from '../../components/common';
import { formatDateTime, formatNumber, formatQuota, getDisplaySettings } from '../../lib/format';

interface TopupInfo {
  enable_online_topup?: boolean;
  enable_stripe_topup?: boolean;
  enable_creem_topup?: boolean;
  enable_waffo_topup?: boolean;
  enable_redemption?: boolean;
  topup_link?: string;
  min_topup?: number;
  [k: string]: unknown;
}

interface TopupRecord {
  id: number;
  amount: number;
  money: number;
  trade_no: string;
  payment_method: string;
  create_time: number;
  complete_time?: number;
  status: string;
}

const KNOWN_TOPUP_STATUS = ['success', 'pending', 'expired', 'failed'];

function Stat({ label, value, testid }: { label: string; value: string; testid?: string }) {
  return (
    <Card withBorder padding="md">
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text fw={700} size="xl" data-testid={testid} style={{ overflowWrap: 'anywhere' }}>
        {value}
      </Text>
    </Card>
  );
}

export default function Wallet() {
  const { t } = useTranslation(['wallet', 'common']);
  const { user, status, reloadUser } = useAuth();
  const qc = useQueryClient();
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [redeemError, setRedeemError] = useState<unknown>(null);
  const [redeemed, setRedeemed] = useState<number | null>(null);

  const info = useQuery({
    queryKey: ['topup-info'],
    queryFn: () => api.get<TopupInfo>('/api/user/topup/info'),
    retry: false,
  });
  const history = useQuery({
    queryKey: ['topup-self'],
    queryFn: () => api.get<{ items?: TopupRecord[]; total?: number }>('/api/user/topup/self', { p: 1, page_size: 10 }),
    retry: false,
  });
  const aff = useQuery({
    queryKey: ['aff'],
    queryFn: () => api.get<string>('/api/user/aff'),
    retry: false,
  });

  const redeem = async (e: FormEvent) => {
    e.preventDefault();
    setRedeemError(null);
    setRedeemed(null);
    const key = code.trim();
    if (!key) {
      setRedeemError(new Error(t('wallet:redeem.empty')));
      return;
    }
    setBusy(true);
    try {
      const quota = await api.post<number>('/api/user/topup', { key });
      setRedeemed(typeof quota === 'number' ? quota : 0);
      setCode('');
      await reloadUser();
      qc.invalidateQueries({ queryKey: ['topup-self'] });
    } catch (err) {
      setRedeemError(err);
    } finally {
      setBusy(false);
    }
  };

  const topupLink = (status?.top_up_link as string | undefined) || info.data?.topup_link || '';
  const online =
    !!info.data &&
    (info.data.enable_online_topup || info.data.enable_stripe_topup || info.data.enable_creem_topup || info.data.enable_waffo_topup);
  const rows = history.data?.items ?? [];
  const inviteLink = aff.data ? `${window.location.origin}/register?aff=${encodeURIComponent(aff.data)}` : '';

  return (
    <>
      <PageHeader title={t('wallet:title')} />
      <SimpleGrid cols={{ base: 1, xs: 3 }} spacing="md" mb="lg">
        {user ? (
          <>
            <Stat label={t('wallet:balance')} value={formatQuota(user.quota)} testid="wallet-balance" />
            <Stat label={t('wallet:used')} value={formatQuota(user.used_quota)} testid="wallet-used" />
            <Stat label={t('wallet:requests')} value={formatNumber(user.request_count ?? 0, 0)} testid="wallet-requests" />
          </>
        ) : (
          [0, 1, 2].map((i) => <Skeleton key={i} h={82} />)
        )}
      </SimpleGrid>

      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md">
        <Card withBorder padding="lg">
          <Title order={4} mb="xs">
            {t('wallet:redeem.title')}
          </Title>
          <Text size="sm" c="dimmed" mb="sm">
            {t('wallet:redeem.help')}
          </Text>
          <form onSubmit={redeem} noValidate>
            <Stack gap="sm">
              <TextInput
                label={t('wallet:redeem.label')}
                placeholder={t('wallet:redeem.placeholder')}
                value={code}
                onChange={(e) => setCode(e.currentTarget.value)}
                autoComplete="off"
                spellCheck={false}
                data-testid="wallet-redeem-input"
              />
              <ErrorAlert error={redeemError} />
              {redeemed !== null && (
                <Alert color="green" icon={<IconCheck size={18} />} data-testid="wallet-redeem-result" role="status">
                  {t('wallet:redeem.done', { amount: formatQuota(redeemed) })}
                </Alert>
              )}
              <Group justify="flex-end">
                <Button type="submit" loading={busy} leftSection={<IconTicket size={16} />} data-testid="wallet-redeem-submit">
                  {t('wallet:redeem.submit')}
                </Button>
              </Group>
            </Stack>
          </form>
        </Card>

        <Card withBorder padding="lg">
          <Title order={4} mb="xs">
            {t('wallet:topup.title')}
          </Title>
          {info.isPending ? (
            <Skeleton h={60} />
          ) : (
            <Stack gap="sm">
              {online ? (
                <Alert color="yellow" icon={<IconInfoCircle size={18} />} role="note">
                  {t('wallet:topup.onlineConfigured')}
                </Alert>
              ) : (
                <Alert color="blue" icon={<IconInfoCircle size={18} />} data-testid="wallet-no-online" role="note">
                  {t('wallet:topup.noOnline')}
                </Alert>
              )}
              {topupLink ? (
                <Button
                  component="a"
                  href={topupLink}
                  target="_blank"
                  rel="noopener noreferrer"
                  variant="light"
                  rightSection={<IconExternalLink size={16} />}
                  data-testid="wallet-topup-link"
                >
                  {t('wallet:topup.buyCodes')}
                </Button>
              ) : (
                <Text size="sm" c="dimmed">
                  {t('wallet:topup.askAdmin')}
                </Text>
              )}
            </Stack>
          )}
        </Card>
      </SimpleGrid>

      {aff.data && (
        <Card withBorder padding="lg" mt="md">
          <Title order={4} mb="xs">
            {t('wallet:aff.title')}
          </Title>
          <Text size="sm" c="dimmed" mb="sm">
            {t('wallet:aff.help')}
          </Text>
          <Group gap="xs" wrap="nowrap" align="flex-end">
            <TextInput
              label={t('wallet:aff.link')}
              value={inviteLink}
              readOnly
              style={{ flex: 1, minWidth: 0 }}
              onFocus={(e) => e.currentTarget.select()}
            />
            <CopyIcon value={inviteLink} label={t('wallet:aff.copy')} size="lg" variant="default" mb={2} />
          </Group>
          {user && (
            <SimpleGrid cols={{ base: 1, xs: 3 }} mt="sm" spacing="xs">
              <Text size="sm">{t('wallet:aff.count', { count: Number(user.aff_count ?? 0) })}</Text>
              <Text size="sm">{t('wallet:aff.pending', { amount: formatQuota(Number(user.aff_quota ?? 0)) })}</Text>
              <Text size="sm">{t('wallet:aff.history', { amount: formatQuota(Number(user.aff_history_quota ?? 0)) })}</Text>
            </SimpleGrid>
          )}
        </Card>
      )}
      <ErrorAlert error={aff.error} title={t('wallet:aff.title')} />

      {rows.length > 0 && (
        <Card withBorder padding="lg" mt="md">
          <Title order={4} mb="xs">
            {t('wallet:history.title')}
          </Title>
          <Table.ScrollContainer minWidth={560}>
            <Table verticalSpacing="xs" data-testid="wallet-history">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('wallet:history.time')}</Table.Th>
                  <Table.Th>{t('wallet:history.amount')}</Table.Th>
                  <Table.Th>{t('wallet:history.money')}</Table.Th>
                  <Table.Th>{t('wallet:history.method')}</Table.Th>
                  <Table.Th>{t('wallet:history.tradeNo')}</Table.Th>
                  <Table.Th>{t('wallet:history.status')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((r) => (
                  <Table.Tr key={r.id}>
                    <Table.Td>{formatDateTime(r.create_time)}</Table.Td>
                    {/* amount is in US dollars (the reference's TopUp.Amount), money what was paid */}
                    <Table.Td>{formatQuota(r.amount * getDisplaySettings().quota_per_unit)}</Table.Td>
                    <Table.Td>{formatNumber(r.money ?? 0)}</Table.Td>
                    <Table.Td>{r.payment_method || '—'}</Table.Td>
                    <Table.Td style={{ overflowWrap: 'anywhere' }}>{r.trade_no || '—'}</Table.Td>
                    <Table.Td>
                      <Badge variant="light" color={r.status === 'success' ? 'green' : r.status === 'pending' ? 'yellow' : 'gray'}>
                        {KNOWN_TOPUP_STATUS.includes(r.status) ? t(`wallet:history.st.${r.status}`) : r.status}
                      </Badge>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Card>
      )}
      {history.isSuccess && rows.length === 0 && (
        <Text size="sm" c="dimmed" mt="md">
          {t('wallet:history.none')}
        </Text>
      )}
    </>
  );
}
