// The screen for anyone without a session: before the first sign-in, after signing out, after the
// sign-in expired, or when signing in did not work. Each says what happened and what to do.
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { Alert, Anchor, Button, Container, Paper, Stack, Text, Title } from '@mantine/core';
import { startSignIn } from '../smart/smart-launch.ts';

const MESSAGES: Record<string, { title: string; text: string; color?: string }> = {
  none: { title: 'Welcome', text: 'Sign in to see your test results, appointments, medications and messages.' },
  'signed-out': { title: 'You are signed out', text: 'You signed out of the portal. Your information is no longer shown on this device.' },
  expired: { title: 'You were signed out', text: 'Your sign-in ended, for your security. Sign in again to continue where you were.', color: 'orange' },
  error: { title: 'Signing in did not work', text: 'The clinic could not complete your sign-in. Please try again; if it keeps failing, call the clinic.', color: 'red' },
};

export function SignedOutPage() {
  const [params] = useSearchParams();
  // `state` comes back from the authorization server's sign-out (see smart/sign-out.ts).
  const message = MESSAGES[params.get('reason') ?? params.get('state') ?? 'none'] ?? MESSAGES.none;
  const [starting, setStarting] = useState(false);
  const [failed, setFailed] = useState(false);
  const signIn = () => {
    setStarting(true);
    startSignIn().catch(() => {
      setStarting(false);
      setFailed(true);
    });
  };
  return (
    <Container size={480} component="main" py={64}>
      <Paper withBorder p="xl" radius="md" shadow="sm">
        <Stack>
          <Title order={1} size="h2">
            {message.title}
          </Title>
          {message.color ? (
            <Alert color={message.color} role="status">
              {message.text}
            </Alert>
          ) : (
            <Text>{message.text}</Text>
          )}
          {failed && (
            <Alert color="red" role="alert">
              The clinic’s sign-in page could not be reached. Check your connection and try again.
            </Alert>
          )}
          <Button size="md" onClick={signIn} loading={starting}>
            Sign in
          </Button>
          <Text size="sm">
            New here? <Anchor href="/account/register">Create your account</Anchor> with the activation code from the clinic.
          </Text>
        </Stack>
      </Paper>
    </Container>
  );
}
