/**
 * `lkp policy test`: dry-runs an access policy (DESIGN §3.4) on a sample request, locally, and
 * shows what the CA would do with its answer: the same validator, the same default principals.
 */
import { Command } from 'commander';
import type { TestOptions } from '../lib/policy-test.js';

const testCommand = new Command('test')
  .description('dry-run a policy module on a sample request and show what the CA would sign')
  .argument('<policy-module>', 'the policy: a .js/.mjs file, or a .ts file (bundled with esbuild)')
  .argument('<request.json>', 'a policy request, full or short form (docs/access-policy.md)')
  .option('--now <iso-time>', "run with the clock set to this time (freezes Date for the policy's whole run)")
  .option('--timeout <ms>', 'how long the policy may take, as the CA allows (LKP_POLICY_TIMEOUT_MS)', '5000')
  .option('--json', 'print the decision as JSON')
  .addHelpText(
    'after',
    `
Exit codes: 0 allowed, 3 denied, 1 broken policy (throws, times out, answers malformed), 2 usage.

Short request form (a "Kind" field selects the full form):
  {"From": "arn:aws:iam::111122223333:user/alice",
   "RemoteInstanceArn": "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc12345", "SshUsername": "ec2-user"}
  {"From": "arn:aws:sts::111122223333:assumed-role/web/i-0abc12345",
   "HostInstanceArn": "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc12345", "Principals": ["10.0.0.5"]}

Examples:
  lkp policy test authorizers/examples/lastkeypair-port.ts authorizers/examples/requests/user-short.json
  lkp policy test ./policy.js request.json --now 2030-01-01T03:00:00Z --json
  LKP_POLICY_ACCOUNTS=111122223333 LKP_WORK_HOURS=08-18 \\
    lkp policy test authorizers/examples/work-hours.ts authorizers/examples/requests/user-vouched.json`,
  )
  .action(async (modulePath: string, requestPath: string, opts: TestOptions) => {
    // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
    const { runPolicyTest } = await import('../lib/policy-test.js');
    await runPolicyTest(modulePath, requestPath, opts);
  });

export const policyCommand = new Command('policy')
  .description('work with access policies (the AUTHORIZATION_LAMBDA function)')
  .addCommand(testCommand);
