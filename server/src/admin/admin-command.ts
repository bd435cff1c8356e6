// npm run admin -- <command> [options] [--json]: administration against the same database as a
// running server (the local database included). See README "Administration".
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { connectForTool } from '../db/tool-connection.ts';
import { createLogger } from '../logger.ts';
import { accountCommands } from './account-commands.ts';
import { addClient, adminContext, AdminUsageError, listClients, removeClient, rotateKeys, toolsToken, type AdminContext } from './admin-operations.ts';

const HELP = `Usage: npm run admin -- <command> [options] [--json]

  clients add --name N --type public|confidential|confidential-asymmetric|backend
              [--redirect-uri U]... [--jwks-file F | --jwks-url U] [--scope "S"] [--launch-uri U]
              [--group Group/ID]   (a backend client that reaches only the Group's members)
                                 registers an app; prints its client id (and, for a confidential
                                 client, its secret: shown once)
  clients list                   the registered apps
  clients remove <client id>     unregisters an app and revokes its tokens
${accountCommands.help}
  keys rotate                    new signing keys; the old ones stay published until their tokens expire
  token [--scope "S"]            a 5-minute access token of the server's tools client (system/*.cruds),
                                 from the running server: TOKEN=$(npm run -s admin -- token --raw)
  --raw                          print only the token (with token)

  --json                         machine-readable output`;

type Command = (ctx: AdminContext, values: Record<string, unknown>, positionals: string[]) => Promise<unknown>;

const COMMANDS: Record<string, Command> = {
  'clients add': (ctx, v) =>
    addClient(ctx, {
      name: v.name as string,
      type: v.type as string,
      redirectUris: v['redirect-uri'] as string[] | undefined,
      jwksFile: v['jwks-file'] as string | undefined,
      jwksUrl: v['jwks-url'] as string | undefined,
      scope: v.scope as string | undefined,
      launchUri: v['launch-uri'] as string | undefined,
      group: v.group as string | undefined,
    }),
  'clients list': (ctx) => listClients(ctx),
  'clients remove': (ctx, _v, p) => removeClient(ctx, p[0]),
  'keys rotate': (ctx) => rotateKeys(ctx),
  token: (ctx, v) => toolsToken(ctx, v.scope as string | undefined),
  ...accountCommands.commands,
};

function print(result: unknown, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const rows = Array.isArray(result) ? result : [result];
  if (rows.length === 0) process.stdout.write('(none)\n');
  for (const row of rows) {
    for (const [key, value] of Object.entries(row as Record<string, unknown>)) {
      process.stdout.write(`${key}: ${Array.isArray(value) ? value.join(' ') : String(value)}\n`);
    }
    if (rows.length > 1) process.stdout.write('\n');
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      type: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'jwks-file': { type: 'string' },
      'jwks-url': { type: 'string' },
      scope: { type: 'string' },
      'launch-uri': { type: 'string' },
      group: { type: 'string' },
      ...accountCommands.options,
      json: { type: 'boolean', default: false },
      raw: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const name = positionals.slice(0, 2).join(' ');
  const command = COMMANDS[name] ?? COMMANDS[positionals[0] ?? ''];
  if (values.help || !command) {
    process.stdout.write(`${HELP}\n`);
    return values.help ? 0 : 2;
  }
  const rest = positionals.slice(COMMANDS[name] ? 2 : 1);
  const config = loadConfig();
  const database = await connectForTool(config, createLogger('warn'));
  try {
    const result = await command(adminContext(config, database.db), values, rest);
    if (values.raw && result && typeof result === 'object' && 'accessToken' in result) process.stdout.write(`${String(result.accessToken)}\n`);
    else print(result, values.json === true);
    return 0;
  } catch (err) {
    if (err instanceof AdminUsageError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  } finally {
    await database.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`admin: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
