/**
 * `npm start`: the whole system on loopback with no AWS account (DESIGN §6). Runs the demo,
 * then keeps the stack up for you to try (on a terminal) or exits (when not on a terminal, as in CI).
 */
import { join } from 'node:path';
import { runDemo } from './demo.js';
import { findSshd } from './openssh.js';
import { LOCAL_INSTANCE_ARN, startLocalStack } from './stack.js';

const args = new Set(process.argv.slice(2));
const keepRunning = args.has('--keep-running') || (process.stdout.isTTY === true && !args.has('--exit'));
const say = (line: string) => process.stdout.write(`${line}\n`);
const step = (n: number, line: string) => say(`\n[${n}] ${line}`);

if (findSshd() === undefined) {
  process.stderr.write(
    'npm start needs OpenSSH sshd: apt-get install openssh-server (or your OS equivalent)\n',
  );
  process.exit(1);
}

step(1, 'Starting the local stack on 127.0.0.1: stand-ins for STS, KMS and EC2, and `lkp-ca serve`');
// The KMS stand-in keeps its keys here, so the CA key (and any trust you configured) survives restarts.
const stateDir = join(process.cwd(), '.lkp-local', 'kms');
const stack = await startLocalStack({ stateDir });
say(`    STS ${stack.sts.url}   KMS ${stack.kms.url}   EC2 ${stack.ec2.url}`);
say(`    CA  ${stack.caUrl}  (key alias/lkp-ca in the KMS stand-in, state in ${stateDir})`);
let stopping = false;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await demo?.instance.sshd.close();
  await stack.close();
  process.exit(code);
};
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

let demo: Awaited<ReturnType<typeof runDemo>> | undefined;
try {
  let n = 2;
  demo = await runDemo(stack, (line) => (/^\s/.test(line) ? say(line) : step(n++, line)));
} catch (e) {
  process.stderr.write(`\nThe demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.stderr.write(`CA log:\n${stack.caOutput()}\n`);
  await shutdown(1);
}

say(
  '\nSuccess: a short-lived certificate from lkp logged in to a real sshd, and the host was verified by its certificate.',
);
if (keepRunning && demo) {
  const c = stack.user.credentials;
  say('\nThe stack keeps running. Try it yourself, as alice (the stand-in STS knows her keys):');
  say(
    `  export LKP_CA_URL=${stack.caUrl} AWS_ACCESS_KEY_ID=${c.accessKeyId} AWS_SECRET_ACCESS_KEY=${c.secretAccessKey}`,
  );
  say(
    `  ssh-keygen -t ed25519 -N '' -f /tmp/lkp-try && npx lkp cert --key /tmp/lkp-try.pub --user ${demo.login.user} \\`,
  );
  say(`    --instance ${LOCAL_INSTANCE_ARN}`);
  say(`  ssh -i /tmp/lkp-try -o UserKnownHostsFile=${demo.instance.knownHostsPath} \\`);
  say(`    -o HostKeyAlias=${LOCAL_INSTANCE_ARN} -p ${demo.instance.sshd.port} ${demo.login.user}@127.0.0.1`);
  say('Press Ctrl-C to stop.');
} else {
  say('(not on a terminal: stopping; run `npm start -- --keep-running` to keep the stack up)');
  await shutdown(0);
}
