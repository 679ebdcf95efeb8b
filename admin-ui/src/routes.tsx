// Every page of the console: one lazy route each (one chunk per page), with
// the navigation entry and the least role that sees it. Add one line per page.
import { lazy, type ComponentType, type LazyExoticComponent } from 'react';
import {
  IconBuildingStore,
  IconChartBar,
  IconCoins,
  IconKey,
  IconListDetails,
  IconMessageChatbot,
  IconPlugConnected,
  IconSettings,
  IconTicket,
  IconUserCircle,
  IconUsers,
  IconWallet,
  type Icon,
} from '@tabler/icons-react';
import { ROLE_ADMIN, ROLE_ROOT, ROLE_USER } from './auth/AuthProvider';

export interface PageRoute {
  path: string;
  /** key in the common namespace, under nav. */
  label: string;
  icon: Icon;
  /** least role; 0 = public (no sign-in needed) */
  role: number;
  /** shown in the navigation bar */
  nav: boolean;
  section: 'console' | 'admin' | 'personal';
  page: LazyExoticComponent<ComponentType>;
}

export const PAGES: PageRoute[] = [
  { path: '/dashboard', label: 'nav.dashboard', icon: IconChartBar, role: ROLE_USER, nav: true, section: 'console', page: lazy(() => import('./pages/dashboard/Dashboard')) },
  { path: '/keys', label: 'nav.keys', icon: IconKey, role: ROLE_USER, nav: true, section: 'console', page: lazy(() => import('./pages/keys/Keys')) },
  { path: '/logs', label: 'nav.logs', icon: IconListDetails, role: ROLE_USER, nav: true, section: 'console', page: lazy(() => import('./pages/logs/Logs')) },
  { path: '/playground', label: 'nav.playground', icon: IconMessageChatbot, role: ROLE_USER, nav: true, section: 'console', page: lazy(() => import('./pages/playground/Playground')) },
  { path: '/channels', label: 'nav.channels', icon: IconPlugConnected, role: ROLE_ADMIN, nav: true, section: 'admin', page: lazy(() => import('./pages/channels/Channels')) },
  { path: '/models', label: 'nav.models', icon: IconCoins, role: ROLE_ADMIN, nav: true, section: 'admin', page: lazy(() => import('./pages/models/Models')) },
  { path: '/users', label: 'nav.users', icon: IconUsers, role: ROLE_ADMIN, nav: true, section: 'admin', page: lazy(() => import('./pages/users/Users')) },
  { path: '/redemptions', label: 'nav.redemptions', icon: IconTicket, role: ROLE_ADMIN, nav: true, section: 'admin', page: lazy(() => import('./pages/redemptions/Redemptions')) },
  { path: '/settings', label: 'nav.settings', icon: IconSettings, role: ROLE_ROOT, nav: true, section: 'admin', page: lazy(() => import('./pages/settings/Settings')) },
  { path: '/wallet', label: 'nav.wallet', icon: IconWallet, role: ROLE_USER, nav: true, section: 'personal', page: lazy(() => import('./pages/wallet/Wallet')) },
  { path: '/profile', label: 'nav.profile', icon: IconUserCircle, role: ROLE_USER, nav: true, section: 'personal', page: lazy(() => import('./pages/profile/Profile')) },
  { path: '/pricing', label: 'nav.pricing', icon: IconBuildingStore, role: 0, nav: true, section: 'personal', page: lazy(() => import('./pages/pricing/Pricing')) },
];
