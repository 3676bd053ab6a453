export { parsePublicKey, publicKeyFromBlob, fingerprintOf, type SshPublicKey } from './keys.js';
export {
  createCertificate,
  parseCertificate,
  randomSerial,
  type CertificateTemplate,
  type ParsedCertificate,
  type SignedCertificate,
} from './certificate.js';
