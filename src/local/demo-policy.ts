/**
 * The access policy of `npm start` (AUTHORIZATION_LAMBDA in the Lambda stand-in), written with the
 * policy SDK as an admin would: one IAM user may log in to the demo instance as the listed logins,
 * and is sent to the instance's sshd, which listens on a random loopback port — so the answer's
 * TargetAddress carries that port (`127.0.0.1:PORT`, DESIGN §3.2). Hosts get certificates for
 * their own role session only.
 */
import {
  allowInstanceOwnSession,
  definePolicy,
  deny,
  type PolicyHandler,
} from '../../authorizers/sdk/index.js';

export interface DemoPolicy {
  handler: PolicyHandler;
  /** Where the demo instance's sshd listens, once it does; undefined: no TargetAddress (the EICE step). */
  setTargetAddress(address: string | undefined): void;
}

export function demoPolicy(opts: {
  userArn: string;
  instanceArn: string;
  logins: readonly string[];
}): DemoPolicy {
  let targetAddress: string | undefined;
  const handler = definePolicy({
    user: (req) => {
      if (req.From.Arn !== opts.userArn) return deny(`only ${opts.userArn} may log in here`);
      if (req.RemoteInstanceArn !== opts.instanceArn) return deny(`no access to ${req.RemoteInstanceArn}`);
      if (!opts.logins.includes(req.SshUsername))
        return deny(`log in as ${opts.logins.join(' or ')}, not ${req.SshUsername}`);
      return targetAddress === undefined
        ? { Authorized: true }
        : { Authorized: true, TargetAddress: targetAddress };
    },
    host: allowInstanceOwnSession,
  });
  return { handler, setTargetAddress: (address) => (targetAddress = address) };
}
