// The console's frame: header (site name, language switch, dark/light toggle,
// user menu) and the navigation bar, which collapses behind a burger on phones.
import { Suspense } from 'react';
import {
  ActionIcon,
  AppShell,
  Burger,
  Button,
  Group,
  Menu,
  NavLink,
  ScrollArea,
  Text,
  Tooltip,
  useComputedColorScheme,
  useMantineColorScheme,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { IconLanguage, IconLogout, IconMoon, IconSun, IconUser } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { Link, Outlet, useLocation, useNavigate } from 'react-router';
import { useAuth } from '../auth/AuthProvider';
import { LANGUAGES, currentLang } from '../i18n';
import { navModuleVisible } from '../lib/navModules';
import { PAGES } from '../routes';
import { FullLoader } from './guards';

/** Pages an operator may hide through HeaderNavModules (lib/navModules.ts). */
const NAV_MODULES: Record<string, string> = { '/pricing': 'pricing' };

export function LanguageMenu() {
  const { t, i18n } = useTranslation();
  const lang = currentLang();
  return (
    <Menu position="bottom-end" withinPortal>
      <Menu.Target>
        <Tooltip label={t('header.language')}>
          <ActionIcon variant="default" size="lg" aria-label={t('header.language')} data-testid="lang-switch">
            <IconLanguage size={18} />
          </ActionIcon>
        </Tooltip>
      </Menu.Target>
      <Menu.Dropdown>
        {LANGUAGES.map((l) => (
          <Menu.Item
            key={l.code}
            onClick={() => i18n.changeLanguage(l.code)}
            fw={l.code === lang ? 700 : undefined}
            data-lang={l.code}
            lang={l.code}
          >
            {l.label}
          </Menu.Item>
        ))}
      </Menu.Dropdown>
    </Menu>
  );
}

export function ColorSchemeToggle() {
  const { t } = useTranslation();
  const { setColorScheme } = useMantineColorScheme();
  const computed = useComputedColorScheme('light', { getInitialValueInEffect: true });
  const next = computed === 'dark' ? 'light' : 'dark';
  return (
    <Tooltip label={t(next === 'dark' ? 'header.darkMode' : 'header.lightMode')}>
      <ActionIcon
        variant="default"
        size="lg"
        onClick={() => setColorScheme(next)}
        aria-label={t(next === 'dark' ? 'header.darkMode' : 'header.lightMode')}
        data-testid="color-scheme"
      >
        {computed === 'dark' ? <IconSun size={18} /> : <IconMoon size={18} />}
      </ActionIcon>
    </Tooltip>
  );
}

export function Brand() {
  const { status } = useAuth();
  return (
    <Link to="/" style={{ textDecoration: 'none', color: 'inherit' }}>
      <Group gap={8} wrap="nowrap">
        <img src={status?.logo || '/logo.svg'} alt="" width={26} height={26} />
        <Text fw={700} truncate maw={180}>
          {status?.system_name || 'Token Factory'}
        </Text>
      </Group>
    </Link>
  );
}

export function Shell() {
  const { t } = useTranslation();
  const [opened, { toggle, close }] = useDisclosure();
  const { user, session, logout, status } = useAuth();
  const loc = useLocation();
  const navigate = useNavigate();
  const visible = PAGES.filter(
    (p) =>
      p.nav &&
      (p.role === 0 || (user && user.role >= p.role)) &&
      (!NAV_MODULES[p.path] || navModuleVisible(status?.HeaderNavModules, NAV_MODULES[p.path], !!user)),
  );
  const sections: Array<'console' | 'admin' | 'personal'> = ['console', 'admin', 'personal'];

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 232, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t('header.menu')} />
            <Brand />
          </Group>
          <Group gap="xs" wrap="nowrap">
            <LanguageMenu />
            <ColorSchemeToggle />
            {session && user ? (
              <Menu position="bottom-end" withinPortal>
                <Menu.Target>
                  <Button variant="default" leftSection={<IconUser size={16} />} data-testid="user-menu" px="xs">
                    <Text size="sm" truncate maw={110} visibleFrom="xs">
                      {user.display_name || user.username}
                    </Text>
                  </Button>
                </Menu.Target>
                <Menu.Dropdown>
                  <Menu.Label>{user.username}</Menu.Label>
                  <Menu.Item component={Link} to="/profile" leftSection={<IconUser size={14} />}>
                    {t('nav.profile')}
                  </Menu.Item>
                  <Menu.Item
                    leftSection={<IconLogout size={14} />}
                    onClick={async () => {
                      await logout();
                      navigate('/login');
                    }}
                    data-testid="logout"
                  >
                    {t('header.logout')}
                  </Menu.Item>
                </Menu.Dropdown>
              </Menu>
            ) : (
              <Button component={Link} to="/login" size="sm">
                {t('auth.signIn')}
              </Button>
            )}
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label={t('header.navigation')}>
        <ScrollArea>
          {sections.map((s) => {
            const items = visible.filter((p) => p.section === s);
            if (!items.length) return null;
            return (
              <div key={s}>
                <Text size="xs" c="dimmed" fw={600} px="sm" pt="sm" pb={4} tt="uppercase">
                  {t(`nav.section.${s}`)}
                </Text>
                {items.map((p) => (
                  <NavLink
                    key={p.path}
                    component={Link}
                    to={p.path}
                    label={t(p.label)}
                    leftSection={<p.icon size={18} stroke={1.6} />}
                    active={loc.pathname === p.path || loc.pathname.startsWith(p.path + '/')}
                    onClick={close}
                  />
                ))}
              </div>
            );
          })}
        </ScrollArea>
      </AppShell.Navbar>
      <AppShell.Main>
        <Suspense fallback={<FullLoader />}>
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
