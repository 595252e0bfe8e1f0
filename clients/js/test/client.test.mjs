// Unit tests of the client against a fake socket (test/fake.mjs): request
// correlation, the builder's frames in both chain orders, the offline
// queue, the reconnect state machine (close codes, back-off, what is and is
// not sent again), pings, streams, cancellation, jobs and live queries.
// They import the built package (dist/), which the Go test checks is
// current.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { connect, reconnectDelay, AthenaError } from '../dist/index.js';
import { FakeServer, settle, until } from './fake.mjs';

function setup(options = {}) {
  const server = new FakeServer();
  const client = connect('http://gateway.test', { client: 'shop', WebSocket: server.WebSocket, pingIntervalMs: 0, jobPollMs: 0, ...options });
  return { server, client };
}

// run starts a builder (then() sends synchronously) and returns its promise.
const run = (q) => q.then((r) => r);

async function opened(server) {
  await until(() => server.ws, 'a socket');
  server.ws.open();
  return server.ws;
}

test('the socket opens lazily, on the first call, at /wss/gateway with ?client=', async () => {
  const { server, client } = setup();
  const statuses = [];
  client.onStatus((s) => statuses.push(s));
  assert.equal(server.sockets.length, 0);
  const q = client.from('users').select('id');
  assert.equal(server.sockets.length, 0, 'building a query opens nothing');
  const p = run(q);
  assert.equal(server.sockets.length, 1);
  assert.equal(server.ws.url, 'ws://gateway.test/wss/gateway?client=shop');
  const ws = await opened(server);
  const [f] = ws.requests();
  ws.reply(f.request_id, [{ id: 1 }]);
  const r = await p;
  assert.deepEqual(r, { data: [{ id: 1 }], error: null, status: 200, meta: null });
  assert.deepEqual(statuses, ['idle', 'connecting', 'open']);
  client.close();
  assert.equal(client.status, 'closed');
});

test('replies are matched to requests by request_id, in any order', async () => {
  const { server, client } = setup();
  const a = run(client.from('t').eq('id', 1));
  const b = run(client.from('t').eq('id', 2));
  const ws = await opened(server);
  const [fa, fb] = ws.requests();
  assert.notEqual(fa.request_id, fb.request_id);
  ws.fail(fb.request_id, 400, 'unknown_column', 'unknown column "x"');
  ws.reply(fa.request_id, [{ id: 1 }], { meta: { truncated: false } });
  const ra = await a;
  const rb = await b;
  assert.deepEqual(ra.data, [{ id: 1 }]);
  assert.deepEqual(ra.meta, { truncated: false });
  assert.equal(rb.data, null);
  assert.ok(rb.error instanceof AthenaError);
  assert.equal(rb.error.code, 'unknown_column');
  assert.equal(rb.error.httpStatus, 400);
  assert.equal(rb.status, 400);
  assert.match(rb.error.message, /unknown column/);
  client.close();
});

test('filters before select() (athena-js) and after it (supabase-js) send the same frame', async () => {
  const { server, client } = setup();
  const athena = run(client.from('people').eq('active', true).gt('age', 20).in('id', [1, 2]).range(10, 19).select('id,name'));
  const supa = run(client.from('people').select('id,name').eq('active', true).gt('age', 20).in('id', [1, 2]).range(10, 19));
  const ws = await opened(server);
  const [f1, f2] = ws.requests();
  const strip = ({ request_id, ...rest }) => rest;
  assert.deepEqual(strip(f1), strip(f2));
  assert.deepEqual(strip(f1), {
    action: 'gateway.fetch',
    headers: { 'X-Strip-Nulls': 'true' },
    body: {
      table_name: 'people',
      columns: 'id,name',
      conditions: [
        { operator: 'eq', column: 'active', value: true },
        { operator: 'gt', column: 'age', value: 20 },
        { operator: 'in', column: 'id', value: [1, 2] },
      ],
      limit: 10,
      offset: 10,
    },
  });
  ws.reply(f1.request_id, []);
  ws.reply(f2.request_id, []);
  await Promise.all([athena, supa]);
  client.close();
});

