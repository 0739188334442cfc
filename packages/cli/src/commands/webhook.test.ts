import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthClient } from '@berth/sdk';
import { nodeFetch } from '@berth/sdk/node';
import { buildApp, DEFAULT_REGISTRY_CONFIG, FsBlobStore, openStore, Registry, systemClock, WebhookDispatcher } from '@berth/server';
import { main } from '../main.js';
import type { Io } from '../io.js';

describe('berth webhook', () => {
  let url = '';
  let stop: () => Promise<void>;
  let receiver: Server;
  let receiverUrl = '';
  const calls: { headers: IncomingHttpHeaders; body: string }[] = [];
  let failNext = 0;

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-cli-webhook-'));
    const store = await openStore(`sqlite:${join(dir, 'berth.db')}`);
    const blobs = await FsBlobStore.open(join(dir, 'blobs'));
    const app = await buildApp({
      registry: new Registry({ store, blobs, clock: systemClock, config: { ...DEFAULT_REGISTRY_CONFIG, webhookAllowPrivate: true } }),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const dispatcher = new WebhookDispatcher({ store, allowPrivate: true, maxAttempts: 1, pollMs: 20 });
    dispatcher.start();
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        calls.push({ headers: req.headers, body });
        res.writeHead(failNext-- > 0 ? 500 : 204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    stop = async () => {
      await dispatcher.stop();
      await app.close();
      await blobs.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    };
  });
  after(async () => {
    receiver.close();
    await stop();
  });

  async function berth(argv: string[]) {
    const out: string[] = [];
    const errs: string[] = [];
    const io: Io = {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => errs.push(s) },
      env: { USER: 'ana', BERTH_URL: url },
      cwd: tmpdir(),
    };
    const code = await main(argv, io);
    return { code, stdout: out.join(''), stderr: errs.join('') };
  }

  async function until(pred: () => boolean | Promise<boolean>) {
    for (let i = 0; i < 200 && !(await pred()); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(await pred(), 'condition not met in time');
  }

  it('adds a webhook (secret shown once), lists it, delivers a signed alias.moved, shows and replays deliveries, tests and removes it', async () => {
    const added = await berth(['webhook', 'add', receiverUrl, '--events', 'alias.moved', '--description', 'deploy', '--json']);
    assert.equal(added.code, 0, added.stderr);
    const w = JSON.parse(added.stdout);
    assert.match(w.secret, /^whsec_/);
    const human = await berth(['webhook', 'ls']);
    assert.match(human.stdout, new RegExp(`${w.id}\\s+${receiverUrl.replace(/[.]/g, '\\.')}\\s+alias\\.moved\\s+yes`));
    assert.doesNotMatch(human.stdout, /whsec_/);

    const direct = new BerthClient({ url, fetch: nodeFetch });
    const text = 'weights';
    const sha = (await import('node:crypto')).createHash('sha256').update(text).digest('hex');
    await direct.createVersion('bot', {
      files: [{ path: 'w', size: text.length, sha256: sha }],
      blobs: [{ sha256: sha, base64: Buffer.from(text).toString('base64') }],
    });
    failNext = 1;
    await direct.setAlias('bot', 'staging', 1, { reason: 'first' });
    await until(async () => (await direct.listDeliveries(w.id, { state: 'failed' })).items.length === 1);

    const failed = await berth(['webhook', 'deliveries', w.id, '--state', 'failed']);
    assert.equal(failed.code, 0);
    assert.match(failed.stdout, /dlv_\w+\s+evt_\d+\s+alias\.moved\s+failed\s+1\s+500/);
    const [d] = (await direct.listDeliveries(w.id)).items;
    const replay = await berth(['webhook', 'replay', d?.id as string]);
    assert.match(replay.stdout, new RegExp(`queued dlv_\\w+: evt_${d?.event_seq} \\(alias\\.moved\\) again to ${w.id}`));
    await until(() => calls.length === 2);
    const call = calls[1];
    assert.equal(call?.headers['webhook-id'], `evt_${d?.event_seq}`);
    const signed = `${call?.headers['webhook-id']}.${call?.headers['webhook-timestamp']}.${call?.body}`;
    const want = `v1,${createHmac('sha256', Buffer.from(w.secret.slice(6), 'base64'))
      .update(signed)
      .digest('base64')}`;
    assert.equal(call?.headers['webhook-signature'], want);
    const event = JSON.parse(call?.body ?? '{}');
    assert.deepEqual(
      [event.type, event.model, event.data.alias, event.data.version, event.data.previous_version, event.reason],
      ['alias.moved', 'bot', 'staging', 1, null, 'first'],
    );
    await until(async () => (await direct.listDeliveries(w.id, { state: 'delivered' })).items.length === 1);

    const tested = await berth(['webhook', 'test', w.id]);
    assert.equal(tested.code, 0, tested.stdout);
    assert.match(tested.stdout, /^delivered: 204 in \d+ms/);
    const detail = await direct.getDelivery(d?.id as string);
    assert.deepEqual(
      detail.attempts_log.map((a) => a.status),
      [500],
    );

    assert.equal((await berth(['webhook', 'rm', w.id])).code, 0);
    const gone = await berth(['webhook', 'rm', w.id]);
    assert.equal(gone.code, 3);
    assert.match(gone.stderr, /webhook "wh_\w+" not found/);
  });

  it('refuses a non-http URL, an unknown event type and a bad --state with their messages and exit codes', async () => {
    const ftp = await berth(['webhook', 'add', 'ftp://example.com/x']);
    assert.equal(ftp.code, 2);
    assert.match(ftp.stderr, /must be http or https, not ftp/);
    const typo = await berth(['webhook', 'add', 'https://example.com/x', '--events', 'alias.moves']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /unknown event type "alias\.moves"/);
    const state = await berth(['webhook', 'deliveries', 'wh_x', '--state', 'lost']);
    assert.equal(state.code, 2);
    assert.match(state.stderr, /--state must be one of pending, delivered, failed/);
    assert.equal((await berth(['webhook', 'frobnicate'])).code, 2);
    assert.equal((await berth(['webhook', 'ls', 'extra'])).code, 2);
    assert.equal((await berth(['webhook', 'ls', '--json'])).stdout.trim(), '[]');
  });
});
