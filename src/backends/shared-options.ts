/** Options more than one backend declares (each lists it in its own table). */
import { choiceOption } from '../backend.js';

/** Every backend whose fault handlers fill a copy buffer: uffd (both deliveries) and mprotect. */
export const drainWakeOption = choiceOption({
  flag: 'drain-wake',
  key: 'drainWake',
  choices: ['early', 'late', 'batch'],
  default: 'batch',
  description:
    "when a fault handler wakes the buffer's drain thread: early (before releasing the writer), late (after), batch (once per 32 pages; a full buffer or the final flush always wakes it)",
});
