import type { CaKeySpec } from '../config.js';
import { fileSigner } from './file.js';
import type { Signer } from './signer.js';

export type { Signer, SshSignatureAlgorithm } from './signer.js';

/** LKP_CA_KEY → the one signer of this CA (DESIGN §7). */
export async function loadSigner(spec: CaKeySpec): Promise<Signer> {
  if (spec.kind === 'file') return fileSigner(spec.path);
  throw new Error(
    `LKP_CA_KEY=kms:${spec.keyId}: this build has no KMS signer yet; use file:<path to an OpenSSH private key> for local use`,
  );
}
