// Second factors: an authenticator app (TOTP, RFC 6238: 6 digits, 30 s; its seed sealed at rest;
// a code is accepted one step early or late, and never twice) and ten single-use recovery codes
// for a lost phone (stored hashed, shown once).
// See: https://datatracker.ietf.org/doc/html/rfc6238 and
// https://pages.nist.gov/800-63-4/sp800-63b.html#otpdevice (a code may be used only once)
import { randomInt } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import type { SecretBox } from '../secret-box.ts';
import type { AccountDocument } from './account-store.ts';
import { hashSecret } from './one-time-secrets.ts';

export const RECOVERY_CODE_COUNT = 10;
const CODE_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';

export const totpContext = (accountId: string) => `totp:${accountId}`;

export function newTotpSecret(): string {
  return generateSecret();
}

/** The otpauth:// URI authenticator apps read from the QR code. */
export function totpUri(secret: string, email: string, issuer: string): string {
  return generateURI({ issuer, label: email, secret });
}

/** The QR code as inline SVG (no script, no external image: fits the pages' CSP). */
export async function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
}

/** Checks a typed code; the time step it matched is kept so that the same code cannot be used again. */
export async function checkTotp(secret: string, typed: string, lastTimeStep?: number): Promise<{ valid: false } | { valid: true; timeStep: number }> {
  const token = typed.replace(/\s/g, '');
  if (!/^\d{6}$/.test(token)) return { valid: false };
  const result = await verify({ secret, token, epochTolerance: 30, ...(lastTimeStep !== undefined ? { afterTimeStep: lastTimeStep } : {}) });
  // TOTP verification always reports the time step it matched (otplib's union type also covers HOTP).
  return result.valid && 'timeStep' in result ? { valid: true, timeStep: result.timeStep } : { valid: false };
}

export function openTotpSecret(box: SecretBox, account: AccountDocument): string | undefined {
  return account.totp ? box.openText(account.totp.sealedSecret, totpContext(account._id)) : undefined;
}

/** Ten new recovery codes: the codes to show once, and what to store. */
export function newRecoveryCodes(): { codes: string[]; stored: Array<{ hash: string }> } {
  const codes: string[] = [];
  for (let i = 0; i < RECOVERY_CODE_COUNT; i++) {
    let code = '';
    for (let j = 0; j < 12; j++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
    codes.push(code.match(/.{4}/g)!.join('-'));
  }
  return { codes, stored: codes.map((c) => ({ hash: hashSecret(normaliseRecoveryCode(c)) })) };
}

export const normaliseRecoveryCode = (typed: string): string => typed.toLowerCase().replace(/[^a-z0-9]/g, '');

/** The index of the unused stored code a typed recovery code matches, or -1. */
export function matchRecoveryCode(account: AccountDocument, typed: string): number {
  const hash = hashSecret(normaliseRecoveryCode(typed));
  return (account.recoveryCodes ?? []).findIndex((c) => !c.usedAt && c.hash === hash);
}
