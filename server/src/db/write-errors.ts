// How the database reports refused writes, for the layers that need to tell them apart.

/**
 * A write refused because a unique index (usually _id) already holds the key. MongoDB says so with
 * code 11000; FerretDB 1.24 does too for inserts, but reports an update that breaks a unique index
 * as an InternalError whose message quotes SQLite's constraint error.
 */
export function isDuplicateKey(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: number; codeName?: string; message?: string };
  return e.code === 11000 || (e.codeName === 'InternalError' && /UNIQUE constraint failed/.test(e.message ?? ''));
}

/** A bulk write whose only failures are duplicate keys. */
export function isDuplicateKeyOnly(err: unknown): boolean {
  const e = err as { code?: number; writeErrors?: Array<{ code?: number }> | { code?: number } };
  if (e?.code === 11000 && !e.writeErrors) return true;
  const list = Array.isArray(e?.writeErrors) ? e.writeErrors : e?.writeErrors ? [e.writeErrors] : [];
  return list.length > 0 && list.every((w) => w.code === 11000);
}
