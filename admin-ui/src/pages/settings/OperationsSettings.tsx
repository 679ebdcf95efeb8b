// Operations: logs and export, channel health and retries, site behaviour,
// SMTP and the image worker (reference system-settings/operations and the
// routing-reliability part of models).
import { bool, float, int, secret, select, str, text, url, type SectionDef } from './fieldtypes';
import type { OptionMap } from './options';
import { SectionList } from './SectionList';

export const OPERATIONS_SECTIONS: SectionDef[] = [
  {
    id: 'logs',
    fields: [
      bool('LogConsumeEnabled', { help: true }),
      bool('DataExportEnabled'),
      int('DataExportInterval', 1, 1440, { help: true }),
      select('DataExportDefaultTime', ['hour', 'day', 'week']),
    ],
  },
  {
    id: 'channelHealth',
    fields: [
      bool('AutomaticDisableChannelEnabled'),
      bool('AutomaticEnableChannelEnabled'),
      bool('monitor_setting.auto_test_channel_enabled'),
      int('RetryTimes', 0, 100, { help: true }),
      float('ChannelDisableThreshold', 0, 1e9, { help: true }),
      int('monitor_setting.auto_test_channel_minutes', 1, 100000),
      str('AutomaticDisableStatusCodes', { help: true }),
      str('AutomaticRetryStatusCodes', { help: true }),
      text('AutomaticDisableKeywords', { help: true }),
    ],
  },
  {
    id: 'behavior',
    fields: [
      bool('SelfUseModeEnabled', { help: true }),
      bool('DemoSiteEnabled'),
      bool('DefaultCollapseSidebar'),
      int('StreamCacheQueueLength', 0, 1000000),
    ],
  },
  {
    id: 'smtp',
    fields: [bool('SMTPSSLEnabled'), str('SMTPServer'), int('SMTPPort', 1, 65535), str('SMTPAccount'), str('SMTPFrom'), secret('SMTPToken')],
  },
  {
    id: 'worker',
    fields: [bool('WorkerAllowHttpImageRequestEnabled'), url('WorkerUrl'), secret('WorkerValidKey')],
  },
];

export default function OperationsSettings({ options }: { options: OptionMap }) {
  return <SectionList sections={OPERATIONS_SECTIONS} options={options} />;
}
