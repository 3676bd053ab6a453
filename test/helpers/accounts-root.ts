/** A throwaway root with its own passwd, group, shadow and gshadow, for `useradd --prefix` and friends. */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const isRoot = process.getuid?.() === 0;

/**
 * Holds root and a user lkp did not create (`ec2-user`, uid 1000) and a group it did not create
 * (`wheel`); in a new temp folder, or in `root` (an instance's root that already has etc/ssh).
 */
export function makeAccountsRoot(root = mkdtempSync(join(tmpdir(), 'lkp-root-'))): string {
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'home'), { recursive: true });
  const write = (file: string, lines: string[], mode = 0o644) =>
    writeFileSync(join(root, 'etc', file), lines.map((l) => `${l}\n`).join(''), { mode });
  write('passwd', ['root:x:0:0:root:/root:/bin/bash', 'ec2-user:x:1000:1000::/home/ec2-user:/bin/bash']);
  write('group', ['root:x:0:', 'ec2-user:x:1000:', 'wheel:x:10:ec2-user']);
  write('shadow', ['root:*:19000:0:99999:7:::', 'ec2-user:!!:19000:0:99999:7:::'], 0o640);
  write('gshadow', ['root:*::', 'ec2-user:!::', 'wheel:!::ec2-user'], 0o640);
  // userdel removes the user's own group only when login.defs says USERGROUPS_ENAB yes.
  if (existsSync('/etc/login.defs')) copyFileSync('/etc/login.defs', join(root, 'etc', 'login.defs'));
  else write('login.defs', ['USERGROUPS_ENAB yes']);
  return root;
}

export const readEtc = (root: string, file: string) => readFileSync(join(root, 'etc', file), 'utf8');
