/**
 * A private PostgreSQL server for the tests: initdb in a temporary directory, listening only on a
 * unix socket in that directory (no TCP port), stopped and removed afterwards. PostgreSQL refuses
 * to run as root, so as root the server runs as the `postgres` user (Debian's package creates
 * it) through runuser. `postgresUnavailable()` names what is missing where it cannot be had.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function binDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(root, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return which.status === 0 ? path.dirname(which.stdout.trim()) : null;
}

function serverUser(): { uid: number; gid: number; name: string } | null {
  if (process.getuid?.() !== 0) return null;
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) return null;
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()), name: 'postgres' };
}

/** Why a test server cannot be started here, or null when it can. */
export function postgresUnavailable(): string | null {
  const bin = binDir();
  if (!bin) return 'PostgreSQL server binaries (initdb, pg_ctl) not installed: apt-get install postgresql';
  if (process.getuid?.() === 0 && !serverUser())
    return "running as root and there is no 'postgres' user to run the server as";
  if (process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v runuser']).status !== 0)
    return 'running as root without runuser to start the server as postgres';
  return null;
}

export interface PgServer {
  /** A URL of a fresh database on the server. */
  createDatabase(name: string): Promise<string>;
  stop(): void;
}

export async function startPostgres(): Promise<PgServer> {
  const bin = binDir()!;
  const user = serverUser();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cowbench-pg-'));
  const data = path.join(dir, 'data');
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chmodSync(dir, 0o700);
  }
  const as = (cmd: string, args: string[]) =>
    user
      ? execFileSync('runuser', ['-u', user.name, '--', cmd, ...args], { stdio: 'pipe', cwd: dir })
      : execFileSync(cmd, args, { stdio: 'pipe', cwd: dir });
  as(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'cowbench', '-N', '-E', 'UTF8']);
  as(path.join(bin, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    path.join(dir, 'log'),
    '-w',
    '-o',
    `-c listen_addresses='' -k ${dir} -c fsync=off -c max_connections=50`,
    'start',
  ]);
  const url = (db: string) => `postgres://cowbench@${encodeURIComponent(dir)}/${db}`;
  const pg = (await import('pg')).default;
  return {
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: url('postgres') });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    stop() {
      try {
        as(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