test('every filter and write maps to the body the server reads', async () => {
  const { server, client } = setup({ stripNulls: false });
  const t = () => client.from('t');
  const calls = [
    t().neq('a', 1).gte('b', 2).lt('c', 3).lte('d', 4).like('e', 'x%').ilike('f', '*y*').is('g', null).contains('h', [1]).containedBy('i', [2]).order('a', { ascending: false }).limit(5),
    t().not('age', 'gt', 30).not('id', 'in', [1, 2]).or('a.eq.1,b.eq.2').match({ x: 1, y: 'z' }),
    t().insert([{ id: 1 }], { defaultToNull: true }).select('id'),
    t().upsert({ id: 1, n: 2 }, { onConflict: 'id', updateBody: { n: 3 } }),
    t().eq('id', 1).update({ n: 5 }),
    t().update({ n: 6 }).eq('id', 2),
    t().delete().eq('id', 3),
    t().eq('resource_id', 4).delete(),
  ];
  const results = calls.map(run);
  const ws = await opened(server);
  const frames = ws.requests();
  assert.deepEqual(frames.map((f) => f.action), ['gateway.fetch', 'gateway.fetch', 'gateway.insert', 'gateway.insert', 'gateway.update', 'gateway.update', 'gateway.delete', 'gateway.delete']);
  assert.deepEqual(frames[0].headers, { 'X-Strip-Nulls': 'false' });
  assert.deepEqual(frames[0].body.conditions.map((c) => c.operator), ['neq', 'gte', 'lt', 'lte', 'like', 'ilike', 'is', 'contains', 'containedBy']);
  assert.deepEqual(frames[0].body.conditions[6], { operator: 'is', column: 'g', value: null });
  assert.deepEqual(frames[0].body.sort_by, { field: 'a', direction: 'desc' });
  assert.equal(frames[0].body.limit, 5);
  assert.deepEqual(frames[1].body.conditions, [
    { operator: 'not', value: 'age.gt.30' },
    { operator: 'not', value: 'id.in.(1,2)' },
    { operator: 'or', value: 'a.eq.1,b.eq.2' },
    { operator: 'eq', column: 'x', value: 1 },
    { operator: 'eq', column: 'y', value: 'z' },
  ]);
  assert.deepEqual(frames[2].body, { table_name: 't', columns: 'id', insert_body: [{ id: 1 }], default_to_null: true });
  assert.deepEqual(frames[3].body, { table_name: 't', insert_body: { id: 1, n: 2 }, on_conflict: 'id', update_body: { n: 3 } });
  assert.deepEqual(frames[4].body, { table_name: 't', update_body: { n: 5 }, conditions: [{ operator: 'eq', column: 'id', value: 1 }] });
  assert.deepEqual(frames[5].body, frames[4].body.conditions && { table_name: 't', update_body: { n: 6 }, conditions: [{ operator: 'eq', column: 'id', value: 2 }] });
  assert.deepEqual(frames[6].body, { table_name: 't', conditions: [{ operator: 'eq', column: 'id', value: 3 }] });
  assert.deepEqual(frames[7].body, { table_name: 't', resource_id: 4 });
  // update and delete answer {affected_rows, rows}: data is the rows.
  for (const f of frames) {
    ws.reply(f.request_id, f.action === 'gateway.update' ? { affected_rows: 1, rows: [{ id: 1, n: 5 }] } : []);
  }
  const rs = await Promise.all(results);
  assert.deepEqual(rs[4].data, [{ id: 1, n: 5 }]);
  assert.equal(rs[4].meta.affected_rows, 1);
  client.close();
});

test('a builder is immutable and runs once however often it is awaited', async () => {
  const { server, client } = setup();
  const base = client.from('t').eq('a', 1);
  const narrower = base.eq('b', 2);
  const p1 = run(narrower);
  const p2 = run(narrower);
  const ws = await opened(server);
  assert.equal(ws.requests().length, 1, 'one frame for two awaits');
  assert.equal(ws.requests()[0].body.conditions.length, 2);
  ws.reply(ws.requests()[0].request_id, [{ a: 1, b: 2 }]);
  assert.equal(await p1, await p2);
  const p3 = run(base);
  await until(() => ws.requests().length === 2);
  assert.equal(ws.requests()[1].body.conditions.length, 1, 'the base builder kept its own filters');
  ws.reply(ws.requests()[1].request_id, []);
  await p3;
  client.close();
});

