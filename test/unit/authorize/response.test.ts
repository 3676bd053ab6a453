import { describe, expect, it } from 'vitest';
import {
  cleanReason,
  parseAdminPolicyResponse,
  parseHostPolicyResponse,
  parseUserPolicyResponse,
} from '../../../src/authorize/response.js';
import { parseAccountsPolicyResponse } from '../../../src/accounts/policy-answer.js';
import { LkpError } from '../../../src/errors.js';
import type {
  LkpHostCertAuthorizationRequest,
  LkpUserCertAuthorizationRequest,
} from '../../../src/protocol.js';
import { ALICE, INSTANCE_ARN, INSTANCE_SESSION } from '../../helpers/identities.js';

const userRequest: LkpUserCertAuthorizationRequest = {
  Kind: 'LkpUserCertAuthorizationRequest',
  From: ALICE,
  RemoteInstanceArn: INSTANCE_ARN,
  SshUsername: 'ec2-user',
  PublicKeyFingerprint: 'SHA256:x',
};

const hostRequest: LkpHostCertAuthorizationRequest = {
  Kind: 'LkpHostCertAuthorizationRequest',
  From: INSTANCE_SESSION,
  HostInstanceArn: INSTANCE_ARN,
  Principals: ['ip-10-0-0-5.ec2.internal'],
};

const DEFAULT_PRINCIPAL = `ec2-user@${INSTANCE_ARN}`;

/** The error thrown by `parse`, which must be an LkpError. */
function thrown(parse: () => unknown): LkpError {
  try {
    parse();
  } catch (e) {
    expect(e).toBeInstanceOf(LkpError);
    return e as LkpError;
  }
  throw new Error('expected the answer to be refused');
}

const user = (answer: unknown) => parseUserPolicyResponse(answer, userRequest);
const host = (answer: unknown) => parseHostPolicyResponse(answer, hostRequest);
const userError = (answer: unknown) => thrown(() => user(answer));
const withOptions = (CertificateOptions: unknown) => ({ Authorized: true, CertificateOptions });

