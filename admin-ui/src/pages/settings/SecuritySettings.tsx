// Security: where channels may connect (the SSRF guard), sensitive words,
// per-user key limit and file permissions (reference system-settings/security).
import { bool, int, json, text, type SectionDef } from './fieldtypes';
import type { OptionMap } from './options';
import { SectionList } from './SectionList';

export const SECURITY_SECTIONS: SectionDef[] = [
  {
    id: 'destinations',
    help: true,
    fields: [
      bool('channel_destination_setting.allow_private_ip', { help: true }),
      bool('channel_destination_setting.allow_link_local', { help: true }),
      json('channel_destination_setting.allowed_ports', 'ports', { help: true }),
    ],
  },
  {
    id: 'sensitive',
    fields: [
      bool('CheckSensitiveEnabled'),
      bool('CheckSensitiveOnPromptEnabled'),
      bool('StopOnSensitiveEnabled'),
      text('SensitiveWords', { help: true }),
    ],
  },
  {
    id: 'limits',
    fields: [
      int('token_setting.max_user_tokens', 1, 1000000),
      int('FileUploadPermission', 0, 100, { help: true }),
      int('FileDownloadPermission', 0, 100),
      int('ImageUploadPermission', 0, 100),
      int('ImageDownloadPermission', 0, 100),
    ],
  },
];

export default function SecuritySettings({ options }: { options: OptionMap }) {
  return <SectionList sections={SECURITY_SECTIONS} options={options} />;
}
