import { Suspense } from 'react';
import { createTheme, MantineProvider } from '@mantine/core';
import { ModalsProvider } from '@mantine/modals';
import { Notifications } from '@mantine/notifications';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';
import { AuthProvider, useAuth } from './auth/AuthProvider';
import { NotFound } from './layout/Forbidden';
import { FullLoader, RequireRole, SetupGate } from './layout/guards';
import { Shell } from './layout/Shell';
import Login from './pages/auth/Login';
import Register from './pages/auth/Register';
import Setup from './pages/auth/Setup';
import { PAGES } from './routes';

const theme = createTheme({ primaryColor: 'blue', defaultRadius: 'md' });

export function makeQueryClient() {
  return new QueryClient({
    defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 10_000 } },
  });
}

function Home() {
  const { session, loading } = useAuth();
  if (loading) return <FullLoader />;
  return <Navigate to={session ? '/dashboard' : '/login'} replace />;
}

export function AppRoutes() {
  return (
    <SetupGate>
      <Routes>
        <Route path="/setup" element={<Setup />} />
        <Route path="/login" element={<Login />} />
        <Route path="/register" element={<Register />} />
        <Route path="/" element={<Home />} />
        <Route element={<Shell />}>
          {PAGES.map((p) => (
            <Route
              key={p.path}
              path={p.path + '/*'}
              element={
                <RequireRole role={p.role}>
                  <p.page />
                </RequireRole>
              }
            />
          ))}
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </SetupGate>
  );
}

export default function App() {
  return (
    <MantineProvider theme={theme} defaultColorScheme="auto">
      <QueryClientProvider client={makeQueryClient()}>
        <ModalsProvider>
          <Notifications position="top-right" />
          <Suspense fallback={<FullLoader />}>
            <BrowserRouter>
              <AuthProvider>
                <AppRoutes />
              </AuthProvider>
            </BrowserRouter>
          </Suspense>
        </ModalsProvider>
      </QueryClientProvider>
    </MantineProvider>
  );
}
