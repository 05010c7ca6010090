import { createHash, timingSafeEqual } from 'node:crypto';

export type Role = 'admin' | 'readonly';

export interface DashboardUser {
  readonly name: string;
  readonly password: string;
  /** `readonly` may look at everything but changes nothing (no replay, no retry, no queue actions). */
  readonly role: Role;
}

export interface AuthenticatedUser {
  readonly name: string;
  readonly role: Role;
}

interface StoredLogin {
  readonly name: string;
  readonly role: Role;
  readonly nameDigest: Buffer;
  readonly passwordDigest: Buffer;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** The user name and password of an `Authorization: Basic ...` header, or null when there is none. */
export function parseBasicAuth(header: string | undefined): { name: string; password: string } | null {
  if (header === undefined) return null;
  const match = /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { name: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Checks basic-auth credentials against the configured users. Both sides are hashed with SHA-256
 * before `timingSafeEqual`, so neither the length nor the content of a secret shows in the time
 * taken, and every user is compared whether or not an earlier one matched.
 */
export function createAuthenticator(users: readonly DashboardUser[]) {
  if (users.length === 0) throw new Error('the dashboard needs at least one user');
  const logins: StoredLogin[] = users.map((user) => ({
    name: user.name,
    role: user.role,
    nameDigest: sha256(user.name),
    passwordDigest: sha256(user.password),
  }));
  return (header: string | undefined): AuthenticatedUser | null => {
    const credentials = parseBasicAuth(header);
    if (credentials === null) return null;
    const nameDigest = sha256(credentials.name);
    const passwordDigest = sha256(credentials.password);
    let found: StoredLogin | null = null;
    for (const login of logins) {
      const nameMatches = timingSafeEqual(nameDigest, login.nameDigest);
      const passwordMatches = timingSafeEqual(passwordDigest, login.passwordDigest);
      if (nameMatches && passwordMatches && found === null) found = login;
    }
    return found === null ? null : { name: found.name, role: found.role };
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
