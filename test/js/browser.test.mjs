// browser.test.mjs drives /wss/gateway from headless Chromium: a page served
// by this script (so its origin differs from the gateway's, which the
// gateway's wss.allowed_origins must allow) opens one socket with
// ?client=&api_key= (browsers cannot set headers on a WebSocket), puts many
// requests in flight at once and reports every frame it received. Run by
// browser_test.go with ATHENA_URL, ATHENA_CLIENT, ATHENA_TABLE and CHROMIUM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { chromium } from 'playwright-core';

const base = process.env.ATHENA_URL;
const client = process.env.ATHENA_CLIENT;
const table = process.env.ATHENA_TABLE;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

// The page: open the socket, send every request without waiting, collect
// frames until each request has its reply, then publish them.
const page = `<!doctype html><meta charset="utf-8"><title>athena wss</title><script>
window.run = (url, requests) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url);
  const frames = [];
  const open = new Set(requests.filter(r => r.action !== 'ping').map(r => r.request_id));
  let pongs = requests.length - open.size;
  ws.onerror = () => reject(new Error('websocket error'));
  ws.onclose = (e) => { if (open.size || pongs) reject(new Error('closed early: ' + e.code)); };
  ws.onmessage = (e) => {
    const f = JSON.parse(e.data);
    frames.push(f);
    if (f.type === 'pong') pongs--;
    if (f.type === 'reply') open.delete(f.request_id);
    if (!open.size && !pongs) { ws.close(1000); resolve(frames); }
  };
  ws.onopen = () => { for (const r of requests) ws.send(JSON.stringify(r)); };
});
</script>`;

function servePage() {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

test('concurrent requests over one browser WebSocket', async () => {
  const srv = await servePage();
  const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-default-apps', '--disable-sync', '--no-first-run'],
  });
  try {
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${srv.address().port}/`);
    const wsURL = base.replace(/^http/, 'ws') + `/wss/gateway?client=${encodeURIComponent(client)}&api_key=ath_browser.secret`;

    const requests = [];
    for (let i = 1; i <= 20; i++) {
      requests.push({ request_id: `ins-${i}`, action: 'gateway.insert', body: { table_name: table, insert_body: { id: 1000 + i, name: `browser-${i}`, age: i } } });
    }
    for (let i = 1; i <= 10; i++) {
      requests.push({ request_id: `q-${i}`, action: 'gateway.query', body: { query: `SELECT ${i} AS n` } });
    }
    requests.push({ request_id: 'bad', action: 'gateway.fetch', body: { table_name: table, columns: 'no_such_column' } });
    requests.push({ action: 'ping', request_id: 'p' });
    requests.push({ request_id: 'stream', action: 'gateway.fetch', stream: true, body: { table_name: 'sdk_seed', columns: 'id' } });

    const frames = await tab.evaluate(([url, reqs]) => window.run(url, reqs), [wsURL, requests]);
    const replies = new Map();
    for (const f of frames.filter((f) => f.type === 'reply')) {
      assert.ok(!replies.has(f.request_id), `two replies for ${f.request_id}`);
      replies.set(f.request_id, f);
    }
    for (let i = 1; i <= 20; i++) {
      const r = replies.get(`ins-${i}`);
      assert.equal(r.status, 'success', JSON.stringify(r));
      assert.equal(r.http_status, 200);
      assert.deepEqual(r.data, [{ id: 1000 + i, name: `browser-${i}`, age: i, email: null, active: true }]);
    }
    for (let i = 1; i <= 10; i++) {
      assert.deepEqual(replies.get(`q-${i}`).data, [{ n: i }]);
    }
    const bad = replies.get('bad');
    assert.equal(bad.status, 'error');
    assert.equal(bad.code, 'unknown_column');
    assert.equal(bad.http_status, 400);
    assert.match(bad.message, /no_such_column/);
    assert.ok(frames.some((f) => f.type === 'pong' && f.request_id === 'p'));

    const chunks = frames.filter((f) => f.type === 'chunk' && f.request_id === 'stream');
    assert.deepEqual(chunks.map((c) => c.seq), chunks.map((_, i) => i));
    const ids = chunks.flatMap((c) => c.data.map((r) => r.id)).sort((a, b) => a - b);
    assert.deepEqual(ids, Array.from({ length: 1200 }, (_, i) => i + 1));
    assert.equal(replies.get('stream').meta.row_count, 1200);
    assert.equal(replies.get('stream').meta.chunks, chunks.length);

    // The rows the browser wrote are in the database.
    const res = await fetch(`${base}/gateway/fetch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-athena-client': client },
      body: JSON.stringify({ table_name: table, conditions: [{ operator: 'gte', column: 'id', value: 1001 }] }),
    });
    const env = await res.json();
    assert.equal(env.data.length, 20);
  } finally {
    await browser.close();
    srv.close();
  }
});
