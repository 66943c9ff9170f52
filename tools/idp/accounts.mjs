// Local accounts of the B2C stand-in (CASE 2), kept in one JSON file in the IdP's data
// folder so that a returning customer can sign in with the password after a restart.
// Passwords are stored as scrypt hashes with a random salt, never in clear.

import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCallback);
const KEY_LENGTH = 32;
const SCRYPT = { N: 16384, r: 8, p: 1 }; // Node's defaults, written down so old hashes stay verifiable

// B2C's "strong" password complexity: 8–64 characters and 3 of the 4 character classes.
export function passwordProblem(password) {
  if (password.length < 8 || password.length > 64) return 'errPasswordLength';
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  return classes >= 3 ? undefined : 'errPasswordClasses';
}

export async function hashPassword(password) {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, KEY_LENGTH, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

async function verifyPassword(password, stored) {
  const [scheme, N, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt') return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(N), r: Number(r), p: Number(p) });
  return timingSafeEqual(actual, expected);
}

export class AccountStore {
  constructor(dataDir) {
    this.file = path.join(dataDir, 'accounts.json');
    mkdirSync(dataDir, { recursive: true });
    try {
      this.accounts = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      if (err.code !== 'ENOENT') throw new Error(`cannot read ${this.file}: ${err.message}`);
      this.accounts = {};
    }
  }

  find(email) {
    return this.accounts[email.toLowerCase()];
  }

  // Sign-in: the account, or the catalog key of B2C's message for why not.
  async authenticate(email, password) {
    const account = this.find(email);
    if (!account) return { error: 'errNoAccount' };
    if (!(await verifyPassword(password, account.passwordHash))) return { error: 'errPasswordWrong' };
    return { account };
  }

  add(account) {
    this.accounts[account.email.toLowerCase()] = account;
    this.save();
  }

  update(email, changes) {
    Object.assign(this.find(email), changes);
    this.save();
  }

  save() {
    // Write then rename: a crash mid-write never leaves a truncated file behind.
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.accounts, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.file);
  }
}
