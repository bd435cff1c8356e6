// /callback: where the authorization server sends the browser back after sign-in. fhirclient
// checks `state`, exchanges the code with the PKCE verifier and keeps the tokens in this tab.
import { useEffect, useRef, useState } from 'react';
import { useNavigate } from 'react-router';
import { Center, Loader } from '@mantine/core';
import { completeSignIn } from '../smart/smart-launch.ts';

export function CallbackPage() {
  const navigate = useNavigate();
  const [failed, setFailed] = useState(false);
  // The exchange may run once: React's development double effects would spend the code twice.
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    completeSignIn()
      .then(() => navigate('/', { replace: true }))
      .catch(() => setFailed(true));
  }, [navigate]);
  useEffect(() => {
    if (failed) void navigate('/signed-out?reason=error', { replace: true });
  }, [failed, navigate]);
  return (
    <Center h="60vh">
      <Loader aria-label="Signing you in" />
    </Center>
  );
}
