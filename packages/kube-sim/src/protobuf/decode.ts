/**
 * Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) to the JSON object the API server
 * would see: the `k8s\0` envelope, runtime.Unknown {typeMeta, raw, contentEncoding, contentType}, then `raw`
 * decoded through the field tables in ./tables. kubectl 1.32+ sends these from `kubectl create <kind>`.
 */
import { KINDS, MESSAGES } from './tables';
import { ProtobufDecodeError, ProtoReader, WIRE_LEN, WIRE_VARINT } from './wire';

export { ProtobufDecodeError } from './wire';

const MAGIC = [0x6b, 0x38, 0x73, 0x00]; // "k8s\0"

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

/** Thrown for a well-formed envelope of a kind that has no field table. */
export class UnsupportedKindError extends Error {
  override readonly name = 'UnsupportedKindError';
  constructor(
    readonly apiVersion: string,
    readonly kind: string,
  ) {
    super(`no protobuf field table for ${apiVersion ? `${apiVersion}, ` : ''}Kind=${kind}`);
  }
}

/** The kinds decodeObject() reads, as `apiVersion/Kind`. */
export const decodedKinds: readonly string[] = Object.keys(KINDS);

function text(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ProtobufDecodeError(`${what} is not valid UTF-8`);
  }
}

export function readEnvelope(body: Uint8Array): Envelope {
  if (body.length < MAGIC.length || MAGIC.some((b, i) => body[i] !== b)) {
    throw new ProtobufDecodeError('the body does not start with the Kubernetes protobuf prefix "k8s\\0"');
  }
  const env: Envelope = { apiVersion: '', kind: '', raw: new Uint8Array(), contentEncoding: '', contentType: '' };
  const r = new ProtoReader(body, MAGIC.length);
  while (!r.done) {
    const { field, wire } = r.tag();
    if (wire !== WIRE_LEN) {
      r.skip(wire);
      continue;
    }
    const bytes = r.bytes();
    if (field === 1) {
      const t = new ProtoReader(bytes);
      while (!t.done) {
        const tag = t.tag();
        if (tag.wire !== WIRE_LEN) t.skip(tag.wire);
        else if (tag.field === 1) env.apiVersion = text(t.bytes(), 'typeMeta.apiVersion');
        else if (tag.field === 2) env.kind = text(t.bytes(), 'typeMeta.kind');
        else t.bytes();
      }
    } else if (field === 2) env.raw = bytes;
    else if (field === 3) env.contentEncoding = text(bytes, 'contentEncoding');
    else if (field === 4) env.contentType = text(bytes, 'contentType');
  }
  if (!env.kind) throw new ProtobufDecodeError('the envelope names no kind (typeMeta.kind is empty)');
  return env;
}

/** Seconds since the epoch as Kubernetes writes metav1.Time in JSON: RFC 3339, whole seconds, UTC. */
function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function decodeTime(bytes: Uint8Array): string | null {
  const r = new ProtoReader(bytes);
  let seconds = 0;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_VARINT) seconds = r.int();
    else r.skip(wire); // nanos: JSON Time has whole seconds only
  }
  // The zero Time is `null` in JSON (e.g. `creationTimestamp: null` from kubectl's generators).
  return seconds === 0 ? null : rfc3339(seconds);
}

function decodeQuantity(bytes: Uint8Array): string {
  const r = new ProtoReader(bytes);
  let value = '';
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) value = text(r.bytes(), 'a Quantity');
    else r.skip(wire);
  }
  return value || '0';
}

function decodeIntOrString(bytes: Uint8Array): number | string {
  const r = new ProtoReader(bytes);
  let type = 0;
  let intVal = 0;
  let strVal = '';
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_VARINT) type = r.int();
    else if (field === 2 && wire === WIRE_VARINT) intVal = r.int();
    else if (field === 3 && wire === WIRE_LEN) strVal = text(r.bytes(), 'an IntOrString');
    else r.skip(wire);
  }
  return type === 1 ? strVal : intVal;
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false;
}

