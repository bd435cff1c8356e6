// Pages below this need a session: restored from this tab's storage, or the signed-out screen.
import { useEffect, useState, type ReactNode } from 'react';
import { Navigate } from 'react-router';
import { Center, Loader } from '@mantine/core';
import { restoreSession } from '../smart/smart-launch.ts';
import { SessionContext, type PortalSession } from './session-context.tsx';

type State = { kind: 'loading' } | { kind: 'none' } | { kind: 'ready'; session: PortalSession };

export function RequireSession({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ kind: 'loading' });
  useEffect(() => {
    let live = true;
    void restoreSession().then((client) => {
      if (!live) return;
      const patientId = client?.patient.id;
      if (!client || !patientId) setState({ kind: 'none' });
      else setState({ kind: 'ready', session: { client, patientId, user: client.user.fhirUser ?? undefined } });
    });
    return () => {
      live = false;
    };
  }, []);
  if (state.kind === 'loading') {
    return (
      <Center h="60vh">
        <Loader aria-label="Opening your record" />
      </Center>
    );
  }
  if (state.kind === 'none') return <Navigate to="/signed-out?reason=none" replace />;
  return <SessionContext.Provider value={state.session}>{children}</SessionContext.Provider>;
}
