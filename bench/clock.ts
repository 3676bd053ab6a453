/**
 * Milliseconds on the machine's monotonic clock (libuv's hrtime, CLOCK_MONOTONIC on Linux): one
 * clock for every process, so times taken in the CA child and in the stand-ins can be compared.
 */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;
