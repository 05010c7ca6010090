import { isIP } from 'node:net';
import { type ConnectionOptions, checkServerIdentity, type PeerCertificate } from 'node:tls';

/** What `createSql`'s `ssl` receives: tls.connect options, which override the URL's sslmode. */
export type SslOptions = ConnectionOptions;

/** The URL's hosts (postgres.js accepts `host1,host2`), without IPv6 brackets. */
function hostsOf(url: URL): string[] {
  return decodeURIComponent(url.hostname)
    .split(',')
    .map((host) => host.replace(/^\[(.*)\]$/, '$1'));
}

/**
 * Checks that the certificate names the host dialled. postgres.js sends no server name for an IP
 * address, so Node would check the certificate against "localhost" instead: the URL's host is
 * used. With several hosts the one dialled is not known here, so the certificate must name one
 * of them.
 */
function hostChecker(hosts: readonly string[]): ConnectionOptions['checkServerIdentity'] {
  return (servername: string, cert: PeerCertificate) => {
    const [only] = hosts;
    if (hosts.length === 1 && only !== undefined) return checkServerIdentity(only, cert);
    if (hosts.includes(servername) && isIP(servername) === 0) return checkServerIdentity(servername, cert);
    for (const host of hosts) if (checkServerIdentity(host, cert) === undefined) return undefined;
    return checkServerIdentity(servername, cert);
  };
}

/** Chain only (libpq's verify-ca): whatever name the certificate holds. */
const anyHost: NonNullable<ConnectionOptions['checkServerIdentity']> = () => undefined;

/**
 * The postgres.js `ssl` setting for `url` and an optional CA (PEM), following libpq's sslmode:
 *
 * - `verify-full`: the chain up to the CA, and the host name or address in the certificate;
 * - `verify-ca`: the chain only;
 * - `require`: with a CA, the same as `verify-ca` (as libpq does with a root certificate); without,
 *   encrypted but unverified;
 * - no sslmode: with a CA, `verify-full`; without, plain TCP.
 *
 * Without a CA the system's roots are trusted. `undefined` leaves the URL's sslmode to postgres.js
 * (require, prefer, allow, disable, none). A CA with disable, allow or prefer is refused: those may
 * connect unencrypted.
 */
export function sslOptionsFor(url: string, ca?: string | Buffer): SslOptions | undefined {
  const parsed = new URL(url);
  const mode = parsed.searchParams.get('sslmode');
  const full = (): SslOptions => ({
    rejectUnauthorized: true,
    checkServerIdentity: hostChecker(hostsOf(parsed)),
    ...(ca === undefined ? {} : { ca }),
  });
  const chainOnly = (): SslOptions => ({
    rejectUnauthorized: true,
    checkServerIdentity: anyHost,
    ...(ca === undefined ? {} : { ca }),
  });
  if (ca === undefined) {
    // postgres.js verifies verify-ca like verify-full and misreads an IP host for verify-full.
    if (mode === 'verify-full' || parsed.searchParams.get('sslrootcert') === 'system') return full();
    if (mode === 'verify-ca') return chainOnly();
    return undefined;
  }
  switch (mode) {
    case null:
    case 'verify-full':
      return full();
    case 'verify-ca':
    case 'require':
      return chainOnly();
    default:
      throw new TypeError(`a database CA needs sslmode=verify-full, verify-ca or require, not ${mode}`);
  }
}
