/**
 * JSON Schema validation for the tests: ajv compiling schema/results*.schema.json now, with every
 * error listed. The CLI validates with the same schemas compiled at build time
 * (scripts/compile-schema.mjs, no ajv at run time); the tests hold both to the committed results.
 */
import * as AjvModule from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BENCH_SCHEMA } from '../bench/results.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The build script's list of schema files, one per results.json version (the only list). */
const { SCHEMAS } = (await import(pathToFileURL(path.join(root, 'scripts', 'compile-schema.mjs')).href)) as {
  SCHEMAS: Record<string, string>;
};

const Ajv = AjvModule.Ajv;
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const schemas = Object.values(SCHEMAS).map(
  (file) =>
    JSON.parse(readFileSync(path.join(root, file), 'utf8')) as {
      $id: string;
      properties: { schema: { const: string } };
    },
);
/** The version each schema file names, in SCHEMAS order (a repeat is a schema copied unedited). */
export const SCHEMA_VERSIONS = schemas.map((s) => s.properties.schema.const);
/** version ("cowbench.bench/2") → the $id of its schema. */
const ids: Record<string, string> = {};
for (const schema of schemas) {
  ajv.addSchema(schema);
  ids[schema.properties.schema.const] = schema.$id;
}

/** The schema errors of a parsed results.json ([] when valid), by the schema of its version (the one bench writes if none). */
export function validateResults(data: unknown): string[] {
  const version = (data as { schema?: unknown } | null)?.schema;
  const validate = ajv.getSchema(ids[String(version)] ?? ids[BENCH_SCHEMA]!)!;
  if (validate(data)) return [];
  return (validate.errors ?? []).map(
    (e: { instancePath: string; message?: string }) => `${e.instancePath || '/'} ${e.message ?? ''}`,
  );
}
