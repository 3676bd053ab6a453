/**
 * A wire-compatible AWS KMS on loopback (DESIGN §6): the JSON 1.1 protocol (POST /,
 * `X-Amz-Target: TrentService.<Op>`) with SigV4 verified against credentials it generates, so the
 * CA's real KMS signer and the real SDK run unchanged against it (AWS_ENDPOINT_URL_KMS). Keys are
 * node:crypto key pairs kept as PKCS#8 PEM in the state folder, so a restart keeps the CA key.
 * Implements CreateKey, DescribeKey, GetPublicKey, Sign, CreateAlias, ListAliases, EnableKey and
 * DisableKey; anything else answers UnknownOperationException.
 */
import {
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  privateEncrypt,
  randomBytes,
  randomUUID,
  sign,
  constants as cryptoConstants,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KeySpec, KeyUsageType, SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import { readLimitedBody } from '../http-body.js';
import type { SigningCredentials } from './sigv4-verify.js';
import {
  JSON_SIGV4_FAULTS,
  JsonServiceFault,
  sendAwsJson,
  startStandinServer,
  verifyStandinSignature,
} from './standin-server.js';
import { localCredentials } from './credentials.js';

export interface KmsStandinOptions {
  /** Folder for keys and aliases; the caller owns it. Reusing it after a restart keeps the keys. */
  stateDir: string;
  region: string;
  port?: number;
  /** The account in key ARNs; default 111122223333. */
  account?: string;
  /** The credentials to accept; default: fresh ones (see `credentials` on the result). */
  credentials?: SigningCredentials;
}

export interface KmsKeyRef {
  keyId: string;
  arn: string;
}

export interface KmsStandin {
  /** `http://127.0.0.1:PORT` */
  url: string;
  region: string;
  /** The only credentials the stand-in accepts (fresh on every start unless given). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** A SIGN_VERIFY key (ENCRYPT_DECRYPT for SYMMETRIC_DEFAULT), optionally with an alias such as `alias/lkp-ca`. */
  createKey(spec: KeySpec, alias?: string): Promise<KmsKeyRef>;
  /** A key by id, key ARN, alias name or alias ARN; undefined when there is none (e.g. to reuse `alias/lkp-ca` after a restart). */
  findKey(keyIdOrAlias: string): KmsKeyRef | undefined;
  /** HTTP requests received: all of them, or those naming operation `op` (e.g. 'GetPublicKey'). */
  requestCount(op?: string): number;
  close(): Promise<void>;
}

/** What one key file holds. */
interface StoredKey {
  keyId: string;
  keySpec: KeySpec;
  keyUsage: KeyUsageType;
  enabled: boolean;
  description: string;
  /** Unix seconds. */
  creationDate: number;
  /** PKCS#8 PEM for key pairs, base64 for the symmetric key. */
  material: string;
}

type Json = Record<string, unknown>;

const DEFAULT_ACCOUNT = '111122223333';
const TARGET_PREFIX = 'TrentService.';
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_BODY_BYTES = 64 * 1024;
/** KMS refuses a Sign message over 4096 bytes, whatever its MessageType. */
const MAX_MESSAGE_BYTES = 4096;
const MAX_SKEW_MS = 5 * 60 * 1000;
const KEYS_DIR = 'kms-keys';
const ALIASES_FILE = 'kms-aliases.json';

const RSA_SIGNING: SigningAlgorithmSpec[] = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
];

/** Key specs the stand-in can make, with the usages and signing algorithms AWS KMS allows for them. */
const SPECS: Partial<
  Record<
    KeySpec,
    { usages: KeyUsageType[]; signing: SigningAlgorithmSpec[]; generate?: () => Promise<KeyObject> }
  >
