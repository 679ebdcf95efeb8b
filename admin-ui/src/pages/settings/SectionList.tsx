// A settings group: its sections one under the other.
import type { ReactNode } from 'react';
import { Stack } from '@mantine/core';
import type { SectionDef } from './fieldtypes';
import type { OptionMap } from './options';
import { SettingsSection } from './SettingsSection';

export function SectionList({
  sections,
  options,
  extras = {},
  children,
}: {
  sections: SectionDef[];
  options: OptionMap;
  extras?: Record<string, ReactNode>;
  children?: ReactNode;
}) {
  return (
    <Stack gap="md">
      {children}
      {sections.map((s) => (
        <SettingsSection key={s.id} section={s} options={options} extra={extras[s.id]} />
      ))}
    </Stack>
  );
}
