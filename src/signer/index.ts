import type { CaKeySpec } from '../config.js';
import { fileSigner } from './file.js';
import { kmsSigner } from './kms.js';
import type { Signer } from './signer.js';

export type { Signer, SshSignatureAlgorithm } from './signer.js';

/** LKP_CA_KEY → the one signer of this CA (DESIGN §7). */
export async function loadSigner(spec: CaKeySpec): Promise<Signer> {
  return spec.kind === 'file' ? fileSigner(spec.path) : kmsSigner(spec.keyId);
}
