// The portal's entry: Mantine's theme, TanStack Query (a sign-in that ended is not retried; other
// failures are, twice), the router.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { MantineProvider, createTheme, type CSSVariablesResolver } from '@mantine/core';
import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import '@mantine/core/styles.css';
import { App } from './app.tsx';
import { httpStatusOf } from './components/query-state.tsx';
import { isSessionEnded } from './session/session-ended.ts';
import { forgetSession } from './smart/smart-launch.ts';

const theme = createTheme({
  primaryColor: 'teal',
  primaryShade: 9,
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  focusRing: 'always',
});

// Mantine's dimmed text (gray 6 on white, 3.3:1) is below WCAG AA's 4.5:1; gray 7 is 7.5:1.
const contrast: CSSVariablesResolver = () => ({ variables: {}, light: { '--mantine-color-dimmed': 'var(--mantine-color-gray-7)' }, dark: {} });

const queries = new QueryClient({
  // A sign-in that ended (any screen's request) leads to the signed-out screen, which says so and
  // offers to sign in again; what was shown is dropped with it.
  queryCache: new QueryCache({
    onError: (error) => {
      if (!isSessionEnded(error) || window.location.pathname === '/signed-out') return;
      forgetSession();
      queries.clear();
      window.location.replace('/signed-out?reason=expired');
    },
  }),
  defaultOptions: {
    queries: {
      staleTime: 60_000,
      retry: (count, error) => {
        if (isSessionEnded(error)) return false;
        const status = httpStatusOf(error);
        return (status === undefined || status >= 500) && count < 2;
      },
    },
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={contrast}>
      <QueryClientProvider client={queries}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
