/** The contract every backend implements, and what the orchestrator knows of one. */
import type { OptionProblem } from './errors.js';
import type { Inject, NativeSessionOptions } from './native.js';

export type ConsistencyPoint = 'start' | 'end';

export type ProbeOutcome = { ok: true; detail?: string } | { ok: false; reason: string };

export interface BackendCapabilities {
  /** Which moment the image shows: the arm pause (start) or the final pause (end). */
  consistencyPoint: ConsistencyPoint;
  /** Copy granularities the backend accepts, in bytes. */
  granularities: readonly number[];
  /** A first write to an unsaved page waits until the backend has copied it (uffd, mprotect). */
  copyBeforeWrite: boolean;
  /** Pages copied before a write go through the bounded copy buffer (--buffer, --buffer-policy). */
  copyBuffer: boolean;
  /** Write faults are served by the backend's handler threads (--handlers), not the faulting thread. */
  handlerThreads: boolean;
  /**
   * The kernel copies each page the writers write during the snapshot (fork's copy-on-write):
   * up to the whole region again, charged to this process's memory cgroup, not bounded by --buffer.
   */
  kernelCopies: boolean;
}

interface OptionBase<K extends string> {
  /** The command-line flag, without dashes: `handler-wait`. */
  flag: string;
  /** The RunOptions field and the native options key: `handlerWait`. */
  key: K;
  /** One line for --help and the README table. */
  description: string;
}
export interface ChoiceOption<
  K extends string = string,
  C extends readonly string[] = readonly string[],
> extends OptionBase<K> {
  type: 'choice';
  choices: C;
  default: C[number];
}
export interface CountOption<K extends string = string, W extends string = string> extends OptionBase<K> {
  type: 'count';
  min: number;
  max: number;
  /** A word the option also takes instead of a number (`--fault-around auto`). */
  word?: W;
  default: number | W;
}
export interface BooleanOption<K extends string = string> extends OptionBase<K> {
  type: 'boolean';
  default: boolean;
}
/** One option a backend declares, beside its code: flags, help, parsing and docs come from it. */
export type BackendOption = ChoiceOption | CountOption | BooleanOption;

export function choiceOption<const K extends string, const C extends readonly string[]>(
  o: Omit<ChoiceOption<K, C>, 'type' | 'default'> & { default: NoInfer<C[number]> },
): ChoiceOption<K, C> {
  return { type: 'choice', ...o };
}
export function countOption<const K extends string, const W extends string = never>(
  o: Omit<CountOption<K, W>, 'type'>,
): CountOption<K, W> {
  return { type: 'count', ...o };
}
export function booleanOption<const K extends string>(o: Omit<BooleanOption<K>, 'type'>): BooleanOption<K> {
  return { type: 'boolean', ...o };
}

/** The value type of one declared option. */
export type OptionValue<O> =
  O extends ChoiceOption<string, infer C>
    ? C[number]
    : O extends CountOption<string, infer W>
      ? number | W
      : boolean;
/** `{ key: value }` for a union of declared options. */
export type OptionValues<O extends BackendOption> = { [S in O as S['key']]: OptionValue<S> };

/**
 * What a backend's probe() and validate() see, and what the native session is given: the shared
 * native options, the test hooks, and every backend option by key (a backend reads only its own).
 * Built from RunOptions by probeOptions() (run-options.ts).
 */
export type ProbeOptions = NativeSessionOptions & {
  readonly [key: string]: string | number | boolean | Inject | undefined;
};

/** One configuration of a backend: a compat row (a tracking engine), or a fault delivery. */
export interface BackendVariant {
  name: string;
  /** Options that select it; same names in RunOptions and ProbeOptions. */
  options: Partial<ProbeOptions>;
  /** Where this configuration's capabilities differ from the backend's. */
  capabilities?: Partial<BackendCapabilities>;
}

export interface CowBackend {
  readonly name: string;
  /** One line for `cowbench probe` / `--help`. */
  readonly description: string;
  readonly capabilities: BackendCapabilities;
  /** The backend's own options (the shared ones live in src/options.ts). */
  readonly options: readonly BackendOption[];
  /** Whether this kernel can run the backend with these options; never throws. */
  probe(options: ProbeOptions): ProbeOutcome;
  /** Configurations shown as separate compat rows; absent = one row for the backend. */
  readonly variants?: readonly BackendVariant[];
  /**
   * How write faults reach the copy path, each a configuration the shared tests run (uffd:
   * handler threads or the faulting thread's SIGBUS); absent = one way.
   */
  readonly deliveries?: readonly BackendVariant[];
  /**
   * Rules only this backend has, run by the preflight after the shared ones: the option refused
   * (its key and flag) and why, or undefined.
   */
  validate?(options: ProbeOptions, region: { bytes: number; hugepage: boolean }): OptionProblem | undefined;
}
