/**
 * The terminal line `run` keeps up to date on stderr: every long phase by name with its elapsed
 * time, and a bar with an ETA while the image is copied. Only on a TTY; cleared when done, so no
 * frozen bar line stays in the scrollback.
 */
import cliProgress from 'cli-progress';

type Phase = 'prepare' | 'baseline' | 'arm' | 'copy' | 'finish' | 'verify';

const LABEL: Record<Phase, string> = {
  prepare: 'prepare: allocating and filling the region, starting writers',
  baseline: 'baseline: writers run undisturbed',
  arm: 'arm: writers held while tracking starts',
  copy: 'copy',
  finish: 'finish: disarming, releasing',
  verify: 'verify: reading every page of the image back',
};

const BAR_WIDTH = 30;

export interface RunProgress {
  phase(p: Phase): void;
  copied(bytes: number, total: number): void;
  /** Clears the line (before anything else is printed). */
  stop(): void;
}

export function runProgress(prefix = ''): RunProgress {
  let phase: Phase = 'prepare';
  let since = Date.now();
  let copyStart = 0;
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
    fps: 5,
    format: (_options, params) => {
      const elapsed = ((Date.now() - since) / 1000).toFixed(1);
      if (phase !== 'copy') return `${prefix}${LABEL[phase]} … ${elapsed} s`;
      const frac = params.total > 0 ? Math.min(1, params.value / params.total) : 0;
      const done = Math.round(frac * BAR_WIDTH);
      const rate = params.value / Math.max(1e-3, (Date.now() - copyStart) / 1000);
      const eta =
        frac > 0 && frac < 1
          ? ` · ETA ${Math.max(0, (params.total - params.value) / rate).toFixed(1)} s`
          : '';
      return (
        `${prefix}copy [${'█'.repeat(done)}${'░'.repeat(BAR_WIDTH - done)}] ${(frac * 100).toFixed(0)}% ` +
        `${params.value}/${params.total} MiB · ${elapsed} s${eta}`
      );
    },
  });
  bar.start(0, 0);
  return {
    phase(p) {
      phase = p;
      since = Date.now();
      if (p === 'copy') copyStart = since;
      bar.update(bar.getProgress() * bar.getTotal());
    },
    copied(bytes, total) {
      const mib = (n: number) => Math.floor(n / 1048576);
      if (bar.getTotal() !== mib(total)) bar.setTotal(mib(total));
      bar.update(mib(bytes));
    },
    stop() {
      bar.stop();
    },
  };
}
