/** Whatever arrives, the identity module fails only with LkpError (never TypeError, RangeError…). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LkpError } from '../../../src/errors.js';
import { identityFromArn } from '../../../src/identity/arn.js';
import { parseStsProof } from '../../../src/identity/proof.js';
import { parseStsResponse } from '../../../src/identity/sts.js';
import type { IdentityProof } from '../../../src/protocol.js';
import { stsXml } from '../../helpers/fake-sts.js';
import { CALLER, EXPECT, signedProof } from './fixtures.js';

function onlyLkpErrors(run: () => unknown): boolean {
  try {
    run();
  } catch (e) {
    if (!(e instanceof LkpError)) throw e;
  }
  return true;
}

const valid = signedProof();
/** Everything fast-check can build, including null-prototype objects, boxed values, Maps and BigInts. */
const hostile = fc.anything({
  withNullPrototype: true,
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
  withObjectString: true,
});
const fragments = [
  'arn',
  'aws',
  'aws-cn',
  'iam',
  'sts',
  '123456789012',
  'user',
  'assumed-role',
  'federated-user',
  'root',
  'a',
  ':',
  '/',
  '',
  '\n',
  'é',
];

describe('parseStsProof on arbitrary input', () => {
  it('throws only LkpError for any value', () => {
    fc.assert(
      fc.property(hostile, (v) => onlyLkpErrors(() => parseStsProof(v as IdentityProof, EXPECT))),
      { numRuns: 500 },
    );
  });

  it('throws only LkpError when any field of a valid proof is replaced', () => {
    const field = fc.constantFrom('Method', 'Url', 'Body');
    const header = fc.constantFrom(
      ...Object.keys(valid.Headers),
      'x-amz-date',
      'X-Amz-Target',
      '__proto__',
      'constructor',
    );
    fc.assert(
      fc.property(field, header, hostile, hostile, (f, h, fv, hv) =>
        onlyLkpErrors(() => {
          const Headers = { ...valid.Headers };
          Object.defineProperty(Headers, h, {
            value: hv,
            enumerable: true,
            configurable: true,
            writable: true,
          });
          parseStsProof({ ...valid, [f]: fv, Headers } as IdentityProof, EXPECT);
        }),
      ),
      { numRuns: 500 },
    );
  });

  it('throws only LkpError for arbitrary string headers', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())), (Headers) =>
        onlyLkpErrors(() => parseStsProof({ ...valid, Headers: { ...valid.Headers, ...Headers } }, EXPECT)),
      ),
      { numRuns: 500 },
    );
  });
});

describe('identityFromArn on arbitrary input', () => {
  it('throws only LkpError for any value', () => {
    fc.assert(
      fc.property(hostile, (v) => onlyLkpErrors(() => identityFromArn(v as typeof CALLER, ['123456789012']))),
    );
  });

  it('throws only LkpError for ARN-like strings', () => {
    const arn = fc.array(fc.constantFrom(...fragments), { maxLength: 14 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(arn, fc.string(), (Arn, UserId) =>
        onlyLkpErrors(() => identityFromArn({ Arn, Account: '123456789012', UserId }, ['123456789012'])),
      ),
      { numRuns: 1000 },
    );
  });
});

describe('parseStsResponse on arbitrary input', () => {
  it('throws only LkpError for any body and content type', () => {
    const ct = fc.constantFrom('text/xml', 'application/json', 'application/xml; charset=utf-8', 'x');
    const xmlish = fc
      .array(fc.constantFrom('<', '>', '/', '&', ';', '#x', '1', 'Arn', '"', '!', '?', ' ', '{', '}', ':'), {
        maxLength: 40,
      })
      .map((a) => a.join(''));
    fc.assert(
      fc.property(ct, fc.oneof(fc.string(), xmlish, fc.json()), (c, body) =>
        onlyLkpErrors(() => parseStsResponse(c, body)),
      ),
      { numRuns: 1000 },
    );
  });

  it('throws only LkpError when a valid XML answer is cut anywhere', () => {
    const xml = stsXml(CALLER);
    fc.assert(
      fc.property(fc.nat(xml.length), (n) =>
        onlyLkpErrors(() => parseStsResponse('text/xml', xml.slice(0, n))),
      ),
    );
  });
});

it('sanity: the valid proof used above passes', () => {
  expect(parseStsProof(valid, EXPECT).url).toBe('https://sts.us-east-1.amazonaws.com/');
});
