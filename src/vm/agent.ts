/**
 * The guest agent of `cowbench vm`: /init starts it inside the VM. It runs each command of the
 * job with this package's CLI, relays its stdout and stderr as frames, sends back the files the
 * command created or changed under the job's roots, and reports each exit code. Only node
 * builtins and frames.js: it must start fast and never loads the addon itself.
 */
import { spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  closeSync,
} from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { TEMP_NAME } from '../clean.js';
import { encodeFrame, FRAME, MAX_PAYLOAD, type FrameKind, type GuestJob } from './frames.js';

const say = (line: string) => process.stderr.write(`cowbench-vm agent: ${line}\n`);

function uptime(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/** A `cowbench.NAME=value` parameter of the guest kernel's command line. */
function kernelParam(name: string): string | undefined {
  return new RegExp(`(?:^|\\s)cowbench\\.${name}=(\\S+)`).exec(readFileSync('/proc/cmdline', 'utf8'))?.[1];
}

/**
 * The virtio-serial port named `cowbench`, waited for up to `waitMs`; else the second UART.
 * `cowbench.channel=uart` on the kernel command line takes the UART at once (the fallback, tested).
 */
async function findChannel(waitMs: number): Promise<string> {
  if (kernelParam('channel') === 'uart') return '/dev/ttyS1';
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      for (const port of readdirSync('/sys/class/virtio-ports')) {
        const name = readFileSync(`/sys/class/virtio-ports/${port}/name`, 'utf8').trim();
        if (name === 'cowbench' && existsSync(`/dev/${port}`)) return `/dev/${port}`;
      }
    } catch {
      /* no virtio console (yet) */
    }
    if (Date.now() >= deadline) return '/dev/ttyS1';
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** path -> a stamp that changes when the file does; regular files only, one file system. */
function snapshot(roots: string[]): Map<string, string> {
  const seen = new Map<string, string>();
  const walk = (dir: string, dev: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const p = path.join(dir, name);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.dev !== dev) continue; // never into /proc, /sys, /dev or another mount
      if (st.isDirectory()) walk(p, dev);
      // A cowbench temporary is never a result: a killed run's unfinished image stays in the guest.
      else if (st.isFile() && !TEMP_NAME.test(name)) seen.set(p, `${st.ino}:${st.size}:${st.mtimeMs}`);
    }
  };
  for (const root of roots) {
    try {
      const st = lstatSync(root);
      if (st.isDirectory()) walk(root, st.dev);
    } catch {
      /* not created */
    }
  }
  return seen;
}

/** Set once the channel is open: the last word of an agent that cannot go on. */
let sendFatal: ((message: string) => Promise<void>) | null = null;

async function main(): Promise<number> {
  const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as GuestJob;
  const device = await findChannel(3000);
  const channel = createWriteStream(device, { flags: 'w' });
  let failed: Error | undefined;
  channel.on('error', (e) => {
    failed = e;
    say(`channel ${device}: ${e.message}`);
  });
  const send = async (kind: FrameKind, payload: Buffer | object) => {
    if (failed) throw failed;
    if (!channel.write(encodeFrame(kind, payload)))
      await new Promise<void>((resolve) => channel.once('drain', resolve));
  };
  sendFatal = (message) => send(FRAME.fatal, { message });
  await send(FRAME.hello, { channel: device, uptime_s: uptime() });
  // The host decides the accelerator after writing the job (auto may fall back): it is on the
  // kernel command line, and goes into every result's fingerprint through COWBENCH_VM.
  const accel = kernelParam('accel') ?? 'unknown';
  const facts = { ...(JSON.parse(job.env['COWBENCH_VM'] ?? '{}') as object), accel };
  const env = { ...process.env, ...job.env, COWBENCH_VM: JSON.stringify(facts) };

  for (const [index, argv] of job.commands.entries()) {
    const before = snapshot(job.roots);
    const started = Date.now();
    await send(FRAME.start, { index, argv });
    const child = spawn(process.execPath, [job.cli, ...argv], {
      cwd: job.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Frames keep the order the chunks arrived in; stdout and stderr interleave as they came.
    child.stdout.on('data', (d: Buffer) => void send(FRAME.stdout, d).catch(() => {}));
    child.stderr.on('data', (d: Buffer) => void send(FRAME.stderr, d).catch(() => {}));
    const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.on('error', (e) => {
        say(`could not start ${job.cli}: ${e.message}`);
        resolve({ code: 127, signal: null });
      });
      child.on('close', (c, s) => resolve({ code: c, signal: s }));
    });
    const after = snapshot(job.roots);
    for (const [file, stamp] of after) {
      if (before.get(file) === stamp) continue;
      await sendFile(file, send);
    }
    await send(FRAME.exit, { index, code, signal, seconds: (Date.now() - started) / 1000 });
  }
  await send(FRAME.done, { uptime_s: uptime() });
  await new Promise<void>((resolve) => channel.end(resolve));
  return 0;
}

async function sendFile(file: string, send: (k: FrameKind, p: Buffer | object) => Promise<void>) {
  const st = lstatSync(file);
  await send(FRAME.file, { path: file, mode: st.mode & 0o777, size: st.size });
  const fd = openSync(file, 'r');
  let crc = 0;
  let sent = 0;
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(MAX_PAYLOAD);
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      crc = crc32(chunk, crc);
      sent += n;
      await send(FRAME.data, chunk);
    }
  } finally {
    closeSync(fd);
  }
  await send(FRAME.end, { crc32: crc, size: sent });
}

main().then(
  (code) => process.exit(code),
  async (e: unknown) => {
    say(`failed: ${(e as Error)?.stack ?? String(e)}`);
    await sendFatal?.((e as Error)?.message ?? String(e)).catch(() => {});
    process.exit(1);
  },
);