> = {
  SYMMETRIC_DEFAULT: { usages: ['ENCRYPT_DECRYPT'], signing: [] },
  ECC_NIST_P256: { usages: ['SIGN_VERIFY'], signing: ['ECDSA_SHA_256'], generate: ec('P-256') },
  ECC_NIST_P384: { usages: ['SIGN_VERIFY'], signing: ['ECDSA_SHA_384'], generate: ec('P-384') },
  ECC_NIST_P521: { usages: ['SIGN_VERIFY'], signing: ['ECDSA_SHA_512'], generate: ec('P-521') },
  ECC_SECG_P256K1: { usages: ['SIGN_VERIFY'], signing: ['ECDSA_SHA_256'], generate: ec('secp256k1') },
  ECC_NIST_EDWARDS25519: {
    usages: ['SIGN_VERIFY'],
    signing: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
    generate: async () => (await promisify(generateKeyPair)('ed25519')).privateKey,
  },
  RSA_2048: { usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], signing: RSA_SIGNING, generate: rsa(2048) },
  RSA_3072: { usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], signing: RSA_SIGNING, generate: rsa(3072) },
  RSA_4096: { usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], signing: RSA_SIGNING, generate: rsa(4096) },
};

function ec(namedCurve: string): () => Promise<KeyObject> {
  return async () => (await promisify(generateKeyPair)('ec', { namedCurve })).privateKey;
}

function rsa(modulusLength: number): () => Promise<KeyObject> {
  return async () => (await promisify(generateKeyPair)('rsa', { modulusLength })).privateKey;
}

/** Curve facts for signing a precomputed digest: OpenSSL curve name and group order (SEC 2 / FIPS 186-4). */
interface EcGroup {
  opensslName: string;
  order: bigint;
}

