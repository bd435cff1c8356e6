// Account administration commands for `npm run admin` (activation codes, staff and admin
// accounts, unlocking). Filled in by the accounts module.
import type { AdminContext } from './admin-operations.ts';

type Command = (ctx: AdminContext, values: Record<string, unknown>, positionals: string[]) => Promise<unknown>;

export const accountCommands: {
  help: string;
  options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
  commands: Record<string, Command>;
} = {
  help: '',
  options: {},
  commands: {},
};
