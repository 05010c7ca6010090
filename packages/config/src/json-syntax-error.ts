/** Where a JSON text first breaks the grammar, and what was expected there; never any of its content. */
export interface JsonSyntaxError {
  /** Offset in the text (UTF-16 code units), as JSON.parse's "at position N". */
  readonly offset: number;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column, in characters. */
  readonly column: number;
  /** What the grammar expected, in words that quote nothing from the text. */
  readonly problem: string;
}

type Expect = 'value' | 'value-or-]' | 'key' | 'key-or-}' | 'colon' | 'comma-or-end';

const LITERALS = ['true', 'false', 'null'] as const;
const SIMPLE_ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const HEX_DIGIT = /^[0-9A-Fa-f]$/;

function isWhitespace(char: string | undefined): boolean {
  return char === ' ' || char === '\t' || char === '\n' || char === '\r';
}

/** End of the string starting at `start` (a `"`), or where and why it breaks. */
function scanString(text: string, start: number): number | { offset: number; problem: string } {
  let at = start + 1;
  for (;;) {
    if (at >= text.length) return { offset: text.length, problem: 'a string is not terminated' };
    const code = text.charCodeAt(at);
    if (code === 0x22) return at + 1;
    if (code < 0x20) return { offset: at, problem: 'a string holds a control character (a raw line break?)' };
    if (code === 0x5c) {
      const next = text[at + 1];
      if (next !== undefined && SIMPLE_ESCAPES.has(next)) {
        at += 2;
        continue;
      }
      const invalid = { problem: 'a string holds an invalid escape sequence' };
      if (next !== 'u') return { offset: at + 1, ...invalid };
      // Where JSON.parse points: at the first character that is not a hex digit.
      for (let digit = at + 2; digit < at + 6; digit += 1) {
        if (!HEX_DIGIT.test(text[digit] ?? '')) return { offset: digit, ...invalid };
      }
      at += 6;
    } else {
      at += 1;
    }
  }
}

const isDigit = (char: string | undefined) => char !== undefined && char >= '0' && char <= '9';

/** End of the number starting at `start`, or where it breaks. */
function scanNumber(text: string, start: number): number | { offset: number; problem: string } {
  let at = start;
  const skipDigits = () => {
    while (isDigit(text[at])) at += 1;
  };
  const malformed = () => ({ offset: at, problem: 'a number is malformed' });
  if (text[at] === '-') at += 1;
  if (text[at] === '0') at += 1;
  else if (isDigit(text[at])) skipDigits();
  else return malformed();
  if (text[at] === '.') {
    at += 1;
    if (!isDigit(text[at])) return malformed();
    skipDigits();
  }
  if (text[at] === 'e' || text[at] === 'E') {
    at += 1;
    if (text[at] === '+' || text[at] === '-') at += 1;
    if (!isDigit(text[at])) return malformed();
    skipDigits();
  }
  return at;
}

function located(text: string, offset: number, problem: string): JsonSyntaxError {
  let line = 1;
  let lineStart = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) {
    line += 1;
    lineStart = at + 1;
  }
  // Count characters, not UTF-16 units, as editors do.
  const column = Array.from(text.slice(lineStart, offset)).length + 1;
  return { offset, line, column, problem };
}

/**
 * The first place where `text` is not valid JSON (RFC 8259, as JSON.parse reads it), or undefined
 * when it is valid. Iterative, so deep nesting cannot overflow the stack.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const closers: string[] = [];
  let expect: Expect = 'value';
  let at = 0;
  const fail = (offset: number, problem: string) => located(text, offset, problem);
  for (;;) {
    while (isWhitespace(text[at])) at += 1;
    const char = text[at];
    const top = closers.at(-1);
    if (char === undefined) {
      if (expect === 'comma-or-end' && top === undefined) return undefined;
      return fail(at, 'the file ends too early');
    }
    if (expect === 'comma-or-end' && top === undefined) {
      return fail(at, 'there is more after the end of the JSON document');
    }
    switch (expect) {
      case 'comma-or-end':
        if (char === ',') expect = top === '}' ? 'key' : 'value';
        else if (char === top) closers.pop();
        else return fail(at, top === '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        at += 1;
        break;
      case 'colon':
        if (char !== ':') return fail(at, "expected ':' after a property name");
        at += 1;
        expect = 'value';
        break;
      case 'key':
      case 'key-or-}': {
        if (char === '}' && expect === 'key-or-}') {
          closers.pop();
          at += 1;
          expect = 'comma-or-end';
          break;
        }
        if (char !== '"') {
          return fail(
            at,
            expect === 'key'
              ? 'expected a double-quoted property name'
              : "expected a double-quoted property name or '}'",
          );
        }
        const end = scanString(text, at);
        if (typeof end !== 'number') return fail(end.offset, end.problem);
        at = end;
        expect = 'colon';
        break;
      }
      case 'value':
      case 'value-or-]': {
        if (char === ']' && expect === 'value-or-]') {
          closers.pop();
          at += 1;
          expect = 'comma-or-end';
          break;
        }
        if (char === '{' || char === '[') {
          closers.push(char === '{' ? '}' : ']');
          at += 1;
          expect = char === '{' ? 'key-or-}' : 'value-or-]';
          break;
        }
        if (char === '"' || char === '-' || isDigit(char)) {
          const end = char === '"' ? scanString(text, at) : scanNumber(text, at);
          if (typeof end !== 'number') return fail(end.offset, end.problem);
          at = end;
        } else {
          const literal = LITERALS.find((word) => text.startsWith(word, at));
          if (literal === undefined)
            return fail(at, 'expected a value (a string, number, object, array, true, false or null)');
          at += literal.length;
        }
        expect = 'comma-or-end';
        break;
      }
    }
  }
}
