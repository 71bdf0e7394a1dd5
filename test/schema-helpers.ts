/**
 * JSON Schema validation for the tests: ajv (a devDependency: the schema is a contract the tests
 * hold every produced file to; at run time report and compare use bench/results.ts's small shape
 * check, so users do not install a validator) compiling schema/results.schema.json.
 */
import * as AjvModule from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS_SCHEMA_FILE = path.join(root, 'schema', 'results.schema.json');

const Ajv = AjvModule.Ajv;
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(JSON.parse(readFileSync(RESULTS_SCHEMA_FILE, 'utf8')) as object);

/** The schema errors of a parsed results.json ([] when valid). */
export function validateResults(data: unknown): string[] {
  if (validate(data)) return [];
  return (validate.errors ?? []).map(
    (e: { instancePath: string; message?: string }) => `${e.instancePath || '/'} ${e.message ?? ''}`,
  );
}
