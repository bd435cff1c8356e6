// Passwords: argon2id hashes, and the rules of NIST SP 800-63B §3.1.1.2: at least 8 characters,
// long passphrases welcome (up to 256), every character allowed, no composition rules, no
// periodic changes; refused when common or built from what the service knows about the person
// (email, name, the clinic's name), as zxcvbn-ts estimates it.
// See: https://pages.nist.gov/800-63-4/sp800-63b.html#passwordver
import { hash, verify } from '@node-rs/argon2';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as english from '@zxcvbn-ts/language-en';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;
/** zxcvbn's score (0–4) a password must reach: 3 is "safely unguessable: moderate protection from offline attacks". */
const MIN_SCORE = 3;

/**
 * @node-rs/argon2's defaults are argon2id with 19 MiB of memory, 2 passes and 1 lane: OWASP's
 * recommended minimum (about 30 ms here). Verification reads the parameters from the hash, so
 * raising them later only affects new hashes.
 */
export async function hashPassword(password: string): Promise<string> {
  return hash(normalise(password));
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, normalise(password));
  } catch {
    return false;
  }
}

/** A hash to verify against when there is no account, so that the answer takes as long. */
let decoy: Promise<string> | undefined;
export async function verifyAgainstNothing(password: string): Promise<false> {
  decoy ??= hashPassword('no account has this password');
  await verifyPassword(await decoy, password);
  return false;
}

/** NIST: passwords are compared after Unicode normalisation, so the same text always matches. */
const normalise = (password: string) => password.normalize('NFKC');

let estimator: ZxcvbnFactory | undefined;
function zxcvbn(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...english.dictionary },
    graphs: common.adjacencyGraphs,
    translations: english.translations,
  });
  return estimator;
}

/** What the service knows about the person: a password built from it is easy to guess. */
export interface PasswordContext {
  email?: string;
  name?: string;
  clinicName?: string;
}

/** Why this password cannot be used (a sentence that says what to do), or undefined when it can. */
export function passwordProblem(password: string, context: PasswordContext): string | undefined {
  const length = [...normalise(password)].length;
  if (length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters. A few unrelated words make a good password.`;
  if (length > MAX_PASSWORD_LENGTH) return `Use at most ${MAX_PASSWORD_LENGTH} characters.`;
  const inputs = contextWords(context);
  // What is left once the words the service knows about the person are taken out must be a
  // password of its own ("MeiRossi1962" leaves "1962").
  let rest = password.toLowerCase();
  for (const w of [...inputs].sort((a, b) => b.length - a.length)) rest = rest.split(w).join('');
  if (rest !== password.toLowerCase() && rest.replace(/[^\p{L}\p{N}]/gu, '').length < 6) {
    return 'Do not build your password from your name, your email address or the clinic’s name. A few unrelated words make a good password.';
  }
  const result = zxcvbn().check(password.slice(0, 100), inputs);
  if (result.score >= MIN_SCORE) return undefined;
  const hint = result.feedback.warning ? `${result.feedback.warning.replace(/\.?$/, '.')} ` : '';
  return `This password is too easy to guess. ${hint}Add more words or characters; a few unrelated words make a good password.`;
}

function contextWords(context: PasswordContext): string[] {
  const words = new Set<string>();
  const add = (text: string | undefined) => {
    if (!text) return;
    const lower = text.toLowerCase();
    words.add(lower.replace(/\s+/g, ''));
    for (const part of lower.split(/[^\p{L}\p{N}]+/u)) if (part.length >= 3) words.add(part);
  };
  add(context.email);
  add(context.email?.split('@')[0]);
  add(context.name);
  add(context.clinicName);
  return [...words];
}
