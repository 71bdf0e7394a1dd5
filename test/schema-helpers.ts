/**
 * JSON Schema validation for the tests: ajv compiling schema/results*.schema.json now, with every
 * error listed. The CLI validates with the same schemas compiled at build time
 * (scripts/compile-schema.mjs, no ajv at run time); the tests hold both to the committed results.
 */
import * as AjvModule from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS_SCHEMA_FILE = path.join(root, 'schema', 'results.schema.json');
export const RESULTS_1_SCHEMA_FILE = path.join(root, 'schema', 'results-1.schema.json');

const Ajv = AjvModule.Ajv;
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const ids: Record<string, string> = {};
for (const [version, file] of [
  ['cowbench.bench/1', RESULTS_1_SCHEMA_FILE],
  ['cowbench.bench/2', RESULTS_SCHEMA_FILE],
] as const) {
  const schema = JSON.parse(readFileSync(file, 'utf8')) as { $id: string };
  ajv.addSchema(schema);
  ids[version] = schema.$id;
}

/** The schema errors of a parsed results.json ([] when valid), by the schema of its version (2 if none). */
export function validateResults(data: unknown): string[] {
  const version = (data as { schema?: unknown } | null)?.schema;
  const validate = ajv.getSchema(ids[String(version)] ?? ids['cowbench.bench/2']!)!;
  if (validate(data)) return [];
  return (validate.errors ?? []).map(
    (e: { instancePath: string; message?: string }) => `${e.instancePath || '/'} ${e.message ?? ''}`,
  );
}
