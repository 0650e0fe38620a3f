/**
 * UUIDs (v4) for metadata.uid as flat strings. crypto.randomUUID() builds its text from twenty concatenated
 * pieces, which V8 keeps as a tree of ~20 string nodes (~600 bytes instead of ~60); with tens of thousands of
 * objects (Events mostly) that was 15% of the store's live heap.
 */
import { randomFillSync } from 'node:crypto';

const POOL = 256;
const random = Buffer.alloc(16 * POOL);
let next = POOL;
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const text = Buffer.alloc(36);

export function newUid(): string {
  if (next === POOL) {
    randomFillSync(random);
    next = 0;
  }
  const at = 16 * next++;
  random[at + 6] = (random[at + 6]! & 0x0f) | 0x40; // version 4
  random[at + 8] = (random[at + 8]! & 0x3f) | 0x80; // variant 10
  let o = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text[o++] = 0x2d; // '-'
    const b = random[at + i]!;
    text[o++] = HEX[b >> 4]!;
    text[o++] = HEX[b & 15]!;
  }
  // One flat one-byte string.
  return text.toString('latin1');
}
