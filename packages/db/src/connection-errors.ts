/** postgres.js and Node socket error codes that mean "the database cannot be reached right now". */
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  // SQLSTATEs: the server is shutting down, starting up, or out of connection slots.
  '57P01',
  '57P02',
  '57P03',
  '53300',
  // TLS: the server's certificate does not verify (wrong CA, wrong name, expired) or the handshake
  // fails. Like an outage, a fix of the server or the settings lets the same work succeed.
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * True when an error says the database is away (connection refused, dropped, shutting down, its
 * certificate refused) rather than that the statement or its data is wrong: such work should wait
 * and try again, however long the outage lasts. SQLSTATE class 08 is "connection exception".
 */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  if (
    code !== undefined &&
    (CONNECTION_CODES.has(code) || code.startsWith('08') || code.startsWith('ERR_SSL_'))
  ) {
    return true;
  }
  const cause = 'cause' in error ? error.cause : undefined;
  return cause !== undefined && cause !== error && isConnectionError(cause);
}

/**
 * SQLSTATEs that mean the database has not been given the schema the code expects: a table,
 * column or schema is missing (migrations not run, or not yet run for this version).
 */
const SCHEMA_MISSING_CODES = new Set(['42P01', '42703', '3F000']);

/**
 * True when a statement failed because the schema is not there yet rather than because of its
 * data: like an outage, running the migrations lets the same work succeed, so the work should
 * wait rather than be counted against the event.
 */
export function isSchemaMissing(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  return code !== undefined && SCHEMA_MISSING_CODES.has(code);
}

/**
 * True when the database refused a statement for the role's privileges (SQLSTATE 42501), e.g.
 * grants not applied after a migration: granting them lets the same work succeed.
 */
export function isPermissionDenied(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === '42501';
}
