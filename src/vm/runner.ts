/**
 * `cowbench vm`: boots a kernel in QEMU with the guest built from this cowbench (guest.ts), runs
 * the commands inside through the agent (agent.ts), relays their output live and brings back
 * the files they wrote, and answers with the inner exit code.
 *
 * Channels: the kernel console (ttyS0) is QEMU's stdout, kept as the last lines for a failure
 * message; the agent's frames arrive on a virtio-serial port, or on the second UART (ttyS1)
 * where the kernel has no virtio console. Both are unix sockets this process listens on.
 *
 * Accelerator: `auto` tries KVM, and falls back to TCG when KVM cannot run the kernel. A host
 * whose KVM cannot (a pagetable-based nested hypervisor such as PVM booting a stock kernel)
 * either stops the guest with "KVM internal error" (QEMU pauses, it does not exit) or runs it
 * without the kernel ever printing: both are seen within seconds, not at a timeout.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { CowbenchError } from '../errors.js';
import { tempNameBeside } from '../output.js';
import { cacheDir } from './fetch.js';
import { FRAME, FrameReader, type GuestJob } from './frames.js';
import {
  CLI_SCRIPT,
  planGuest,
  vmPackageRoot,
  writeBaseInitramfs,
  writeJobInitramfs,
  type CarriedFile,
} from './guest.js';
import { configValue, modulesFor, type GuestModule, type KernelImage } from './kernel.js';

export type Accel = 'auto' | 'kvm' | 'tcg';

export interface VmOptions {
  kernel: KernelImage;
  /** A short name for the kernel (debian-6.1, or the image's file name). */
  kernelName: string;
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  /** Whole run (boot, commands, copy back); null: none. */
  timeoutS: number | null;
  append: string;
  keep: boolean;
  commands: string[][];
  /** Directories the commands write into (cwd, the parents of --out files): created in the guest. */
  dirs: string[];
  /** The outermost of them: walked for new files after each command. */
  roots: string[];
  /** Host files copied into the guest at the same path (an earlier bench results.json). */
  carry: CarriedFile[];
  cwd: string;
  verbose: boolean;
  gitCommit: string;
}

export interface VmHooks {
  stdout(b: Buffer): void;
  stderr(b: Buffer): void;
  /** One line of the runner's own ("cowbench vm: …" is prefixed by the caller). */
  note(line: string): void;
  /** Each command's start and end (a --script run prints them between the outputs). */
  onStart?(index: number, argv: string[]): void;
  onExit?(index: number, code: number, seconds: number): void;
}

export interface CommandOutcome {
  argv: string[];
  code: number | null;
  signal: string | null;
  seconds: number | null;
  stdout: string;
  stderr: string;
  files: string[];
}

export interface VmOutcome {
  exitCode: number;
  /** One line when the VM itself failed (not the inner command). */
  error: string | null;
  accel: 'kvm' | 'tcg' | null;
  accelReason: string;
  channel: string | null;
  commands: CommandOutcome[];
  timings: {
    initramfs_build_s: number;
    initramfs_bytes: number;
    initramfs_reused: boolean;
    boot_to_agent_s: number | null;
    /** Guest uptime when the agent started (kernel boot + init). */
    guest_uptime_at_agent_s: number | null;
    commands_s: number | null;
    copy_back_bytes: number;
    copy_back_s: number;
    shutdown_s: number | null;
    total_s: number;
  };
  consoleTail: string[];
}

const CONSOLE_LINES = 40;
/** A kernel prints "Linux version" within a second or two under KVM; none by then: KVM cannot run it. */
export const KVM_ALIVE_S = 8;