test('single() and maybeSingle() check the row count', async () => {
  const { server, client } = setup();
  const one = run(client.from('t').eq('id', 1).single());
  const none = run(client.from('t').eq('id', 2).single());
  const maybe = run(client.from('t').eq('id', 3).maybeSingle());
  const many = run(client.from('t').maybeSingle());
  const ws = await opened(server);
  const [a, b, c, d] = ws.requests();
  ws.reply(a.request_id, [{ id: 1 }]);
  ws.reply(b.request_id, []);
  ws.reply(c.request_id, []);
  ws.reply(d.request_id, [{ id: 1 }, { id: 2 }]);
  assert.deepEqual((await one).data, { id: 1 });
  assert.equal((await none).error.code, 'not_single');
  assert.equal((await maybe).data, null);
  assert.equal((await maybe).error, null);
  assert.equal((await many).error.code, 'not_single');
  client.close();
});

test('calls made while connecting wait in order; the auth frame goes first', async () => {
  const { server, client } = setup({ apiKey: 'ath_k.secret' });
  const ps = [1, 2, 3].map((i) => run(client.from('t').eq('id', i)));
  await until(() => server.ws);
  assert.equal(server.ws.sent.length, 0, 'nothing is sent before open');
  server.ws.open();
  const ws = server.ws;
  assert.equal(ws.sent[0].action, 'auth');
  assert.deepEqual(ws.sent[0].body, { api_key: 'ath_k.secret' });
  assert.ok(!ws.url.includes('secret'), 'the key is not in the URL');
  assert.deepEqual(ws.requests().map((f) => f.body.conditions[0].value), [1, 2, 3]);
  for (const f of ws.requests()) ws.reply(f.request_id, []);
  await Promise.all(ps);
  client.close();
});

test('the offline queue is bounded; maxQueue 0 fails fast', async () => {
  const bounded = setup({ maxQueue: 2 });
  const ps = [1, 2, 3].map((i) => run(bounded.client.from('t').eq('id', i)));
  const third = await ps[2];
  assert.equal(third.error.code, 'queue_full');
  assert.equal(third.error.retryable, true);
  const ws = await opened(bounded.server);
  assert.equal(ws.requests().length, 2);
  for (const f of ws.requests()) ws.reply(f.request_id, []);
  await Promise.all(ps.slice(0, 2));
  bounded.client.close();

  const fast = setup({ maxQueue: 0 });
  const r = await run(fast.client.from('t'));
  assert.equal(r.error.code, 'queue_full');
  fast.client.close();
});

test('a lost socket: reads fail retryable, writes are unknown_outcome, nothing is sent again', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { server, client } = setup({ reconnect: { initialDelayMs: 100, maxDelayMs: 100 } });
  const statuses = [];
  client.onStatus((s) => statuses.push(s));
  const read = run(client.from('t').eq('id', 1));
  const write = run(client.from('t').insert({ id: 9 }));
  const sql = run(client.sql('UPDATE t SET n = 1'));
  const ws1 = await opened(server);
  assert.equal(ws1.requests().length, 3);
  ws1.drop(1006);
  const [r, w, s] = await Promise.all([read, write, sql]);
  assert.equal(r.error.code, 'connection_lost');
  assert.equal(r.error.retryable, true);
  assert.equal(w.error.code, 'unknown_outcome');
  assert.equal(w.error.retryable, false);
  assert.equal(s.error.code, 'unknown_outcome');
  assert.equal(client.status, 'reconnecting');
  // A call made while reconnecting waits for the new socket.
  const later = run(client.from('t').eq('id', 2));
  assert.equal(server.sockets.length, 1, 'the back-off has not elapsed');
  t.mock.timers.tick(100);
  assert.equal(server.sockets.length, 2);
  const ws2 = server.ws;
  ws2.open();
  assert.deepEqual(ws2.requests().map((f) => f.body.conditions?.[0]?.value), [2], 'only the new call went out');
  ws2.reply(ws2.requests()[0].request_id, [{ id: 2 }]);
  assert.deepEqual((await later).data, [{ id: 2 }]);
  assert.deepEqual(statuses, ['idle', 'connecting', 'open', 'reconnecting', 'open']);
  client.close();
});

test('reconnectDelay: 1001 retries at once, 1008 waits, 4xxx and maxAttempts give up, back-off grows with jitter', () => {
  const o = { initialDelayMs: 100, maxDelayMs: 1000, policyDelayMs: 5000, maxAttempts: 5 };
  assert.equal(reconnectDelay(0, 1001, o, () => 0.5), 0);
  assert.ok(reconnectDelay(1, 1001, o, () => 0.5) > 0, 'a second failure after 1001 backs off');
  assert.ok(reconnectDelay(0, 1008, o, () => 0) >= 5000);
  assert.equal(reconnectDelay(0, 4001, o), -1);
  assert.equal(reconnectDelay(5, 1006, o), -1);
  assert.equal(reconnectDelay(0, 1006, o, () => 0), 50);
  assert.equal(reconnectDelay(0, 1006, o, () => 1), 100);
  assert.equal(reconnectDelay(3, 1006, o, () => 1), 800);
  assert.equal(reconnectDelay(4, 1006, o, () => 1), 1000, 'capped');
  const spread = new Set(Array.from({ length: 20 }, () => reconnectDelay(2, 1006, o)));
  assert.ok(spread.size > 1, 'jittered');
});

