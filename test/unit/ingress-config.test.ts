import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadIngressConfig } from '../../src/config.js';

const base = {
  LKP_CA_KEY: 'file:/etc/lkp/ca_key',
  LKP_SERVER_ID: 'lkp.example.com',
  LKP_ALLOWED_ACCOUNTS: '111122223333',
  AWS_REGION: 'us-east-1',
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadIngressConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('network lease configuration', () => {
  it('defaults to no groups (no leases) and port 22', () => {
    expect(loadConfig(base).ingress).toEqual({ groups: [], defaultPorts: [22] });
    expect(loadIngressConfig({ LKP_INGRESS_GROUPS: '' })).toEqual({ groups: [], defaultPorts: [22] });
  });

  it('reads comma-separated groups and ports, trimmed, deduplicated, ports sorted', () => {
    const cfg = loadConfig({
      ...base,
      LKP_INGRESS_GROUPS: ' sg-0123456789abcdef0, sg-01234567 ,sg-0123456789abcdef0',
      LKP_INGRESS_DEFAULT_PORTS: '443, 22',
    });
    expect(cfg.ingress).toEqual({ groups: ['sg-0123456789abcdef0', 'sg-01234567'], defaultPorts: [22, 443] });
    expect(Object.isFrozen(cfg.ingress.groups)).toBe(true);
  });

  it.each([
    [{ LKP_INGRESS_GROUPS: 'default' }, /LKP_INGRESS_GROUPS .*"default"/],
    [{ LKP_INGRESS_GROUPS: 'sg-0123456789abcdef0,' }, /LKP_INGRESS_GROUPS .*""/],
    [{ LKP_INGRESS_GROUPS: 'sg-0123456789ABCDEF0' }, /LKP_INGRESS_GROUPS/],
    [{ LKP_INGRESS_DEFAULT_PORTS: '0' }, /LKP_INGRESS_DEFAULT_PORTS/],
    [{ LKP_INGRESS_DEFAULT_PORTS: '65536' }, /LKP_INGRESS_DEFAULT_PORTS/],
    [{ LKP_INGRESS_DEFAULT_PORTS: '22,22' }, /LKP_INGRESS_DEFAULT_PORTS/],
    [{ LKP_INGRESS_DEFAULT_PORTS: '22-25' }, /LKP_INGRESS_DEFAULT_PORTS/],
    [{ LKP_INGRESS_DEFAULT_PORTS: '1,2,3,4,5,6,7,8,9' }, /LKP_INGRESS_DEFAULT_PORTS/],
  ])('refuses %o', (env, message) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
    expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
  });
});