describe('parseUserPolicyResponse: decision', () => {
  it('grants the default principal, pty and port forwarding for a bare yes (DESIGN §3.4)', () => {
    expect(user({ Authorized: true })).toEqual({
      principals: [DEFAULT_PRINCIPAL],
      criticalOptions: {},
      extensions: ['permit-port-forwarding', 'permit-pty'],
    });
  });

  it('is Forbidden for Authorized: false, naming the instance and the login', () => {
    const e = userError({ Authorized: false });
    expect(e.code).toBe('Forbidden');
    expect(e.message).toBe(`policy denied access to ${INSTANCE_ARN} for ec2-user`);
  });

  it("is Forbidden with the policy's Reason after the CA's own words", () => {
    const e = userError({ Authorized: false, Reason: 'only ec2-user' });
    expect(e.code).toBe('Forbidden');
    expect(e.message).toBe(`policy denied access to ${INSTANCE_ARN} for ec2-user: only ec2-user`);
    expect(userError({ Authorized: false, reason: 'camel' }).message).toMatch(/: camel$/);
    expect(thrown(() => host({ Authorized: false, Reason: 'not ours' })).message).toBe(
      `policy denied a host certificate for ${INSTANCE_ARN}: not ours`,
    );
    const admin = thrown(() =>
      parseAdminPolicyResponse(
        { Authorized: false, Reason: 'ask the on-call' },
        { Kind: 'LkpAdminAuthorizationRequest', From: ALICE, Action: 'Locks' },
      ),
    );
    expect(admin.message).toBe(`policy denied ${ALICE.Arn} the admin action Locks: ask the on-call`);
  });

  it('drops a Reason with nothing printable in it, and ignores one on a yes', () => {
    expect(userError({ Authorized: false, Reason: ' \n\t ' }).message).toBe(
      `policy denied access to ${INSTANCE_ARN} for ec2-user`,
    );
    expect(user({ Authorized: true, Reason: 'welcome' }).principals).toEqual([DEFAULT_PRINCIPAL]);
  });

  it.each([
    ['a number', 1],
    ['null', null],
    ['an object', { text: 'no' }],
    ['an array', ['no']],
  ])('is a PolicyError when Reason is %s, even on a denial', (_, Reason) => {
    const e = userError({ Authorized: false, Reason });
    expect(e.code).toBe('PolicyError');
    expect(e.message).toBe('policy answer: Reason must be a string');
    expect(thrown(() => host({ Authorized: false, Reason })).code).toBe('PolicyError');
  });

  it('accepts a Reason on an accounts answer (a deny() rule), checked like any field', () => {
    const req = {
      Kind: 'LkpAccountsAuthorizationRequest' as const,
      From: INSTANCE_SESSION,
      HostInstanceArn: INSTANCE_ARN,
      Accounts: [{ User: 'alice', IamUser: 'alice', Sudo: false, Groups: [] }],
    };
    expect(parseAccountsPolicyResponse({ Authorized: false, Reason: 'frozen' }, req)).toEqual({
      users: [],
      sudo: [],
    });
    expect(() => parseAccountsPolicyResponse({ Authorized: false, Reason: 1 }, req)).toThrow(
      /Reason must be a string/,
    );
  });

  it('is Forbidden for a denial even when it carries other (valid) fields', () => {
    expect(userError({ Authorized: false, Principals: ['root'] }).code).toBe('Forbidden');
  });

  it.each([
    ['a string', 'true'],
    ['a number', 1],
    ['null', null],
  ])('is a PolicyError when Authorized is %s', (_, value) => {
    const e = userError({ Authorized: value });
    expect(e.code).toBe('PolicyError');
    expect(e.message).toBe('policy answer: Authorized must be true or false');
  });

  it('is a PolicyError when Authorized is missing', () => {
    const e = userError({ Principals: ['x'] });
    expect(e.code).toBe('PolicyError');
    expect(e.message).toMatch(/Authorized is missing/);
  });

  it.each([
    ['null', null],
    ['a string', 'yes'],
    ['an array', [{ Authorized: true }]],
    ['a number', 1],
    ['a class instance', new Date()],
  ])('is a PolicyError when the answer is %s', (_, answer) => {
    const e = userError(answer);
    expect(e.code).toBe('PolicyError');
    expect(e.message).toBe('policy answer: the answer must be a JSON object');
  });

  it('is a PolicyError for an unknown key, naming it', () => {
    const e = userError({ Authorized: true, KeyId: 'spoof' });
    expect(e.code).toBe('PolicyError');
    expect(e.message).toMatch(/the answer has an unknown field "KeyId"/);
  });

  it('refuses __proto__ as an unknown key', () => {
    expect(userError(JSON.parse('{"Authorized":true,"__proto__":{"x":1}}')).code).toBe('PolicyError');
  });
});

describe('parseUserPolicyResponse: camelCase courtesy', () => {
  it('accepts camelCase keys at every level', () => {
    const grant = user({
      authorized: true,
      principals: ['admin'],
      targetAddress: '10.0.0.5',
      certificateOptions: { forceCommand: 'uptime', permitPty: false, validForSeconds: 60 },
      jumpboxes: [{ address: 'bastion.example.com', user: 'jump', hostKeyAlias: 'bastion' }],
    });
    expect(grant).toEqual({
      principals: ['admin'],
      targetAddress: '10.0.0.5',
      criticalOptions: { 'force-command': 'uptime' },
      extensions: ['permit-port-forwarding'],
      validForSeconds: 60,
      jumpboxes: [
        {
          address: 'bastion.example.com',
          user: 'jump',
          hostKeyAlias: 'bastion',
          principals: ['jump@bastion'],
        },
      ],
    });
  });

  it('names a field as the policy spelled it', () => {
    expect(userError({ authorized: true, principals: ['a', 'b,c'] }).message).toBe(
      "policy answer: principals[1] contains ','",
    );
  });

  it.each([
    [{ Authorized: true, authorized: true }, 'Authorized'],
    [{ Authorized: true, Principals: ['a'], principals: ['a'] }, 'Principals'],
    [withOptions({ PermitPty: true, permitPty: false }), 'CertificateOptions.PermitPty'],
    [
      { Authorized: true, Jumpboxes: [{ Address: 'a.example', address: 'b.example', User: 'u' }] },
      'Jumpboxes[0].Address',
    ],
  ])('refuses an object that spells a key both ways: %j', (answer, field) => {
    const e = userError(answer);
    expect(e.code).toBe('PolicyError');
    expect(e.message).toContain(`${field} is given as both`);
  });

  it('does not accept other spellings (snake_case, upper case)', () => {
    expect(userError({ authorized: true, target_address: 'x' }).code).toBe('PolicyError');
    expect(userError({ AUTHORIZED: true }).code).toBe('PolicyError');
  });
});

