// The public pricing page (reference web/src/features/pricing): every model a
// visitor's groups may call, with its price per 1M input and output tokens or
// per call for the chosen group, the group ratios, and the signed-in user's
// group highlighted. /api/pricing is public; when an operator hides the page
// (HeaderNavModules.pricing, as the reference: src/lib/navModules.ts) it says
// so, and asks visitors to sign in when the page needs it.
import { useMemo, useState } from 'react';
import {
  Alert,
  Anchor,
  Badge,
  Card,
  Center,
  Group,
  Loader,
  NativeSelect,
  SegmentedControl,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { IconSearch } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { useAuth } from '../../auth/AuthProvider';
import { EmptyState, ErrorAlert, PageHeader } from '../../components/common';
import { formatNumber } from '../../lib/format';
import { navModuleAccess } from '../../lib/navModules';
import {
  configuredRatio,
  displayGroupRatio,
  formatPrice,
  inputPerM,
  outputPerM,
  perCall,
  type PricingAnswer,
  type PricingModel,
} from './price';

/** Badges in table cells keep their whole label. */
const NOCLIP = { label: { overflow: 'visible' } } as const;
const ALL = 'all';

export default function Pricing() {
  const { t } = useTranslation('pricing');
  const { status, user, loading } = useAuth();
  const access = navModuleAccess(status?.HeaderNavModules, 'pricing');

  if (loading && !status) {
    return (
      <Center py="xl" aria-busy="true">
        <Loader />
      </Center>
    );
  }
  if (!access.enabled) {
    return (
      <>
        <PageHeader title={t('title')} />
        <Alert color="gray">{t('disabled')}</Alert>
      </>
    );
  }
  if (access.requireAuth && !user) {
    return (
      <>
        <PageHeader title={t('title')} />
        <Alert color="blue">
          {t('signInNeeded')}{' '}
          <Anchor component={Link} to="/login?next=%2Fpricing">
            {t('signIn')}
          </Anchor>
        </Alert>
      </>
    );
  }
  return <PricingBody />;
}

function PricingBody() {
  const { t } = useTranslation(['pricing', 'common']);
  const { user } = useAuth();
  const q = useQuery({
    queryKey: ['pricing'],
    queryFn: () => api.get<PricingAnswer>('/api/pricing', undefined, true),
  });
  // A signed-in user's own ratios (GroupGroupRatio applies to their group).
  const mine = useQuery({
    queryKey: ['self-groups', user?.id],
    queryFn: () => api.get<Record<string, { ratio: unknown; desc: string }>>('/api/user/self/groups'),
    enabled: !!user,
    retry: false,
  });

  const groupRatio = useMemo(() => {
    const r: Record<string, number> = { ...(q.data?.group_ratio ?? {}) };
    for (const [g, v] of Object.entries(mine.data ?? {}))
      if (typeof v?.ratio === 'number' && Number.isFinite(v.ratio)) r[g] = v.ratio;
    return r;
  }, [q.data, mine.data]);

  const groups = useMemo(() => Object.keys(groupRatio).sort(), [groupRatio]);
  const userGroup = user?.group;
  const [group, setGroup] = useState<string | null>(null);
  const selected = group ?? (userGroup && groups.includes(userGroup) ? userGroup : ALL);
  const [search, setSearch] = useState('');
  const [type, setType] = useState('all');
  const [vendor, setVendor] = useState(ALL);
  const [unit, setUnit] = useState<'1M' | '1K'>('1M');
  const per = unit === '1K' ? 1000 : 1;

  const vendors = useMemo(() => {
    const m = new Map<number, string>();
    for (const v of q.data?.vendors ?? []) m.set(v.id, v.name);
    return m;
  }, [q.data]);
  const vendorOf = (m: PricingModel) => (m.vendor_id ? vendors.get(m.vendor_id) : undefined) || m.owner_by || '';
  const vendorNames = useMemo(
    () => [...new Set((q.data?.data ?? []).map(vendorOf).filter(Boolean))].sort(),
    [q.data, vendors],
  );

  const models = useMemo(() => {
    const s = search.trim().toLowerCase();
    return (q.data?.data ?? []).filter(
      (m) =>
        (!s || m.model_name.toLowerCase().includes(s)) &&
        (type === 'all' || (type === 'call') === (m.quota_type === 1)) &&
        (vendor === ALL || vendorOf(m) === vendor) &&
        (selected === ALL || (m.enable_groups ?? []).includes(selected)),
    );
  }, [q.data, search, type, vendor, selected, vendors]);

  const usable = q.data?.usable_group ?? {};
  const desc = (g: string) => {
    const u = usable[g];
    return typeof u === 'string' ? u : (u?.desc ?? '');
  };

  return (
    <>
      <PageHeader title={t('title')}>
        <Text c="dimmed" size="sm">
          {t('intro')}
        </Text>
      </PageHeader>
      <ErrorAlert error={q.error} />
      {q.isPending ? (
        <Center py="xl" aria-busy="true">
          <Loader />
        </Center>
      ) : q.data ? (
        <Stack gap="md">
          <Group gap="sm" wrap="wrap" align="flex-end">
            <TextInput
              label={t('search')}
              placeholder={t('searchPlaceholder')}
              leftSection={<IconSearch size={16} />}
              value={search}
              onChange={(e) => setSearch(e.currentTarget.value)}
              style={{ flex: '1 1 220px' }}
            />
            <NativeSelect
              label={t('group')}
              value={selected}
              onChange={(e) => setGroup(e.currentTarget.value)}
              data={[
                { value: ALL, label: t('allGroups') },
                ...groups.map((g) => ({
                  value: g,
                  label: `${g} (×${formatNumber(groupRatio[g], 4)})${g === userGroup ? ` — ${t('yourGroup')}` : ''}`,
                })),
              ]}
              style={{ flex: '0 1 240px' }}
            />
            {vendorNames.length > 0 && (
              <NativeSelect
                label={t('vendor')}
                value={vendor}
                onChange={(e) => setVendor(e.currentTarget.value)}
                data={[{ value: ALL, label: t('allVendors') }, ...vendorNames.map((v) => ({ value: v, label: v }))]}
                style={{ flex: '0 1 200px' }}
              />
            )}
          </Group>
          <Group gap="sm" wrap="wrap">
            <SegmentedControl
              aria-label={t('type.label')}
              value={type}
              onChange={setType}
              data={[
                { value: 'all', label: t('type.all') },
                { value: 'token', label: t('type.token') },
                { value: 'call', label: t('type.call') },
              ]}
            />
            <SegmentedControl
              aria-label={t('unit.label')}
              value={unit}
              onChange={(v) => setUnit(v as '1M' | '1K')}
              data={['1M', '1K']}
            />
          </Group>
          <Text size="sm" c="dimmed">
            {selected === ALL ? t('pricedCheapest') : t('pricedFor', { group: selected, ratio: formatNumber(configuredRatio(groupRatio, selected), 4) })}
          </Text>
          {models.length === 0 ? (
            <EmptyState>{(q.data.data ?? []).length ? t('common:table.noResults') : t('empty')}</EmptyState>
          ) : (
            <Table.ScrollContainer minWidth={720}>
              <Table striped highlightOnHover verticalSpacing="xs" data-testid="pricing-table">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>{t('col.model')}</Table.Th>
                    <Table.Th>{t('col.billing')}</Table.Th>
                    <Table.Th>{t('col.input', { unit })}</Table.Th>
                    <Table.Th>{t('col.output', { unit })}</Table.Th>
                    <Table.Th>{t('col.perCall')}</Table.Th>
                    <Table.Th>{t('col.groups')}</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {models.map((m) => {
                    const gr = displayGroupRatio(m, groupRatio, selected === ALL ? undefined : selected);
                    return (
                      <Table.Tr key={m.model_name} data-model={m.model_name}>
                        <Table.Td>
                          <Text size="sm" fw={500} style={{ wordBreak: 'break-all' }}>
                            {m.model_name}
                          </Text>
                          {vendorOf(m) && (
                            <Text size="xs" c="dimmed">
                              {vendorOf(m)}
                            </Text>
                          )}
                        </Table.Td>
                        <Table.Td>
                          <Badge variant="light" color={m.quota_type === 1 ? 'grape' : 'blue'} styles={NOCLIP}>
                            {m.quota_type === 1 ? t('type.call') : t('type.token')}
                          </Badge>
                        </Table.Td>
                        <Table.Td data-col="input">{formatPrice(inputPerM(m, gr) / per)}</Table.Td>
                        <Table.Td data-col="output">{formatPrice(outputPerM(m, gr) / per)}</Table.Td>
                        <Table.Td data-col="call">{formatPrice(perCall(m, gr))}</Table.Td>
                        <Table.Td>
                          <Group gap={4}>
                            {(m.enable_groups ?? []).map((g) => (
                              <Badge key={g} size="sm" variant={g === userGroup ? 'filled' : 'outline'} color={g === userGroup ? 'teal' : 'gray'}>
                                {g}
                              </Badge>
                            ))}
                          </Group>
                        </Table.Td>
                      </Table.Tr>
                    );
                  })}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
          <Card withBorder padding="md" component="section" aria-labelledby="group-ratios-title">
            <Title order={3} size="h4" id="group-ratios-title" mb="xs">
              {t('groupsTitle')}
            </Title>
            {groups.length === 0 ? (
              <EmptyState>{t('noGroups')}</EmptyState>
            ) : (
              <Table.ScrollContainer minWidth={320}>
                <Table verticalSpacing="xs" data-testid="pricing-groups">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>{t('col.group')}</Table.Th>
                      <Table.Th>{t('col.description')}</Table.Th>
                      <Table.Th>{t('col.ratio')}</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {groups.map((g) => (
                      <Table.Tr
                        key={g}
                        data-group={g}
                        aria-current={g === userGroup ? 'true' : undefined}
                        bg={g === userGroup ? 'var(--mantine-color-teal-light)' : undefined}
                      >
                        <Table.Td>
                          <Group gap={6}>
                            <Text size="sm" fw={g === userGroup ? 700 : 400}>
                              {g}
                            </Text>
                            {g === userGroup && (
                              <Badge size="xs" color="teal">
                                {t('yourGroup')}
                              </Badge>
                            )}
                          </Group>
                        </Table.Td>
                        <Table.Td>{desc(g)}</Table.Td>
                        <Table.Td>×{formatNumber(groupRatio[g], 4)}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            )}
          </Card>
        </Stack>
      ) : null}
    </>
  );
}
