// Site: name, logo, addresses, notice and pages, the public pricing page, chat
// links, dashboard content
// (reference system-settings/site and content).
import { bool, json, navModule, str, text, url, type SectionDef } from './fieldtypes';
import type { OptionMap } from './options';
import { SectionList } from './SectionList';

export const SITE_SECTIONS: SectionDef[] = [
  {
    id: 'siteInfo',
    fields: [
      str('SystemName'),
      url('Logo', { help: true }),
      url('ServerAddress', { help: true }),
      url('general_setting.docs_link', { help: true }),
      text('Footer', { help: true }),
    ],
  },
  {
    id: 'sitePages',
    help: true,
    fields: [text('Notice'), text('About'), text('HomePageContent', { help: true })],
  },
  {
    // HeaderNavModules (reference header navigation): GET /api/pricing obeys it
    id: 'publicPages',
    help: true,
    fields: [navModule('HeaderNavModules', 'pricing')],
  },
  {
    id: 'chatLinks',
    fields: [str('ChatLink', { help: true }), str('ChatLink2'), json('Chats', 'array', { help: true })],
  },
  {
    id: 'dashboardContent',
    help: true,
    fields: [
      bool('console_setting.api_info_enabled'),
      bool('console_setting.announcements_enabled'),
      bool('console_setting.faq_enabled'),
      bool('console_setting.uptime_kuma_enabled'),
      json('console_setting.api_info', 'array'),
      json('console_setting.announcements', 'array'),
      json('console_setting.faq', 'array'),
      json('console_setting.uptime_kuma_groups', 'array'),
    ],
  },
];

export default function SiteSettings({ options }: { options: OptionMap }) {
  return <SectionList sections={SITE_SECTIONS} options={options} />;
}