export function findQemu(): string | null {
  for (const dir of (process.env['PATH'] ?? '/usr/bin:/bin').split(':')) {
    const p = path.join(dir || '.', 'qemu-system-x86_64');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

export function requireQemu(): string {
  const q = findQemu();
  if (q === null)
    throw new CowbenchError(
      'EUNSUPPORTED',
      'vm: qemu-system-x86_64 is not installed; Debian and Ubuntu ship it in the package qemu-system-x86 (apt-get install qemu-system-x86)',
      { exitCode: 2 },
    );
  return q;
}

/** Why KVM cannot be tried here, or null when /dev/kvm opens. */
export function kvmUnavailable(): string | null {
  try {
    closeSync(openSync('/dev/kvm', constants.O_RDWR));
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no /dev/kvm' : `/dev/kvm: ${code}`;
  }
}

/** Which modules the guest must load for the virtio console; a note when the UART must do. */
export function virtioPlan(k: KernelImage): { modules: GuestModule[]; note: string | null } {
  const roots = ['virtio_pci', 'virtio_console'].filter((_, i) => {
    const v = configValue(k.config, i === 0 ? 'CONFIG_VIRTIO_PCI' : 'CONFIG_VIRTIO_CONSOLE');
    return v !== 'y';
  });
  if (k.config !== null && roots.length === 0) return { modules: [], note: null };
  const slow = 'results come back over the second UART (~0.2 MB/s under TCG)';
  if (k.config !== null && configValue(k.config, 'CONFIG_VIRTIO_CONSOLE') === 'n')
    return { modules: [], note: `the kernel has no virtio console (CONFIG_VIRTIO_CONSOLE unset): ${slow}` };
  if (k.modulesDir === null)
    return {
      modules: [],
      note:
        k.config === null
          ? null // unknown: the agent looks for the port, else uses the UART
          : `the virtio console is a module and no modules were found beside the image: ${slow}`,
    };
  const found = modulesFor(k.modulesDir, roots);
  if ('missing' in found)
    return { modules: [], note: `module ${found.missing} not found in ${k.modulesDir}: ${slow}` };
  return { modules: found.modules, note: null };
}

function tmpRoot(): string {
  // cowbench-PID-XXXXXX: the scratch naming `cowbench clean` removes once this process is gone.
  return mkdtempSync(path.join(os.tmpdir(), `cowbench-${process.pid}-`));
}

/** Receives files into temporaries beside their destinations; commits them per command. */
export class Receiver {
  private staged: { tmp: string; final: string }[] = [];
  private current: { fd: number; tmp: string; final: string; size: number; crc: number; got: number } | null =
    null;
  private createdDirs: string[] = [];
  bytes = 0;
  seconds = 0;
  private began = 0;

  /** Files that did not replace their host file, which changed while the guest ran. */
  readonly conflicts: string[] = [];
  /** Each carried host file's identity when it was copied into the guest. */
  private readonly carried = new Map<string, string>();

  constructor(
    private readonly roots: string[],
    carry: { path: string }[] = [],
  ) {
    for (const c of carry) this.carried.set(path.resolve(c.path), Receiver.stamp(c.path) ?? 'absent');
  }

  private static stamp(file: string): string | null {
    try {
      const st = lstatSync(file);
      return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return null;
    }
  }

  begin(meta: { path: string; mode: number; size: number }): void {
    const final = path.resolve(meta.path);
    if (!this.roots.some((r) => final === r || final.startsWith(r.endsWith('/') ? r : r + '/')))
      throw new Error(`the guest sent ${final}, outside the directories it may write`);
    this.mkdirs(path.dirname(final));
    const tmp = tempNameBeside(final);
    const fd = openSync(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      meta.mode & 0o777,
    );
    this.current = { fd, tmp, final, size: meta.size, crc: 0, got: 0 };
    this.began = performance.now();
  }

  data(b: Buffer): void {
    const c = this.current;
    if (!c) throw new Error('file data outside a file');
    for (let off = 0; off < b.length;) off += writeSync(c.fd, b, off, b.length - off);
    c.crc = crc32(b, c.crc);
    c.got += b.length;
  }

  end(meta: { crc32: number; size: number }): void {
    const c = this.current;
    if (!c) throw new Error('file end outside a file');
    closeSync(c.fd);
    this.current = null;
    if (c.got !== meta.size || c.crc !== meta.crc32) {
      rmSync(c.tmp, { force: true });
      throw new Error(
        `${c.final} came back damaged (${c.got} of ${meta.size} bytes, crc ${c.crc} vs ${meta.crc32})`,
      );
    }
    this.bytes += c.got;
    this.seconds += (performance.now() - this.began) / 1000;
    this.staged.push({ tmp: c.tmp, final: c.final });
  }

  /**
   * Puts the staged files in place; returns their paths. A file carried into the guest that
   * changed on the host meanwhile (another run wrote it) is not replaced: the guest's version
   * goes beside it, FILE.vm-PID, and is named in `conflicts`.
   */
  commit(): string[] {
    const done = this.staged.map((s) => {
      const carried = this.carried.get(s.final);
      if (carried !== undefined && (Receiver.stamp(s.final) ?? 'absent') !== carried) {
        const beside = `${s.final}.vm-${process.pid}`;
        renameSync(s.tmp, beside);
        this.conflicts.push(beside);
        return beside;
      }
      renameSync(s.tmp, s.final);
      if (carried !== undefined) this.carried.set(s.final, Receiver.stamp(s.final) ?? 'absent');
      return s.final;
    });
    this.staged = [];
    this.createdDirs = [];
    return done;
  }

  /** Removes every temporary, and the directories made for them that stayed empty. */
  abort(): void {
    if (this.current) {
      try {
        closeSync(this.current.fd);
      } catch {
        /* closed */
      }
      rmSync(this.current.tmp, { force: true });
      this.current = null;
    }
    for (const s of this.staged) rmSync(s.tmp, { force: true });
    this.staged = [];
    for (const d of this.createdDirs.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        /* not empty: something else is in it */
      }
    }
    this.createdDirs = [];
  }

  private mkdirs(dir: string): void {
    const missing: string[] = [];
    for (let d = dir; ; d = path.dirname(d)) {
      try {
        if (!statSync(d).isDirectory()) throw new Error(`${d} is not a directory`);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        missing.unshift(d);
      }
    }
    for (const d of missing) {
      mkdirSync(d);
      this.createdDirs.push(d);
    }
  }
}

interface BootResult {
  kind: 'done' | 'kvm-failed' | 'timeout' | 'signal' | 'guest-ended' | 'qemu-failed' | 'protocol';
  detail: string;
}

/** Runs the commands in a VM. Never throws for what happens inside the guest: see VmOutcome. */
export async function runVm(o: VmOptions, hooks: VmHooks, abort: AbortSignal): Promise<VmOutcome> {
  const qemu = requireQemu();
  const t0 = performance.now();
  const since = (t: number) => (performance.now() - t) / 1000;
  const outcome: VmOutcome = {
    exitCode: 1,
    error: null,
    accel: null,
    accelReason: '',
    channel: null,
    commands: o.commands.map((argv) => ({
      argv,
      code: null,
      signal: null,
      seconds: null,
      stdout: '',
      stderr: '',
      files: [],
    })),
    timings: {
      initramfs_build_s: 0,
      initramfs_bytes: 0,
      initramfs_reused: false,
      boot_to_agent_s: null,
      guest_uptime_at_agent_s: null,
      commands_s: null,
      copy_back_bytes: 0,
      copy_back_s: 0,
      shutdown_s: null,
      total_s: 0,
    },
    consoleTail: [],
  };
  const dir = tmpRoot();
  const receiver = new Receiver(o.roots, o.carry);
  let qemuChild: ChildProcess | null = null;
  const stopQemu = () => {
    if (qemuChild && qemuChild.exitCode === null && qemuChild.signalCode === null) qemuChild.kill('SIGKILL');
  };
  // A forced exit (second signal) still removes what this run created.
  const onExit = () => {
    stopQemu();
    receiver.abort();
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  try {
    // The guest: the large archive (kept with --keep), then the job appended.
    const tBuild = performance.now();
    const plan = planGuest();
    const virtio = virtioPlan(o.kernel);
    if (virtio.note) hooks.note(virtio.note);
    const hostname = `vm-${o.kernel.release ?? 'linux'}`.slice(0, 63);
    const extras = { hostname, release: o.kernel.release, config: o.kernel.config, modules: virtio.modules };
    const initrd = path.join(dir, 'initrd.cpio');
    const kernelKey = `${o.kernel.release ?? 'x'}-${virtio.modules.map((m) => m.name).join('+') || 'nomod'}-${o.kernel.config?.length ?? 0}`;
    const keptPath = path.join(
      cacheDir(),
      'initramfs',
      `${plan.key}-${kernelKey}.cpio`.replace(/[^A-Za-z0-9._+-]/g, '_'),
    );
    if (o.keep) {
      let reused = false;
      try {
        statSync(keptPath);
        reused = true;
      } catch {
        mkdirSync(path.dirname(keptPath), { recursive: true });
        const tmp = `${keptPath}.cowbench-${process.pid}.tmp`;
        writeBaseInitramfs(tmp, plan, extras);
        renameSync(tmp, keptPath);
      }
      copyFileSync(keptPath, initrd);
      outcome.timings.initramfs_reused = reused;
      hooks.note(`initramfs ${reused ? 'reused from' : 'kept at'} ${keptPath}`);
    } else writeBaseInitramfs(initrd, plan, extras);
    const job: GuestJob = {
      commands: o.commands,
      cwd: o.cwd,
      roots: o.roots,
      dirs: o.dirs,
      cli: CLI_SCRIPT,
      env: {
        COWBENCH_VM: JSON.stringify({ git_commit: o.gitCommit, kernel: o.kernelName }),
        HOME: '/root',
        PATH: '/bin:/sbin:/usr/bin:/usr/sbin',
      },
    };
    const jobFile = path.join(dir, 'job.cpio');
    writeJobInitramfs(jobFile, job, o.carry);
    const fd = openSync(initrd, 'a');
    try {
      const data = readFileSync(jobFile);
      for (let off = 0; off < data.length;) off += writeSync(fd, data, off, data.length - off);
    } finally {
      closeSync(fd);
    }
    outcome.timings.initramfs_bytes = statSync(initrd).size;
    outcome.timings.initramfs_build_s = since(tBuild);
    if (o.verbose)
      hooks.note(
        `guest: ${plan.files.length} files, initramfs ${(outcome.timings.initramfs_bytes / 2 ** 20).toFixed(0)} MiB in ${outcome.timings.initramfs_build_s.toFixed(1)} s (package ${vmPackageRoot})`,
      );

    // The accelerator.
    let accel: 'kvm' | 'tcg';
    if (o.accel === 'tcg') {
      accel = 'tcg';
      outcome.accelReason = 'asked for (--accel tcg)';
    } else {
      const why = kvmUnavailable();
      if (why === null) {
        accel = 'kvm';
        outcome.accelReason = o.accel === 'kvm' ? 'asked for (--accel kvm)' : '/dev/kvm opens';
      } else if (o.accel === 'kvm') {
        throw new CowbenchError('EUNSUPPORTED', `vm: --accel kvm: ${why}`, { exitCode: 2 });
      } else {
        accel = 'tcg';
        outcome.accelReason = `${why}: the CPU is emulated, times are not comparable`;
      }
    }
    if (accel === 'tcg' || o.accel === 'kvm') hooks.note(`accel ${accel}: ${outcome.accelReason}`);

    const deadline = o.timeoutS === null ? null : t0 + o.timeoutS * 1000;
    let result: BootResult;
    for (;;) {
      outcome.accel = accel;
      result = await boot(accel);
      if (result.kind === 'kvm-failed' && o.accel === 'auto') {
        accel = 'tcg';
        outcome.accelReason = `KVM could not run this kernel (${result.detail}): the CPU is emulated, times are not comparable`;
        hooks.note(`accel tcg: ${outcome.accelReason}`);
        continue;
      }
      break;
    }
    switch (result.kind) {
      case 'done': {
        const firstBad = outcome.commands.find((c) => c.code !== 0);
        outcome.exitCode = firstBad ? (firstBad.code ?? 1) : 0;
        if (receiver.conflicts.length > 0) {
          outcome.error = `${receiver.conflicts.length} file(s) changed on the host while the guest ran; the guest's versions are beside them: ${receiver.conflicts.join(', ')}`;
          if (outcome.exitCode === 0) outcome.exitCode = 1;
        }
        break;
      }
      case 'signal':
        outcome.exitCode = Number(result.detail);
        outcome.error = `interrupted: the VM was stopped; what the running command wrote was not kept`;
        break;
      case 'kvm-failed':
        outcome.error = `KVM could not run this kernel: ${result.detail} (try --accel tcg)`;
        break;
      case 'timeout':
        outcome.error = `the guest outlived --timeout ${o.timeoutS} s (${result.detail}); stopped it`;
        break;
      default:
        outcome.error = result.detail;
    }
    if (result.kind !== 'done') receiver.abort();
    return outcome;

    function boot(accel: 'kvm' | 'tcg'): Promise<BootResult> {
      return new Promise<BootResult>((resolve) => {
        const tBoot = performance.now();
        const sockets = { data: path.join(dir, 'data.sock'), uart: path.join(dir, 'uart.sock') };
        for (const s of Object.values(sockets)) rmSync(s, { force: true });
        const consoleTail: string[] = [];
        let consolePartial = '';
        let alive = false;
        let panic: string | null = null;
        let settled: BootResult | null = null;
        let channelName: string | null = null;
        const stderrLines: string[] = [];
        const reader = new FrameReader();
        let current = -1;
        const timers: NodeJS.Timeout[] = [];
        const servers: net.Server[] = [];
        let tCommands = 0;
        let tDone = 0;

        const finish = (r: BootResult) => {
          if (settled) return;
          settled = r;
          stopQemu();
        };
        const onFrame = (kind: number, payload: Buffer) => {
          const json = () => JSON.parse(payload.toString()) as Record<string, unknown>;
          switch (kind) {
            case FRAME.hello: {
              const h = json();
              channelName = String(h['channel']);
              outcome.channel = channelName;
              outcome.timings.boot_to_agent_s = since(tBoot);
              outcome.timings.guest_uptime_at_agent_s = Number(h['uptime_s']);
              tCommands = performance.now();
              if (o.verbose)
                hooks.note(
                  `guest up in ${outcome.timings.boot_to_agent_s.toFixed(1)} s (guest uptime ${String(h['uptime_s'])} s), channel ${channelName}`,
                );
              break;
            }
            case FRAME.start: {
              current = Number(json()['index']);
              hooks.onStart?.(current, o.commands[current] ?? []);
              break;
            }
            case FRAME.stdout:
              if (outcome.commands[current]) outcome.commands[current]!.stdout += payload.toString();
              hooks.stdout(payload);
              break;
            case FRAME.stderr:
              if (outcome.commands[current]) outcome.commands[current]!.stderr += payload.toString();
              hooks.stderr(payload);
              break;
            case FRAME.file:
              receiver.begin(json() as { path: string; mode: number; size: number });
              break;
            case FRAME.data:
              receiver.data(payload);
              break;
            case FRAME.end:
              receiver.end(json() as { crc32: number; size: number });
              break;
            case FRAME.exit: {
              const e = json();
              const c = outcome.commands[Number(e['index'])];
              if (!c) throw new Error(`exit of command ${String(e['index'])}`);
              const conflictsBefore = receiver.conflicts.length;
              c.files = receiver.commit();
              for (const f of receiver.conflicts.slice(conflictsBefore))
                hooks.note(
                  `${f.replace(/\.vm-\d+$/, '')} changed on the host while the guest ran: kept it, and put the guest's version at ${f}`,
                );
              const sig = e['signal'] === null ? null : String(e['signal']);
              c.signal = sig;
              c.code =
                e['code'] === null
                  ? 128 + ((os.constants.signals as Record<string, number>)[sig ?? ''] ?? 0)
                  : Number(e['code']);
              c.seconds = Number(e['seconds']);
              hooks.onExit?.(Number(e['index']), c.code, c.seconds);
              break;
            }
            case FRAME.fatal:
              finish({ kind: 'guest-ended', detail: `the guest agent failed: ${String(json()['message'])}` });
              break;
            case FRAME.done:
              outcome.timings.commands_s = since(tCommands);
              tDone = performance.now();
              // The guest powers off next; the run is complete whatever QEMU does now.
              break;
          }
        };
        const onSocket = (sock: net.Socket) => {
          sock.on('data', (d: Buffer) => {
            try {
              for (const f of reader.push(d)) onFrame(f.kind, f.payload);
            } catch (e) {
              finish({ kind: 'protocol', detail: `the guest's data channel broke: ${(e as Error).message}` });
            }
          });
          sock.on('error', () => {});
        };
        for (const s of Object.values(sockets)) {
          const server = net.createServer(onSocket);
          server.listen(s);
          servers.push(server);
        }
        const onConsoleLine = (line: string) => {
          consoleTail.push(line);
          if (consoleTail.length > CONSOLE_LINES) consoleTail.shift();
          if (o.verbose) hooks.note(`console: ${line}`);
          if (!alive && /Linux version /.test(line)) {
            alive = true;
            if (accel === 'kvm' && o.accel === 'auto') hooks.note('accel kvm: /dev/kvm runs this kernel');
          }
          if (panic === null && /Kernel panic - not syncing/.test(line))
            panic = line.replace(/^\[[^\]]*\]\s*/, '');
        };

        const append = [
          'console=ttyS0',
          'panic=-1',
          // An emulated CPU on a loaded host delivers the timer late: the kernel's IO-APIC timer
          // check then panics ("IO-APIC + timer doesn't work!"); the check proves nothing here.
          ...(accel === 'tcg' ? ['no_timer_check'] : []),
          `cowbench.accel=${accel}`,
          ...(o.append ? [o.append] : []),
        ].join(' ');
        const args = [
          '-nodefaults',
          '-no-user-config',
          '-display',
          'none',
          '-no-reboot',
          '-accel',
          accel,
          ...(accel === 'kvm' ? ['-cpu', 'host'] : []),
          '-m',
          `${o.memoryMiB}M`,
          '-smp',
          String(o.cpus),
          '-kernel',
          o.kernel.image,
          '-initrd',
          initrd,
          '-append',
          append,
          '-chardev',
          'stdio,id=con,signal=off',
          '-serial',
          'chardev:con',
          '-chardev',
          `socket,id=uart,path=${sockets.uart}`,
          '-serial',
          'chardev:uart',
          '-device',
          'virtio-serial-pci',
          '-chardev',
          `socket,id=data,path=${sockets.data}`,
          '-device',
          'virtserialport,chardev=data,name=cowbench',
        ];
        // setpriv --pdeathsig: QEMU dies with this process even when it is SIGKILLed.
        const setpriv = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
        const [cmd, argv] = setpriv ? ['setpriv', ['--pdeathsig', 'KILL', qemu, ...args]] : [qemu, args];
        if (o.verbose) hooks.note(`${qemu} ${args.join(' ')}`);
        const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
        qemuChild = child;
        child.stdout!.on('data', (d: Buffer) => {
          const text = consolePartial + d.toString('latin1');
          const lines = text.split(/\r?\n/);
          consolePartial = lines.pop() ?? '';
          for (const l of lines) onConsoleLine(l.replace(/\r/g, ''));
        });
        child.stderr!.on('data', (d: Buffer) => {
          for (const line of d.toString().split('\n').filter(Boolean)) {
            stderrLines.push(line);
            if (
              /KVM internal error|emulation failure|failed to initialize kvm|Could not access KVM/i.test(line)
            )
              finish({
                kind: 'kvm-failed',
                detail: `${line.replace(/^qemu-system-x86_64:\s*/, '')}, ${since(tBoot).toFixed(1)} s after QEMU started`,
              });
          }
        });
        if (accel === 'kvm')
          timers.push(
            setTimeout(() => {
              if (!alive && channelName === null)
                finish({ kind: 'kvm-failed', detail: `the kernel printed nothing within ${KVM_ALIVE_S} s` });
            }, KVM_ALIVE_S * 1000),
          );
        if (deadline !== null)
          timers.push(
            setTimeout(
              () => {
                const running = current >= 0 && outcome.commands[current]?.code === null;
                finish({
                  kind: 'timeout',
                  detail:
                    channelName === null
                      ? 'still booting: the agent never started'
                      : running
                        ? `command ${current + 1} of ${o.commands.length} still running`
                        : 'after the commands',
                });
              },
              Math.max(0, deadline - performance.now()),
            ),
          );
        const onAbort = () =>
          finish({ kind: 'signal', detail: String(128 + signalNumber(String(abort.reason))) });
        if (abort.aborted) onAbort();
        else abort.addEventListener('abort', onAbort, { once: true });
        child.on('error', (e) =>
          finish({ kind: 'qemu-failed', detail: `could not start QEMU: ${e.message}` }),
        );
        child.on('close', (code, sig) => {
          for (const t of timers) clearTimeout(t);
          abort.removeEventListener('abort', onAbort);
          for (const s of servers) s.close();
          if (consolePartial) onConsoleLine(consolePartial);
          outcome.consoleTail = consoleTail.slice();
          if (tDone) outcome.timings.shutdown_s = since(tDone);
          outcome.timings.copy_back_bytes = receiver.bytes;
          outcome.timings.copy_back_s = receiver.seconds;
          if (!settled) {
            if (outcome.timings.commands_s !== null) settled = { kind: 'done', detail: '' };
            else if (panic !== null)
              settled = { kind: 'guest-ended', detail: `the guest kernel panicked: ${panic}` };
            else if (code !== 0 && stderrLines.length)
              settled = {
                kind: 'qemu-failed',
                detail: `QEMU exited ${code ?? sig}: ${stderrLines.slice(-3).join(' / ')}`,
              };
            else if (channelName === null)
              settled = {
                kind: 'guest-ended',
                detail: alive
                  ? 'the guest stopped before its agent started (see the console lines)'
                  : 'the guest stopped without printing on the serial console (no serial console? a kernel this QEMU cannot boot?)',
              };
            else
              settled = {
                kind: 'guest-ended',
                detail: 'the guest stopped before its commands ended (see the console lines)',
              };
          }
          // Under KVM, a guest that never came alive is the accelerator's failure too.
          if (settled.kind === 'guest-ended' && accel === 'kvm' && !alive && channelName === null)
            settled = { kind: 'kvm-failed', detail: settled.detail };
          resolve(settled);
        });
      });
    }
  } catch (e) {
    receiver.abort();
    throw e;
  } finally {
    stopQemu();
    process.off('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
    outcome.timings.total_s = since(t0);
  }
}

function signalNumber(name: string): number {
  return (os.constants.signals as Record<string, number>)[name] ?? 2;
}

/** The transcript --transcript writes: what ran, what came back, and how long each part took. */
export function writeTranscript(file: string, o: VmOptions, out: VmOutcome): void {
  const text = JSON.stringify(
    {
      kernel: {
        name: o.kernelName,
        image: o.kernel.image,
        release: o.kernel.release,
        version: o.kernel.version,
        config: o.kernel.configPath,
      },
      accel: out.accel,
      accel_reason: out.accelReason,
      cpus: o.cpus,
      memory_mib: o.memoryMiB,
      channel: out.channel,
      exit_code: out.exitCode,
      error: out.error,
      timings: out.timings,
      commands: out.commands,
      console_tail: out.consoleTail,
    },
    null,
    2,
  );
  writeFileSync(file, text + '\n');
}
