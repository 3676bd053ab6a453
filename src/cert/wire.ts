/**
 * The SSH wire encoding (RFC 4251 §5): uint32, uint64, string and mpint, as used by public key
 * blobs, certificates (PROTOCOL.certkeys) and private key files (PROTOCOL.key).
 */

const UINT64_MAX = (1n << 64n) - 1n;

export function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

export function uint64(value: bigint): Buffer {
  if (value < 0n || value > UINT64_MAX) throw new RangeError('uint64 out of range');
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(value);
  return out;
}

/** string: uint32 length followed by the bytes. Text is encoded as UTF-8. */
export function sshString(data: Uint8Array | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  return Buffer.concat([uint32(bytes.length), bytes]);
}

/**
 * mpint of a non-negative integer given as big-endian magnitude bytes: no unnecessary leading
 * zero bytes, plus one 0x00 when the high bit is set (it would otherwise read as negative).
 */
export function mpintFromUnsigned(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  const digits = Buffer.from(magnitude.subarray(start));
  const needsPad = digits.length > 0 && (digits[0] ?? 0) >= 0x80;
  return sshString(needsPad ? Buffer.concat([Buffer.of(0), digits]) : digits);
}

/**
 * Writes SSH wire values into one growing buffer: a certificate is a few dozen small fields, and
 * building each as its own Buffer and concatenating them cost more than the rest of the encoder.
 */
export class SshWriter {
  private buf = Buffer.allocUnsafe(1024);
  private used = 0;

  get length(): number {
    return this.used;
  }

  uint32(value: number): this {
    this.reserve(4);
    this.used = this.buf.writeUInt32BE(value, this.used);
    return this;
  }

  uint64(value: bigint): this {
    if (value < 0n || value > UINT64_MAX) throw new RangeError('uint64 out of range');
    this.reserve(8);
    this.used = this.buf.writeBigUInt64BE(value, this.used);
    return this;
  }

  /** string: uint32 length followed by the bytes. Text is encoded as UTF-8. */
  string(data: Uint8Array | string): this {
    if (typeof data !== 'string') return this.uint32(data.length).raw(data);
    const length = Buffer.byteLength(data, 'utf8');
    this.uint32(length).reserve(length);
    this.used += this.buf.write(data, this.used, 'utf8');
    return this;
  }

  /** A string whose content is whatever `write` writes (a list of names, an option's data). */
  nested(write: (w: this) => void): this {
    const at = this.used;
    this.uint32(0);
    write(this);
    this.buf.writeUInt32BE(this.used - at - 4, at);
    return this;
  }

  /** Bytes as they are, with no length. */
  raw(data: Uint8Array): this {
    this.reserve(data.length);
    this.buf.set(data, this.used);
    this.used += data.length;
    return this;
  }

  /** The bytes written so far. A view: later writes never change it, they go to the rest or a new buffer. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.used);
  }

  private reserve(size: number): this {
    if (this.used + size > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + size));
      this.buf.copy(grown, 0, 0, this.used);
      this.buf = grown;
    }
    return this;
  }
}

/** Reads SSH wire values from a buffer; every problem is reported through `fail` (the caller picks the error type). */
export class SshReader {
  private offset = 0;

  constructor(
    private readonly data: Buffer,
    private readonly fail: (problem: string) => Error,
  ) {}

  get position(): number {
    return this.offset;
  }

  /** The bytes between `from` and the current position (e.g. the signed part of a certificate). */
  slice(from: number): Buffer {
    return this.data.subarray(from, this.offset);
  }

  uint32(): number {
    return this.take(4).readUInt32BE(0);
  }

  uint64(): bigint {
    return this.take(8).readBigUInt64BE(0);
  }

  string(): Buffer {
    return this.take(this.uint32());
  }

  /** A string that must be printable ASCII (names, key types, key ids). */
  ascii(): string {
    const bytes = this.string();
    if (!/^[\x20-\x7e]*$/.test(bytes.toString('latin1')))
      throw this.fail('a name contains non-printable characters');
    return bytes.toString('latin1');
  }

  /** A non-negative mpint in canonical form; returns its magnitude (no leading zeros). */
  unsignedMpint(): Buffer {
    const bytes = this.string();
    if (bytes.length === 0) return bytes;
    if ((bytes[0] ?? 0) >= 0x80) throw this.fail('a number is negative');
    if (bytes[0] === 0 && (bytes.length === 1 || (bytes[1] ?? 0) < 0x80)) {
      throw this.fail('a number has unnecessary leading zeros');
    }
    return bytes[0] === 0 ? bytes.subarray(1) : bytes;
  }

  /** Everything not read yet (e.g. the padding of a private key section). */
  rest(): Buffer {
    return this.take(this.data.length - this.offset);
  }

  /** Fails unless every byte was consumed: trailing data is never ignored. */
  end(): void {
    if (this.offset !== this.data.length) throw this.fail('unexpected trailing data');
  }

  private take(length: number): Buffer {
    if (length > this.data.length - this.offset) throw this.fail('data is truncated');
    const out = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }
}
