/** Options more than one backend declares (each lists it in its own table). */
import { choiceOption, countOption } from '../backend.js';

/** Every backend whose fault handlers fill a copy buffer: uffd (both deliveries) and mprotect. */
export const drainWakeOption = choiceOption({
  flag: 'drain-wake',
  key: 'drainWake',
  choices: ['early', 'late', 'batch'],
  default: 'batch',
  description:
    "when a fault handler wakes the buffer's drain thread: early (before releasing the writer), late (after), batch (once per 32 pages; a full buffer or the final flush always wakes it)",
});

/**
 * Fault-around, for every backend whose write faults copy before the write: uffd (both
 * deliveries) and mprotect. The default, auto, is native/common/fault_around_policy.h; a number
 * is a fixed K (native/common/copy_path_options.h).
 */
export const faultAroundOption = countOption({
  flag: 'fault-around',
  key: 'faultAroundPages',
  min: 0,
  max: 512,
  word: 'auto',
  default: 'auto',
  description:
    'a write fault copies up to K not-yet-saved pages of its 2 MiB extent (the faulting one included) and un-protects them with one call, so neighbours written later do not fault (at most half the copy buffer per fault); 0: off; auto: the whole extent while the region faults faster than 50 times a second per 2 MiB extent still to be saved (writers held back by their faults; measured over windows of 1-10 ms and at least 16 faults once the copier starts, and judged while at least half the region is still to be saved), on the second fault in a row just past where one of two runs tracked in the extent ended (writers going forward), or when the extent is sure (a lower confidence bound of its fault rate) to take 32 more faults before the background copier gets there, else only the faulting page (granule)',
});

/** The background copier's order, for the same backends as --fault-around. */
export const copyOrderOption = choiceOption({
  flag: 'copy-order',
  key: 'copyOrder',
  choices: ['sequential', 'hot'],
  default: 'sequential',
  description:
    'the background copier walks the region in address order (sequential), or visits the 2 MiB extents where faults were served most recently first (hot)',
});

/**
 * The copy-before-write fault path's options, in the order native/common/copy_path_options.h's
 * CopyPathOptions reads them: every backend with that fault path (uffd, mprotect) lists them all,
 * so a knob added here reaches both.
 */
export const copyPathOptions = [drainWakeOption, faultAroundOption, copyOrderOption] as const;
