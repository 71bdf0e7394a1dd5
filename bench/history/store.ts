/**
 * Where the history lives: an embedded PostgreSQL (PGlite, a directory beside the results) or a
 * PostgreSQL server (`postgres://…`, shared by many runners). Both speak the same SQL, so the
 * schema (schema.ts) and every query (runs.ts) are written once; this module only opens,
 * migrates and closes. The drivers are optional packages imported when a store is opened, so
 * nothing that only takes snapshots installs or loads them.
 *
 * PGlite is one process's database: the embedded store is held under an exclusive flock on
 * `DIR.lock` (which holds the holder's pid) from open to close, so runners on one machine that
 * record at the same moment take turns; the kernel releases the lock of a process that dies. A
 * server needs no lock: each run goes in one transaction.
 */
import { closeSync, ftruncateSync, mkdirSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { CowbenchError } from '../../src/errors.js';
import { tryLockFileAt } from '../../src/output.js';
import { badInput } from '../results.js';
import { MIGRATION_LOCK, MIGRATIONS, SCHEMA_VERSION } from './schema.js';

export type Params = readonly unknown[];
export type Row = Record<string, unknown>;

/** One connection's queries (a transaction's too). */
export interface Sql {
  query<T extends Row = Row>(text: string, params?: Params): Promise<T[]>;
}

export interface HistoryStore extends Sql {
  readonly kind: 'embedded' | 'postgres';
  /** The directory or the server URL with its password removed. */
  readonly where: string;
  /** Runs fn in one transaction: all of it is committed, or none. */
  transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The default embedded database: beside the results, where a CI job can cache it. */
export const DEFAULT_DB = path.join('results', 'history.pglite');

export const isServerUrl = (db: string) => /^postgres(ql)?:\/\//.test(db);

/** Opens (creating and migrating as needed) the history database named by --db. */
export async function openStore(db: string, opts: { upTo?: number } = {}): Promise<HistoryStore> {
  const store = isServerUrl(db) ? await openServer(db) : await openEmbedded(db);
  try {
    await migrate(store, opts.upTo ?? SCHEMA_VERSION);
    return store;
  } catch (e) {
    await store.close();
    throw e;
  }
}

/** Applies the missing migrations up to `upTo`, once, however many runners open the database. */
export async function migrate(store: HistoryStore, upTo = SCHEMA_VERSION): Promise<number> {
  return store.transaction(async (sql) => {
    await sql.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await sql.query('CREATE TABLE IF NOT EXISTS cowbench_schema (version integer NOT NULL)');
    const rows = await sql.query<{ version: number }>('SELECT version FROM cowbench_schema');
    let version = rows[0]?.version ?? 0;
    if (rows.length === 0) await sql.query('INSERT INTO cowbench_schema (version) VALUES (0)');
    if (version > SCHEMA_VERSION)
      throw badInput(
        `${store.where}: history schema version ${version} is newer than this cowbench's (${SCHEMA_VERSION}): upgrade cowbench`,
      );
    for (const m of MIGRATIONS) {
      if (m.version <= version || m.version > upTo) continue;
      for (const statement of m.sql) await sql.query(statement);
      await sql.query('UPDATE cowbench_schema SET version = $1', [m.version]);
      version = m.version;
    }
    return version;
  });
}

/** The schema version of an open store. */
export async function schemaVersion(store: Sql): Promise<number> {
  const rows = await store.query<{ version: number }>('SELECT version FROM cowbench_schema');
  return rows[0]?.version ?? 0;
}

/**
 * A database driver, an optional package: not installed for a user who only takes snapshots; a
 * clear EUNSUPPORTED (exit 2) naming what to install when missing.
 */
async function driver<T>(name: '@electric-sql/pglite' | 'pg', load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new CowbenchError(
      'EUNSUPPORTED',
      `the history database needs the optional package ${name}, which is not installed: run \`npm install ${name === 'pg' ? 'pg@8' : '@electric-sql/pglite@0.6'}\` where cowbench is installed`,
      { exitCode: 2, cause: e },
    );
  }
}

const redact = (url: string) => url.replace(/(\/\/[^:/@]+):[^@]*@/, '$1:***@');

async function openServer(url: string): Promise<HistoryStore> {
  const pg = (await driver('pg', () => import('pg'))).default;
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (e) {
    throw badInput(`${redact(url)}: cannot connect: ${(e as Error).message}`);
  }
  // The error handler keeps a dropped connection from crashing the process; the query fails.
  client.on('error', () => undefined);
  const sql: Sql = {
    query: async <T extends Row>(text: string, params?: Params) =>
      (await client.query(text, params as unknown[] | undefined)).rows as T[],
  };
  return {
    kind: 'postgres',
    where: redact(url),
    query: sql.query,
    async transaction<T>(fn: (s: Sql) => Promise<T>) {
      await client.query('BEGIN');
      try {
        const out = await fn(sql);
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    },
    close: () => client.end(),
  };
}

async function openEmbedded(dir: string): Promise<HistoryStore> {
  const where = path.resolve(dir);
  mkdirSync(path.dirname(where), { recursive: true });
  const unlock = await lockDir(`${where}.lock`);
  try {
    const { PGlite } = await driver('@electric-sql/pglite', () => import('@electric-sql/pglite'));
    let db: InstanceType<typeof PGlite>;
    try {
      db = await PGlite.create(where);
    } catch (e) {
      throw badInput(`${where}: not a history database PGlite can open: ${(e as Error).message}`);
    }
    const sql = (q: Pick<typeof db, 'query'>): Sql => ({
      query: async <T extends Row>(text: string, params?: Params) =>
        (await q.query<T>(text, params as unknown[] | undefined)).rows,
    });
    const top = sql(db);
    return {
      kind: 'embedded',
      where,
      query: top.query,
      transaction: <T>(fn: (s: Sql) => Promise<T>) => db.transaction((tx) => fn(sql(tx))),
      async close() {
        try {
          await db.close();
        } finally {
          unlock();
        }
      },
    };
  } catch (e) {
    unlock();
    throw e;
  }
}

/**
 * An exclusive flock(2) on `lockFile` (created if missing, never removed), which then holds this
 * process's pid for the message of a process that waits; waits (up to waitMs) while another
 * process holds it. The kernel drops the lock with the holder's descriptor, so a crashed holder
 * leaves nothing to take over (an O_EXCL file with a pid had to be judged stale and removed, and
 * two waiters that both judged it so could each remove the other's new lock and both hold it).
 * Returns the release function.
 */
export async function lockDir(lockFile: string, waitMs = 600_000): Promise<() => void> {
  const deadline = Date.now() + waitMs;
  for (let delay = 20; ; delay = Math.min(500, delay * 2)) {
    let fd: number | null;
    try {
      fd = tryLockFileAt(lockFile);
    } catch (e) {
      throw badInput(`${lockFile}: cannot create the lock: ${(e as Error).message}`);
    }
    if (fd !== null) {
      try {
        ftruncateSync(fd, 0);
        writeSync(fd, `${process.pid}\n`, 0);
      } catch (e) {
        closeSync(fd);
        throw e;
      }
      return release(fd);
    }
    if (Date.now() > deadline) {
      let owner = 'another process';
      try {
        const pid = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
        if (pid > 0) owner = `process ${pid}`;
      } catch {
        // the holder's pid is only for the message
      }
      throw badInput(`${lockFile}: the history database is held by ${owner} (waited ${waitMs / 1000} s)`);
    }
    await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
  }
}

/** The release of a lock on `fd` (once). */
function release(fd: number): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    closeSync(fd); // drops the lock
  };
}
