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
  const options = [
    'BatchMode=yes',
    'IdentitiesOnly=yes',
    'IdentityAgent=none',
    `IdentityFile=${login.keyPath}`,
    `CertificateFile=${login.certificatePath}`,
    `UserKnownHostsFile=${login.knownHostsPath}`,
    'GlobalKnownHostsFile=/dev/null',
    'StrictHostKeyChecking=yes',
    `HostKeyAlias=${login.hostKeyAlias}`,
  ];
  return [
    ...['-F', '/dev/null'],
    ...options.flatMap((o) => ['-o', o]),
    ...(login.port !== undefined ? ['-p', String(login.port)] : []),
    ...['-l', login.user, '--', login.host],
    ...command,
  ];
}

export function knownHostsLine(caPublicKey: string): string {
  return `@cert-authority * ${caPublicKey}`;
}
