import { fetchCaInfo } from '../../client/lib/certificates.js';
import { requestUserCertificate, startLocalInstance, type LocalInstance } from '../../src/local/instance.js';
import { generateKeyPair, type KeyPair } from '../../src/local/openssh.js';
import { startLocalStack, type LocalStack } from '../../src/local/stack.js';
import type { CertResponse, InfoResponse } from '../../src/protocol.js';

export interface SshLoginFixture {
  stack: LocalStack;
  info: InfoResponse;
  /** A host certificate and a real sshd that accepts `<loginUser>@<instance ARN>`. */
  instance: LocalInstance;
  userKey: KeyPair;
  /** The CA's user certificate for `userKey`, to log in as `loginUser`. */
  userCertificate: CertResponse;
  userCertificatePath: string;
  close(): Promise<void>;
}

/** The local stack, a local instance with its sshd, and a user key certified by the CA for `loginUser`. */
export async function startSshLoginFixture(loginUser: string, keyName: string): Promise<SshLoginFixture> {
  const stack = await startLocalStack();
  let instance: LocalInstance | undefined;
  const close = async () => {
    await instance?.sshd.close();
    await stack.close();
  };
  try {
    const info = await fetchCaInfo(stack.caUrl);
    instance = await startLocalInstance(stack, info, loginUser);
    const userKey = await generateKeyPair(stack.dir, keyName);
    const issued = await requestUserCertificate(stack, info, userKey, loginUser);
    return {
      stack,
      info,
      instance,
      userKey,
      userCertificate: issued.cert,
      userCertificatePath: issued.certificatePath,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
