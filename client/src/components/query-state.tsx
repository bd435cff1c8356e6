// Loading, error and empty states for a query, the same everywhere: never a blank area, never raw
// JSON. An expired or revoked sign-in says so and offers to sign in again; a section the signed-in
// person may not see (a proxy the patient did not grant it to) says that in one line.
import type { ReactNode } from 'react';
import type { UseQueryResult } from '@tanstack/react-query';
import { Alert, Button, Group, Skeleton, Stack, Text } from '@mantine/core';
import { Link } from 'react-router';

export const httpStatusOf = (error: unknown): number | undefined => {
  const status = (error as { status?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
};

export function ErrorNotice({ error, what, retry }: { error: unknown; what: string; retry?: () => void }) {
  const status = httpStatusOf(error);
  if (status === 401) {
    return (
      <Alert color="orange" title="You were signed out" role="alert">
        <Text size="sm">Your sign-in ended, so {what} could not be loaded.</Text>
        <Button component={Link} to="/signed-out?reason=expired" mt="sm" size="xs" variant="light">
          Sign in again
        </Button>
      </Alert>
    );
  }
  if (status === 403) {
    return (
      <Text size="sm" c="dimmed">
        {what[0].toUpperCase() + what.slice(1)} are not shared with you for this record.
      </Text>
    );
  }
  return (
    <Alert color="red" title={`We could not load ${what}`} role="alert">
      <Text size="sm">
        {status && status >= 500 ? 'The clinic’s server had a problem.' : 'The connection to the clinic did not work.'} Please try again in a moment.
      </Text>
      {retry && (
        <Group mt="sm">
          <Button size="xs" variant="light" onClick={retry}>
            Try again
          </Button>
        </Group>
      )}
    </Alert>
  );
}

/** Renders `children` with the data once there is some; the loading, error and empty states otherwise. */
export function QueryState<T>({ query, what, empty, children }: { query: UseQueryResult<T[]>; what: string; empty: ReactNode; children: (data: T[]) => ReactNode }) {
  if (query.isPending) {
    return (
      <Stack gap="xs" aria-busy="true" aria-label={`Loading ${what}`}>
        <Skeleton height={18} />
        <Skeleton height={18} width="80%" />
        <Skeleton height={18} width="60%" />
      </Stack>
    );
  }
  if (query.isError) return <ErrorNotice error={query.error} what={what} retry={() => void query.refetch()} />;
  if (query.data.length === 0) {
    return (
      <Text size="sm" c="dimmed">
        {empty}
      </Text>
    );
  }
  return <>{children(query.data)}</>;
}
