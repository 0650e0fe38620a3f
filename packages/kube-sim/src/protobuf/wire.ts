/**
 * The protobuf wire format, just enough to read Kubernetes objects: tags, varints, length-delimited fields
 * and fixed32/fixed64 (skipped or read). Every failure is a ProtobufDecodeError naming what was malformed.
 */

export class ProtobufDecodeError extends Error {
  override readonly name = 'ProtobufDecodeError';
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export interface Tag {
  field: number;
  wire: number;
}

export class ProtoReader {
  private pos: number;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  get offset(): number {
    return this.pos;
  }

  /** An unsigned varint as a BigInt (int64 values need all 64 bits; negative int32s are sign-extended to 10 bytes). */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new ProtobufDecodeError(`truncated varint at byte ${this.pos}`);
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new ProtobufDecodeError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** A varint read as a signed 64-bit integer (proto int32/int64), as a JS number. */
  int(): number {
    return Number(BigInt.asIntN(64, this.varint()));
  }

  tag(): Tag {
    const at = this.pos;
    const key = this.varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) throw new ProtobufDecodeError(`field number 0 at byte ${at}`);
    return { field, wire };
  }

  /** The payload of a length-delimited field. */
  bytes(): Uint8Array {
    const len = Number(this.varint());
    if (this.pos + len > this.end) {
      throw new ProtobufDecodeError(`length ${len} at byte ${this.pos} runs past the end of its message`);
    }
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  fixed(bytes: 4 | 8): void {
    if (this.pos + bytes > this.end) throw new ProtobufDecodeError(`truncated fixed${bytes * 8} at byte ${this.pos}`);
    this.pos += bytes;
  }

  /** Skip a field this reader has no use for (unknown fields are not an error). */
  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.fixed(8);
        return;
      case WIRE_LEN:
        this.bytes();
        return;
      case WIRE_FIXED32:
        this.fixed(4);
        return;
      default:
        // 3 and 4 are proto2 groups, which Kubernetes never uses; 6 and 7 do not exist.
        throw new ProtobufDecodeError(`unsupported wire type ${wire} at byte ${this.pos}`);
    }
  }
}
