/**
 * LKP_CA_KEY=kms:<key id, ARN or alias> (DESIGN §3.5, §7): the CA private key never leaves AWS KMS.
 * The public key is fetched once, when the signer is made (cold start); every certificate body is
 * then signed with kms:Sign and converted to the SSH signature form.
 */
import { createHash } from 'node:crypto';
import { AwsServiceError } from '../aws/http-client.js';
import { kmsClient, type KmsClient } from '../aws/kms-json.js';
import type { JsonObject } from '../aws/json-client.js';
import { publicKeyFromBlob } from '../cert/keys.js';
import { internal } from '../errors.js';
import type { Signer, SshSignatureAlgorithm } from './signer.js';
import {
  ecdsaDerToSshSignature,
  sshPublicKeyBlobFromSpki,
  sshSignatureBlob,
  verifySshSignature,
} from './ssh-signature.js';

type KeySpec =
  | 'ECC_NIST_P256'
  | 'ECC_NIST_P384'
  | 'ECC_NIST_P521'
  | 'RSA_2048'
  | 'RSA_3072'
  | 'RSA_4096'
  | 'ECC_NIST_EDWARDS25519';
type SigningAlgorithmSpec =
  'ECDSA_SHA_256' | 'ECDSA_SHA_384' | 'ECDSA_SHA_512' | 'RSASSA_PKCS1_V1_5_SHA_512' | 'ED25519_SHA_512';

/** The GetPublicKey answer fields the signer reads (blobs arrive base64-encoded). */
interface PublicKeyAnswer {
  KeyId?: string;
  KeySpec?: string;
  CustomerMasterKeySpec?: string;
  KeyUsage?: string;
  SigningAlgorithms?: string[];
  PublicKey?: Buffer;
}

interface KmsKeyProfile {
  signingAlgorithm: SigningAlgorithmSpec;
  sshAlgorithm: SshSignatureAlgorithm;
  /** Hash computed here and sent as MessageType DIGEST; absent → the message itself goes as RAW. */
  digest?: 'sha256' | 'sha384' | 'sha512';
}

/**
 * The KMS key specs a CA can use (DESIGN §3.5). ECDSA and RSA send a locally computed digest
 * (MessageType DIGEST): KMS caps RAW messages at 4096 bytes, and a certificate with many
 * principals or a long force-command can exceed that, while a digest is always small. For RSA,
 * KMS adds the PKCS#1 DigestInfo itself. Ed25519 (PureEdDSA) cannot sign a digest, so it goes RAW
 * and is bound by the limit.
 */
