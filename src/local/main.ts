/**
 * `npm start`: the whole system on loopback with no AWS account (DESIGN §6). Runs the demo,
 * then keeps the stack up for you to try (on a terminal, or with --keep-running) or exits (when
 * not on a terminal, as in CI). SIGINT, SIGTERM and SIGHUP stop everything it started.
 */
import { join } from 'node:path';
import { demoLogins, runDemo } from './demo.js';
import { demoPolicy } from './demo-policy.js';
import { findSshd } from './openssh.js';
import { builtFile, LOCAL_INSTANCE_ARN, LOCAL_USER_ARN, startLocalStack, type LocalStack } from './stack.js';

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

const { login, otherUser } = demoLogins();
const policy = demoPolicy({
  userArn: LOCAL_USER_ARN,
  instanceArn: LOCAL_INSTANCE_ARN,
  logins: [login, otherUser],
});

step(
  1,
  'Starting the local stack on 127.0.0.1: stand-ins for STS, KMS, EC2, IAM and Lambda (the access policy), and `lkp-ca serve`',
);
// The KMS stand-in keeps its keys here, so the CA key (and any trust you configured) survives restarts.
const stateDir = join(process.cwd(), '.lkp-local', 'kms');
const starting = startLocalStack({ stateDir, policyModule: policy.handler });

// Whatever has started by then (stand-ins, the CA process, sshd) is stopped, whichever signal comes.
let stopping = false;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await (await starting.catch(() => undefined))?.close();
  process.exit(code);
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void shutdown(0));

let stack: LocalStack;
try {
  stack = await starting;
} catch (e) {
  process.stderr.write(`\nThe local stack did not start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
say(`    STS ${stack.sts.url}   KMS ${stack.kms.url}   EC2 ${stack.ec2.url}   Lambda ${stack.lambda?.url}`);
say(`    CA  ${stack.caUrl}  (key alias/lkp-ca in the KMS stand-in, state in ${stateDir})`);

let lines: string[] = [];
try {
  let n = 2;
  ({ lines } = await runDemo(stack, policy, (line) => (/^\s/.test(line) ? say(line) : step(n++, line))));
} catch (e) {
  process.stderr.write(`\nThe demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.stderr.write(`CA log:\n${stack.caOutput()}\n`);
  await shutdown(1);
}

say(
  '\nSuccess: lkp setup, lkp ssh, plain ssh and scp logged in to a real sshd with short-lived certificates, and the host was verified by its certificate.',
);
if (keepRunning) {
  say(`\nThe stack keeps running as PID ${process.pid}: Ctrl-C or \`kill ${process.pid}\` stops it.`);
  say(`Try the everyday path yourself, as alice (the stand-ins accept her keys), in a new shell:`);
  say(
    `# lkp not on your PATH? npm pack && npm install -g ./lkp-*.tgz   (or: alias lkp='node ${builtFile('lkp.cjs')}')`,
  );
  say('');
  for (const line of lines) say(`    ${line}`);
  say('');
  say(
    '`lkp setup` adds an Include line to your ~/.ssh/config and writes ~/.lkp; `lkp setup --uninstall` removes them.',
  );
} else {
  say('(not on a terminal: stopping; run `npm start -- --keep-running` to keep the stack up)');
  await shutdown(0);
}
