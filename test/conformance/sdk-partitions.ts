/**
 * The SDK's own partitions data, read from the installed @aws-sdk/core (the file its endpoint
 * resolver is built from), and the generated module src/aws/partitions-data.ts made from it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Partition } from '../../src/aws/partitions-data.js';

interface SdkPartitionsFile {
  partitions: {
    id: string;
    outputs: {
      dnsSuffix: string;
      dualStackDnsSuffix: string;
      implicitGlobalRegion: string;
      supportsFIPS: boolean;
      supportsDualStack: boolean;
    };
    regionRegex: string;
    regions: Record<string, unknown>;
  }[];
}

const require = createRequire(import.meta.url);
const sdkCore = dirname(require.resolve('@aws-sdk/core/package.json'));

export const sdkCoreVersion = (
  JSON.parse(readFileSync(join(sdkCore, 'package.json'), 'utf8')) as { version: string }
).version;

/** The partitions as the installed SDK knows them, in our shape. */
export function sdkPartitions(): Partition[] {
  const source = readFileSync(
    join(sdkCore, 'dist-es/submodules/client/util-endpoints/lib/aws/partitions.js'),
    'utf8',
  );
  // The module is one exported object literal written as JSON.
  const data = JSON.parse(
    source.slice(source.indexOf('{'), source.lastIndexOf('}') + 1),
  ) as SdkPartitionsFile;
  return data.partitions.map((p) => ({
    id: p.id,
    dnsSuffix: p.outputs.dnsSuffix,
    dualStackDnsSuffix: p.outputs.dualStackDnsSuffix,
    implicitGlobalRegion: p.outputs.implicitGlobalRegion,
    supportsFIPS: p.outputs.supportsFIPS,
    supportsDualStack: p.outputs.supportsDualStack,
    regionRegex: p.regionRegex,
    regions: Object.keys(p.regions),
  }));
}

/** The text of src/aws/partitions-data.ts for the installed SDK. */
export function partitionsModule(): string {
  return `/**
 * AWS partitions, regions and DNS suffixes as the AWS SDK v3 knows them: generated from the
 * partitions data of @aws-sdk/core ${sdkCoreVersion}. Do not edit: test/conformance/partitions.test.ts
 * fails when this is not what the installed SDK ships; LKP_WRITE_PARTITIONS=1 npx vitest run
 * test/conformance/partitions.test.ts writes it anew.
 */

export interface Partition {
  readonly id: string;
  readonly dnsSuffix: string;
  readonly dualStackDnsSuffix: string;
  /** The region a partition-wide endpoint (STS's global one) is signed for. */
  readonly implicitGlobalRegion: string;
  readonly supportsFIPS: boolean;
  readonly supportsDualStack: boolean;
  /** Regions not (yet) listed belong to the first partition whose pattern they match. */
  readonly regionRegex: string;
  readonly regions: readonly string[];
}

export const SDK_PARTITIONS: readonly Partition[] = ${JSON.stringify(sdkPartitions(), null, 2)};
`;
}