test('after 1001 the client reconnects at once; after 1008 it waits out the policy delay', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { server, client } = setup({ reconnect: { initialDelayMs: 100, policyDelayMs: 5000 } });
  client.connect();
  const ws1 = await opened(server);
  ws1.drop(1001);
  t.mock.timers.tick(0);
  assert.equal(server.sockets.length, 2, 'reconnected without waiting');
  server.ws.open();
  server.ws.drop(1008);
  t.mock.timers.tick(4999);
  assert.equal(server.sockets.length, 2, 'no reconnect storm after 1008');
  t.mock.timers.tick(10000);
  assert.equal(server.sockets.length, 3);
  server.ws.drop(4003);
  assert.equal(client.status, 'closed', 'an application close code is final');
  const r = await run(client.from('t'));
  assert.equal(r.error.code, 'closed');
});

test('a failed connect backs off more each time, and open resets it', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { server, client } = setup({ reconnect: { initialDelayMs: 100, maxDelayMs: 100000 } });
  client.connect();
  await until(() => server.ws);
  server.ws.drop(1006); // refused before open
  t.mock.timers.tick(100);
  assert.equal(server.sockets.length, 2);
  server.ws.drop(1006);
  t.mock.timers.tick(100);
  assert.equal(server.sockets.length, 2, 'the second wait is longer than the first');
  t.mock.timers.tick(100);
  assert.equal(server.sockets.length, 3);
  server.ws.open();
  assert.equal(client.status, 'open');
  server.ws.drop(1006);
  t.mock.timers.tick(100);
  assert.equal(server.sockets.length, 4, 'a successful open reset the back-off');
  client.close();
});

test('application pings detect a dead socket', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { server, client } = setup({ pingIntervalMs: 1000, reconnect: { initialDelayMs: 10, maxDelayMs: 10 } });
  client.connect();
  const ws = await opened(server);
  t.mock.timers.tick(1000);
  assert.deepEqual(ws.sent.at(-1), { action: 'ping' });
  ws.push({ type: 'pong', request_id: null });
  t.mock.timers.tick(1000);
  assert.equal(client.status, 'open', 'answered: still open');
  assert.equal(ws.sent.filter((f) => f.action === 'ping').length, 2);
  t.mock.timers.tick(1000); // silent for a whole interval after the ping
  assert.equal(client.status, 'reconnecting');
  assert.ok(ws.closed, 'the dead socket was closed');
  t.mock.timers.tick(10);
  assert.equal(server.sockets.length, 2);
  client.close();
});

test('stream: batches with a running row count, decoded as consumed, then meta', async () => {
  const { server, client } = setup();
  const s = client.from('big').select('id').stream();
  const it = s[Symbol.asyncIterator]();
  const first = it.next();
  const ws = await opened(server);
  const [f] = ws.requests();
  assert.equal(f.stream, true);
  assert.equal(f.action, 'gateway.fetch');
  ws.chunk(f.request_id, 0, [{ id: 1 }, { id: 2 }]);
  ws.chunk(f.request_id, 1, [{ id: 3 }]);
  ws.chunk(f.request_id, 2, [{ id: 4 }]);
  ws.reply(f.request_id, undefined, { meta: { row_count: 4, chunks: 3 } });
  assert.deepEqual((await first).value, { rows: [{ id: 1 }, { id: 2 }], seq: 0, rowCount: 2 });
  const rest = [];
  for await (const b of s) rest.push(b);
  assert.deepEqual(rest.map((b) => b.rowCount), [3, 4]);
  assert.deepEqual(s.meta, { row_count: 4, chunks: 3 });
  assert.equal(s.rowCount, 4);
  client.close();
});

