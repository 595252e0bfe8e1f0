// Compatibility test: the public Athena JavaScript SDK (@xylex-group/athena,
// pinned in package.json) against a running Athena (Go) server.
//
// sdk_test.go starts the server, creates the table and runs this file with
//   ATHENA_URL     base URL of the server, e.g. http://127.0.0.1:4052
//   ATHENA_CLIENT  the X-Athena-Client to use (a PostgreSQL client)
//   ATHENA_TABLE   an empty table created as
//                  (id bigint primary key, name text not null, age int,
//                   email text unique, active boolean default true)
//   ATHENA_API_KEY optional; sent as apikey/x-api-key when set
//
// Notes on the SDK (0.2.1), read from its dist/index.mjs:
//   - a result is {status, data, error, raw} (no `ok`) where `data` is the
//     WHOLE parsed envelope {status, message, data, ...}: rows are at
//     result.data.data, and `status` is the HTTP status;
//   - select(), update() and delete() end the chain and take the filters
//     collected *before* them: .eq(...).select(...), .eq(...).update(...),
//     .eq(...).delete(); an .eq() after them is not available;
//   - filters accumulate on a builder, so every query starts from client.from();
//   - strip_nulls defaults to true: null columns are omitted from rows.
//
// The tests run in order (node:test runs top-level tests of a file one at a
// time) and each builds on the rows the previous ones left.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@xylex-group/athena';

