import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startWorld, type World } from '../test-support/world.js';

const worlds: World[] = [];
after(() => Promise.all(worlds.map((w) => w.close())));

const MIB = 1024 * 1024;

/**
 * Sends a request over a raw socket, writing the whole body in small chunks before reading a
 * byte of the answer (as a client that uploads first does), then reads the status line. A
 * server that closes before the body is all in resets the connection, and the client loses
 * the answer that was waiting in its receive buffer.
 */
function postAll(url: string, head: string, chunks: Buffer[]): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    let got = '';
    const socket = connect(Number(u.port), u.hostname, async () => {
      socket.pause();
      try {
        socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: ${u.host}\r\ncontent-type: application/json\r\n${head}\r\n`);
        for (const c of chunks) {
          if (!socket.write(c)) await new Promise((r) => socket.once('drain', r));
          await new Promise((r) => setImmediate(r));
        }
      } catch {
        // A write the server refused shows below as a lost answer.
      }
      socket.resume();
    });
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
    });
    socket.on('error', () => undefined);
    // The gateway closes the connection after a 413: the whole answer is in by then.
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(got);
      const json = /\r\n\r\n.*?(\{.*\})/s.exec(got);
      if (status && json) resolve({ status: Number(status[1]), text: json[1] as string });
      else reject(new Error(`the connection closed with no answer: ${JSON.stringify(got.slice(0, 200))}`));
    });
  });
}

function body(bytes: number, chunk = 256 * 1024): Buffer[] {
  const out: Buffer[] = [];
  for (let left = bytes; left > 0; left -= chunk) out.push(Buffer.alloc(Math.min(chunk, left), 'x'));
  return out;
}

describe('gateway request bodies over the limit', () => {
  it('reads the rest of a declared 11 MiB body, so the client gets its 413', async () => {
    const w = await startWorld();
    worlds.push(w);
    const a = await postAll(w.gw.url, `content-length: ${11 * MIB}\r\n`, body(11 * MIB));
    assert.equal(a.status, 413);
    assert.equal(JSON.parse(a.text).error.code, 'request_too_large');
    assert.equal(w.ups[0]?.count, 0);
  });

  it('reads the rest of a chunked body once it passes 10 MiB, so the client gets its 413', async () => {
    const w = await startWorld();
    worlds.push(w);
    const chunked = body(12 * MIB).map((c) => Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]));
    const a = await postAll(w.gw.url, 'transfer-encoding: chunked\r\n', [...chunked, Buffer.from('0\r\n\r\n')]);
    assert.equal(a.status, 413);
    assert.equal(JSON.parse(a.text).error.code, 'request_too_large');
  });
});
