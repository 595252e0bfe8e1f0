// compat.test.mjs runs the same calls through the public SDK
// (@xylex-group/athena 0.2.1, REST) and through @athena-go/client (the
// socket, clients/js) against one server, and compares the rows. Writes go
// to two identical tables (ATHENA_TABLE_A for the SDK, ATHENA_TABLE_B for
// the client), which must end equal. Run by client_test.go with
// ATHENA_URL, ATHENA_CLIENT, ATHENA_TABLE_A, ATHENA_TABLE_B; node needs
// --experimental-websocket on Node 20 (a global WebSocket).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@xylex-group/athena';
import { connect } from '../../clients/js/dist/index.js';

const url = process.env.ATHENA_URL;
const clientName = process.env.ATHENA_CLIENT;
const tableA = process.env.ATHENA_TABLE_A;
const tableB = process.env.ATHENA_TABLE_B;
assert.ok(url && clientName && tableA && tableB, 'ATHENA_URL, ATHENA_CLIENT, ATHENA_TABLE_A and ATHENA_TABLE_B must be set (client_test.go sets them)');

const sdk = createClient(url, undefined, { client: clientName });
const ws = connect(url, { client: clientName });
after(() => ws.close());

const byID = (a, b) => a.id - b.id;

// sdkRows unwraps the SDK's result (data is the whole envelope) to its rows.
function sdkRows(res) {
  assert.ok(res.status >= 200 && res.status < 300, `SDK: HTTP ${res.status}: ${JSON.stringify(res.data)}`);
  const d = res.data.data;
  return Array.isArray(d) ? d : d.rows;
}

// ours checks the {data, error, status, meta} shape of a success.
function ours(res) {
  assert.equal(res.error, null, `client: ${res.error && res.error.code}: ${res.error && res.error.message}`);
  assert.ok(res.status >= 200 && res.status < 300);
  assert.ok(Array.isArray(res.data), `client: data is not rows: ${JSON.stringify(res.data)}`);
  return res.data;
}

// same runs one call through each library (on its own table) and compares
// the rows, sorted by id.
async function same(what, viaSDK, viaClient) {
  const [a, b] = await Promise.all([viaSDK(sdk.from(tableA)), viaClient(ws.from(tableB))]);
  const ra = sdkRows(a).slice().sort(byID);
  const rb = ours(b).slice().sort(byID);
  assert.deepEqual(rb, ra, what);
  return rb;
}

const people = [
  { id: 1, name: 'alice', age: 30, email: 'alice@example.com', active: true, tags: ['admin', 'ops'] },
  { id: 2, name: 'bob', age: 25, email: 'bob@example.com', active: true, tags: ['ops'] },
  { id: 3, name: 'carol', age: 41, email: 'carol@example.com', active: false, tags: [] },
  { id: 4, name: 'dave', age: null, email: 'dave@example.com', active: true, tags: ['dev'] },
];

test('inserts return the same rows', async () => {
  const one = await same('insert one', (t) => t.insert(people[0]), (t) => t.insert(people[0]));
  assert.equal(one.length, 1);
  const many = await same('insert many', (t) => t.insert(people.slice(1)), (t) => t.insert(people.slice(1)));
  assert.equal(many.length, 3);
});

test('every filter returns the same rows, in the athena-js and the supabase-js order', async () => {
  const cols = 'id,name,age,active,tags';
  const cases = [
    ['eq', (q) => q.eq('name', 'bob')],
    ['neq', (q) => q.neq('name', 'bob')],
    ['gt', (q) => q.gt('age', 28)],
    ['gte', (q) => q.gte('age', 30)],
    ['lt', (q) => q.lt('age', 30)],
    ['lte', (q) => q.lte('age', 30)],
    ['like', (q) => q.like('name', '%o%')],
    ['ilike', (q) => q.ilike('email', '%EXAMPLE.COM')],
    ['is null', (q) => q.is('age', null)],
    ['in', (q) => q.in('id', [2, 4])],
    ['contains', (q) => q.contains('tags', ['ops'])],
    ['containedBy', (q) => q.containedBy('tags', ['ops', 'dev'])],
    ['not', (q) => q.not('age', 'gt', 29)],
    ['or', (q) => q.or('age.gt.40,name.eq.bob')],
    ['match', (q) => q.match({ active: true, name: 'dave' })],
    ['range', (q) => q.gte('id', 1).range(0, 1)],
  ];
  for (const [name, filter] of cases) {
    // range without an order is only comparable as a count.
    const sdkRes = await filter(sdk.from(tableA)).select(cols);
    const athenaOrder = await filter(ws.from(tableA)).select(cols);
    const supabaseOrder = await filter(ws.from(tableA).select(cols));
    const want = sdkRows(sdkRes).slice().sort(byID);
    if (name === 'range') {
      assert.equal(ours(athenaOrder).length, want.length, name);
      assert.equal(ours(supabaseOrder).length, want.length, name);
      continue;
    }
    assert.ok(want.length > 0 || name === 'none', `${name}: the SDK found no rows; the case tests nothing`);
    assert.deepEqual(ours(athenaOrder).slice().sort(byID), want, `${name} (filters, then select)`);
    assert.deepEqual(ours(supabaseOrder).slice().sort(byID), want, `${name} (select, then filters)`);
  }
});

