/**
 * Everything ssh needs to log in to one target as one user (DESIGN §4), shared by `lkp ssh` and
 * the `ssh-match` hook of transparent mode: the profile's key, a certificate (cached until 5 min
 * before expiry), jumpbox certificates, and the per-target ssh_config file that names them.
 */
import { existsSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { formatHostAddress } from '../../src/host-address.js';
import type { CertResponse } from '../../src/protocol.js';
import { toCliError } from '../errors.js';
import { checkCaPublicKeys, untrustedKeys } from './ca-keys.js';
import { caTransport, type CaTransport } from './ca-transport.js';
import { type CachedCertificate, certCache, fileKey } from './cert-cache.js';
import { type CaProfile, ensurePrivateDir, type LkpPaths } from './config.js';
import { resolveCredentials } from './credentials.js';
import { caRevocations, describeKept, needsRefresh, refreshHostRevocations } from './host-revocations.js';
import { generateEd25519, keyStoreFor, type KeyStore, type LoginKey } from './keys.js';
import { targetSshConfig } from './ssh-config.js';
import { ec2Lookup, type InstanceLookup, parseTarget, resolveTarget } from './targets.js';
import { terminalProgress, type Progress } from './progress.js';
import { chooseRoute, type Route } from './tunnel/route.js';

export interface LoginContext {
  paths: LkpPaths;
  profileName: string;
  profile: CaProfile;
  transport(): CaTransport;
  credentials(): Promise<AwsCredentialIdentity>;
  ec2(): InstanceLookup;
  keys: KeyStore;
  /** Unix seconds. */
  now(): number;
  /** Shows a line while a slow step runs, on a terminal only (progress.ts); ssh-match is quiet. */
  progress: Progress;
  /** argv prefix that runs lkp, for the ProxyCommand of a tunnel (`lkp tunnel`). */
  lkpCommand: readonly string[];
}

export interface PreparedLogin {
  /** The target as typed: the ssh host argument the per-target config matches. */
  host: string;
  user: string;
  arn: string;
  /** Where ssh connects: the target's address, or the private IP the tunnel reaches. */
  address: string;
  route: Route;
  response: CertResponse;
  certificateFile: string;
  identityFile: string;
  /** The per-target ssh_config file (`ssh -F` for lkp ssh; included by ~/.lkp/ssh_config). */
  configFile: string;
  /** True when no certificate was requested. */
  cached: boolean;
}

interface TargetRecord {
  host: string;
  user: string;
  arn: string;
  route: Route;
}

export interface LoginOptions {
  vouchers?: readonly string[];
  /** Ask the CA even when a usable certificate is cached (it may have been revoked). */
  renew?: boolean;
  /** Keep the host revocation list current (default); off for a login that does not connect (--dry-run). */
  revocations?: boolean;
}

export async function prepareLogin(
  ctx: LoginContext,
  host: string,
  user: string,
  opts: LoginOptions = {},
): Promise<PreparedLogin> {
  const spec = parseTarget(host);
  const certs = certCache(ctx.paths.certs(ctx.profileName));
  const recordFile = targetFile(ctx, host, user, 'json');
  // Vouchers mean "a certificate the last one was not": always ask the CA.
  const reuse = !opts.vouchers?.length && !opts.renew;
  const revocations = opts.revocations ?? true;
  let key = await ctx.keys.load();

  // Fast path (what makes ssh-match cheap): a known target with a usable certificate needs no AWS
  // call, but for the host revocation list once a minute.
  const record = readRecord(recordFile, host, user);
  if (key && reuse && record) {
    const cached = certs.read(record.arn, user, key.fingerprint, ctx.now());
    if (cached) {
      if (revocations) await refreshRevocationsWhenStale(ctx);
      return finish(ctx, host, user, key, record.arn, record.route, cached, true);
    }
  }

  const target = await ctx.progress(`lkp: looking up ${host} in EC2`, () => resolveTarget(spec, ctx.ec2()));
  const route = (cert: CachedCertificate) =>
    chooseRoute({
      arn: target.arn,
      address: target.address,
      network: target.network,
      response: cert.response,
      mode: ctx.profile.reach ?? 'auto',
      ec2: ctx.ec2(),
    });
  const cached = key && reuse ? certs.read(target.arn, user, key.fingerprint, ctx.now()) : undefined;
  if (key && cached) {
    if (revocations) await refreshRevocationsWhenStale(ctx);
    return finish(ctx, host, user, key, target.arn, await route(cached), cached, true);
  }

  // Only a login that asks the CA loads the request path (issue "Benchmarks", item 4).
  const { fetchCaInfo, requestCertificate } = await import('./certificates.js');
  const fresh = key ? undefined : generateEd25519(`lkp-${ctx.profileName}`);
  const publicKey = key?.publicKey ?? fresh?.publicKey ?? '';
  const transport = ctx.transport();
  // The CA is being asked anyway: the revocation list comes along, in parallel (and is in place
  // before lkp exits, also when the certificate is refused).
  const [asked] = await ctx.progress(
    `lkp: requesting a certificate for ${user}@${target.arn} from ${transport.where}`,
    async () => {
      const info = await fetchCaInfo(transport);
      return Promise.allSettled([
        requestCertificate(transport, info, await ctx.credentials(), {
          Kind: 'User',
          PublicKey: publicKey,
          RemoteInstanceArn: target.arn,
          SshUsername: user,
          ...(opts.vouchers?.length ? { Vouchers: [...opts.vouchers] } : {}),
        }),
        revocations ? refreshRevocations(ctx, caRevocations(transport, info, ctx.credentials)) : undefined,
      ]);
    },
  );
  if (asked.status === 'rejected') throw asked.reason;
  const response = asked.value;
  if (fresh) key = await ctx.keys.save(fresh, response.ValidBefore - ctx.now());
  if (!key) throw new Error('no key after saving one');
  warnUntrustedCaKeys(ctx, response.CaPublicKeys);
  const written = certs.write(target.arn, user, response);
  return finish(ctx, host, user, key, target.arn, await route(written), written, false);
}

/** Drops the per-target file, so ssh does not go on using a certificate that could not be renewed. */
export function forgetLogin(
  ctx: Pick<LoginContext, 'paths' | 'profileName'>,
  host: string,
  user: string,
): void {
  for (const ext of ['conf', 'json'] as const) rmSync(targetFile(ctx, host, user, ext), { force: true });
}

function finish(
  ctx: LoginContext,
  host: string,
  user: string,
  key: LoginKey,
  arn: string,
  route: Route,
  cert: CachedCertificate,
  cached: boolean,
): PreparedLogin {
  const { response } = cert;
  const address =
    route.kind === 'direct'
      ? route.address
      : formatHostAddress({
          host: route.tunnel.privateIp,
          ...(route.tunnel.port ? { port: route.tunnel.port } : {}),
        });
  const hopPrefix = `lkp-jump-${fileKey(ctx.profileName, arn, user).slice(0, 10)}`;
  const configFile = targetFile(ctx, host, user, 'conf');
  const revokedHostKeys = ctx.paths.revokedHostKeys(ctx.profileName);
  ensurePrivateDir(ctx.paths.targets(ctx.profileName));
  writeFileSync(
    configFile,
    targetSshConfig({
      host,
      user,
      address,
      // Hosts set up by lkp carry their instance ARN as a host certificate principal (DESIGN §3.4).
      hostKeyAlias: arn,
      identityFile: key.identityFile,
      certificateFile: cert.certificateFile,
      knownHostsFile: ctx.paths.knownHosts(ctx.profileName),
      ...(existsSync(revokedHostKeys) ? { revokedHostKeysFile: revokedHostKeys } : {}),
      ...(route.kind === 'eice' ? { proxyCommand: tunnelCommand(ctx, arn, route.tunnel) } : {}),
      jumpboxes: (route.kind === 'eice' ? [] : (response.Jumpboxes ?? [])).map((j, i) => ({
        alias: `${hopPrefix}-${i}`,
        address: j.Address,
        user: j.User,
        hostKeyAlias: j.HostKeyAlias,
        certificateFile: cert.jumpboxCertificateFiles[i] ?? '',
      })),
      comment: `lkp: ${user}@${host} is ${arn}; certificate valid until ${new Date(response.ValidBefore * 1000).toISOString()}`,
    }),
    { mode: 0o600 },
  );
  const record: TargetRecord = { host, user, arn, route };
  writeFileSync(targetFile(ctx, host, user, 'json'), `${JSON.stringify(record)}\n`, { mode: 0o600 });
  return {
    host,
    user,
    arn,
    address,
    route,
    response,
    certificateFile: cert.certificateFile,
    identityFile: key.identityFile,
    configFile,
    cached,
  };
}

/** A cached login asks for the host revocation list once it is REFRESH_SECONDS old. */
async function refreshRevocationsWhenStale(ctx: LoginContext): Promise<void> {
  if (!needsRefresh(ctx.paths.revokedHostKeys(ctx.profileName), ctx.now())) return;
  const { fetchCaInfo } = await import('./certificates.js');
  const transport = ctx.transport();
  await ctx.progress(`lkp: refreshing the host revocation list from ${transport.where}`, () =>
    refreshRevocations(ctx, async () =>
      caRevocations(transport, await fetchCaInfo(transport), ctx.credentials)(),
    ),
  );
}

/** Never throws: a list that cannot be fetched leaves the last good one, with a line on stderr. */
async function refreshRevocations(ctx: LoginContext, fetchKrl: () => Promise<Buffer>): Promise<void> {
  const file = ctx.paths.revokedHostKeys(ctx.profileName);
  const outcome = await refreshHostRevocations(file, fetchKrl, new Date(ctx.now() * 1000));
  if (!outcome.installed)
    process.stderr.write(
      `lkp: could not refresh the host revocation list of profile "${ctx.profileName}" from ${ctx.transport().where}: ${describeKept(outcome)}\n`,
    );
}

/** `lkp tunnel` with everything it needs, so a connection makes no AWS call but the tunnel's own. */
function tunnelCommand(
  ctx: LoginContext,
  arn: string,
  t: Extract<Route, { kind: 'eice' }>['tunnel'],
): string[] {
  return [
    ...ctx.lkpCommand,
    'tunnel',
    arn,
    ...['--profile', ctx.profileName],
    ...['--endpoint-id', t.endpointId, '--endpoint-dns', t.dnsName],
    ...['--private-ip', t.privateIp, '--region', t.region],
    // ssh's own port (22, or -p/Port): the endpoint connects there.
    ...['--port', '%p'],
  ];
}

function targetFile(
  ctx: Pick<LoginContext, 'paths' | 'profileName'>,
  host: string,
  user: string,
  ext: 'conf' | 'json',
): string {
  return join(ctx.paths.targets(ctx.profileName), `${fileKey(host, user)}.${ext}`);
}

function readRecord(file: string, host: string, user: string): TargetRecord | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as Partial<TargetRecord>;
    // A record without a route is from an older lkp: look the target up again.
    return r.host === host && r.user === user && typeof r.arn === 'string' && isRoute(r.route)
      ? (r as TargetRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

function isRoute(r: unknown): r is Route {
  if (typeof r !== 'object' || r === null) return false;
  const route = r as Partial<Record<string, unknown>>;
  if (route.kind === 'direct') return typeof route.address === 'string';
  const t = route.tunnel as Partial<Record<string, unknown>> | undefined;
  return (
    route.kind === 'eice' &&
    typeof t === 'object' &&
    ['endpointId', 'dnsName', 'privateIp', 'region'].every((k) => typeof t[k] === 'string')
  );
}

/**
 * A CA key the answer names that the profile does not trust (a rotation since `lkp setup`, or an
 * answer that is not from the CA the user set up) is reported, never trusted: only `lkp setup`
 * writes trust, after showing the key (DESIGN §4).
 */
function warnUntrustedCaKeys(ctx: LoginContext, caKeys: unknown): void {
  let unknown: string[];
  try {
    unknown = untrustedKeys(checkCaPublicKeys(caKeys, ctx.transport().where), ctx.profile.caPublicKeys).map(
      (k) => k.fingerprint,
    );
  } catch (e) {
    unknown = [toCliError(e).message];
  }
  if (unknown.length > 0)
    process.stderr.write(
      `lkp: the CA answered with CA keys profile "${ctx.profileName}" does not trust (${unknown.join(', ')}); ` +
        `they were not trusted. To review and trust them: lkp setup --profile ${ctx.profileName} --refresh-ca\n`,
    );
}

/** The real thing: AWS credential chain, the profile's CA transport and region, the agent or key files. */
export function loginContext(
  paths: LkpPaths,
  profileName: string,
  profile: CaProfile,
  opts: { quiet?: boolean; env?: NodeJS.ProcessEnv } = {},
): LoginContext {
  let credentials: Promise<AwsCredentialIdentity> | undefined;
  const getCredentials = () =>
    (credentials ??= resolveCredentials(profile.awsProfile ? { profile: profile.awsProfile } : {}));
  let transport: CaTransport | undefined;
  let ec2: InstanceLookup | undefined;
  return {
    paths,
    profileName,
    profile,
    transport: () =>
      (transport ??= caTransport(profile.ca, {
        ...(profile.awsProfile ? { awsProfile: profile.awsProfile } : {}),
        credentials: getCredentials,
      })),
    credentials: getCredentials,
    ec2: () =>
      (ec2 ??= ec2Lookup({
        ...(profile.region ? { region: profile.region } : {}),
        ...(profile.awsProfile ? { awsProfile: profile.awsProfile } : {}),
        credentials: getCredentials,
      })),
    keys: keyStoreFor(paths.keys(profileName), opts.env),
    now: () => Math.floor(Date.now() / 1000),
    lkpCommand: [process.execPath, realpathSync(process.argv[1] ?? '')],
    progress: terminalProgress(opts.quiet),
  };
}