const PROFILES: Readonly<Record<KeySpec, KmsKeyProfile>> = {
  ECC_NIST_P256: { signingAlgorithm: 'ECDSA_SHA_256', sshAlgorithm: 'ecdsa-sha2-nistp256', digest: 'sha256' },
  ECC_NIST_P384: { signingAlgorithm: 'ECDSA_SHA_384', sshAlgorithm: 'ecdsa-sha2-nistp384', digest: 'sha384' },
  ECC_NIST_P521: { signingAlgorithm: 'ECDSA_SHA_512', sshAlgorithm: 'ecdsa-sha2-nistp521', digest: 'sha512' },
  // RFC 8332 rsa-sha2-512: never ssh-rsa (SHA-1) — DESIGN §3.5.
  RSA_2048: { signingAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_512', sshAlgorithm: 'rsa-sha2-512', digest: 'sha512' },
  RSA_3072: { signingAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_512', sshAlgorithm: 'rsa-sha2-512', digest: 'sha512' },
  RSA_4096: { signingAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_512', sshAlgorithm: 'rsa-sha2-512', digest: 'sha512' },
  ECC_NIST_EDWARDS25519: { signingAlgorithm: 'ED25519_SHA_512', sshAlgorithm: 'ssh-ed25519' },
};

const SUPPORTED_SPECS = Object.keys(PROFILES).join(', ');
/** KMS Sign's limit on a RAW message. */
const KMS_RAW_MESSAGE_LIMIT = 4096;
const CA_KEY_COMMENT = 'lkp-ca';
const KMS_KEY_ARN = /^arn:aws(?:-cn|-us-gov)?:kms:([a-z0-9-]+):\d{12}:/;

/**
 * A signer backed by the KMS key `keyId`. Without a client, one is made from the environment
 * (AWS_REGION, AWS_ENDPOINT_URL_KMS, the credential chain), in the key's own region when `keyId` is an ARN.
 */
export async function kmsSigner(keyId: string, client?: KmsClient): Promise<Signer> {
  const kms = client ?? defaultClient(keyId);
  let key: PublicKeyAnswer;
  try {
    key = readPublicKeyAnswer(await kms.call('GetPublicKey', { KeyId: keyId }));
  } catch (e) {
    throw new Error(`cannot load the CA key: ${explainKmsFailure(e, keyId, 'GetPublicKey')}`, { cause: e });
  }
  const { profile, keyArn } = checkKey(key, keyId);
  const { blob, algorithm } = sshPublicKeyBlobFromSpki(key.PublicKey ?? Buffer.alloc(0));
  if (algorithm !== profile.sshAlgorithm) {
    throw new Error(
      `KMS key ${keyId} is described as ${key.KeySpec ?? '?'} but its public key is ${algorithm}`,
    );
  }
  const publicKey = publicKeyFromBlob(blob);
  // The first signature is verified against the published key: it proves the algorithm mapping and
  // the signature conversion for this key (and that the endpoint really is this key's KMS). From then
  // on each answer must name this key and algorithm. Verifying every certificate as well would only
  // re-check KMS's own HSMs, for a quarter of the CA's CPU per request (docs/performance.md).
  let proven = false;
  return {
    publicKey: `${publicKey.type} ${blob.toString('base64')} ${CA_KEY_COMMENT}`,
    publicKeyBlob: blob,
    algorithm,
    sign: async (data) => {
      // Signs with the ARN KMS resolved now: if the alias is moved later, this process keeps signing
      // with the key whose public key it publishes, instead of issuing certificates nobody trusts.
      const signature = await signWithKms(kms, keyArn, profile, Buffer.from(data));
      if (!proven) {
        if (!verifySshSignature(publicKey, signature, data)) {
          throw internal(
            `KMS key ${keyArn} returned a signature that does not verify with its public key; check AWS_ENDPOINT_URL_KMS and the key`,
          );
        }
        proven = true;
      }
      return signature;
    },
  };
}

function defaultClient(keyId: string): KmsClient {
  const region = KMS_KEY_ARN.exec(keyId)?.[1] ?? process.env['AWS_REGION'];
  if (!region) throw new Error(`cannot load the CA key: set AWS_REGION (or give LKP_CA_KEY as a key ARN)`);
  return kmsClient({ region });
}

/** The typed fields of a GetPublicKey answer; anything of the wrong type is left out. */
function readPublicKeyAnswer(answer: JsonObject): PublicKeyAnswer {
  const text = (name: string) => (typeof answer[name] === 'string' ? (answer[name] as string) : undefined);
  const algorithms = answer['SigningAlgorithms'];
  const publicKey = text('PublicKey');
  return {
    KeyId: text('KeyId'),
    KeySpec: text('KeySpec'),
    CustomerMasterKeySpec: text('CustomerMasterKeySpec'),
    KeyUsage: text('KeyUsage'),
    SigningAlgorithms: Array.isArray(algorithms)
      ? algorithms.filter((a): a is string => typeof a === 'string')
      : undefined,
    PublicKey: publicKey === undefined ? undefined : Buffer.from(publicKey, 'base64'),
  };
}

/** DESIGN §3.5: only asymmetric SIGN_VERIFY keys of the supported specs may be the CA key. */
function checkKey(key: PublicKeyAnswer, keyId: string): { profile: KmsKeyProfile; keyArn: string } {
  const spec = key.KeySpec ?? key.CustomerMasterKeySpec;
  if (key.KeyUsage !== 'SIGN_VERIFY') {
    throw new Error(
      `KMS key ${keyId} has KeyUsage ${key.KeyUsage ?? '?'}; the CA needs an asymmetric SIGN_VERIFY key with KeySpec ${SUPPORTED_SPECS}`,
    );
  }
  const profile = spec !== undefined && Object.hasOwn(PROFILES, spec) ? PROFILES[spec as KeySpec] : undefined;
  if (profile === undefined) {
    throw new Error(
      `KMS key ${keyId} has KeySpec ${spec ?? '?'}, which cannot sign SSH certificates; create a SIGN_VERIFY key with KeySpec ${SUPPORTED_SPECS}`,
    );
  }
  if (key.SigningAlgorithms !== undefined && !key.SigningAlgorithms.includes(profile.signingAlgorithm)) {
    throw new Error(`KMS key ${keyId} does not offer the signing algorithm ${profile.signingAlgorithm}`);
  }
  if (key.PublicKey === undefined || key.PublicKey.length === 0) {
    throw new Error(`KMS returned no public key for ${keyId}`);
  }
  if (key.KeyId === undefined || key.KeyId === '') {
    throw new Error(`KMS returned no key ARN for ${keyId}; check AWS_ENDPOINT_URL_KMS`);
  }
  return { profile, keyArn: key.KeyId };
}

async function signWithKms(
  client: KmsClient,
  keyArn: string,
  profile: KmsKeyProfile,
  data: Buffer,
): Promise<Buffer> {
  if (profile.digest === undefined && data.length > KMS_RAW_MESSAGE_LIMIT) {
    throw internal(
      `the certificate to sign is ${data.length} bytes, over the ${KMS_RAW_MESSAGE_LIMIT}-byte limit of KMS ${profile.signingAlgorithm} (RAW); ` +
        'ask for fewer or shorter principals/options, or use an ECDSA or RSA CA key, which has no such limit',
    );
  }
  const messageType = profile.digest === undefined ? 'RAW' : 'DIGEST';
  const message = profile.digest === undefined ? data : createHash(profile.digest).update(data).digest();
  let response: JsonObject;
  try {
    response = await client.call('Sign', {
      KeyId: keyArn,
      Message: message.toString('base64'),
      MessageType: messageType,
      SigningAlgorithm: profile.signingAlgorithm,
    });
  } catch (e) {
    throw internal(`the CA could not sign: ${explainKmsFailure(e, keyArn, 'Sign')}`, e);
  }
  const { KeyId: signedBy, SigningAlgorithm: signedWith, Signature: encoded } = response;
  if (signedBy !== keyArn || signedWith !== profile.signingAlgorithm) {
    throw internal(
      `KMS answered kms:Sign for key ${String(signedBy).slice(0, 256)} with ${String(signedWith).slice(0, 64)}, ` +
        `not key ${keyArn} with ${profile.signingAlgorithm}; check AWS_ENDPOINT_URL_KMS`,
    );
  }
  const signature = typeof encoded === 'string' ? Buffer.from(encoded, 'base64') : undefined;
  if (signature === undefined || signature.length === 0)
    throw internal(`KMS returned no signature for ${keyArn}`);
  return profile.sshAlgorithm === 'ssh-ed25519' || profile.sshAlgorithm === 'rsa-sha2-512'
    ? sshSignatureBlob(profile.sshAlgorithm, signature)
    : ecdsaDerToSshSignature(signature, profile.sshAlgorithm);
}

/**
 * What went wrong, and the fix, by KMS's error code (or the error's name) alone: KMS messages may name the caller's role
 * and session, and sign-time messages reach the CA's callers.
 */
function explainKmsFailure(e: unknown, keyId: string, operation: 'GetPublicKey' | 'Sign'): string {
  const name = e instanceof AwsServiceError ? e.code : e instanceof Error ? e.name : 'Error';
  switch (name) {
    case 'AccessDeniedException':
      return `the CA role may not kms:${operation} key ${keyId}; allow kms:${operation} on it in the key policy or the role's IAM policy`;
    case 'NotFoundException':
      return `KMS key ${keyId} does not exist in the CA's region; check LKP_CA_KEY (key id, key ARN or alias/<name>) and AWS_REGION`;
    case 'DisabledException':
      return `KMS key ${keyId} is disabled; enable it (aws kms enable-key --key-id …)`;
    case 'KMSInvalidStateException':
      return `KMS key ${keyId} is not usable in its current state (pending deletion or import?); cancel the deletion or pick another key`;
    case 'UnsupportedOperationException':
      return `KMS key ${keyId} is not an asymmetric key; the CA needs a SIGN_VERIFY key with KeySpec ${SUPPORTED_SPECS}`;
    case 'InvalidKeyUsageException':
      return `KMS key ${keyId} cannot ${operation === 'Sign' ? 'sign with the algorithm its spec implies' : 'be used this way'}; use a SIGN_VERIFY key with KeySpec ${SUPPORTED_SPECS}`;
    case 'ThrottlingException':
    case 'LimitExceededException':
      return `KMS throttled kms:${operation} on ${keyId}; retry later or raise the KMS request-rate quota`;
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
    case 'CredentialsProviderError':
      return `KMS did not accept the CA's AWS credentials (${name}); check the role or AWS_* credential settings`;
    default:
      return `kms:${operation} on ${keyId} failed (${name}); see the CA logs`;
  }
}
