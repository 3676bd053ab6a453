import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../../../client/errors.js';
import {
  type CaProfile,
  lkpPaths,
  pickProfile,
  readConfig,
  writeConfig,
} from '../../../client/lib/config.js';

const profile: CaProfile = {
  ca: { url: 'http://127.0.0.1:8080/' },
  hostPatterns: ['web-*'],
  defaultUser: 'ec2-user',
  caPublicKeys: ['ssh-ed25519 AAAA ca'],
};

describe('~/.lkp/config', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'lkp-config-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('is empty before setup and says how to set up', () => {
    const paths = lkpPaths(home);
    expect(readConfig(paths)).toEqual({ profiles: {} });
    expect(() => pickProfile(readConfig(paths))).toThrow(/lkp is not set up yet/);
  });

  it('round-trips several profiles and picks the default or the named one', () => {
    const paths = lkpPaths(home);
    const lambda: CaProfile = {
      ...profile,
      ca: { function: 'lkp-ca', region: 'eu-west-1' },
      awsProfile: 'work',
    };
    writeConfig(paths, { default: 'main', profiles: { main: profile, prod: lambda } });
    const config = readConfig(paths);
    expect(pickProfile(config).name).toBe('main');
    expect(pickProfile(config, 'prod').profile).toEqual(lambda);
    expect(statSync(paths.config).mode & 0o777).toBe(0o600);
    expect(statSync(paths.dir).mode & 0o777).toBe(0o700);
    expect(() => pickProfile(config, 'other')).toThrow(/no lkp profile named "other"/);
  });

  it('refuses a broken file with the fix in the message', () => {
    const paths = lkpPaths(home);
    mkdirSync(paths.dir);
    writeFileSync(paths.config, '{"profiles":{"main":{"ca":{}}}}');
    expect(() => readConfig(paths)).toThrow(/profile "main": "ca" needs "url", or "function" and "region"/);
    writeFileSync(paths.config, 'not json');
    expect(() => readConfig(paths)).toThrow(CliError);
  });

  it('refuses profile names that could escape their folder', () => {
    expect(() => lkpPaths(home).keys('../x')).toThrow(/invalid profile name/);
  });
});
