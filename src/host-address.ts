/**
 * Addresses the CA hands out (DESIGN §3.2: TargetAddress, Jumpboxes[].Address): `host`,
 * `host:port` or `[ipv6]:port`; without a port, ssh's 22. The CA checks a policy's answer with it
 * and the client checks the CA's answer again before writing it into an ssh configuration.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface HostAddress {
  /** A DNS name or an IP literal (IPv6 without brackets). */
  host: string;
  port?: number;
}

const MAX_HOST_NAME_LENGTH = 253;
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const PORT = /^[1-9][0-9]{0,4}$/;

/**
 * The address split into host and port, or undefined when it is none of the three forms. A host is
 * an IP literal (no zone) or a DNS name whose labels cannot start with '-', so it can never be read
 * by ssh as an option (e.g. "-oProxyCommand=…").
 */
export function parseHostAddress(text: string): HostAddress | undefined {
  if (isIPv6(text)) return isHost(text) ? { host: text } : undefined;
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(text);
  const [host, port] = bracketed
    ? [bracketed[1] ?? '', bracketed[2] ?? '']
    : text.includes(':')
      ? [text.slice(0, text.lastIndexOf(':')), text.slice(text.lastIndexOf(':') + 1)]
      : [text, undefined];
  if (bracketed ? !isIPv6(host) : host.includes(':')) return undefined;
  if (!isHost(host)) return undefined;
  if (port === undefined) return { host };
  if (!PORT.test(port) || Number(port) > 65535) return undefined;
  return { host, port: Number(port) };
}

/** `host`, `host:port` or `[v6]:port` again: how the address is written in answers and messages. */
export function formatHostAddress({ host, port }: HostAddress): string {
  if (port === undefined) return host;
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

function isHost(host: string): boolean {
  if (host.length === 0 || host.length > MAX_HOST_NAME_LENGTH) return false;
  if (isIPv4(host)) return true;
  if (isIPv6(host)) return !host.includes('%');
  const labels = host.split('.');
  // A last label of digits only is a malformed IPv4 address, not a name.
  return labels.every((label) => DNS_LABEL.test(label)) && !/^[0-9]+$/.test(labels[labels.length - 1] ?? '');
}