test('stream: breaking out cancels it on the server; an error after rows is thrown', async () => {
  const { server, client } = setup();
  client.connect();
  const ws = await opened(server);
  const s = client.sql('SELECT * FROM big').stream();
  const p = (async () => {
    for await (const b of s) {
      if (b.rowCount >= 1) break;
    }
  })();
  await until(() => ws.requests().length === 1);
  const [f] = ws.requests();
  assert.equal(f.action, 'gateway.query');
  ws.chunk(f.request_id, 0, [{ id: 1 }]);
  await p;
  const cancel = ws.requests().find((x) => x.action === 'request.cancel');
  assert.deepEqual(cancel.body, { request_id: f.request_id });

  const s2 = client.from('big').stream();
  const got = [];
  const p2 = (async () => {
    for await (const b of s2) got.push(b);
  })();
  await until(() => ws.requests().length === 3);
  const f2 = ws.requests()[2];
  ws.chunk(f2.request_id, 0, [{ id: 1 }]);
  ws.fail(f2.request_id, 504, 'timeout', 'statement timeout');
  await assert.rejects(p2, (e) => e instanceof AthenaError && e.code === 'timeout' && e.httpStatus === 504);
  assert.equal(got.length, 1, 'the rows before the error were delivered');
  client.close();
});

test('stream: a lost socket ends it with connection_lost', async () => {
  const { server, client } = setup({ reconnect: { initialDelayMs: 5 } });
  const s = client.from('big').stream();
  const p = (async () => {
    for await (const _ of s);
  })();
  const ws = await opened(server);
  await until(() => ws.requests().length === 1);
  ws.chunk(ws.requests()[0].request_id, 0, [{ id: 1 }]);
  ws.drop(1006);
  await assert.rejects(p, (e) => e.code === 'connection_lost' && e.retryable);
  client.close();
});

test('AbortSignal: a queued call is never sent; a sent read is cancelled on the server', async () => {
  const { server, client } = setup();
  const ac1 = new AbortController();
  const queued = run(client.from('t').abortSignal(ac1.signal));
  ac1.abort();
  assert.equal((await queued).error.code, 'canceled');
  const ws = await opened(server);
  assert.equal(ws.requests().length, 0, 'the aborted call never went out');

  const ac2 = new AbortController();
  const read = run(client.from('t').eq('id', 1).abortSignal(ac2.signal));
  await until(() => ws.requests().length === 1);
  ac2.abort();
  const r = await read;
  assert.equal(r.error.code, 'canceled');
  const [f, cancel] = ws.requests();
  assert.deepEqual(cancel, { request_id: cancel.request_id, action: 'request.cancel', body: { request_id: f.request_id } });

  // A write waits for its own reply, which says whether the cancel won.
  const ac3 = new AbortController();
  const write = run(client.from('t').delete().eq('id', 1).abortSignal(ac3.signal));
  await until(() => ws.requests().length === 3);
  ac3.abort();
  await settle();
  const w = ws.requests()[2];
  let done = false;
  write.then(() => (done = true));
  await settle();
  assert.equal(done, false, 'the write waits for its reply');
  ws.reply(w.request_id, { affected_rows: 1, rows: [{ id: 1 }] });
  assert.deepEqual((await write).data, [{ id: 1 }], 'the write had committed before the cancel');
  client.close();
});

test('timeoutMs: sent as timeout_ms; a silent server makes the read fail with timeout', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { server, client } = setup();
  const p = run(client.from('t').timeout(100));
  const ws = await opened(server);
  assert.equal(ws.requests()[0].timeout_ms, 100);
  t.mock.timers.tick(2100);
  const r = await p;
  assert.equal(r.error.code, 'timeout');
  assert.equal(ws.requests()[1].action, 'request.cancel');
  client.close();
});

test('defer: a job handle with status events, a result, and a re-attached watch after a reconnect', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { server, client } = setup({ reconnect: { initialDelayMs: 10, maxDelayMs: 10 } });
  const pj = client.sql('SELECT pg_sleep(1)').defer();
  const ws1 = await opened(server);
  const [f] = ws1.requests();
  assert.equal(f.defer, true);
  ws1.push({ type: 'reply', request_id: f.request_id, http_status: 202, status: 'success', message: 'Request deferred', data: { request_id: 'job1', status: 'queued' } });
  const job = await pj;
  assert.equal(job.id, 'job1');
  const seen = [];
  job.onStatus((i) => seen.push(i.status));
  ws1.event(f.request_id, 'deferred.status', { request_id: 'job1', status: 'running' });
  ws1.drop(1006);
  t.mock.timers.tick(10);
  const ws2 = server.ws;
  ws2.open();
  const [sub] = ws2.requests();
  assert.deepEqual(sub.body, { request_id: 'job1' });
  assert.equal(sub.action, 'deferred.subscribe');
  ws2.reply(sub.request_id, { request_id: 'job1', status: 'running' });
  ws2.event(sub.request_id, 'deferred.status', {
    request_id: 'job1', status: 'completed', result: { status: 'success', message: 'ok', data: [{ n: 1 }] },
  });
  const r = await job.result();
  assert.deepEqual(r, { data: [{ n: 1 }], error: null, status: 200, meta: null });
  assert.deepEqual(seen, ['queued', 'running', 'completed']);
  assert.equal(ws2.requests().filter((x) => x.defer).length, 0, 'the deferral was not sent again');
  client.close();
});

