import { Alert } from '@mantine/core';
import { useTranslation } from 'react-i18next';

/** Shown by a page that is not built yet: a clear "not implemented", never a fake page. */
export function NotBuilt({ page }: { page: string }) {
  const { t } = useTranslation();
  return (
    <Alert color="gray" title={page}>
      {t('errors.notImplemented')}
    </Alert>
  );
}
