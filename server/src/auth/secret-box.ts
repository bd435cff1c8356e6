// Encryption at rest for the authorization server's secrets (signing keys, cookie keys, client
// secrets, TOTP seeds): AES-256-GCM with a key from configuration (AUTH_SECRET) or, on a local
// first start, generated into DATA_DIR/auth-secret. Several server instances must share the key.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Encrypted value: version, nonce, ciphertext and tag, base64url, joined with dots. */
export type Sealed = string;

export class SecretBox {
  private readonly key: Buffer;
  /** Names the key without revealing it, so data sealed with another key is recognised. */
  readonly keyId: string;

  constructor(secret: Buffer) {
    if (secret.length < 32) throw new Error('AUTH_SECRET must hold at least 32 bytes (e.g. 44 base64 characters)');
    this.key = createHash('sha256').update(secret).digest();
    this.keyId = createHash('sha256').update('key-id:').update(this.key).digest('base64url').slice(0, 12);
  }

  seal(plain: string | Buffer, context: string): Sealed {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return ['v1', this.keyId, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** Opens what seal made for the same context; throws when the key or context differs. */
  open(sealed: Sealed, context: string): Buffer {
    const [version, keyId, iv, body, tag] = sealed.split('.');
    if (version !== 'v1' || !tag) throw new Error('not a sealed secret');
    if (keyId !== this.keyId) {
      throw new Error('this secret was encrypted with another AUTH_SECRET than the one configured; start the server with the same AUTH_SECRET as before');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
  }

  openText(sealed: Sealed, context: string): string {
    return this.open(sealed, context).toString('utf8');
  }
}

/**
 * The secret: AUTH_SECRET when configured (base64 or hex of at least 32 bytes, or a passphrase of
 * at least 32 characters), otherwise the file DATA_DIR/auth-secret, created with 32 random bytes on
 * first use (mode 0600).
 */
export function loadSecret(configured: string | undefined, dataDir: string): Buffer {
  if (configured) {
    if (/^[A-Za-z0-9+/_-]{43,}={0,2}$/.test(configured)) return Buffer.from(configured, 'base64');
    if (/^[0-9a-f]{64,}$/i.test(configured)) return Buffer.from(configured, 'hex');
    return Buffer.from(configured, 'utf8');
  }
  const file = path.join(dataDir, 'auth-secret');
  try {
    return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32);
  try {
    fs.writeFileSync(file, `${secret.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    throw err;
  }
}