/** One value of a field (one element of a repeated field). */
function decodeValue(type: string, wire: number, r: ProtoReader, path: string): unknown {
  const expect = (w: number) => {
    if (wire !== w) throw new ProtobufDecodeError(`${path}: wire type ${wire} where ${type} needs ${w}`);
  };
  switch (type) {
    case 'string':
      expect(WIRE_LEN);
      return text(r.bytes(), path);
    case 'bytes':
      expect(WIRE_LEN);
      return Buffer.from(r.bytes()).toString('base64');
    case 'bool':
      expect(WIRE_VARINT);
      return r.varint() !== 0n;
    case 'int32':
    case 'int64':
      expect(WIRE_VARINT);
      return r.int();
    case 'Time':
      expect(WIRE_LEN);
      return decodeTime(r.bytes());
    case 'Quantity':
      expect(WIRE_LEN);
      return decodeQuantity(r.bytes());
    case 'IntOrString':
      expect(WIRE_LEN);
      return decodeIntOrString(r.bytes());
    default:
      expect(WIRE_LEN);
      return decodeMessage(type, r.bytes(), path);
  }
}

/** A map entry: a message with the key in field 1 and the value in field 2. */
function decodeMapEntry(valueType: string, bytes: Uint8Array, path: string): [string, unknown] {
  const r = new ProtoReader(bytes);
  let key = '';
  let value: unknown;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) key = text(r.bytes(), `${path} key`);
    else if (field === 2) value = decodeValue(valueType, wire, r, `${path}[${JSON.stringify(key)}]`);
    else r.skip(wire);
  }
  // An absent value is the zero value of its type.
  return [key, value === undefined ? zeroOf(valueType) : value];
}

function zeroOf(type: string): unknown {
  switch (type) {
    case 'string':
    case 'bytes':
      return '';
    case 'bool':
      return false;
    case 'int32':
    case 'int64':
    case 'IntOrString':
      return 0;
    case 'Time':
      return null;
    case 'Quantity':
      return '0';
    default:
      return {};
  }
}

const PACKABLE = new Set(['bool', 'int32', 'int64']);

/** Decode a message through its field table into the object its JSON form would be. */
export function decodeMessage(message: string, bytes: Uint8Array, path = message): Record<string, unknown> {
  const fields = MESSAGES.get(message);
  if (!fields) throw new ProtobufDecodeError(`${path}: no table for message ${message}`);
  const out: Record<string, unknown> = {};
  const r = new ProtoReader(bytes);
  while (!r.done) {
    const { field, wire } = r.tag();
    const spec = fields.get(field);
    if (!spec) {
      // Fields newer than the tables (or not needed for what kubectl creates) are skipped, like an old server would.
      r.skip(wire);
      continue;
    }
    if (spec.inline) {
      if (wire !== WIRE_LEN) throw new ProtobufDecodeError(`${path}: wire type ${wire} for embedded ${spec.type}`);
      Object.assign(out, decodeMessage(spec.type, r.bytes(), path));
      continue;
    }
    const at = `${path}.${spec.name}`;
    if (spec.map) {
      if (wire !== WIRE_LEN) throw new ProtobufDecodeError(`${at}: wire type ${wire} for a map entry`);
      const [k, v] = decodeMapEntry(spec.type, r.bytes(), at);
      out[spec.name] ??= {};
      (out[spec.name] as Record<string, unknown>)[k] = v;
    } else if (spec.repeated) {
      out[spec.name] ??= [];
      const list = out[spec.name] as unknown[];
      if (wire === WIRE_LEN && PACKABLE.has(spec.type)) {
        // Packed repeated scalars: one length-delimited run of varints.
        const packed = new ProtoReader(r.bytes());
        while (!packed.done) list.push(decodeValue(spec.type, WIRE_VARINT, packed, at));
      } else list.push(decodeValue(spec.type, wire, r, `${at}[${list.length}]`));
    } else {
      const v = decodeValue(spec.type, wire, r, at);
      if (isZero(v) && !spec.keepZero) delete out[spec.name];
      else out[spec.name] = v;
    }
  }
  return out;
}

/** Decode a `k8s\0`-prefixed protobuf object into its JSON form, apiVersion and kind included. */
export function decodeObject(body: Uint8Array): Record<string, unknown> {
  const env = readEnvelope(body);
  if (env.contentEncoding) {
    throw new ProtobufDecodeError(`the envelope's contentEncoding "${env.contentEncoding}" is not supported`);
  }
  const root = KINDS[`${env.apiVersion}/${env.kind}`];
  if (!root) throw new UnsupportedKindError(env.apiVersion, env.kind);
  return { apiVersion: env.apiVersion, kind: env.kind, ...decodeMessage(root, env.raw, env.kind) };
}