const EC_GROUPS: Readonly<Record<string, EcGroup>> = {
  'P-256': {
    opensslName: 'prime256v1',
    order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  'P-384': {
    opensslName: 'secp384r1',
    order:
      0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  'P-521': {
    opensslName: 'secp521r1',
    order:
      0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
  secp256k1: {
    opensslName: 'secp256k1',
    order: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
  },
};

/** RFC 8017 §9.2 note 1: the DER DigestInfo prefix PKCS#1 v1.5 puts before each hash. */
const DIGEST_INFO_PREFIX: Readonly<Record<string, string>> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

/** The signing algorithms the stand-in implements, with their hash (PureEdDSA hashes with SHA-512 internally). */
const HASH_OF: Partial<Record<SigningAlgorithmSpec, string>> = {
  ECDSA_SHA_256: 'sha256',
  ECDSA_SHA_384: 'sha384',
  ECDSA_SHA_512: 'sha512',
  RSASSA_PKCS1_V1_5_SHA_256: 'sha256',
  RSASSA_PKCS1_V1_5_SHA_384: 'sha384',
  RSASSA_PKCS1_V1_5_SHA_512: 'sha512',
  ED25519_SHA_512: 'sha512',
};

export async function startKmsStandin(opts: KmsStandinOptions): Promise<KmsStandin> {
  const store = new KeyStore(opts.stateDir, opts.region, opts.account ?? DEFAULT_ACCOUNT);
  const credentials = opts.credentials ?? localCredentials();
  const counts = new Map<string, number>();

  const server = await startStandinServer({
    port: opts.port,
    handle: (req, res) => {
      const op = operationOf(req);
      if (op !== undefined) counts.set(op, (counts.get(op) ?? 0) + 1);
      return handle(req, res, op, store, opts.region, credentials);
    },
    fail: (_req, res, e) => {
      const fault =
        e instanceof JsonServiceFault
          ? e
          : new JsonServiceFault('KMSInternalException', 'internal error in the KMS stand-in', 500);
      sendJson(res, fault.status, { __type: fault.type, message: fault.message });
    },
  });

  return {
    url: server.url,
    region: opts.region,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    createKey: async (spec, alias) => {
      if (alias !== undefined && store.find(alias) !== undefined) {
        throw new Error(`KMS stand-in: ${alias} already exists; reuse it with findKey('${alias}')`);
      }
      const key = await store.create(
        spec,
        spec === 'SYMMETRIC_DEFAULT' ? 'ENCRYPT_DECRYPT' : 'SIGN_VERIFY',
        '',
      );
      if (alias !== undefined) store.createAlias(alias, key.keyId);
      return { keyId: key.keyId, arn: store.arnOf(key) };
    },
    findKey: (keyIdOrAlias) => {
      const key = store.find(keyIdOrAlias);
      return key && { keyId: key.keyId, arn: store.arnOf(key) };
    },
    requestCount: (op) => (op === undefined ? server.requestCount() : (counts.get(op) ?? 0)),
    close: server.close,
  };
}

function operationOf(req: IncomingMessage): string | undefined {
  const target = req.headers['x-amz-target'];
  return typeof target === 'string' && target.startsWith(TARGET_PREFIX)
    ? target.slice(TARGET_PREFIX.length)
    : undefined;
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  op: string | undefined,
  store: KeyStore,
  region: string,
  credentials: SigningCredentials,
): Promise<void> {
  if (req.method !== 'POST' || req.url !== '/') {
    throw new JsonServiceFault('UnknownOperationException', 'the KMS stand-in only serves POST /');
  }
  const body = await readLimitedBody(req, MAX_BODY_BYTES);
  if (body === undefined) {
    throw new JsonServiceFault('ValidationException', `request body exceeds ${MAX_BODY_BYTES} bytes`, 413);
  }
  const verdict = verifyStandinSignature(req, body, {
    region,
    service: 'kms',
    maxSkewMs: MAX_SKEW_MS,
    credentials,
  });
  if (!verdict.ok) throw new JsonServiceFault(JSON_SIGV4_FAULTS[verdict.code], verdict.message);

  if (!(req.headers['content-type'] ?? '').startsWith(JSON_CONTENT_TYPE)) {
    throw new JsonServiceFault('SerializationException', `Content-Type must be ${JSON_CONTENT_TYPE}`);
  }
  const operation = op === undefined ? undefined : OPERATIONS[op];
  if (operation === undefined) {
    throw new JsonServiceFault(
      'UnknownOperationException',
      `unknown or unsupported operation ${op ?? '(none)'}`,
    );
  }
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new JsonServiceFault('SerializationException', 'request body is not JSON');
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new JsonServiceFault('SerializationException', 'request body must be a JSON object');
  }
  sendJson(res, 200, await operation(input as Json, store));
}

type Operation = (input: Json, store: KeyStore) => Json | Promise<Json>;

const OPERATIONS: Readonly<Record<string, Operation>> = {
  CreateKey: async (input, store) => {
    const spec = optionalString(input, 'KeySpec') ?? optionalString(input, 'CustomerMasterKeySpec');
    const usage = optionalString(input, 'KeyUsage') ?? 'ENCRYPT_DECRYPT';
    const key = await store.create(
      (spec ?? 'SYMMETRIC_DEFAULT') as KeySpec,
      usage as KeyUsageType,
      optionalString(input, 'Description') ?? '',
    );
    return { KeyMetadata: store.metadata(key) };
  },
  DescribeKey: (input, store) => ({
    KeyMetadata: store.metadata(store.resolve(requiredString(input, 'KeyId'))),
  }),
  GetPublicKey: (input, store) => {
    const key = usableKey(store, requiredString(input, 'KeyId'));
    if (key.keySpec === 'SYMMETRIC_DEFAULT') {
      throw new JsonServiceFault(
        'UnsupportedOperationException',
        `${store.arnOf(key)} key usage is not supported: it is a symmetric key`,
      );
    }
    const spki = createPublicKey(privateKeyOf(key)).export({ format: 'der', type: 'spki' });
    return {
      KeyId: store.arnOf(key),
      PublicKey: spki.toString('base64'),
      KeySpec: key.keySpec,
      CustomerMasterKeySpec: key.keySpec,
      KeyUsage: key.keyUsage,
      ...algorithmsOf(key),
    };
  },
  Sign: (input, store) => {
    const key = usableKey(store, requiredString(input, 'KeyId'));
    const algorithm = requiredString(input, 'SigningAlgorithm') as SigningAlgorithmSpec;
    const messageType = optionalString(input, 'MessageType') ?? 'RAW';
    const message = Buffer.from(requiredString(input, 'Message'), 'base64');
    if (message.length < 1 || message.length > MAX_MESSAGE_BYTES) {
      throw new JsonServiceFault(
        'ValidationException',
        `1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to ${MAX_MESSAGE_BYTES}`,
      );
    }
    if (messageType !== 'RAW' && messageType !== 'DIGEST') {
      throw new JsonServiceFault(
        'ValidationException',
        `MessageType ${messageType} is not valid; use RAW or DIGEST`,
      );
    }
    if (key.keyUsage !== 'SIGN_VERIFY' || !SPECS[key.keySpec]?.signing.includes(algorithm)) {
      throw new JsonServiceFault(
        'InvalidKeyUsageException',
        `You cannot use ${store.arnOf(key)} (${key.keySpec}, ${key.keyUsage}) with signing algorithm ${algorithm}`,
      );
    }
    const signature = signWith(privateKeyOf(key), algorithm, messageType, message);
    return { KeyId: store.arnOf(key), Signature: signature.toString('base64'), SigningAlgorithm: algorithm };
  },
  CreateAlias: (input, store) => {
    store.createAlias(
      requiredString(input, 'AliasName'),
      store.resolve(requiredString(input, 'TargetKeyId')).keyId,
    );
    return {};
  },
  ListAliases: (_input, store) => ({ Aliases: store.aliasList(), Truncated: false }),
  EnableKey: (input, store) => {
    store.setEnabled(requiredString(input, 'KeyId'), true);
    return {};
  },
  DisableKey: (input, store) => {
    store.setEnabled(requiredString(input, 'KeyId'), false);
    return {};
  },
};

function usableKey(store: KeyStore, keyId: string): StoredKey {
  const key = store.resolve(keyId);
  if (!key.enabled) throw new JsonServiceFault('DisabledException', `${store.arnOf(key)} is disabled.`);
  return key;
}

function algorithmsOf(key: StoredKey): Json {
  return key.keyUsage === 'SIGN_VERIFY'
    ? { SigningAlgorithms: SPECS[key.keySpec]?.signing ?? [] }
    : {
        EncryptionAlgorithms:
          key.keySpec === 'SYMMETRIC_DEFAULT'
            ? ['SYMMETRIC_DEFAULT']
            : ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
      };
}

/**
 * Parsed once per key: a PEM parse (and an EC key's point check) costs more than the signature,
 * and the benchmarks run thousands of Sign calls through this stand-in.
 */
const parsedKeys = new WeakMap<StoredKey, KeyObject>();

function privateKeyOf(key: StoredKey): KeyObject {
  let parsed = parsedKeys.get(key);
  if (parsed === undefined) {
    parsed = createPrivateKey(key.material);
    parsedKeys.set(key, parsed);
  }
  return parsed;
}

function signWith(
  key: KeyObject,
  algorithm: SigningAlgorithmSpec,
  messageType: string,
  message: Buffer,
): Buffer {
  const hash = HASH_OF[algorithm];
  if (hash === undefined) {
    throw new JsonServiceFault(
      'UnsupportedOperationException',
      `the local KMS stand-in does not implement ${algorithm}`,
    );
  }
  if (algorithm === 'ED25519_SHA_512') {
    if (messageType !== 'RAW') {
      throw new JsonServiceFault('ValidationException', 'ED25519_SHA_512 requires MessageType RAW');
    }
    return sign(null, message, key);
  }
  if (messageType === 'RAW') return sign(hash, message, key);
  const digestBytes = createHash(hash).digest().length;
  if (message.length !== digestBytes) {
    throw new JsonServiceFault('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
  }
  return key.asymmetricKeyType === 'rsa'
    ? privateEncrypt(
        { key, padding: cryptoConstants.RSA_PKCS1_PADDING },
        Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[hash] ?? '', 'hex'), message]),
      )
    : ecdsaSignDigest(key, message);
}