describe('parseUserPolicyResponse: Principals', () => {
  it('uses the policy principals when given, without duplicates', () => {
    expect(user({ Authorized: true, Principals: [INSTANCE_ARN, 'ops', 'ops'] }).principals).toEqual([
      INSTANCE_ARN,
      'ops',
    ]);
  });

  it('refuses an empty list: empty principals are never signed', () => {
    const e = userError({ Authorized: true, Principals: [] });
    expect(e.code).toBe('PolicyError');
    expect(e.message).toMatch(/Principals is empty/);
  });

  it('refuses more than 32 principals', () => {
    const many = Array.from({ length: 33 }, (_, i) => `p${i}`);
    expect(userError({ Authorized: true, Principals: many }).code).toBe('PolicyError');
    expect(user({ Authorized: true, Principals: many.slice(0, 32) }).principals).toHaveLength(32);
  });

  it.each([
    ['not an array', 'root', 'policy answer: Principals must be an array of strings'],
    ['a non-string entry', ['a', 7], 'policy answer: Principals[1] must be a string'],
    ['an empty string', [''], 'policy answer: Principals[0] must be 1 to 256 characters'],
    ['a 257-character entry', ['a'.repeat(257)], 'policy answer: Principals[0] must be 1 to 256 characters'],
    ['a comma', ['ok', 'ok2', 'a,b'], "policy answer: Principals[2] contains ','"],
    ['a space', ['a b'], 'policy answer: Principals[0] contains whitespace (U+0020)'],
    ['a tab', ['a\tb'], 'policy answer: Principals[0] contains a control character (U+0009)'],
    ['a newline', ['a\nb'], 'policy answer: Principals[0] contains a control character (U+000A)'],
    ['a NUL', ['a\0b'], 'policy answer: Principals[0] contains a control character (U+0000)'],
    ['DEL', ['a\x7fb'], 'policy answer: Principals[0] contains a control character (U+007F)'],
    ['a wildcard *', ['*'], "policy answer: Principals[0] contains '*'"],
    ['a wildcard ?', ['root?'], "policy answer: Principals[0] contains '?'"],
    ['non-ASCII', ['rüt'], 'policy answer: Principals[0] contains a non-ASCII character (U+00FC)'],
  ])('refuses %s', (_, Principals, message) => {
    const e = userError({ Authorized: true, Principals });
    expect(e.code).toBe('PolicyError');
    expect(e.message).toBe(message);
  });

  it('accepts a 256-character principal and ARN-shaped ones', () => {
    const long = 'a'.repeat(256);
    expect(user({ Authorized: true, Principals: [long, `root@${INSTANCE_ARN}`] }).principals).toEqual([
      long,
      `root@${INSTANCE_ARN}`,
    ]);
  });
});

