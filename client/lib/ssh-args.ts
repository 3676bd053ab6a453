/**
 * The system ssh's arguments for a certificate login: our key and certificate only, and host
 * keys trusted through the CA (`@cert-authority`) under the instance's alias, so there is no
 * "continue connecting?" prompt and no trust on first use.
 */
export interface SshLogin {
  user: string;
  host: string;
  port?: number;
  keyPath: string;
  certificatePath: string;
  /** A known_hosts file holding `@cert-authority * <CA key>`. */
  knownHostsPath: string;
  /** The name the host certificate is checked against (the instance ARN for hosts set up by lkp). */
  hostKeyAlias: string;
}

export function sshArgs(login: SshLogin, command: readonly string[] = []): string[] {
  return [
    '-F', '/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-o', `IdentityFile=${login.keyPath}`,
    '-o', `CertificateFile=${login.certificatePath}`,
    '-o', `UserKnownHostsFile=${login.knownHostsPath}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `HostKeyAlias=${login.hostKeyAlias}`,
    ...(login.port !== undefined ? ['-p', String(login.port)] : []),
    '-l', login.user,
    '--',
    login.host,
    ...command,
  ];
}

export function knownHostsLine(caPublicKey: string): string {
  return `@cert-authority * ${caPublicKey}`;
}
