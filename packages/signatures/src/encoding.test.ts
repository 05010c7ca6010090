import { describe, expect, it } from 'vitest';
import { decode, decodeBase64, decodeHex } from './encoding.js';

describe('decodeHex', () => {
  it('decodes lower and upper case', () => {
    expect(decodeHex('00ff')).toEqual(Buffer.from([0, 255]));
    expect(decodeHex('00FF')).toEqual(Buffer.from([0, 255]));
  });

  it.each(['', 'abc', 'zz', '00 ff', '0x00', 'ff\n'])('refuses %j', (value) => {
    expect(decodeHex(value)).toBeUndefined();
  });
});

describe('decodeBase64', () => {
  it('decodes padded and unpadded input', () => {
    expect(decodeBase64('aGk=')).toEqual(Buffer.from('hi'));
    expect(decodeBase64('aGk')).toEqual(Buffer.from('hi'));
    expect(decodeBase64('aGVsbG8h')).toEqual(Buffer.from('hello!'));
  });

  it.each(['', 'a', 'aGk==', 'a=Gk', 'aG-k', 'aG_k', 'aGk!', 'aG k'])('refuses %j', (value) => {
    expect(decodeBase64(value)).toBeUndefined();
  });
});

describe('decode', () => {
  it('dispatches on the encoding', () => {
    expect(decode('6869', 'hex')).toEqual(Buffer.from('hi'));
    expect(decode('aGk=', 'base64')).toEqual(Buffer.from('hi'));
  });
});