describe('parseUserPolicyResponse: CertificateOptions', () => {
  it('maps ForceCommand and SourceAddress to critical options', () => {
    const grant = user(
      withOptions({ ForceCommand: '/usr/bin/rsync --server -e.', SourceAddress: '10.0.0.0/8' }),
    );
    expect(grant.criticalOptions).toEqual({
      'force-command': '/usr/bin/rsync --server -e.',
      'source-address': '10.0.0.0/8',
    });
  });

  it('switches extensions on and off, defaults included', () => {
    const all = user(
      withOptions({
        PermitPty: true,
        PermitPortForwarding: true,
        PermitAgentForwarding: true,
        PermitX11Forwarding: true,
        PermitUserRc: true,
      }),
    );
    expect(all.extensions).toEqual([
      'permit-X11-forwarding',
      'permit-agent-forwarding',
      'permit-port-forwarding',
      'permit-pty',
      'permit-user-rc',
    ]);
    expect(user(withOptions({ PermitPty: false, PermitPortForwarding: false })).extensions).toEqual([]);
    expect(user(withOptions({ PermitAgentForwarding: false })).extensions).toEqual([
      'permit-port-forwarding',
      'permit-pty',
    ]);
  });

  it('keeps the defaults for an empty options object', () => {
    expect(user(withOptions({}))).toEqual(user({ Authorized: true }));
  });

  it('passes ValidForSeconds through for the pipeline to shorten with', () => {
    expect(user(withOptions({ ValidForSeconds: 300 })).validForSeconds).toBe(300);
    expect(user({ Authorized: true }).validForSeconds).toBeUndefined();
  });

  it.each([
    ['options not an object', ['PermitPty'], 'policy answer: CertificateOptions must be a JSON object'],
    ['options null', null, 'policy answer: CertificateOptions must be a JSON object'],
    [
      'an unknown option',
      { PermitRootLogin: true },
      'policy answer: CertificateOptions has an unknown field "PermitRootLogin"',
    ],
    [
      'a non-boolean Permit',
      { PermitPty: 'yes' },
      'policy answer: CertificateOptions.PermitPty must be true or false',
    ],
    [
      'ValidForSeconds 0',
      { ValidForSeconds: 0 },
      'CertificateOptions.ValidForSeconds must be a positive whole',
    ],
    ['ValidForSeconds negative', { ValidForSeconds: -5 }, 'ValidForSeconds must be a positive whole'],
    ['ValidForSeconds fractional', { ValidForSeconds: 1.5 }, 'ValidForSeconds must be a positive whole'],
    ['ValidForSeconds a string', { ValidForSeconds: '60' }, 'ValidForSeconds must be a positive whole'],
    ['ValidForSeconds unsafe', { ValidForSeconds: 2 ** 60 }, 'ValidForSeconds must be a positive whole'],
    [
      'ForceCommand not a string',
      { ForceCommand: ['ls'] },
      'CertificateOptions.ForceCommand must be a string',
    ],
    ['ForceCommand empty', { ForceCommand: '' }, 'ForceCommand must be 1 to 1024 characters'],
    [
      'ForceCommand too long',
      { ForceCommand: 'x'.repeat(1025) },
      'ForceCommand must be 1 to 1024 characters',
    ],
    [
      'ForceCommand with LF',
      { ForceCommand: 'ls\nrm -rf /' },
      'ForceCommand contains a control character (U+000A)',
    ],
    ['ForceCommand with CR', { ForceCommand: 'ls\r' }, 'ForceCommand contains a control character (U+000D)'],
    ['ForceCommand with NUL', { ForceCommand: 'ls\0' }, 'ForceCommand contains a control character (U+0000)'],
  ])('refuses %s', (_, options, message) => {
    const e = userError(withOptions(options));
    expect(e.code).toBe('PolicyError');
    expect(e.message).toContain(message);
  });

  it('accepts a 1024-character ForceCommand with tabs', () => {
    const command = `echo\t${'x'.repeat(1019)}`;
    expect(user(withOptions({ ForceCommand: command })).criticalOptions['force-command']).toBe(command);
  });
});

