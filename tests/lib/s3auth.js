#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// A signature-checking front for s3rver (which does not check AWS SigV4 signatures): tests that need
// a server refusing one secret and taking another (key rotation, tests/s3-heal-check.sh).
//   node tests/lib/s3auth.js LISTEN_PORT UPSTREAM_PORT KEYS_FILE ACCEPT_FILE LOG_FILE [DELAY_FILE]
// KEYS_FILE: "LABEL SECRET" lines. ACCEPT_FILE: the labels taken now, one a line (read at every
// request). A request signed (SigV4, header form) with a key of an accepted label goes on to s3rver;
// one signed otherwise gets 403 SignatureDoesNotMatch; an unsigned one (the test's own curl) goes on.
// LOG_FILE gets one line per request: "METHOD PATH LABEL taken|refused" (the label, never a secret).
// DELAY_FILE (optional): milliseconds each taken request waits before it goes on (read at every
// request; absent or empty: none), to make a client slow (tests/offline-check.sh).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');

const [listenPort, upstreamPort, keysFile, acceptFile, logFile, delayFile] = process.argv.slice(2);
const hmac = (key, text) => crypto.createHmac('sha256', key).update(text).digest();
const sha256 = (text) => crypto.createHash('sha256').update(text).digest('hex');

function keys() {
  return fs.readFileSync(keysFile, 'utf8').split('\n').filter(Boolean).map((line) => {
    const [label, secret] = line.split(' ');
    return { label, secret };
  });
}

function accepted() {
  try {
    return new Set(fs.readFileSync(acceptFile, 'utf8').split('\n').filter(Boolean));
  } catch (e) {
    return new Set();
  }
}

// AWS's URI encoding: every byte but A-Z a-z 0-9 - _ . ~ as %XX.
const awsEncode = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function canonicalQuery(query) {
  if (!query) return '';
  return query.split('&').filter(Boolean).map((pair) => {
    const i = pair.indexOf('=');
    const [k, v] = i < 0 ? [pair, ''] : [pair.slice(0, i), pair.slice(i + 1)];
    return [awsEncode(decodeURIComponent(k)), awsEncode(decodeURIComponent(v))];
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join('&');
}

// The string SigV4 signs for this request, and what the header says.
function parse(req) {
  const auth = req.headers.authorization || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(auth);
  if (!m) return null;
  const [, , scope, signedHeaders, signature] = m;
  const [path, query] = req.url.split('?', 2);
  const headers = signedHeaders.split(';').map((h) => `${h}:${String(req.headers[h] ?? '').trim().replace(/ +/g, ' ')}\n`).join('');
  const canonical = [req.method, path, canonicalQuery(query), headers, signedHeaders,
    req.headers['x-amz-content-sha256'] || 'UNSIGNED-PAYLOAD'].join('\n');
  const date = req.headers['x-amz-date'] || '';
  const toSign = ['AWS4-HMAC-SHA256', date, scope, sha256(canonical)].join('\n');
  return { scope, toSign, signature };
}

function signedBy(req) {
  const p = parse(req);
  if (!p) return req.headers.authorization ? 'unknown-form' : 'unsigned';
  const [day, region, service, terminal] = p.scope.split('/');
  for (const { label, secret } of keys()) {
    let key = hmac(`AWS4${secret}`, day);
    for (const part of [region, service, terminal]) key = hmac(key, part);
    if (hmac(key, p.toSign).toString('hex') === p.signature) return label;
  }
  return 'none';
}

http.createServer((req, res) => {
  const label = signedBy(req);
  const taken = label === 'unsigned' || accepted().has(label);
  fs.appendFileSync(logFile, `${req.method} ${req.url.split('?')[0]} ${label} ${taken ? 'taken' : 'refused'}\n`);
  if (!taken) {
    req.resume();
    res.writeHead(403, { 'Content-Type': 'application/xml' });
    res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code>' +
      '<Message>The request signature we calculated does not match the signature you provided.</Message></Error>');
    return;
  }
  let delay = 0;
  try { delay = delayFile ? parseInt(fs.readFileSync(delayFile, 'utf8'), 10) || 0 : 0; } catch (e) { delay = 0; }
  setTimeout(() => forward(req, res), delay);
}).listen(listenPort, '127.0.0.1');

function forward(req, res) {
  const up = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
    (upRes) => { res.writeHead(upRes.statusCode, upRes.headers); upRes.pipe(res); });
  up.on('error', () => { res.writeHead(502); res.end(); });
  req.pipe(up);
}
