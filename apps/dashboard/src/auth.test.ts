import { describe, expect, it } from 'vitest';
import { createAuthenticator, parseBasicAuth } from './auth.js';

const header = (credentials: string) => `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;

describe('parseBasicAuth', () => {
  it('splits at the first colon, so a password may hold colons', () => {
    expect(parseBasicAuth(header('admin:a:b:c'))).toEqual({ name: 'admin', password: 'a:b:c' });
    expect(parseBasicAuth(header('admin:'))).toEqual({ name: 'admin', password: '' });
    expect(parseBasicAuth(`basic ${Buffer.from('ü:pä55').toString('base64')}`)).toEqual({
      name: 'ü',
      password: 'pä55',
    });
  });

  it.each([undefined, '', 'Basic', 'Basic !!!', 'Bearer abc', header('no-colon')])(
    'reads %j as no credentials',
    (value) => {
      expect(parseBasicAuth(value)).toBeNull();
    },
  );
});

describe('createAuthenticator', () => {
  const authenticate = createAuthenticator([
    { name: 'admin', password: 'correct horse', role: 'admin' },
    { name: 'viewer', password: 'battery staple', role: 'readonly' },
  ]);

  it('knows each user by name and password, with their role', () => {
    expect(authenticate(header('admin:correct horse'))).toEqual({ name: 'admin', role: 'admin' });
    expect(authenticate(header('viewer:battery staple'))).toEqual({ name: 'viewer', role: 'readonly' });
  });

  it.each([
    'admin:battery staple',
    'viewer:correct horse',
    'admin:correct hors',
    'admin:correct horse ',
    'Admin:correct horse',
    ':correct horse',
  ])('refuses %j', (credentials) => {
    expect(authenticate(header(credentials))).toBeNull();
  });

  it('needs at least one user', () => {
    expect(() => createAuthenticator([])).toThrow();
  });
});
