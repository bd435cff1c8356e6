// Account administration commands for `npm run admin` (activation codes, invitations, staff and
// admin accounts, unlocking); the operations are in account-operations.ts.
import { activationCode, addAdmin, addStaff, invitePatientByEmail, inviteProxyByEmail, unlockUser } from './account-operations.ts';
import type { AdminContext } from './admin-operations.ts';

type Command = (ctx: AdminContext, values: Record<string, unknown>, positionals: string[]) => Promise<unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export const accountCommands: {
  help: string;
  options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
  commands: Record<string, Command>;
} = {
  help: `  activation-code --mrn M        a new single-use activation code for a patient (valid 30 days;
                                 printed once, stored hashed; replaces an unused older code)
  invite --mrn M [--email E]     emails a patient an invitation link to register (30 days)
  invite-proxy --related-person RelatedPerson/ID [--email E]
                                 emails a proxy an invitation linked to the RelatedPerson
  staff add --email E --practitioner Practitioner/ID
                                 a staff account; the person gets a set-password link by email
  admin add --email E            an admin account; the person gets a set-password link by email
  users unlock --email E         ends the temporary lock after repeated failed sign-ins`,
  options: {
    mrn: { type: 'string' },
    email: { type: 'string' },
    practitioner: { type: 'string' },
    'related-person': { type: 'string' },
  },
  commands: {
    'activation-code': (ctx, v) => activationCode(ctx, { mrn: str(v.mrn) }),
    invite: (ctx, v) => invitePatientByEmail(ctx, { mrn: str(v.mrn), email: str(v.email) }),
    'invite-proxy': (ctx, v) => inviteProxyByEmail(ctx, { relatedPerson: str(v['related-person']), email: str(v.email) }),
    'staff add': (ctx, v) => addStaff(ctx, { email: str(v.email), practitioner: str(v.practitioner) }),
    'admin add': (ctx, v) => addAdmin(ctx, { email: str(v.email) }),
    'users unlock': (ctx, v) => unlockUser(ctx, { email: str(v.email) }),
  },
};
