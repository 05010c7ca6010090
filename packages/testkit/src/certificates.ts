import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface CertificatePair {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A throwaway CA and certificates it signed, in a temporary directory, for TLS tests. */
export interface TestCertificates {
  readonly dir: string;
  /** The CA's certificate: what a client trusts. */
  readonly caFile: string;
  /** Another CA's certificate, which signed nothing here: trusting it must fail. */
  readonly otherCaFile: string;
  /** For `127.0.0.1` and `localhost` (subjectAltName IP and DNS). */
  readonly server: CertificatePair;
  /** Signed by the same CA, for `wrong.invalid` only: a host check must refuse it. */
  readonly wrongName: CertificatePair;
  /** Removes the directory. */
  remove(): Promise<void>;
}

/** True when the `openssl` command is there to make certificates with. */
export function opensslAvailable(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, encoding: 'utf8' }, (error, _stdout, stderr) =>
      error
        ? reject(new Error(`openssl ${args[0] ?? ''} failed: ${stderr.trim() || error.message}`))
        : resolve(),
    );
  });
}

// P-256 keys: quick to make, and every TLS stack here (OpenSSL in Redis and PostgreSQL, Node) takes them.
const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string): Promise<CertificatePair> {
  const pair = { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
  await openssl(
    ['req', '-x509', ...newKey, '-keyout', pair.keyFile, '-out', pair.certFile, '-days', '2']
      .concat(['-subj', `/CN=Inlet test ${name}`])
      .concat([
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]),
    dir,
  );
  return pair;
}

async function makeServerCertificate(
  dir: string,
  ca: CertificatePair,
  name: string,
  subjectAltName: string,
): Promise<CertificatePair> {
  const pair = { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
  const request = path.join(dir, `${name}.csr`);
  const extensions = path.join(dir, `${name}.ext`);
  await writeFile(
    extensions,
    `subjectAltName=${subjectAltName}\nbasicConstraints=CA:FALSE\n` +
      'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n',
  );
  await openssl(
    ['req', '-new', ...newKey, '-keyout', pair.keyFile, '-out', request, '-subj', `/CN=${name}`],
    dir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      request,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-set_serial',
      `0x${Date.now().toString(16)}`,
    ].concat(['-days', '2', '-extfile', extensions, '-out', pair.certFile]),
    dir,
  );
  return pair;
}

/**
 * Makes a CA, a server certificate for 127.0.0.1 and localhost, one for another name, and an
 * unrelated CA, with `openssl` (which must be installed).
 */
export async function createTestCertificates(): Promise<TestCertificates> {
  if (!opensslAvailable()) {
    throw new Error('createTestCertificates needs the openssl command (apt-get install openssl)');
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'inlet-certs-'));
  try {
    const ca = await makeCa(dir, 'ca');
    const other = await makeCa(dir, 'other-ca');
    const server = await makeServerCertificate(dir, ca, 'localhost', 'IP:127.0.0.1,DNS:localhost');
    const wrongName = await makeServerCertificate(dir, ca, 'wrong.invalid', 'DNS:wrong.invalid');
    return {
      dir,
      caFile: ca.certFile,
      otherCaFile: other.certFile,
      server,
      wrongName,
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