test('defer: a lost acknowledgement is unknown_outcome and is not submitted again', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { server, client } = setup({ reconnect: { initialDelayMs: 10, maxDelayMs: 10 } });
  const pj = client.from('t').defer();
  const ws1 = await opened(server);
  ws1.drop(1006);
  await assert.rejects(pj, (e) => e.code === 'unknown_outcome');
  t.mock.timers.tick(10);
  server.ws.open();
  assert.equal(server.ws.requests().length, 0);
  client.close();
});

test('defer: an abort before the acknowledgement drops a queued deferral or cancels a sent one', async () => {
  const { server, client } = setup();
  const ac1 = new AbortController();
  const queued = client.from('t').defer({ signal: ac1.signal });
  ac1.abort();
  await assert.rejects(queued, (e) => e.code === 'canceled');
  const ws = await opened(server);
  assert.equal(ws.requests().length, 0);
  const ac2 = new AbortController();
  const sent = client.sql('SELECT 1').defer({ signal: ac2.signal });
  await until(() => ws.requests().length === 1);
  ac2.abort();
  const [f, cancel] = ws.requests();
  assert.deepEqual(cancel.body, { request_id: f.request_id });
  ws.fail(f.request_id, 499, 'canceled');
  await assert.rejects(sent, (e) => e.code === 'canceled' && e.httpStatus === 499);
  client.close();
});

test('client.job(id) re-attaches; a failed job resolves with its error', async () => {
  const { server, client } = setup();
  const job = client.job('job7');
  const ws = await opened(server);
  const [sub] = ws.requests();
  assert.equal(sub.action, 'deferred.subscribe');
  ws.reply(sub.request_id, {
    request_id: 'job7', status: 'failed', error: 'boom',
    result: { status: 'error', message: 'unknown table "x"', error: 'unknown table "x"', code: 'unknown_table' },
  });
  const r = await job.result();
  assert.equal(r.error.code, 'unknown_table');
  const missing = client.job('nope');
  await until(() => ws.requests().length === 2);
  ws.fail(ws.requests()[1].request_id, 404, 'not_found');
  assert.equal((await missing.result()).error.code, 'not_found');
  client.close();
});

