import { describe, expect, it } from 'vitest';
import {
  checkIntervalSeconds,
  renderRenewCron,
  renderRenewService,
  renderRenewTimer,
  renewalReason,
  type RenewalInputs,
} from '../../../client/lib/host/renewal.js';
import { parsePublicKey, type ParsedCertificate } from '../../../src/cert/index.js';

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl host';
const OTHER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBlBuQgbYf5MDUUVQ6DyHNkJbOlxCYOk4V2oBHzEdrzx other';
const CA_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHzFN2nEzUlxjUCFHo8gRxOILGLHFvbObMsfDoEtYmgP ca';
const T0 = 1_700_000_000;
const LIFETIME = 3000;

function certificate(overrides: Partial<ParsedCertificate> = {}): ParsedCertificate {
  return {
    type: 'ssh-ed25519-cert-v01@openssh.com',
    publicKey: parsePublicKey(HOST_KEY),
    serial: 1n,
    kind: 'host',
    keyId: 'arn',
    principals: ['arn', '10.0.0.5'],
    validAfter: T0,
    validBefore: T0 + LIFETIME,
    criticalOptions: {},
    extensions: [],
    signatureKey: parsePublicKey(CA_KEY).blob,
    signature: Buffer.alloc(0),
    ...overrides,
  };
}

const inputs = (overrides: Partial<RenewalInputs> = {}): RenewalInputs => ({
  existing: certificate(),
  hostPublicKey: HOST_KEY,
  caPublicKeys: [CA_KEY],
  requested: ['10.0.0.5'],
  previouslyRequested: ['10.0.0.5'],
  now: T0 + 100,
  ...overrides,
});

describe('renewalReason', () => {
  it('keeps a fresh certificate for the same key, CA and names', () => {
    expect(renewalReason(inputs())).toBeUndefined();
    expect(renewalReason(inputs({ now: T0 + 1999 }))).toBeUndefined();
  });

  it.each<[string, Partial<RenewalInputs>, RegExp]>([
    ['none yet', { existing: undefined }, /no host certificate/],
    ['two thirds passed', { now: T0 + 2000 }, /two thirds/],
    ['expired', { now: T0 + LIFETIME + 1 }, /two thirds/],
    ['new host key', { hostPublicKey: OTHER_KEY }, /host key changed/],
    ['CA rotated', { caPublicKeys: [OTHER_KEY] }, /no longer publishes/],
    ['a new name', { requested: ['10.0.0.5', '54.1.2.3'] }, /names changed/],
    ['a name gone', { requested: [] }, /names changed/],
    ['no record of the last request', { previouslyRequested: undefined }, /no record/],
    ['a user certificate in its place', { existing: certificate({ kind: 'user' }) }, /user certificate/],
  ])('renews when %s', (_, overrides, reason) => {
    expect(renewalReason(inputs(overrides))).toMatch(reason);
  });

  it('ignores the order of the names', () => {
    expect(renewalReason(inputs({ requested: ['b', 'a'], previouslyRequested: ['a', 'b'] }))).toBeUndefined();
  });
});

describe('renewal job', () => {
  it('checks six times per lifetime, at least every 5 minutes apart', () => {
    expect(checkIntervalSeconds(30 * 24 * 3600 + 60)).toBe(432_010);
    expect(checkIntervalSeconds(600)).toBe(300);
  });

  it('renders a oneshot service with systemd quoting and a timer', () => {
    const service = renderRenewService([
      '/usr/bin/node',
      '/opt/lkp/cli.js',
      'host',
      '--ca',
      'https://x/a%20b',
      '--root',
      '/my dir',
    ]);
    expect(service).toContain('Type=oneshot');
    expect(service).toContain(
      'ExecStart=/usr/bin/node /opt/lkp/cli.js host --ca https://x/a%%20b --root "/my dir"',
    );
    const timer = renderRenewTimer(432_010);
    expect(timer).toMatch(/^OnUnitActiveSec=432010s$/m);
    expect(timer).toMatch(/^OnBootSec=/m);
    expect(timer).toMatch(/^WantedBy=timers.target$/m);
  });

  it.each([
    [600, '*/10 * * * *'],
    [7200, '7 */2 * * *'],
    [432_010, '7 7 * * *'],
  ])('cron: every %i s → %s, plus at boot', (interval, schedule) => {
    const cron = renderRenewCron(
      ['/usr/bin/node', '/opt/cli.js', 'host', '--ca', "https://x/'%"],
      interval,
      7,
    );
    const command = "/usr/bin/node /opt/cli.js host --ca 'https://x/'\\''\\%'";
    expect(cron).toContain(`\n${schedule} root ${command} 2>&1 | logger -t lkp-host-renew\n`);
    expect(cron).toContain(`\n@reboot root ${command} `);
  });
});