/**
 * ECDSA over a digest someone else computed (MessageType DIGEST), which node:crypto cannot do: r is
 * the x coordinate of k·G, which ECDH computes as the "public key" of the scalar k; then
 * s = k⁻¹(e + r·d) mod n (FIPS 186-4 §6.4). The digest is never longer than the order here
 * (SHA-256/384/512 on P-256/384/521), so e needs no truncation. Output: DER, as KMS returns it.
 */
function ecdsaSignDigest(key: KeyObject, digest: Buffer): Buffer {
  const { group, d } = ecScalarOf(key);
  const n = group.order;
  const e = toBigInt(digest);
  const ecdh = createECDH(group.opensslName);
  for (;;) {
    const k = randomScalar(n);
    ecdh.setPrivateKey(toBuffer(k));
    const point = ecdh.getPublicKey();
    const r = toBigInt(point.subarray(1, 1 + (point.length - 1) / 2)) % n;
    const s = (modInverse(k, n) * ((e + r * d) % n)) % n;
    if (r !== 0n && s !== 0n) return derSequence([derInteger(r), derInteger(s)]);
  }
}

/** An EC key as the digest signer needs it. */
interface EcScalar {
  group: EcGroup;
  d: bigint;
}

const ecScalars = new WeakMap<KeyObject, EcScalar>();

