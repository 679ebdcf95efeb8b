import type { ReactNode } from 'react';
import { Box, Container, Group, Paper, Title } from '@mantine/core';
import { Brand, ColorSchemeToggle, LanguageMenu } from '../../layout/Shell';

/** The frame of the pages shown before sign-in: brand, language, theme, one card. */
export function AuthFrame({ title, children, width = 420 }: { title: string; children: ReactNode; width?: number }) {
  return (
    <Box mih="100vh">
      <Group justify="space-between" p="md" wrap="nowrap">
        <Brand />
        <Group gap="xs" wrap="nowrap">
          <LanguageMenu />
          <ColorSchemeToggle />
        </Group>
      </Group>
      <Container size={width} px="md" pt="lg" pb="xl">
        <Paper withBorder shadow="sm" p={{ base: 'md', sm: 'xl' }} radius="md">
          <Title order={2} mb="md">
            {title}
          </Title>
          {children}
        </Paper>
      </Container>
    </Box>
  );
}