test('order, single and maybeSingle', async () => {
  const ordered = await ws.from(tableB).select('id').order('id', { ascending: false });
  assert.deepEqual(ours(ordered).map((r) => r.id), [4, 3, 2, 1]);
  const sdkOne = await sdk.from(tableA).eq('id', 3).single('id,name');
  const one = await ws.from(tableB).eq('id', 3).single('id,name');
  assert.deepEqual(one.data, sdkOne.data.data[0]);
  const none = await ws.from(tableB).select('id').eq('id', 99).maybeSingle();
  assert.equal(none.data, null);
  assert.equal(none.error, null);
});

test('upsert with onConflict and updateBody, update, delete: same rows, same tables', async () => {
  await same('upsert new', (t) => t.upsert({ id: 5, name: 'erin', age: 22, email: 'erin@example.com' }, { onConflict: 'id' }),
    (t) => t.upsert({ id: 5, name: 'erin', age: 22, email: 'erin@example.com' }, { onConflict: 'id' }));
  await same('upsert conflict', (t) => t.upsert({ id: 2, name: 'bob', age: 26, email: 'bob@example.com' }, { onConflict: 'id', updateBody: { age: 26 } }),
    (t) => t.upsert({ id: 2, name: 'bob', age: 26, email: 'bob@example.com' }, { onConflict: 'id', updateBody: { age: 26 } }));
  await same('update', (t) => t.eq('id', 1).update({ age: 31 }), (t) => t.update({ age: 31 }).eq('id', 1));
  await same('delete', (t) => t.eq('id', 3).delete(), (t) => t.delete().eq('id', 3));
  await same('all rows after the writes', (t) => t.select('id,name,age,email,active,tags'), (t) => t.select('id,name,age,email,active,tags'));
});

test('errors are values with the server code; the SDK puts a message in error even on success', async () => {
  const dup = await ws.from(tableB).insert({ id: 1, name: 'again', email: 'x@example.com' });
  assert.equal(dup.data, null);
  assert.equal(dup.error.code, 'conflict');
  assert.equal(dup.error.httpStatus, 409);
  assert.equal(dup.status, 409);
  const sdkDup = await sdk.from(tableA).insert({ id: 1, name: 'again', email: 'x@example.com' });
  assert.equal(sdkDup.status, 409);
  const bad = await ws.from(tableB).select('nope');
  assert.equal(bad.error.code, 'unknown_column');
  const okSDK = await sdk.from(tableA).eq('id', 1).select('id');
  assert.equal(typeof okSDK.error, 'string', 'the SDK (0.2.1) reports the success message as error');
  const okOurs = await ws.from(tableB).eq('id', 1).select('id');
  assert.equal(okOurs.error, null);
});

test('sql, stream and defer over the same socket', async () => {
  const r = await ws.sql(`SELECT count(*)::int AS n FROM ${tableB}`);
  assert.deepEqual(r.data, [{ n: 4 }]);
  let rows = 0;
  for await (const batch of ws.from(tableB).select('id').stream()) {
    rows += batch.rows.length;
    assert.equal(batch.rowCount, rows);
  }
  assert.equal(rows, 4);
  const job = await ws.sql(`SELECT count(*)::int AS n FROM ${tableB}`).defer();
  const statuses = [];
  job.onStatus((i) => statuses.push(i.status));
  const res = await job.result();
  assert.deepEqual(res.data, [{ n: 4 }]);
  assert.equal(statuses.at(-1), 'completed');
  const again = ws.job(job.id);
  assert.deepEqual((await again.result()).data, [{ n: 4 }], 're-attached by id');
  const ac = new AbortController();
  const slow = ws.sql('SELECT pg_sleep(30)').abortSignal(ac.signal);
  const p = slow.then((x) => x);
  setTimeout(() => ac.abort(), 200);
  const aborted = await p;
  assert.equal(aborted.error.code, 'canceled');
});

// until polls cond (a condition, not a delay) with a generous deadline.
async function until(what, cond) {
  const deadline = Date.now() + 60000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('subscribe(): the rows, then every change, equal to a fresh select', async () => {
  const events = [];
  const live = ws.from(tableB).select('id,name').order('id', { ascending: true }).subscribe((e) => events.push(e));
  const first = await live.ready;
  const fresh = async () => ours(await ws.from(tableB).select('id,name').order('id', { ascending: true }));
  assert.deepEqual(first, await fresh(), 'the snapshot');
  assert.equal(events[0].type, 'snapshot');
  ours(await ws.from(tableB).insert({ id: 990, name: 'live', age: 1, email: 'live@example.com', active: true, tags: [] }));
  await until('the insert', () => live.rows.some((r) => r.id === 990));
  await ws.from(tableB).update({ name: 'live2' }).eq('id', 990);
  await until('the update', () => live.rows.some((r) => r.id === 990 && r.name === 'live2'));
  await ws.from(tableB).delete().eq('id', 990);
  await until('the delete', () => !live.rows.some((r) => r.id === 990));
  assert.deepEqual(live.rows, await fresh(), 'after the changes');
  assert.ok(events.some((e) => e.type === 'change' && e.change.op === 'update'), 'an update event');
  live.unsubscribe();
  // The socket is still usable.
  assert.equal(ours(await ws.from(tableB).select('id').eq('id', 1)).length, 1);
});
