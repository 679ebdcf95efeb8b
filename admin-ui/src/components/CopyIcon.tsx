import { ActionIcon, CopyButton, Tooltip, type ActionIconProps } from '@mantine/core';
import { IconCheck, IconCopy } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';

/** A copy-to-clipboard icon button: `label` names it (tooltip and aria-label),
 * and it turns to a check mark once copied. */
export function CopyIcon({
  value,
  label,
  testId,
  iconSize = 16,
  ...rest
}: { value: string; label: string; testId?: string; iconSize?: number } & ActionIconProps) {
  const { t } = useTranslation('common');
  return (
    <CopyButton value={value} timeout={1500}>
      {({ copied, copy }) => (
        <Tooltip label={copied ? t('actions.copied') : label} withArrow>
          <ActionIcon
            variant="subtle"
            color={copied ? 'teal' : 'gray'}
            onClick={copy}
            aria-label={label}
            data-testid={testId}
            {...rest}
          >
            {copied ? <IconCheck size={iconSize} /> : <IconCopy size={iconSize} />}
          </ActionIcon>
        </Tooltip>
      )}
    </CopyButton>
  );
}
