// Models: where prices are edited, the other price tables, the global model
// settings (chat <-> Responses routing, stream pings) and feature switches
// (reference system-settings/models).
import { bool, int, json, type SectionDef } from './fieldtypes';
import type { OptionMap } from './options';
import { PricesLink } from './BillingSettings';
import { SectionList } from './SectionList';

export const MODEL_SECTIONS: SectionDef[] = [
  {
    id: 'priceTables',
    help: true,
    fields: [
      bool('ExposeRatioEnabled', { help: true }),
      json('ImageRatio', 'ratios'),
      json('AudioRatio', 'ratios'),
      json('AudioCompletionRatio', 'ratios'),
    ],
  },
  {
    id: 'globalModel',
    fields: [
      bool('general_setting.ping_interval_enabled', { help: true }),
      int('general_setting.ping_interval_seconds', 1, 86400),
      json('global.chat_completions_to_responses_policy', 'object', { help: true }),
      json('global.responses_to_chat_completions_policy', 'object', { help: true }),
    ],
  },
  {
    id: 'features',
    fields: [
      bool('DrawingEnabled'),
      bool('TaskEnabled'),
      bool('MjNotifyEnabled'),
      bool('MjAccountFilterEnabled'),
      bool('MjModeClearEnabled'),
      bool('MjForwardUrlEnabled'),
      bool('MjActionCheckSuccessEnabled'),
    ],
  },
];

export default function ModelSettings({ options }: { options: OptionMap }) {
  return <SectionList sections={MODEL_SECTIONS} options={options} extras={{ priceTables: <PricesLink /> }} />;
}
