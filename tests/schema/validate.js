#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Validates data files against one of nbmount's JSON Schemas (draft 2020-12), loading
// Ajv once for many files: the fast equivalent of
//   ajv validate --spec=draft2020 --strict=true -c ajv-formats -r REF... -s SCHEMA -d FILE...
//
// usage: node tests/schema/validate.js -s SCHEMA [-r REF]... FILE...
//
// Prints one line per FILE, tab-separated:
//   valid<TAB>FILE
//   invalid<TAB>FILE<TAB>ajv's errors
//   unparsable<TAB>FILE<TAB>why   (not UTF-8, not YAML/JSON, ...: the schema says nothing)
// Exit status: 0 when every file was checked (whatever the results), 2 when the schemas
// do not compile in strict mode (or Ajv warned) or on a usage error.
//
// YAML (.yaml, .yml) is read with js-yaml's core schema (YAML 1.2's typing: true/false,
// integers, floats and null; no timestamps). Duplicate keys are let through (the last wins)
// because no schema can see them: rejecting them is the parser's job (parser only). An empty
// YAML document is null. JSON (.json) is read with JSON.parse.
'use strict';

const fs = require('fs');
const path = require('path');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats');
const yaml = require('js-yaml');

function usage(msg) {
  process.stderr.write(`validate.js: ${msg}\nusage: node validate.js -s SCHEMA [-r REF]... FILE...\n`);
  process.exit(2);
}

const refs = [];
const files = [];
let schemaFile = null;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '-s' || a === '-r') {
    if (i + 1 >= argv.length) usage(`${a} needs a file`);
    if (a === '-s') schemaFile = argv[++i];
    else refs.push(argv[++i]);
  } else if (a === '--') {
    files.push(...argv.slice(i + 1));
    break;
  } else if (a.startsWith('-')) {
    usage(`unknown option ${a}`);
  } else {
    files.push(a);
  }
}
if (!schemaFile) usage('no schema (-s)');

const warnings = [];
const ajv = new Ajv2020({
  strict: true,
  allErrors: true,
  logger: {
    log: () => {},
    warn: (...m) => warnings.push(m.join(' ')),
    error: (...m) => warnings.push(m.join(' ')),
  },
});
addFormats(ajv);

let validate;
try {
  for (const r of refs) ajv.addSchema(JSON.parse(fs.readFileSync(r, 'utf8')));
  validate = ajv.compile(JSON.parse(fs.readFileSync(schemaFile, 'utf8')));
} catch (e) {
  process.stderr.write(`validate.js: ${schemaFile}: ${e.message}\n`);
  process.exit(2);
}
if (warnings.length) {
  process.stderr.write(`validate.js: ${schemaFile}: ajv warned:\n${warnings.join('\n')}\n`);
  process.exit(2);
}

const oneLine = (s) => String(s).replace(/\s*\n\s*/g, ' ').replace(/[\x00-\x1f\x7f]/g, '?');

function load(file) {
  const bytes = fs.readFileSync(file);
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return JSON.parse(text);
  if (ext === '.yaml' || ext === '.yml') {
    const doc = yaml.safeLoad(text, { schema: yaml.CORE_SCHEMA, json: true, filename: file });
    return doc === undefined ? null : doc;
  }
  throw new Error(`unknown extension '${ext}' (want .json, .yaml or .yml)`);
}

const out = [];
for (const file of files) {
  let data;
  try {
    data = load(file);
  } catch (e) {
    out.push(`unparsable\t${file}\t${oneLine(e.message)}`);
    continue;
  }
  if (validate(data)) {
    out.push(`valid\t${file}`);
  } else {
    out.push(`invalid\t${file}\t${oneLine(ajv.errorsText(validate.errors, { separator: '; ' }))}`);
  }
}
process.stdout.write(out.length ? out.join('\n') + '\n' : '');
