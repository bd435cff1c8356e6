// Field names every supported database takes, for oidc-provider's records. FerretDB 1.x (the local
// database) refuses a field name with a dot or a leading `$` (MongoDB 5+ takes them), and
// oidc-provider keys some records by resource indicator: a Grant's `resources` and an
// Interaction's `missingResourceScopes` are keyed by the FHIR base URL
// (`https://records.example.org/fhir`). Stored as they are, every app launch on a server whose
// host has a dot (any real host name, any IP address) failed on the local database at the consent
// step. Such keys are stored escaped instead: `%` as `%25`, `.` as `%2E`, a leading `$` as `%24`.
// See: https://docs.mongodb.com/manual/core/dot-dollar-considerations/

const AWKWARD = /[.%]|^\$/;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;

/** True when some key of the value (at any depth) has to be escaped. */
export function hasAwkwardKeys(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasAwkwardKeys);
  if (!isPlainObject(value)) return false;
  for (const [key, inner] of Object.entries(value)) if (AWKWARD.test(key) || hasAwkwardKeys(inner)) return true;
  return false;
}

function renameKeys(value: unknown, rename: (key: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => renameKeys(v, rename));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) out[rename(key)] = renameKeys(inner, rename);
  return out;
}

const escapeKey = (key: string): string => key.replace(/%/g, '%25').replace(/\./g, '%2E').replace(/^\$/, '%24');
const unescapeKey = (key: string): string => key.replace(/%(2E|24|25)/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));

/** The value with every key escaped (values are left as they are). */
export const escapeKeys = <T>(value: T): T => renameKeys(value, escapeKey) as T;

/** The value escapeKeys was given. */
export const unescapeKeys = <T>(value: T): T => renameKeys(value, unescapeKey) as T;
