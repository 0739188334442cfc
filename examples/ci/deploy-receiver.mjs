#!/usr/bin/env node
// A deploy job as a webhook consumer: verifies each Berth webhook call (Standard Webhooks
// signature, timestamp within 5 minutes), ignores repeats by `webhook-id`, and on
// `alias.moved` of the watched alias runs DEPLOY_COMMAND with the model and version.
//
//   WEBHOOK_SECRET=whsec_… ALIAS=champion DEPLOY_COMMAND='./deploy.sh' node deploy-receiver.mjs
//
// Node's standard library only, so it runs anywhere Node 20 does.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';

const secret = process.env.WEBHOOK_SECRET;
if (!secret?.startsWith('whsec_')) {
  console.error('set WEBHOOK_SECRET to the secret `berth webhook add` printed (whsec_…)');
  process.exit(2);
}
const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
const alias = process.env.ALIAS ?? 'champion';
const port = Number(process.env.PORT ?? 9099);
const seen = new Set();

/** Whether `signatures` (space-separated `v1,<base64>`) holds the HMAC of `id.timestamp.body`. */
export function verify(id, timestamp, body, signatures) {
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return String(signatures)
    .split(' ')
    .some((s) => {
      const [v, sig] = s.split(',');
      const got = Buffer.from(sig ?? '', 'base64');
      return v === 'v1' && got.length === expected.length && timingSafeEqual(got, expected);
    });
}

function deploy(event) {
  const command = process.env.DEPLOY_COMMAND;
  const line = `${event.model}@${event.data.alias}: ${event.data.previous_version ?? 'unset'} -> ${event.data.version}`;
  if (!command) return console.log(`would deploy ${line} (set DEPLOY_COMMAND)`);
  console.log(`deploying ${line}`);
  spawn(command, { shell: true, stdio: 'inherit', env: { ...process.env, MODEL: event.model, VERSION: String(event.data.version) } });
}

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const id = req.headers['webhook-id'];
    const ts = Number(req.headers['webhook-timestamp']);
    if (!id || !Number.isFinite(ts) || Math.abs(Date.now() / 1000 - ts) > 300 || !verify(id, ts, body, req.headers['webhook-signature'] ?? '')) {
      res.writeHead(401).end('bad signature');
      return;
    }
    res.writeHead(204).end();
    if (seen.has(id)) return;
    seen.add(id);
    const event = JSON.parse(body);
    if (event.type === 'alias.moved' && event.data.alias === alias && event.data.version !== null) deploy(event);
  });
}).listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