/** The curve and private scalar of an EC key, exported once per key. */
function ecScalarOf(key: KeyObject): EcScalar {
  let known = ecScalars.get(key);
  if (known === undefined) {
    const jwk = key.export({ format: 'jwk' });
    const group = EC_GROUPS[jwk.crv ?? ''];
    if (group === undefined) throw new Error(`no ECDSA group for curve ${jwk.crv ?? '?'}`);
    known = { group, d: toBigInt(Buffer.from(jwk.d ?? '', 'base64url')) };
    ecScalars.set(key, known);
  }
  return known;
}

function randomScalar(n: bigint): bigint {
  const bits = n.toString(2).length;
  const bytes = Math.ceil(bits / 8);
  for (;;) {
    const candidate = toBigInt(randomBytes(bytes)) >> BigInt(bytes * 8 - bits);
    if (candidate > 0n && candidate < n) return candidate;
  }
}

/** a⁻¹ mod n by the extended Euclidean algorithm (a and n coprime: n is a prime group order here). */
function modInverse(a: bigint, n: bigint): bigint {
  let [r0, r1] = [n, a % n];
  let [t0, t1] = [0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return t0 < 0n ? t0 + n : t0;
}

const toBigInt = (bytes: Buffer) => (bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`));

function toBuffer(value: bigint): Buffer {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

function derInteger(value: bigint): Buffer {
  const magnitude = toBuffer(value);
  return derElement(0x02, (magnitude[0] ?? 0) >= 0x80 ? Buffer.concat([Buffer.of(0), magnitude]) : magnitude);
}

const derSequence = (items: Buffer[]) => derElement(0x30, Buffer.concat(items));

/** Lengths here stay under 256 bytes (a P-521 signature is at most 139). */
function derElement(tag: number, body: Buffer): Buffer {
  const length = body.length < 0x80 ? Buffer.of(body.length) : Buffer.of(0x81, body.length);
  return Buffer.concat([Buffer.of(tag), length, body]);
}

/** Keys and aliases, in memory and mirrored to the state folder. */
class KeyStore {
  private readonly keys = new Map<string, StoredKey>();
  private readonly aliases: Map<string, string>;

  constructor(
    private readonly dir: string,
    private readonly region: string,
    private readonly account: string,
  ) {
    mkdirSync(join(dir, KEYS_DIR), { recursive: true, mode: 0o700 });
    for (const file of readdirSync(join(dir, KEYS_DIR)).filter((f) => f.endsWith('.json'))) {
      const key = JSON.parse(readFileSync(join(dir, KEYS_DIR, file), 'utf8')) as StoredKey;
      this.keys.set(key.keyId, key);
    }
    const aliasesPath = join(dir, ALIASES_FILE);
    const saved = existsSync(aliasesPath)
      ? (JSON.parse(readFileSync(aliasesPath, 'utf8')) as Record<string, string>)
      : {};
    this.aliases = new Map(Object.entries(saved));
  }

  arnOf(key: StoredKey): string {
    return `arn:aws:kms:${this.region}:${this.account}:key/${key.keyId}`;
  }

  async create(keySpec: KeySpec, keyUsage: KeyUsageType, description: string): Promise<StoredKey> {
    const spec = SPECS[keySpec];
    if (spec === undefined) {
      throw new JsonServiceFault(
        'ValidationException',
        `KeySpec ${keySpec} is not implemented by the local KMS stand-in; use one of ${Object.keys(SPECS).join(', ')}`,
      );
    }
    if (!spec.usages.includes(keyUsage)) {
      throw new JsonServiceFault(
        'ValidationException',
        `KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`,
      );
    }
    const material = spec.generate
      ? (await spec.generate()).export({ format: 'pem', type: 'pkcs8' }).toString()
      : randomBytes(32).toString('base64');
    const key: StoredKey = {
      keyId: randomUUID(),
      keySpec,
      keyUsage,
      enabled: true,
      description,
      creationDate: Math.floor(Date.now() / 1000),
      material,
    };
    this.keys.set(key.keyId, key);
    this.save(key);
    return key;
  }

  find(ref: string): StoredKey | undefined {
    const prefix = `arn:aws:kms:${this.region}:${this.account}:`;
    const local = ref.startsWith(prefix) ? ref.slice(prefix.length) : ref;
    if (local.startsWith('alias/')) {
      const keyId = this.aliases.get(local);
      return keyId === undefined ? undefined : this.keys.get(keyId);
    }
    return this.keys.get(local.startsWith('key/') ? local.slice('key/'.length) : local);
  }

  resolve(ref: string): StoredKey {
    const key = this.find(ref);
    if (key !== undefined) return key;
    throw new JsonServiceFault(
      'NotFoundException',
      ref.includes('alias/') ? `Alias ${ref} is not found.` : `Key '${ref}' does not exist`,
    );
  }

  metadata(key: StoredKey): Json {
    return {
      AWSAccountId: this.account,
      KeyId: key.keyId,
      Arn: this.arnOf(key),
      CreationDate: key.creationDate,
      Enabled: key.enabled,
      KeyState: key.enabled ? 'Enabled' : 'Disabled',
      Description: key.description,
      KeyUsage: key.keyUsage,
      KeySpec: key.keySpec,
      CustomerMasterKeySpec: key.keySpec,
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      MultiRegion: false,
      ...algorithmsOf(key),
    };
  }

  createAlias(aliasName: string, keyId: string): void {
    if (!/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(aliasName) || aliasName.startsWith('alias/aws/')) {
      throw new JsonServiceFault(
        'ValidationException',
        `Alias name ${aliasName} must look like alias/<name> and not start with alias/aws/`,
      );
    }
    if (this.aliases.has(aliasName)) {
      throw new JsonServiceFault(
        'AlreadyExistsException',
        `An alias with the name ${this.aliasArn(aliasName)} already exists`,
      );
    }
    this.aliases.set(aliasName, keyId);
    writeAtomically(join(this.dir, ALIASES_FILE), JSON.stringify(Object.fromEntries(this.aliases), null, 2));
  }

  aliasList(): Json[] {
    return [...this.aliases].map(([name, keyId]) => ({
      AliasName: name,
      AliasArn: this.aliasArn(name),
      TargetKeyId: keyId,
    }));
  }

  setEnabled(ref: string, enabled: boolean): void {
    const key = this.resolve(ref);
    key.enabled = enabled;
    this.save(key);
  }

  private aliasArn(name: string): string {
    return `arn:aws:kms:${this.region}:${this.account}:${name}`;
  }

  private save(key: StoredKey): void {
    writeAtomically(join(this.dir, KEYS_DIR, `${key.keyId}.json`), JSON.stringify(key, null, 2));
  }
}

/** Write-then-rename, so a crash never leaves half a key file behind. Private: it holds key material. */
function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  renameSync(temporary, path);
}

function requiredString(input: Json, field: string): string {
  const value = optionalString(input, field);
  if (value === undefined || value === '') {
    throw new JsonServiceFault(
      'ValidationException',
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function optionalString(input: Json, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new JsonServiceFault('SerializationException', `${field} must be a string`);
  return value;
}

const sendJson = (res: ServerResponse, status: number, body: object): void =>
  sendAwsJson(res, status, body, JSON_CONTENT_TYPE);