describe('parseUserPolicyResponse: SourceAddress', () => {
  it.each([
    '10.0.0.0/8',
    '10.0.0.1',
    '0.0.0.0/0',
    '192.168.1.0/24,10.0.0.0/8',
    '203.0.113.7/32',
    '::/0',
    '::1',
    '2001:db8::/32',
    'fe80::/10',
    '2001:db8::1/128',
    '::ffff:10.0.0.0/104',
    // IPv4-embedded IPv6: each octet lands in its own byte.
    '::ffff:0.0.0.0/96',
    '::ffff:10.1.0.0/112',
    '::ffff:10.1.2.0/120',
    // Octets of more than one digit, and all eight groups written out.
    '::ffff:10.20.30.64/122',
    '2001:db8:0:0:0:0:0:0/32',
    '10.0.0.0/8,2001:db8::/32,192.0.2.1',
  ])('accepts %s', (list) => {
    expect(user(withOptions({ SourceAddress: list })).criticalOptions['source-address']).toBe(list);
  });

  it.each([
    ['10.0.0.0/33', 'entry 1 ("10.0.0.0/33") has an invalid prefix length; use /0 to /32'],
    ['10.0.0.256/8', 'is not an IPv4 or IPv6 address'],
    ['::/129', 'has an invalid prefix length; use /0 to /128'],
    ['10.0.0.0/8 ,x', 'contains whitespace'],
    ['10.0.0.0/8,x', 'entry 2 ("x") is not an IPv4 or IPv6 address'],
    ['', 'is empty'],
    [' 10.0.0.0/8', 'contains whitespace'],
    ['10.0.0.0/8, 192.168.0.0/16', 'contains whitespace'],
    ['10.0.0.0/8,\t192.168.0.0/16', 'contains whitespace'],
    ['10.0.0.0 /8', 'contains whitespace'],
    ['10.0.0.0/8,', 'entry 2 ("")'],
    ['10.0.0.1/8', 'has bits set after the /8 prefix'],
    ['fe80::1/10', 'has bits set after the /10 prefix'],
    ['::ffff:1.0.0.0/96', 'has bits set after the /96 prefix'],
    ['::ffff:10.1.0.0/104', 'has bits set after the /104 prefix'],
    ['::ffff:10.1.2.0/112', 'has bits set after the /112 prefix'],
    ['::ffff:10.1.2.3/120', 'has bits set after the /120 prefix'],
    ['010.0.0.0/8', 'is not an IPv4 or IPv6 address'],
    ['10.0.0.0/08', 'has an invalid prefix length'],
    ['10.0.0.0/', 'has an invalid prefix length'],
    ['10.0.0.0/-1', 'has an invalid prefix length'],
    ['10.0.0.*', 'is not an IPv4 or IPv6 address'],
    ['fe80::1%eth0', 'is not an IPv4 or IPv6 address'],
    ['example.com', 'is not an IPv4 or IPv6 address'],
    ['10.0.0.0/8/8', 'has an invalid prefix length'],
  ])('refuses %j', (list, problem) => {
    const e = userError(withOptions({ SourceAddress: list }));
    expect(e.code).toBe('PolicyError');
    expect(e.message).toContain('CertificateOptions.SourceAddress');
    expect(e.message).toContain(problem);
  });

  it('refuses a non-string and more than 64 entries', () => {
    expect(userError(withOptions({ SourceAddress: ['10.0.0.0/8'] })).message).toMatch(/must be a string/);
    const many = Array.from({ length: 65 }, (_, i) => `10.0.${i}.0/24`).join(',');
    expect(userError(withOptions({ SourceAddress: many })).message).toMatch(/more than 64 entries/);
  });
});

