/**
 * The demo's EC2 Instance Connect Endpoint step (docs/eice.md): the same instance, as a person
 * outside its VPC sees it — a private IP on none of this machine's networks, no public IP, an
 * endpoint in its subnet — reached with `lkp ssh` and plain `ssh` through `lkp tunnel` and the EICE
 * stand-in, the host still verified by its certificate. No packet goes to the private IP: the
 * stand-in maps it to the demo sshd on loopback.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startEc2Standin } from './ec2-standin.js';
import { runInThrowawayHome } from './everyday.js';
import {
  LOCAL_EICE,
  LOCAL_INSTANCE_ID,
  LOCAL_INSTANCE_NAME,
  LOCAL_PRIVATE_INSTANCES,
  LOCAL_PRIVATE_IP,
  type LocalStack,
} from './stack.js';

export async function runEiceDemo(
  stack: LocalStack,
  opts: { sshdPort: number; login: string; lkpBinDir: string },
  say: (line: string) => void,
): Promise<void> {
  const privateView = stack.adopt(
    await startEc2Standin({
      region: stack.ec2.region,
      account: stack.ec2.account,
      credentials: stack.user.credentials,
      instances: LOCAL_PRIVATE_INSTANCES,
      instanceConnectEndpoints: [LOCAL_EICE],
    }),
  );
  stack.eice.setRoutes([{ privateIp: LOCAL_PRIVATE_IP, remotePort: 22, localPort: opts.sshdPort }]);
  say(
    `Seen from outside its VPC, ${LOCAL_INSTANCE_ID} has only the private IP ${LOCAL_PRIVATE_IP}; ${LOCAL_EICE.id} in its subnet reaches it (EICE stand-in ${stack.eice.url})`,
  );
  const c = stack.user.credentials;
  const lines = [
    'unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN',
    `export AWS_ACCESS_KEY_ID=${c.accessKeyId} AWS_SECRET_ACCESS_KEY=${c.secretAccessKey} AWS_REGION=${stack.ec2.region} AWS_ENDPOINT_URL_EC2=${privateView.url} LKP_EICE_URL=${stack.eice.url}`,
    `lkp setup --url ${stack.caUrl} --default-user ${opts.login}`,
    `lkp ssh ${LOCAL_INSTANCE_NAME} --dry-run | grep through`,
    `lkp ssh ${LOCAL_INSTANCE_NAME} -- whoami`,
    `ssh ${LOCAL_INSTANCE_ID} whoami`,
  ];
  const home = join(stack.dir, 'home-eice');
  mkdirSync(home);
  const run = await runInThrowawayHome(lines, {
    home,
    path: [opts.lkpBinDir, dirname(process.execPath)],
    onLine: (line) => say(`    ${line}`),
  });
  if (run.code !== 0) throw new Error(`the EICE path failed (exit ${run.code})`);
  const opened = stack.eice.events().filter((e) => e.kind === 'opened').length;
  say(
    `    (${opened} tunnels opened through the EICE stand-in, each checked like AWS checks a presigned URL)`,
  );
}
