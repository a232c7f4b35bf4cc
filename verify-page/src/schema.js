/**
 * A small validator with pydantic's semantics, for documents read by `pyjson`: the SDK's models
 * (`ipnotary.sdk.certificate`, `ipnotary.sdk.policy`) are pydantic models, and whether a
 * document passes step `format` must not depend on the verifier.
 *
 * - `strict` schemas take values only in their JSON type (pydantic's strict mode: no `1.0` for
 *   an integer, no `true` for one either); lax ones convert as pydantic's lax mode does.
 * - Lengths count code points, as Python's `len` does.
 * - Patterns are those of the Python models, in pydantic's (Rust) regex dialect, where `\d` and
 *   `\s` are Unicode classes: the callers write them as `\p{Nd}` and `\p{White_Space}`.
 * - Objects refuse unknown keys (`extra="forbid"`).
 *
 * @module schema
 */

import { isObject } from './pyjson.js';

export class SchemaError extends Error {
  /** @param {string} path @param {string} message */
  constructor(path, message) {
    super(`${path || '(root)'}: ${message}`);
    this.path = path;
  }
}

/**
 * @typedef {{lone: Set<string>, strict: boolean}} Context
 * @typedef {(value: any, path: string, ctx: Context) => any} Validator
 */

/** @param {string} text */
const codePoints = (text) => {
  let n = 0;
  for (const _ of text) n++;
  return n;
};

/** @param {unknown} value @param {Context} ctx */
const isPythonString = (value, ctx) => typeof value === 'string' && value.isWellFormed() && !ctx.lone.has(value);

/**
 * @param {{pattern?: RegExp, min?: number, max?: number}} [options]
 * @returns {Validator}
 */
export function str({ pattern, min, max } = {}) {
  return (value, path, ctx) => {
    if (typeof value !== 'string') throw new SchemaError(path, 'Input should be a valid string');
    if (!isPythonString(value, ctx)) throw new SchemaError(path, 'Input should be a valid string, unable to parse raw data as a unicode string');
    const n = min !== undefined || max !== undefined ? codePoints(value) : 0;
    if (min !== undefined && n < min) throw new SchemaError(path, `String should have at least ${min} characters`);
    if (max !== undefined && n > max) throw new SchemaError(path, `String should have at most ${max} characters`);
    if (pattern && !pattern.test(value)) throw new SchemaError(path, `String should match pattern '${pattern.source}'`);
    return value;
  };
}

const LAX_INT = /^[+-]?[0-9]+$/;

/**
 * @param {{ge?: bigint, le?: bigint}} [options]
 * @returns {Validator}
 */
export function int({ ge, le } = {}) {
  return (value, path, ctx) => {
    let v = value;
    if (!ctx.strict) {
      if (typeof v === 'boolean') v = v ? 1n : 0n;
      else if (typeof v === 'number' && Number.isInteger(v)) v = BigInt(v);
      else if (typeof v === 'string' && LAX_INT.test(v.trim().replaceAll('_', ''))) v = BigInt(v.trim().replaceAll('_', ''));
    }
    if (typeof v !== 'bigint') throw new SchemaError(path, 'Input should be a valid integer');
    if (ge !== undefined && v < ge) throw new SchemaError(path, `Input should be greater than or equal to ${ge}`);
    if (le !== undefined && v > le) throw new SchemaError(path, `Input should be less than or equal to ${le}`);
    return v;
  };
}

const TRUE = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

/** @returns {Validator} */
export function bool() {
  return (value, path, ctx) => {
    if (typeof value === 'boolean') return value;
    if (!ctx.strict) {
      if (value === 1n || value === 0n) return value === 1n;
      if (typeof value === 'string') {
        const v = value.toLowerCase();
        if (TRUE.has(v)) return true;
        if (FALSE.has(v)) return false;
      }
    }
    throw new SchemaError(path, 'Input should be a valid boolean');
  };
}

/** @param {string} expected @returns {Validator} */
export function literal(expected) {
  return (value, path) => {
    if (value !== expected) throw new SchemaError(path, `Input should be '${expected}'`);
    return value;
  };
}

/** @param {Validator} item @param {{min?: number, max?: number}} [options] @returns {Validator} */
export function list(item, { min, max } = {}) {
  return (value, path, ctx) => {
    if (!Array.isArray(value)) throw new SchemaError(path, 'Input should be a valid list');
    if (min !== undefined && value.length < min) throw new SchemaError(path, `List should have at least ${min} items`);
    if (max !== undefined && value.length > max) throw new SchemaError(path, `List should have at most ${max} items`);
    return value.map((v, i) => item(v, `${path}.${i}`, ctx));
  };
}

/** A `dict[str, Any]`: any JSON object (pydantic checks nothing in it, keys included). @returns {Validator} */
export function anyObject() {
  return (value, path) => {
    if (!isObject(value)) throw new SchemaError(path, 'Input should be a valid dictionary');
    return value;
  };
}

/** @param {Validator} inner @returns {Validator} */
export const nullable = (inner) => (value, path, ctx) => (value === null ? null : inner(value, path, ctx));

/**
 * An object with these fields; `[validator, required]`. Absent optional fields stay absent.
 * @param {{[name: string]: [Validator, boolean]}} fields
 * @param {(value: any, path: string) => void} [check] an after-validator (pydantic's `model_validator`)
 * @returns {Validator}
 */
export function model(fields, check) {
  return (value, path, ctx) => {
    if (!isObject(value)) throw new SchemaError(path, 'Input should be a valid dictionary or instance of the model');
    const at = (name) => (path ? `${path}.${name}` : name);
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(fields, key)) throw new SchemaError(at(key), 'Extra inputs are not permitted');
    }
    const out = Object.create(null);
    for (const [name, [validator, required]] of Object.entries(fields)) {
      if (!Object.hasOwn(value, name)) {
        if (required) throw new SchemaError(at(name), 'Field required');
        continue;
      }
      out[name] = validator(value[name], at(name), ctx);
    }
    if (check) check(out, path);
    return out;
  };
}

/**
 * Run a validator over a document.
 * @param {Validator} validator @param {any} value @param {{lone?: Set<string>, strict: boolean}} options
 */
export function validate(validator, value, { lone = new Set(), strict }) {
  return validator(value, '', { lone, strict });
}