describe('parseUserPolicyResponse: TargetAddress', () => {
  it.each([
    '10.0.0.5',
    'ip-10-0-0-5.ec2.internal',
    'host',
    '2001:db8::5',
    'a'.repeat(63) + '.example',
    '127.0.0.1:2222',
    'bastion.example.com:22',
    '[2001:db8::5]:65535',
    `${'a.'.repeat(125)}ab:1`,
  ])('accepts %s', (address) => {
    expect(user({ Authorized: true, TargetAddress: address }).targetAddress).toBe(address);
  });

  it.each([
    ['-oProxyCommand=evil', 'an option-looking name'],
    ['host name', 'a space'],
    ['host\nname', 'a newline'],
    ['', 'an empty string'],
    [`${'a.'.repeat(126)}ab`, 'more than 253 characters'],
    ['a'.repeat(64), 'a 64-character label'],
    ['10.0.0.256', 'an all-numeric top label'],
    ['user@host', "an '@'"],
    ['host-.example', "a label ending in '-'"],
    ['host:0', 'port 0'],
    ['host:65536', 'a port above 65535'],
    ['host:022', 'a port with a leading zero'],
    ['host:', 'an empty port'],
    [':22', 'an empty host'],
    ['host:22:33', 'two ports'],
    ['host:ssh', 'a service name'],
    ['[2001:db8::5]', 'brackets without a port'],
    ['[10.0.0.5]:22', 'an IPv4 address in brackets'],
    ['[fe80::1%eth0]:22', 'an IPv6 zone'],
    ['-oProxyCommand=evil:22', 'an option-looking name with a port'],
  ])('refuses %j (%s)', (address) => {
    const e = userError({ Authorized: true, TargetAddress: address });
    expect(e.code).toBe('PolicyError');
    expect(e.message).toMatch(/^policy answer: TargetAddress must be/);
  });

  it('refuses a non-string', () => {
    expect(userError({ Authorized: true, TargetAddress: 10 }).message).toBe(
      'policy answer: TargetAddress must be a string',
    );
  });
});

describe('parseUserPolicyResponse: Jumpboxes', () => {
  it('defaults HostKeyAlias to Address and Principals to <User>@<HostKeyAlias>', () => {
    expect(
      user({ Authorized: true, Jumpboxes: [{ Address: '203.0.113.10', User: 'ec2-user' }] }).jumpboxes,
    ).toEqual([
      {
        address: '203.0.113.10',
        user: 'ec2-user',
        hostKeyAlias: '203.0.113.10',
        principals: ['ec2-user@203.0.113.10'],
      },
    ]);
    expect(
      user({
        Authorized: true,
        Jumpboxes: [{ Address: '203.0.113.10', User: 'jump', HostKeyAlias: 'bastion' }],
      }).jumpboxes?.[0]?.principals,
    ).toEqual(['jump@bastion']);
  });

  it('takes a port on the Address, and defaults HostKeyAlias to the host without it', () => {
    expect(
      user({ Authorized: true, Jumpboxes: [{ Address: '[2001:db8::10]:2222', User: 'jump' }] }).jumpboxes,
    ).toEqual([
      {
        address: '[2001:db8::10]:2222',
        user: 'jump',
        hostKeyAlias: '2001:db8::10',
        principals: ['jump@2001:db8::10'],
      },
    ]);
  });

  it('uses explicit jumpbox principals and keeps the order of hops', () => {
    const grant = user({
      Authorized: true,
      Jumpboxes: [
        { Address: 'outer.example.com', User: 'a', Principals: ['outer-login'] },
        { Address: 'inner.example.com', User: 'b' },
      ],
    });
    expect(grant.jumpboxes?.map((j) => [j.address, j.principals])).toEqual([
      ['outer.example.com', ['outer-login']],
      ['inner.example.com', ['b@inner.example.com']],
    ]);
  });

  it('leaves jumpboxes out for an empty list', () => {
    expect(user({ Authorized: true, Jumpboxes: [] }).jumpboxes).toBeUndefined();
  });

  it.each([
    ['not an array', { Address: 'a.example', User: 'u' }, 'Jumpboxes must be an array'],
    ['more than 4', Array(5).fill({ Address: 'a.example', User: 'u' }), 'Jumpboxes has more than 4 entries'],
    ['an entry that is not an object', ['a.example'], 'Jumpboxes[0] must be a JSON object'],
    ['a missing Address', [{ User: 'u' }], 'Jumpboxes[0].Address is missing'],
    ['a missing User', [{ Address: 'a.example' }], 'Jumpboxes[0].User is missing'],
    ['a bad Address', [{ Address: '-J evil', User: 'u' }], 'Jumpboxes[0].Address must be'],
    [
      'a User starting with -',
      [{ Address: 'a.example', User: '-oX' }],
      'Jumpboxes[0].User must be a POSIX user name',
    ],
    [
      'a User too long',
      [{ Address: 'a.example', User: 'u'.repeat(33) }],
      'Jumpboxes[0].User must be a POSIX',
    ],
    ['a non-string User', [{ Address: 'a.example', User: 7 }], 'Jumpboxes[0].User must be a POSIX'],
    // A RegExp test would read ['u'] as "u" (issue 15, mutation testing).
    ['a User in an array', [{ Address: 'a.example', User: ['u'] }], 'Jumpboxes[0].User must be a POSIX'],
    [
      'a HostKeyAlias with a comma',
      [{ Address: 'a.example', User: 'u', HostKeyAlias: 'a,b' }],
      "Jumpboxes[0].HostKeyAlias contains ','",
    ],
    [
      'empty Principals',
      [{ Address: 'a.example', User: 'u', Principals: [] }],
      'Jumpboxes[0].Principals is empty',
    ],
    [
      'a wildcard principal',
      [{ Address: 'a.example', User: 'u', Principals: ['*'] }],
      "Jumpboxes[0].Principals[0] contains '*'",
    ],
    [
      'an unknown key',
      [{ Address: 'a.example', User: 'u', Port: 22 }],
      'Jumpboxes[0] has an unknown field "Port"',
    ],
  ])('refuses %s', (_, Jumpboxes, message) => {
    const e = userError({ Authorized: true, Jumpboxes });
    expect(e.code).toBe('PolicyError');
    expect(e.message).toContain(`policy answer: ${message}`);
  });

  it('accepts 4 jumpboxes', () => {
    const hops = Array.from({ length: 4 }, (_, i) => ({ Address: `hop${i}.example`, User: 'u' }));
    expect(user({ Authorized: true, Jumpboxes: hops }).jumpboxes).toHaveLength(4);
  });
});

