/**
 * src/aws/partitions-data.ts is the SDK's own partitions data: an SDK update that adds a region or
 * a partition fails here until the table is regenerated (LKP_WRITE_PARTITIONS=1, then npm run format).
 */
import { writeFileSync } from 'node:fs';
import { partition as sdkPartition } from '@aws-sdk/core/client';
import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../src/aws/endpoints.js';
import { SDK_PARTITIONS } from '../../src/aws/partitions-data.js';
import { partitionsModule, sdkCoreVersion, sdkPartitions } from './sdk-partitions.js';

describe('the partitions table', () => {
  if (process.env['LKP_WRITE_PARTITIONS'] === '1')
    writeFileSync(new URL('../../src/aws/partitions-data.ts', import.meta.url), partitionsModule());

  it(`is the partitions data of the installed @aws-sdk/core (${sdkCoreVersion})`, () => {
    expect(SDK_PARTITIONS).toEqual(sdkPartitions());
  });

  it('puts every region, and unlisted ones by pattern, in the partition the SDK does', () => {
    const regions = [
      ...SDK_PARTITIONS.flatMap((p) => p.regions),
      'us-east-9',
      'ap-southeast-12',
      'cn-south-7',
      'us-gov-central-3',
      'us-iso-north-2',
      'eusc-de-west-1',
    ];
    for (const region of regions) expect(partitionOf(region)?.id, region).toBe(sdkPartition(region).name);
  });

  it('puts no partition on what the SDK would default to aws (it is not a region)', () => {
    for (const notRegion of ['xx-nowhere-1', 'US-EAST-1', 'us-east-1.evil.example', ''])
      expect(partitionOf(notRegion), notRegion).toBeUndefined();
  });
});
