#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Servers for tests/s3-security-check.sh, each logging every connection or query it gets to LOG
// (one line each), so that a test can assert that nobody reached it.
//
//   node hostile.js redirect HOST PORT BUCKET SIZE TARGET LOG
//       An S3 endpoint just good enough for s3fs: it lists BUCKET holding secret-301.txt,
//       secret-302.txt, secret-307.txt and metadata.txt (SIZE bytes each) and answers HEAD of them; a
//       GET of secret-N.txt is redirected with status N to TARGET (a URL), of metadata.txt to the cloud
//       metadata service (http://169.254.169.254/latest/meta-data/iam/).
//   node hostile.js serve HOST PORT BUCKET KEY FILE LOG
//       The same endpoint, serving KEY with FILE's content: an internal service (on loopback) that
//       must never be reached, whether by a redirect or by a DNS answer that changed.
//   node hostile.js dns HOST NAME FIRST THEN LOG
//       A DNS server on HOST:53 (UDP): A queries for NAME get FIRST the first time, THEN afterwards
//       (DNS rebinding: nbmountd vets FIRST, s3fs gets THEN); AAAA queries get no answer; other names
//       NXDOMAIN. TTL 0.
// Each prints "listening" once it listens.
'use strict';
const fs = require('fs');
const http = require('http');
const dgram = require('dgram');

const [mode, ...args] = process.argv.slice(2);
const log = (file, line) => fs.appendFileSync(file, line + '\n');

// objects: {KEY: {size, get: (req, res) => ...}}
function s3Endpoint(host, port, bucket, objects, logFile) {
  const modified = new Date('2026-01-01T00:00:00Z');
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const path = decodeURIComponent(url.pathname);
    const key = path.startsWith(`/${bucket}/`) ? path.slice(bucket.length + 2) : null;
    log(logFile, `${req.method} ${req.url}`);
    if (key && objects[key] && req.method === 'HEAD') {
      res.writeHead(200, { 'Content-Length': objects[key].size, 'Content-Type': 'text/plain',
                           'ETag': '"0123456789abcdef"', 'Last-Modified': modified.toUTCString() });
      return res.end();
    }
    if (key && objects[key] && req.method === 'GET')
      return objects[key].get(req, res);
    if ((path === `/${bucket}` || path === `/${bucket}/`) && req.method === 'GET') {
      const prefix = url.searchParams.get('prefix') || '';
      const contents = Object.keys(objects).filter((k) => k.startsWith(prefix)).map((k) =>
        `<Contents><Key>${k}</Key><LastModified>${modified.toISOString()}</LastModified>` +
        `<ETag>&quot;0123456789abcdef&quot;</ETag><Size>${objects[k].size}</Size>` +
        '<StorageClass>STANDARD</StorageClass></Contents>').join('');
      const body = '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Name>${bucket}</Name><Prefix>${prefix}</Prefix><Marker></Marker><MaxKeys>1000</MaxKeys>` +
        `<IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`;
      res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
      return res.end(body);
    }
    const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>no</Message></Error>';
    res.writeHead(404, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.on('connection', (socket) => log(logFile, `connection from ${socket.remoteAddress}:${socket.remotePort}`));
  server.listen(Number(port), host, () => console.log('listening'));
}

function dnsServer(host, name, first, then, logFile) {
  const socket = dgram.createSocket('udp4');
  let answered = 0;
  socket.on('message', (query, peer) => {
    const id = query.readUInt16BE(0);
    let offset = 12;
    const labels = [];
    while (query[offset] !== 0) {
      labels.push(query.slice(offset + 1, offset + 1 + query[offset]).toString());
      offset += query[offset] + 1;
    }
    const question = query.slice(12, offset + 5);
    const qtype = query.readUInt16BE(offset + 1);
    const qname = labels.join('.').toLowerCase();
    const known = qname === name.toLowerCase();
    let answer = Buffer.alloc(0);
    if (known && qtype === 1) {
      const address = answered++ === 0 ? first : then;
      answer = Buffer.concat([Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4]),
                              Buffer.from(address.split('.').map(Number))]);
      log(logFile, `A ${qname} -> ${address} (for ${peer.address}:${peer.port})`);
    } else {
      log(logFile, `type ${qtype} ${qname}: ${known ? 'no answer' : 'NXDOMAIN'}`);
    }
    const header = Buffer.alloc(12);
    header.writeUInt16BE(id, 0);
    header.writeUInt16BE(0x8180 | (known ? 0 : 3), 2); // response, recursion available, NOERROR/NXDOMAIN
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answer.length ? 1 : 0, 6);
    socket.send(Buffer.concat([header, question, answer]), peer.port, peer.address);
  });
  socket.bind(53, host, () => console.log('listening'));
}

const redirect = (status, location) => (req, res) => {
  res.writeHead(status, { 'Location': location, 'Content-Length': 0 });
  res.end();
};

if (mode === 'redirect') {
  const [host, port, bucket, size, target, logFile] = args;
  const objects = {};
  for (const status of [301, 302, 307])
    objects[`secret-${status}.txt`] = { size: Number(size), get: redirect(status, target) };
  objects['metadata.txt'] = { size: Number(size), get: redirect(307, 'http://169.254.169.254/latest/meta-data/iam/') };
  s3Endpoint(host, port, bucket, objects, logFile);
} else if (mode === 'serve') {
  const [host, port, bucket, key, file, logFile] = args;
  const content = fs.readFileSync(file);
  s3Endpoint(host, port, bucket, { [key]: { size: content.length, get: (req, res) => {
    res.writeHead(200, { 'Content-Length': content.length, 'Content-Type': 'text/plain' });
    res.end(content);
  } } }, logFile);
} else if (mode === 'dns') {
  const [host, name, first, then, logFile] = args;
  dnsServer(host, name, first, then, logFile);
} else {
  console.error('usage: hostile.js redirect|serve|dns ...');
  process.exit(2);
}
