/**
 * For every service, partition, region (listed in the SDK's partitions data) and FIPS/dual-stack
 * variant: our endpoint host and signing region are the SDK's, or, in a partition lkp does not
 * support, refused with the reason (never a guessed host).
 */
import { describe, expect, it } from 'vitest';
import {
  EndpointConfigError,
  resolveEndpoint,
  stsSigningRegionOfHost,
  SUPPORTED_PARTITIONS,
  STS_RULE,
} from '../../src/aws/endpoints.js';
import { SDK_SERVICES } from './sdk-clients.js';
import { sdkPartitions } from './sdk-partitions.js';

const VARIANTS = [
  { fips: false, dualStack: false },
  { fips: true, dualStack: false },
  { fips: false, dualStack: true },
  { fips: true, dualStack: true },
];
const envFor = (v: { fips: boolean; dualStack: boolean }): NodeJS.ProcessEnv => ({
  AWS_USE_FIPS_ENDPOINT: String(v.fips),
  AWS_USE_DUALSTACK_ENDPOINT: String(v.dualStack),
});
const supported = (id: string) => (SUPPORTED_PARTITIONS as readonly string[]).includes(id);

describe.each(SDK_SERVICES.map((s) => [s.rule.label, s] as const))('%s endpoints', (_label, service) => {
  it.each(sdkPartitions().map((p) => [p.id, p] as const))(
    'in %s: every region and variant as the SDK resolves it',
    (_id, partition) => {
      const mismatches: string[] = [];
      for (const region of partition.regions)
        for (const variant of VARIANTS) {
          const sdk = service.endpointProvider({
            Region: region,
            UseFIPS: variant.fips,
            UseDualStack: variant.dualStack,
            ...service.extraParams,
          });
          const auth = sdk.properties?.authSchemes?.[0];
          const expected = { url: sdk.url.origin, signingRegion: auth?.signingRegion ?? region };
          expect(auth?.signingName ?? service.signingName).toBe(service.signingName);
          const where = `${region} fips=${variant.fips} dualstack=${variant.dualStack}`;
          if (supported(partition.id)) {
            const ours = resolveEndpoint(service.rule, region, envFor(variant));
            if (JSON.stringify(ours) !== JSON.stringify(expected))
              mismatches.push(`${where}: ours ${JSON.stringify(ours)}, SDK ${JSON.stringify(expected)}`);
          } else {
            expect(() => resolveEndpoint(service.rule, region, envFor(variant)), where).toThrow(
              new EndpointConfigError(
                `region ${region} is in partition ${partition.id}, which lkp does not support (only aws, aws-cn, aws-us-gov): its identities and endpoints are outside what lkp checks`,
              ),
            );
          }
        }
      expect(mismatches).toEqual([]);
    },
  );
});

describe('STS signing region of a configured endpoint', () => {
  it.each(
    sdkPartitions()
      .filter((p) => supported(p.id))
      .flatMap((p) => p.regions.flatMap((region) => VARIANTS.map((v) => [region, v] as const))),
  )('%s %o: the region the SDK signs for at that host', (region, variant) => {
    const sdk = SDK_SERVICES[0]!.endpointProvider({
      Region: region,
      UseFIPS: variant.fips,
      UseDualStack: variant.dualStack,
      UseGlobalEndpoint: false,
    });
    const signingRegion = sdk.properties?.authSchemes?.[0]?.signingRegion ?? region;
    expect(stsSigningRegionOfHost(sdk.url.host)).toBe(signingRegion);
  });

  it('is us-east-1 for the global endpoint, and unknown for other hosts', () => {
    expect(resolveEndpoint(STS_RULE, 'aws-global', {}).url).toBe('https://sts.amazonaws.com');
    expect(stsSigningRegionOfHost('sts.amazonaws.com')).toBe('us-east-1');
    expect(stsSigningRegionOfHost('STS.AMAZONAWS.COM')).toBe('us-east-1');
    expect(stsSigningRegionOfHost('127.0.0.1:4566')).toBeUndefined();
    expect(stsSigningRegionOfHost('sts.us-iso-east-1.c2s.ic.gov')).toBeUndefined();
  });
});
