import { describe, expect, it } from 'vitest';
import { isConnectionError, isPermissionDenied, isSchemaMissing } from './connection-errors.js';

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

describe('isSchemaMissing', () => {
  it('is true for a missing table, column or schema, and for nothing else', () => {
    for (const code of ['42P01', '42703', '3F000']) expect(isSchemaMissing({ code })).toBe(true);
    for (const code of ['23505', '22P02', '40001', 'ECONNREFUSED', '42601']) {
      expect(isSchemaMissing({ code })).toBe(false);
    }
    expect(isSchemaMissing(new Error('relation "webhook_events" does not exist'))).toBe(false);
    expect(isSchemaMissing(null)).toBe(false);
  });
});

describe('isPermissionDenied', () => {
  it('is true for insufficient_privilege only', () => {
    expect(isPermissionDenied({ code: '42501' })).toBe(true);
    expect(isPermissionDenied({ code: '42P01' })).toBe(false);
    expect(isPermissionDenied(new Error('permission denied'))).toBe(false);
  });
});
