/**
 * The one channel between the guest agent and the host runner (a virtio-serial port, or the
 * second UART where the guest kernel has no virtio console): length-prefixed frames, so the
 * inner command's stdout, its stderr and the files it wrote share one byte stream and come
 * apart exactly. A frame is `u32 LE payload length | u8 kind | payload`. This module imports
 * only node builtins: the guest agent loads it without the native addon.
 */

export const FRAME = {
  /** JSON: the agent is up ({ channel, uptime_s }). */
  hello: 1,
  /** JSON: command i starts ({ index, argv }). */
  start: 2,
  /** Bytes the inner command wrote to stdout / stderr. */
  stdout: 3,
  stderr: 4,
  /** JSON: a file follows ({ path, mode, size }); then `data` frames; then `end` ({ crc32 }). */
  file: 5,
  data: 6,
  end: 7,
  /** JSON: command i ended ({ index, code, signal, seconds }); its files were all sent before. */
  exit: 8,
  /** JSON: the agent could not go on ({ message }). */
  fatal: 9,
  /** JSON: every command ran ({ uptime_s }). */
  done: 10,
} as const;

export type FrameKind = (typeof FRAME)[keyof typeof FRAME];

const HEADER_BYTES = 5;
/** Larger payloads are split by the sender; a longer length is a corrupt stream. */
export const MAX_PAYLOAD = 1 << 20;

export function encodeFrame(kind: FrameKind, payload: Buffer | string | object): Buffer {
  const body = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
  if (body.length > MAX_PAYLOAD) throw new RangeError(`frame payload of ${body.length} bytes`);
  const head = Buffer.alloc(HEADER_BYTES);
  head.writeUInt32LE(body.length, 0);
  head.writeUInt8(kind, 4);
  return Buffer.concat([head, body]);
}

export interface Frame {
  kind: number;
  payload: Buffer;
}

/** Splits a byte stream into frames; throws on a length no sender writes (a corrupt stream). */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  push(chunk: Buffer): Frame[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: Frame[] = [];
    let buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    let off = 0;
    while (buf.length - off >= HEADER_BYTES) {
      const len = buf.readUInt32LE(off);
      const kind = buf.readUInt8(off + 4);
      if (len > MAX_PAYLOAD || kind < FRAME.hello || kind > FRAME.done)
        throw new Error(`corrupt frame (kind ${kind}, length ${len})`);
      if (buf.length - off < HEADER_BYTES + len) break;
      frames.push({ kind, payload: buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len) });
      off += HEADER_BYTES + len;
    }
    buf = buf.subarray(off);
    this.pending = buf.length ? [Buffer.from(buf)] : [];
    this.pendingBytes = buf.length;
    return frames;
  }

  /** Bytes of an incomplete frame still held. */
  get buffered(): number {
    return this.pendingBytes;
  }
}

/** What the host writes into the initramfs for the agent (/cowbench/job.json). */
export interface GuestJob {
  /** Each command's argv after `cowbench`. */
  commands: string[][];
  /** The host's working directory: the commands run in the same path inside the guest. */
  cwd: string;
  /** Directories whose new or changed files come back to the host after each command. */
  roots: string[];
  /** Directories that exist on the host and must in the guest (the --out directories). */
  dirs: string[];
  /** bin/cowbench.js of the package, at its host path. */
  cli: string;
  /** Environment of the inner commands (COWBENCH_VM: the facts env.ts records). */
  env: Record<string, string>;
}
