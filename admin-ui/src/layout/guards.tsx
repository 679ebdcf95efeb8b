import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { Center, Loader } from '@mantine/core';
import { useAuth } from '../auth/AuthProvider';
import { Forbidden } from './Forbidden';

export function FullLoader() {
  return (
    <Center h="60vh" aria-busy="true">
      <Loader />
    </Center>
  );
}

/** A fresh instance sends every page to /setup. */
export function SetupGate({ children }: { children: ReactNode }) {
  const { status, loading } = useAuth();
  const loc = useLocation();
  if (loading && !status) return <FullLoader />;
  if (status && status.setup === false && loc.pathname !== '/setup') return <Navigate to="/setup" replace />;
  return <>{children}</>;
}

/** Pages that need a signed-in user of at least `role`. */
export function RequireRole({ role, children }: { role: number; children: ReactNode }) {
  const { session, user, loading } = useAuth();
  const loc = useLocation();
  if (role === 0) return <>{children}</>;
  if (loading) return <FullLoader />;
  if (!session || !user) {
    const next = encodeURIComponent(loc.pathname + loc.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  if (user.role < role) return <Forbidden />;
  return <>{children}</>;
}
