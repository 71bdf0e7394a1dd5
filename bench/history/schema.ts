/**
 * The history database's schema, versioned: MIGRATIONS[i] takes a database from version i to
 * i + 1, and `migrate` applies the missing ones in one transaction under an advisory lock, so
 * runners that open a new shared database at the same moment create it once. The SQL is
 * PostgreSQL's and the same for the embedded store (PGlite) and a server.
 */

export interface Migration {
  version: number;
  what: string;
  sql: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    what: 'runs (subject, time, machine class, fingerprint) and their raw samples',
    sql: [
      `CREATE TABLE cowbench_runs (
         id serial PRIMARY KEY,
         run_key text NOT NULL UNIQUE,
         subject text NOT NULL,
         subject_kind text NOT NULL CHECK (subject_kind IN ('commit', 'kernel', 'text')),
         run_time timestamptz NOT NULL,
         machine_class text NOT NULL,
         fingerprint jsonb NOT NULL,
         options jsonb NOT NULL,
         source text,
         recorded_at timestamptz NOT NULL DEFAULT now()
       )`,
      `CREATE TABLE cowbench_samples (
         run_id integer NOT NULL REFERENCES cowbench_runs (id) ON DELETE CASCADE,
         metric text NOT NULL,
         unit text,
         samples double precision[] NOT NULL,
         PRIMARY KEY (run_id, metric)
       )`,
    ],
  },
  {
    version: 2,
    what: "each sample set's median, min and max (computed from the samples), and the indexes the series queries use",
    sql: [
      `ALTER TABLE cowbench_samples
         ADD COLUMN median double precision,
         ADD COLUMN lo double precision,
         ADD COLUMN hi double precision`,
      `UPDATE cowbench_samples AS s
         SET median = a.median, lo = a.lo, hi = a.hi
         FROM (SELECT run_id, metric,
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS median, min(v) AS lo, max(v) AS hi
                 FROM cowbench_samples, unnest(samples) AS v
                GROUP BY run_id, metric) AS a
        WHERE s.run_id = a.run_id AND s.metric = a.metric`,
      `DELETE FROM cowbench_samples WHERE median IS NULL`,
      `ALTER TABLE cowbench_samples
         ALTER COLUMN median SET NOT NULL,
         ALTER COLUMN lo SET NOT NULL,
         ALTER COLUMN hi SET NOT NULL`,
      `CREATE INDEX cowbench_runs_time ON cowbench_runs (run_time, id)`,
      `CREATE INDEX cowbench_samples_metric ON cowbench_samples (metric)`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Any number the two stores agree on: the advisory lock that serialises migrations. */
export const MIGRATION_LOCK = 0x636f77; // 'cow'
