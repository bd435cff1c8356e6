// The frame of every signed-in page: the clinic's header with the main sections, sign-out, the
// banner of whose record is open, and the page itself.
import { useState } from 'react';
import { NavLink, Outlet } from 'react-router';
import { Anchor, Box, Button, Container, Group, Text, VisuallyHidden } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { PatientBanner } from './patient-banner.tsx';
import { useSession } from '../session/session-context.tsx';
import { signOut } from '../smart/sign-out.ts';
import classes from './portal-shell.module.css';

const SECTIONS = [
  { to: '/', label: 'Dashboard', end: true },
  { to: '/results', label: 'Test results', end: false },
];

export function PortalShell() {
  const { client } = useSession();
  const queries = useQueryClient();
  const [leaving, setLeaving] = useState(false);
  const leave = async () => {
    setLeaving(true);
    const next = await signOut(client);
    queries.clear();
    window.location.assign(next);
  };
  return (
    <>
      <a className={classes.skip} href="#main">
        Skip to content
      </a>
      <Box component="header" className={classes.header}>
        <Container size="lg">
          <Group justify="space-between" py="sm" wrap="wrap" gap="xs">
            <Text fw={700} size="lg" c="white">
              Patient portal
            </Text>
            <Button variant="white" color="teal.9" size="xs" onClick={() => void leave()} loading={leaving}>
              Sign out
            </Button>
          </Group>
          <Group component="nav" aria-label="Main" gap={0} wrap="wrap">
            {SECTIONS.map((s) => (
              <Anchor key={s.to} component={NavLink} to={s.to} end={s.end} className={classes.navLink} underline="never">
                {s.label}
              </Anchor>
            ))}
          </Group>
        </Container>
      </Box>
      <PatientBanner />
      <Container size="lg" component="main" id="main" py="md" tabIndex={-1}>
        <VisuallyHidden aria-live="polite">{leaving ? 'Signing out' : ''}</VisuallyHidden>
        <Outlet />
      </Container>
    </>
  );
}
