/**
 * Something that holds the CA private key and signs certificate bodies with it. The file
 * signer (local/dev) and the KMS signer implement it; the certificate encoder only sees this.
 */
export interface Signer {
  /** The CA public key as an OpenSSH authorized_keys line, e.g. `ssh-ed25519 AAAA… lkp-ca`. */
  readonly publicKey: string;
  /** The raw SSH public key blob (the base64-decoded middle field of `publicKey`). */
  readonly publicKeyBlob: Buffer;
  /** The SSH signature algorithm used: `ssh-ed25519`, `ecdsa-sha2-nistp{256,384,521}` or `rsa-sha2-512`. */
  readonly algorithm: SshSignatureAlgorithm;
  /**
   * Signs `data` and returns the SSH signature blob: string(algorithm) || string(signature). Each
   * signer checks what it returns (the check that fits where its key lives): a signature that is
   * faulty, by another key or with another algorithm throws Internal instead of reaching sshd.
   */
  sign(data: Uint8Array): Promise<Buffer>;
}

export type SshSignatureAlgorithm =
  'ssh-ed25519' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521' | 'rsa-sha2-512';
