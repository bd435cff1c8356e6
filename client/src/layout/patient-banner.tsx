// Whose record is open: name and date of birth, always visible under the header, so a proxy
// never mistakes one person's record for another's.
import { Container, Group, Paper, Skeleton, Text } from '@mantine/core';
import type { HumanName, Patient } from 'fhir/r4';
import { usePatient } from '../fhir/fhir-queries.ts';
import { formatDate } from '../fhir/observation-text.ts';
import { useSession } from '../session/session-context.tsx';

export function personName(names: HumanName[] | undefined): string {
  const name = names?.find((n) => n.use === 'official') ?? names?.[0];
  if (!name) return 'Name not recorded';
  return name.text ?? [...(name.given ?? []), name.family].filter(Boolean).join(' ');
}

export function PatientBanner() {
  const patient = usePatient();
  const { user } = useSession();
  const actingForSomeoneElse = user?.startsWith('RelatedPerson/') ?? false;
  const p: Patient | undefined = patient.data;
  return (
    <Paper component="section" aria-label="Whose record is open" radius={0} py="xs" bg="teal.0" style={{ borderBottom: '1px solid var(--mantine-color-teal-2)' }}>
      <Container size="lg">
        <Group gap="lg" wrap="wrap">
          {patient.isPending ? (
            <Skeleton height={20} width={220} />
          ) : (
            <>
              <Text fw={700} data-testid="banner-name">
                {p ? personName(p.name) : 'This record'}
              </Text>
              <Text size="sm">Born {p?.birthDate ? formatDate(p.birthDate) : 'date not recorded'}</Text>
              {actingForSomeoneElse && (
                <Text size="sm" c="teal.9">
                  You are viewing this record as a trusted family member or caregiver.
                </Text>
              )}
            </>
          )}
        </Group>
      </Container>
    </Paper>
  );
}
