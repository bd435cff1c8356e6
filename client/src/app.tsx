// The portal's pages. Everything but the sign-in screens needs a session.
import { lazy, Suspense } from 'react';
import { Route, Routes } from 'react-router';
import { Center, Loader } from '@mantine/core';
import { RequireSession } from './session/require-session.tsx';
import { PortalShell } from './layout/portal-shell.tsx';
import { CallbackPage } from './pages/callback-page.tsx';
import { SignedOutPage } from './pages/signed-out-page.tsx';
import { DashboardPage } from './pages/dashboard/dashboard-page.tsx';
import { NotFoundPage } from './pages/not-found-page.tsx';

const ResultsPage = lazy(() => import('./pages/results/results-page.tsx').then((m) => ({ default: m.ResultsPage })));
const ResultDetailPage = lazy(() => import('./pages/results/result-detail-page.tsx').then((m) => ({ default: m.ResultDetailPage })));
const TestTrendPage = lazy(() => import('./pages/results/test-trend-page.tsx').then((m) => ({ default: m.TestTrendPage })));

const pageLoading = (
  <Center h="40vh">
    <Loader aria-label="Loading the page" />
  </Center>
);

export function App() {
  return (
    <Suspense fallback={pageLoading}>
      <Routes>
        <Route path="/callback" element={<CallbackPage />} />
        <Route path="/signed-out" element={<SignedOutPage />} />
        <Route
          element={
            <RequireSession>
              <PortalShell />
            </RequireSession>
          }
        >
          <Route index element={<DashboardPage />} />
          <Route path="results" element={<ResultsPage />} />
          <Route path="results/test/:key" element={<TestTrendPage />} />
          <Route path="results/:id" element={<ResultDetailPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Route>
      </Routes>
    </Suspense>
  );
}