function requireEnv(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} must be set (sdk_test.go sets it; see test/js/sdk.test.mjs)`);
  }
  return v;
}

const url = requireEnv('ATHENA_URL');
const clientName = requireEnv('ATHENA_CLIENT');
const table = requireEnv('ATHENA_TABLE');
const athena = createClient(url, process.env.ATHENA_API_KEY || undefined, { client: clientName });

const from = () => athena.from(table);

// show renders a result for assertion messages.
function show(res) {
  return `HTTP ${res.status}: ${JSON.stringify(res.data)}`;
}

// ok asserts a 2xx success envelope and returns the envelope's data.
function ok(res) {
  assert.ok(res.status >= 200 && res.status < 300, `expected success, got ${show(res)}`);
  assert.ok(res.data && typeof res.data === 'object', `expected a JSON envelope, got ${show(res)}`);
  assert.equal(res.data.status, 'success', show(res));
  assert.equal(typeof res.data.message, 'string', `envelope has no message: ${show(res)}`);
  return res.data.data;
}

// rows asserts a success envelope whose data is a row array and returns it.
function rows(res) {
  const data = ok(res);
  assert.ok(Array.isArray(data), `expected envelope data to be a row array, got ${show(res)}`);
  return data;
}

const byID = (a, b) => a.id - b.id;
const ids = (list) => list.map((r) => r.id).sort((a, b) => a - b);

async function fetchByID(id) {
  return rows(await from().eq('id', id).select('id,name,age,email,active'));
}

test('insert one row returns the written row', async () => {
  const res = await from().insert({ id: 1, name: 'alice', age: 30, email: 'alice@example.com' });
  const written = rows(res);
  assert.equal(written.length, 1, show(res));
  assert.deepEqual(written[0], {
    id: 1,
    name: 'alice',
    age: 30,
    email: 'alice@example.com',
    active: true, // column default, read back from the database
  });
});

test('insert an array of rows returns every written row', async () => {
  const res = await from().insert([
    // Same keys in every row, so the test does not depend on how the server
    // fills a key that only some rows of one insert carry.
    { id: 2, name: 'bob', age: 25, email: 'bob@example.com', active: true },
    { id: 3, name: 'carol', age: 41, email: 'carol@example.com', active: false },
    { id: 4, name: 'dave', age: null, email: 'dave@example.com', active: true },
  ]);
  const written = rows(res);
  assert.equal(written.length, 3, show(res));
  assert.deepEqual(ids(written), [2, 3, 4]);
  const carol = written.find((r) => r.id === 3);
  assert.equal(carol.name, 'carol');
  assert.equal(carol.active, false);
});

test('select with eq returns only the chosen columns', async () => {
  const res = await from().eq('id', 1).select('id,name,age');
  assert.deepEqual(rows(res), [{ id: 1, name: 'alice', age: 30 }]);
});

test('select with gt skips smaller and NULL values', async () => {
  const res = await from().gt('age', 28).select('id,name,age');
  const got = rows(res).sort(byID);
  assert.deepEqual(got, [
    { id: 1, name: 'alice', age: 30 },
    { id: 3, name: 'carol', age: 41 },
  ]);
});

test('select with in matches a list, and strip_nulls omits NULL columns', async () => {
  const res = await from().in('id', [2, 4]).select('id,name,age');
  const got = rows(res).sort(byID);
  assert.deepEqual(got, [
    { id: 2, name: 'bob', age: 25 },
    { id: 4, name: 'dave' },
  ]);
  assert.ok(!('age' in got[1]), 'a NULL column must be omitted when strip_nulls is on');
});

test('select with conditions combined (AND)', async () => {
  const res = await from().gt('age', 20).in('id', [1, 2, 4]).select('id');
  assert.deepEqual(ids(rows(res)), [1, 2]);
});

test('range maps to limit and offset', async () => {
  const first = rows(await from().range(0, 1).select('id,name,age'));
  assert.equal(first.length, 2, `range(0,1) must return 2 rows, got ${JSON.stringify(first)}`);
  const second = rows(await from().range(2, 3).select('id,name,age'));
  assert.equal(second.length, 2, `range(2,3) must return 2 rows, got ${JSON.stringify(second)}`);
  const tail = rows(await from().range(3, 10).select('id'));
  assert.equal(tail.length, 1, `range(3,10) must return the 1 row left, got ${JSON.stringify(tail)}`);
  // The SDK cannot ask for an order, so only the page sizes and, for an
  // untouched table, disjoint pages covering every row are checked.
  assert.deepEqual(ids([...first, ...second]), [1, 2, 3, 4]);
});

test('upsert on conflict id changes the existing row', async () => {
  const res = await from().upsert(
    { id: 1, name: 'alice-renamed', age: 31, email: 'alice@example.com' },
    { onConflict: 'id' },
  );
  const written = rows(res);
  assert.equal(written.length, 1, show(res));
  assert.equal(written[0].id, 1);
  assert.equal(written[0].name, 'alice-renamed');

  assert.deepEqual(await fetchByID(1), [
    { id: 1, name: 'alice-renamed', age: 31, email: 'alice@example.com', active: true },
  ]);
  const all = rows(await from().select('id'));
  assert.deepEqual(ids(all), [1, 2, 3, 4], 'upsert must not add a row');
});

test('upsert of a new id inserts it', async () => {
  const res = await from().upsert({ id: 5, name: 'erin', age: 52, email: 'erin@example.com' }, { onConflict: 'id' });
  assert.deepEqual(ids(rows(res)), [5]);
  assert.equal((await fetchByID(5)).length, 1);
});

test('update returns affected_rows and the updated rows', async () => {
  const res = await from().eq('id', 2).update({ age: 99 });
  const data = ok(res);
  assert.ok(data && typeof data === 'object' && !Array.isArray(data), `update data must be an object: ${show(res)}`);
  assert.equal(data.affected_rows, 1, show(res));
  assert.ok(Array.isArray(data.rows), `update data.rows must be an array: ${show(res)}`);
  assert.equal(data.rows.length, 1, show(res));
  assert.equal(data.rows[0].id, 2);
  assert.equal(data.rows[0].age, 99);

  assert.deepEqual(await fetchByID(2), [
    { id: 2, name: 'bob', age: 99, email: 'bob@example.com', active: true },
  ]);
  // Other rows are untouched.
  assert.equal((await fetchByID(1))[0].age, 31);
});

test('update matching nothing affects no rows', async () => {
  const data = ok(await from().eq('id', 999).update({ age: 1 }));
  assert.equal(data.affected_rows, 0);
  assert.deepEqual(data.rows, []);
});

test('delete removes the row', async () => {
  assert.equal((await fetchByID(3)).length, 1, 'row 3 must exist before the delete');
  const res = await from().eq('id', 3).delete();
  const data = ok(res);
  assert.equal(data.affected_rows, 1, show(res));
  assert.deepEqual(await fetchByID(3), [], 'row 3 must be gone after the delete');
  assert.deepEqual(ids(rows(await from().select('id'))), [1, 2, 4, 5]);
});

test('a duplicate primary key is a 409 conflict', async () => {
  const res = await from().insert({ id: 1, name: 'again', email: 'another@example.com' });
  assert.equal(res.status, 409, show(res));
  assert.equal(res.data?.status, 'error', show(res));
  assert.equal(res.data?.code, 'conflict', show(res));
  assert.equal(typeof res.data?.message, 'string', show(res));
  assert.equal(typeof res.error, 'string', 'the SDK must surface the error text');
  assert.equal((await fetchByID(1))[0].name, 'alice-renamed', 'a failed insert must not change the row');
});

test('a duplicate unique column is a 409 conflict', async () => {
  const res = await from().insert({ id: 6, name: 'bob-twin', email: 'bob@example.com' });
  assert.equal(res.status, 409, show(res));
  assert.equal(res.data?.code, 'conflict', show(res));
  assert.deepEqual(await fetchByID(6), [], 'a failed insert must not write a row');
});