test('live: snapshot, changes applied to the kept rows, resume with the cursor after a reconnect', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { server, client } = setup({ reconnect: { initialDelayMs: 10, maxDelayMs: 10 } });
  const events = [];
  const sub = client.from('orders').select('id,n').order('id').subscribe((e) => events.push({ type: e.type, ids: e.rows.map((r) => r.id) }));
  const ws1 = await opened(server);
  const [f] = ws1.requests();
  assert.equal(f.action, 'live.subscribe');
  assert.deepEqual(f.body, { table_name: 'orders', columns: 'id,n', sort_by: { field: 'id', direction: 'asc' } });
  assert.equal(f.resume, undefined);
  ws1.reply(f.request_id, [{ id: 1, n: 1 }, { id: 3, n: 3 }], { meta: { cursor: 'c1', key: ['id'] } });
  assert.deepEqual(await sub.ready, [{ id: 1, n: 1 }, { id: 3, n: 3 }]);
  ws1.event(f.request_id, 'live.change', { op: 'insert', row: { id: 2, n: 2 } }, { cursor: 'c2' });
  ws1.event(f.request_id, 'live.change', { op: 'update', row: { id: 3, n: 30 }, key: { id: 3 } }, { cursor: 'c3' });
  ws1.event(f.request_id, 'live.change', { op: 'delete', key: { id: 1 } }, { cursor: 'c4' });
  assert.deepEqual(sub.rows, [{ id: 2, n: 2 }, { id: 3, n: 30 }]);
  ws1.drop(1006);
  t.mock.timers.tick(10);
  const ws2 = server.ws;
  ws2.open();
  const [g] = ws2.requests();
  assert.deepEqual(g.resume, { cursor: 'c4' });
  ws2.reply(g.request_id, [], { meta: { cursor: 'c4', key: ['id'], resumed: true } });
  ws2.event(g.request_id, 'live.change', { op: 'insert', row: { id: 0, n: 0 } }, { cursor: 'c5' });
  assert.deepEqual(sub.rows.map((r) => r.id), [0, 2, 3]);
  ws2.event(g.request_id, 'live.resync', [{ id: 9, n: 9 }], { cursor: 'c6' });
  assert.deepEqual(sub.rows, [{ id: 9, n: 9 }]);
  const ac = new AbortController();
  const other = client.from('orders').subscribe(() => {}, { signal: ac.signal });
  await until(() => ws2.requests().length === 2);
  ac.abort();
  assert.equal(ws2.requests().at(-1).action, 'live.unsubscribe', 'the signal unsubscribed');
  assert.deepEqual(ws2.requests().at(-1).body, { request_id: ws2.requests()[1].request_id });
  await assert.rejects(other.ready, (e) => e.code === 'canceled');
  sub.unsubscribe();
  assert.deepEqual(ws2.requests().at(-1), { request_id: ws2.requests().at(-1).request_id, action: 'live.unsubscribe', body: { request_id: g.request_id } });
  assert.deepEqual(events.map((e) => e.type), ['snapshot', 'change', 'change', 'change', 'change', 'resync']);
  client.close();
});

test('live: a server without live queries ends the subscription with its error', async () => {
  const { server, client } = setup();
  const events = [];
  const sub = client.from('orders').subscribe((e) => events.push(e));
  const ws = await opened(server);
  ws.fail(ws.requests()[0].request_id, 400, 'bad_request', 'field action: unknown action "live.subscribe"');
  await assert.rejects(sub.ready, (e) => e.code === 'bad_request');
  assert.equal(events.length, 1);
  assert.equal(events[0].type, 'end');
  assert.equal(events[0].error.code, 'bad_request');
  // live.end from the server ends it too.
  const sub2 = client.from('orders').subscribe(() => {});
  await until(() => ws.requests().length === 2);
  const id = ws.requests()[1].request_id;
  ws.reply(id, [], { meta: { cursor: 'c', key: ['id'] } });
  await sub2.ready;
  ws.event(id, 'live.end', { code: 'forbidden', message: 'key revoked' });
  let ended;
  const sub3 = client.from('x').subscribe((e) => (ended = e));
  sub3.unsubscribe();
  assert.equal(ended, undefined, 'unsubscribe does not call back');
  client.close();
});

test('close() fails waiting calls with closed and stops reconnecting', async () => {
  const { server, client } = setup();
  const p = run(client.from('t'));
  await until(() => server.ws);
  client.close();
  assert.equal((await p).error.code, 'closed');
  assert.equal(server.sockets.length, 1);
  assert.equal((await run(client.from('t'))).error.code, 'closed');
  assert.equal((await client.job('j1').result()).error.code, 'closed', 'a job handle on a closed client settles');
  const ended = [];
  const live = client.from('t').subscribe((e) => ended.push(e.type));
  await assert.rejects(live.ready, (e) => e.code === 'closed');
  assert.deepEqual(ended, ['end']);
});

test('no WebSocket: calls fail with no_websocket', async () => {
  const saved = globalThis.WebSocket;
  delete globalThis.WebSocket;
  try {
    const client = connect('https://gateway.test');
    const r = await run(client.from('t'));
    assert.equal(r.error.code, 'no_websocket');
  } finally {
    if (saved) globalThis.WebSocket = saved;
  }
});

test('frames the client cannot use are ignored', async () => {
  const { server, client } = setup();
  const p = run(client.from('t'));
  const ws = await opened(server);
  ws.push('not json');
  ws.push({ type: 'reply', request_id: null, http_status: 400, status: 'error', code: 'invalid_json' });
  ws.push({ type: 'reply', request_id: 'r999', http_status: 200, status: 'success', data: [] });
  ws.reply(ws.requests()[0].request_id, [{ ok: 1 }]);
  assert.deepEqual((await p).data, [{ ok: 1 }]);
  client.close();
});

void mock;