describe('parseHostPolicyResponse', () => {
  it('grants the instance ARN alone for a bare yes', () => {
    expect(host({ Authorized: true })).toEqual({
      principals: [INSTANCE_ARN],
      criticalOptions: {},
      extensions: [],
    });
  });

  it('puts the instance ARN first, then the extra names, without duplicates', () => {
    expect(
      host({ Authorized: true, Principals: ['bastion.example.com', INSTANCE_ARN, 'bastion.example.com'] })
        .principals,
    ).toEqual([INSTANCE_ARN, 'bastion.example.com']);
    expect(host({ authorized: true, principals: [] }).principals).toEqual([INSTANCE_ARN]);
  });

  it('obeys Authorized: false like a user answer', () => {
    const e = thrown(() => host({ Authorized: false }));
    expect(e.code).toBe('Forbidden');
    expect(e.message).toBe(`policy denied a host certificate for ${INSTANCE_ARN}`);
  });

  it('accepts KeyId (the seed allowed it) but ignores it: KeyId stays the instance ARN', () => {
    const grant = host({ Authorized: true, KeyId: 'arn:aws:iam::111122223333:user/someone-else' });
    expect(grant).toEqual({ principals: [INSTANCE_ARN], criticalOptions: {}, extensions: [] });
    expect(JSON.stringify(grant)).not.toContain('someone-else');
    expect(thrown(() => host({ Authorized: true, KeyId: 42 })).code).toBe('PolicyError');
  });

  it.each([
    ['user-only fields', { Authorized: true, CertificateOptions: {} }, 'unknown field "CertificateOptions"'],
    [
      'a wildcard principal',
      { Authorized: true, Principals: ['*.example.com'] },
      "Principals[0] contains '*'",
    ],
    ['a non-array', { Authorized: true, Principals: 'x' }, 'Principals must be an array'],
    ['a non-boolean Authorized', { Authorized: 'yes' }, 'Authorized must be true or false'],
    ['ambiguity', { Authorized: true, authorized: true }, 'given as both'],
    ['not an object', 'yes', 'must be a JSON object'],
  ])('refuses %s', (_, answer, message) => {
    const e = thrown(() => host(answer));
    expect(e.code).toBe('PolicyError');
    expect(e.message).toContain(message);
  });
});

