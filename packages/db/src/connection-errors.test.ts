import { describe, expect, it } from 'vitest';
import { isConnectionError } from './connection-errors.js';

const withCode = (code: string) => Object.assign(new Error(code), { code });

describe('isConnectionError', () => {
  it('takes an unreachable database, or one whose certificate does not verify, for an outage', () => {
    for (const code of ['ECONNREFUSED', 'CONNECTION_CLOSED', '57P01', '08006', 'SELF_SIGNED_CERT_IN_CHAIN']) {
      expect(isConnectionError(withCode(code))).toBe(true);
    }
    expect(isConnectionError(withCode('ERR_TLS_CERT_ALTNAME_INVALID'))).toBe(true);
    expect(isConnectionError(withCode('ERR_SSL_WRONG_VERSION_NUMBER'))).toBe(true);
    expect(
      isConnectionError(new Error('wrapped', { cause: withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE') })),
    ).toBe(true);
  });

  it('leaves the statement’s own faults alone', () => {
    for (const code of ['23505', '22P02', '40001', 'ERR_INVALID_ARG_TYPE']) {
      expect(isConnectionError(withCode(code))).toBe(false);
    }
    expect(isConnectionError('ECONNREFUSED')).toBe(false);
  });
});
