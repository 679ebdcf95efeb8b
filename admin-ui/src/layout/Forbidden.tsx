import { Button, Stack, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';

export function Forbidden() {
  const { t } = useTranslation();
  return (
    <Stack align="center" py="xl" role="alert">
      <Title order={2}>403</Title>
      <Text>{t('errors.forbidden')}</Text>
      <Button component={Link} to="/dashboard" variant="light">
        {t('nav.dashboard')}
      </Button>
    </Stack>
  );
}

export function NotFound() {
  const { t } = useTranslation();
  return (
    <Stack align="center" py="xl">
      <Title order={2}>404</Title>
      <Text>{t('errors.notFound')}</Text>
      <Button component={Link} to="/" variant="light">
        {t('nav.home')}
      </Button>
    </Stack>
  );
}
