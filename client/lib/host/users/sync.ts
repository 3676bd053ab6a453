/**
 * `lkp host sync-users`, one pass: IAM group members → plan → shadow-utils → sudoers.d. Reading IAM
 * happens first and completely, so an IAM failure changes nothing on the host.
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import { loadOwnership, readLocalAccounts, saveOwnership } from './accounts.js';
import { applyPlan, type ActionResult, type RunCommand } from './apply.js';
import { listGroupMembers } from './iam.js';
import { desiredAccounts } from '../../../../src/accounts/desired.js';
import { planSync, sudoUsers, type Action, type SyncSettings } from './plan.js';
import { installSudoers, renderSudoers, type SudoersOutcome } from './sudoers.js';

export interface SyncOptions extends SyncSettings {
  iam: IAMClient;
  /** `/` on an instance; a temp folder in tests. */
  root: string;
  shell?: string;
  /** Plan only: report the actions without running them. */
  dryRun?: boolean;
  run?: RunCommand;
}

export interface SyncReport {
  results: ActionResult[];
  /** The plan's actions when dryRun is set (nothing was changed). */
  planned: Action[];
  warnings: string[];
  sudoers: SudoersOutcome | 'skipped';
  failed: boolean;
}

export async function syncUsers(opts: SyncOptions): Promise<SyncReport> {
  const members = await listGroupMembers(opts.iam, [...opts.iamGroups, ...opts.sudoGroups]);
  const desired = desiredAccounts(members, opts);
  const plan = planSync(desired, readLocalAccounts(opts.root), loadOwnership(opts.root), opts);
  if (opts.dryRun)
    return { results: [], planned: plan.actions, warnings: plan.warnings, sudoers: 'skipped', failed: false };

  saveOwnership(opts.root, plan.owned);
  const results = await applyPlan(plan.actions, plan.owned, {
    root: opts.root,
    ...(opts.shell ? { shell: opts.shell } : {}),
    ...(opts.run ? { run: opts.run } : {}),
  });
  // sudo follows what actually exists now, so a user whose creation failed gets no rule.
  const sudo = sudoUsers(desired, readLocalAccounts(opts.root), loadOwnership(opts.root));
  const sudoers = await installSudoers(
    opts.root,
    opts.sudoGroups.length > 0 ? renderSudoers(sudo, opts.sudoGroups) : undefined,
  );
  return {
    results,
    planned: plan.actions,
    warnings: plan.warnings,
    sudoers,
    failed: results.some((r) => r.error !== undefined),
  };
}