test('aggregate: the spec goes in the fetch body beside filters, sort and limit; streams and defers carry it too', async () => {
  const { server, client } = setup();
  const spec = { group_by: ['region', { column: 'created_at', bucket: 'week', as: 'week' }], measures: { total: 'sum(amount)', n: 'count(*)' } };
  const q = client.from('orders').gte('created_at', '2024-03-01T00:00:00Z').aggregate(spec).order('total', { ascending: false }).limit(3);
  const p = run(q);
  const ws = await opened(server);
  const [f] = ws.requests();
  assert.equal(f.action, 'gateway.fetch');
  assert.deepEqual(f.body, {
    table_name: 'orders',
    aggregate: spec,
    limit: 3,
    sort_by: { field: 'total', direction: 'desc' },
    conditions: [{ operator: 'gte', column: 'created_at', value: '2024-03-01T00:00:00Z' }],
  });
  ws.reply(f.request_id, [{ region: 'eu', week: '2024-02-26T00:00:00Z', n: 2, total: 0.3 }]);
  const r = await p;
  assert.deepEqual(r.data, [{ region: 'eu', week: '2024-02-26T00:00:00Z', n: 2, total: 0.3 }]);
  // A later builder without aggregate is a plain fetch again.
  const plain = run(client.from('orders').limit(1));
  const [g] = ws.requests().slice(1);
  assert.equal(g.body.aggregate, undefined);
  ws.reply(g.request_id, []);
  await plain;
  client.close();
});

test('job.stream: waits for completion, streams the stored result with deferred.result, resumes from the next chunk after a lost socket', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { server, client } = setup({ reconnect: { initialDelayMs: 10, maxDelayMs: 10 } });
  const pj = client.sql('SELECT * FROM big').defer();
  const ws1 = await opened(server);
  const [f] = ws1.requests();
  ws1.push({ type: 'reply', request_id: f.request_id, http_status: 202, status: 'success', message: 'Request deferred', data: { request_id: 'job9', status: 'queued' } });
  const job = await pj;
  const got = [];
  const p = (async () => {
    for await (const b of job.stream()) got.push(b);
  })();
  await settle();
  assert.equal(ws1.requests().length, 1, 'nothing is read before the job completes');
  ws1.event(f.request_id, 'deferred.status', {
    request_id: 'job9', status: 'completed', result: { row_count: 3, chunks: 3, bytes: 30, chunk_rows: 1 },
  });
  await until(() => ws1.requests().length === 2);
  const r1 = ws1.requests()[1];
  assert.equal(r1.action, 'deferred.result');
  assert.equal(r1.stream, true);
  assert.deepEqual(r1.body, { request_id: 'job9' });
  ws1.chunk(r1.request_id, 0, [{ id: 1 }]);
  await until(() => got.length === 1);
  ws1.drop(1006);
  t.mock.timers.tick(10);
  const ws2 = server.ws;
  ws2.open();
  await until(() => ws2.requests().some((x) => x.action === 'deferred.result'));
  const r2 = ws2.requests().find((x) => x.action === 'deferred.result');
  assert.deepEqual(r2.body, { request_id: 'job9', from_seq: 1 }, 'resumed after the last chunk delivered');
  ws2.chunk(r2.request_id, 1, [{ id: 2 }]);
  ws2.chunk(r2.request_id, 2, [{ id: 3 }]);
  ws2.reply(r2.request_id, undefined, { meta: { row_count: 2, chunks: 2 } });
  await p;
  assert.deepEqual(got.map((b) => [b.seq, b.rows[0].id, b.rowCount]), [[0, 1, 1], [1, 2, 2], [2, 3, 3]]);
  client.close();
});

test('job.stream: a failed job throws its error and reads nothing', async () => {
  const { server, client } = setup();
  const pj = client.sql('SELECT nope').defer();
  const ws = await opened(server);
  const [f] = ws.requests();
  ws.push({ type: 'reply', request_id: f.request_id, http_status: 202, status: 'success', message: 'Request deferred', data: { request_id: 'job8', status: 'queued' } });
  const job = await pj;
  ws.event(f.request_id, 'deferred.status', {
    request_id: 'job8', status: 'failed', error: 'no column nope', result: { status: 'error', message: 'no column nope', error: 'no column nope', code: 'bad_request' },
  });
  await assert.rejects((async () => {
    for await (const _ of job.stream());
  })(), (e) => e instanceof AthenaError && e.code === 'bad_request');
  assert.equal(ws.requests().filter((x) => x.action === 'deferred.result').length, 0);
  client.close();
});