describe('InstanceConnectEndpoint (our addition, docs/eice.md)', () => {
  const ID = 'eice-0123456789abcdef0';
  const DNS = `${ID}.b67b86ba.ec2-instance-connect-endpoint.us-east-1.amazonaws.com`;

  it('passes the endpoint id, and its DNS name when given', () => {
    expect(user({ Authorized: true, InstanceConnectEndpoint: { Id: ID } }).instanceConnectEndpoint).toEqual({
      id: ID,
    });
    expect(
      user({ Authorized: true, instanceConnectEndpoint: { id: ID, dnsName: DNS } }).instanceConnectEndpoint,
    ).toEqual({ id: ID, dnsName: DNS });
  });

  it.each([
    [{}, /InstanceConnectEndpoint\.Id is missing/],
    [{ Id: 'eice-123' }, /InstanceConnectEndpoint\.Id must be an endpoint id/],
    [{ Id: 7 }, /InstanceConnectEndpoint\.Id must be an endpoint id/],
    [{ Id: [ID] }, /InstanceConnectEndpoint\.Id must be an endpoint id/],
    [{ Id: ID, DnsName: [DNS] }, /DnsName must be the endpoint's DNS name/],
    [{ Id: ID, Port: 22 }, /unknown field "Port"/],
    [
      { Id: ID, DnsName: 'attacker.example.com' },
      /DnsName must be the endpoint's DNS name under amazonaws\.com/,
    ],
    [{ Id: ID, DnsName: 'x.amazonaws.com.attacker.example' }, /DnsName must be/],
    [{ Id: ID, DnsName: `${DNS}:443` }, /DnsName must be/],
    [{ Id: ID, DnsName: DNS.toUpperCase() }, /DnsName must be/],
    ['eice-0123456789abcdef0', /InstanceConnectEndpoint must be a JSON object/],
  ])('refuses %j', (endpoint, message) => {
    const err = userError({ Authorized: true, InstanceConnectEndpoint: endpoint });
    expect(err.code).toBe('PolicyError');
    expect(err.message).toMatch(message);
  });
});

describe('cleanReason: what of a policy reason reaches a terminal and the audit line', () => {
  it.each([
    ['keeps printable ASCII as it is', 'only ec2-user (ask #ops)', 'only ec2-user (ask #ops)'],
    ['joins lines and runs of whitespace', 'one\r\ntwo\t\tthree\u00a0four', 'one two three four'],
    ['trims', '  padded  ', 'padded'],
    ['replaces control characters', 'a\u001b[31mred\u0007\u0000', 'a?[31mred??'],
    ['replaces each non-ASCII character once', 'caf\u00e9 \u{1f512} \u202eevil', 'caf? ? ?evil'],
    ['replaces DEL', 'x\u007fy', 'x?y'],
  ])('%s', (_, text, expected) => {
    expect(cleanReason(text)).toBe(expected);
  });

  it('cuts a long reason to 200 characters, marked', () => {
    expect(cleanReason('x'.repeat(200))).toBe('x'.repeat(200));
    const cut = cleanReason(`${'y'.repeat(500)}`);
    expect(cut).toBe(`${'y'.repeat(197)}...`);
    expect(cut).toHaveLength(200);
  });

  it('leaves nothing when nothing printable is given', () => {
    expect(cleanReason('')).toBeUndefined();
    expect(cleanReason(' \n ')).toBeUndefined();
  });
});
