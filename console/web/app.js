// app.js: the Athena console, a single-page app on the public client
// (./client/ is a copy of @athena-go/client's built ESM). Rows, SQL, streams,
// jobs and live queries go over the client's socket; schema discovery and
// the admin pages are REST calls with the key in a header. Keys live in
// sessionStorage only. Pages are hash routes (#/c/<client>/sql, ...).
import { connect } from './client/index.js';
import { VirtualGrid, cellText } from './grid.js';

// ---------------------------------------------------------------- helpers

/** el builds an element: el('button', {class: 'x', onclick}, 'text', child). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'value') e.value = v;
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

const enc = encodeURIComponent;
const main = () => document.getElementById('main');

/** notice renders a message box: kind is error, ok or warn. */
function notice(kind, text) {
  return el('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** errorText shows a server error as sent: its HTTP status, code and message. */
function errorText(err) {
  if (!err) return '';
  const status = err.httpStatus ?? err.status ?? 0;
  const code = err.code ?? 'error';
  return `${status ? status + ' ' : ''}${code}: ${err.message ?? err.error ?? String(err)}`;
}

// ---------------------------------------------------------------- keys

const store = window.sessionStorage;
const keys = {
  admin: () => store.getItem('athena.console.admin_key') || '',
  setAdmin: (k) => (k ? store.setItem('athena.console.admin_key', k) : store.removeItem('athena.console.admin_key')),
  api: (client) => store.getItem(`athena.console.api_key.${client}`) || '',
  setApi: (client, k) => {
    const name = `athena.console.api_key.${client}`;
    if (k) store.setItem(name, k);
    else store.removeItem(name);
    dropClient(client);
  },
};

/** keyForm asks for a key and stores it in sessionStorage. */
function keyForm(label, current, save) {
  const input = el('input', { type: 'password', autocomplete: 'off', 'aria-label': label, value: current, class: 'grow' });
  const form = el('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); save(input.value.trim()); } },
    el('label', { class: 'grow' }, label, input),
    el('button', { class: 'primary', type: 'submit' }, 'Use key'),
    current ? el('button', { type: 'button', onclick: () => save('') }, 'Forget') : null);
  return form;
}

// ---------------------------------------------------------------- REST

/**
 * rest calls a REST route with JSON and returns {ok, status, body}; body is
 * the parsed reply (an error envelope when !ok).
 */
async function rest(method, path, { body, client, key } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (client) headers['X-Athena-Client'] = client;
  if (key) headers['X-Athena-Key'] = key;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    return { ok: false, status: 0, body: { status: 'error', code: 'network', message: String(e) } };
  }
  let parsed;
  const text = await res.text();
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { status: 'error', code: 'bad_reply', message: text.slice(0, 500) };
  }
  return { ok: res.ok, status: res.status, body: parsed };
}

/** admin calls an admin route with the session's admin key. */
const admin = (method, path, body) => rest(method, path, { body, key: keys.admin() });

const restError = (r) => errorText({ httpStatus: r.status, code: r.body?.code, message: r.body?.message ?? r.body?.error });

// ---------------------------------------------------------------- clients

const clients = new Map(); // client name -> {db, key}
let statusOff = null;

/** db returns the socket client of a client name, with its session key. */
function db(name) {
  const key = keys.api(name);
  let c = clients.get(name);
  if (c && c.key !== key) {
    c.db.close();
    c = null;
  }
  if (!c) {
    c = { key, db: connect(location.origin, { client: name, apiKey: key || undefined, stripNulls: false }) };
    clients.set(name, c);
  }
  if (statusOff) statusOff();
  const conn = document.getElementById('conn');
  statusOff = c.db.onStatus((s) => {
    conn.textContent = `${name}: ${s}`;
    conn.dataset.status = s;
  });
  return c.db;
}

function dropClient(name) {
  const c = clients.get(name);
  if (c) c.db.close();
  clients.delete(name);
}

const schemas = new Map(); // client -> schema (data of GET /gateway/schema)

async function schemaOf(client, fresh = false) {
  if (!fresh && schemas.has(client)) return { ok: true, schema: schemas.get(client) };
  const r = await rest('GET', '/gateway/schema', { client, key: keys.api(client) });
  if (!r.ok) return { ok: false, r };
  schemas.set(client, r.body.data);
  return { ok: true, schema: r.body.data };
}

/** needsKey reports whether a failed reply asks for a (better) API key. */
const needsKey = (status, code) => status === 401 || status === 403 || code === 'unauthorized' || code === 'forbidden';

/** apiKeyPrompt renders the API-key form of a client, re-rendering on save. */
function apiKeyPrompt(client, why) {
  return el('div', { class: 'panel' },
    notice('warn', `${why}\nAn API key for ${client} is needed; it is kept in this tab's sessionStorage only.`),
    keyForm(`API key for ${client}`, keys.api(client), (k) => { keys.setApi(client, k); schemas.delete(client); route(); }));
}

// ---------------------------------------------------------------- values

const numeric = /int|serial|numeric|decimal|real|double|float|counter|number/i;

/** parseValue turns an input's text into the column's JSON value. */
function parseValue(col, text) {
  const type = (col?.type || '').toLowerCase();
  if (text === '' && col?.nullable) return null;
  if (text.toUpperCase() === 'NULL' && col?.nullable) return null;
  if (/bool/.test(type)) {
    if (/^(true|t|1|yes)$/i.test(text)) return true;
    if (/^(false|f|0|no)$/i.test(text)) return false;
    return text;
  }
  if (numeric.test(type) && !/interval|\[\]|^_/.test(type)) {
    const n = Number(text);
    return text.trim() !== '' && Number.isFinite(n) ? n : text;
  }
  if (/json|\[\]|^_|array|list|set|map/.test(type) || /^[[{]/.test(text)) {
    try { return JSON.parse(text); } catch { return text; }
  }
  return text;
}

/** inputText is the text a value shows in an edit field. */
const inputText = (v) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

function valueCell(v) {
  return v === null || v === undefined ? el('td', { class: 'null' }, 'NULL') : el('td', { title: cellText(v).slice(0, 500) }, cellText(v));
}

// ---------------------------------------------------------------- pages

/** Pages: each renders into root and may return a cleanup function. */
const pages = {
  // --- clients ---------------------------------------------------------
  // /health gets the admin key when there is one: a server that enforces API
  // keys lists its clients to the admin key only.
  async clients(root) {
    root.append(el('h1', {}, 'Clients'));
    const box = el('div', { class: 'cards', 'data-testid': 'clients' });
    root.append(box);
    const h = await rest('GET', '/health', { key: keys.admin() });
    if (!h.ok) return void root.append(notice('error', restError(h)));
    root.insertBefore(el('p', { class: 'muted' }, `Gateway ${h.body.version} · ${h.body.status}`), box);
    for (const c of h.body.clients || []) {
      box.append(el('div', { class: 'card', 'data-client': c.name },
        el('h3', {}, el('a', { href: `#/c/${enc(c.name)}` }, c.name),
          el('span', { class: `badge ${c.status === 'up' ? 'up' : 'down'}` }, c.status)),
        el('div', {}, 'Backend: ', el('strong', { class: 'kind' }, c.kind)),
        c.error ? notice('error', c.error) : null,
        el('div', { class: 'row' },
          el('a', { href: `#/c/${enc(c.name)}` }, 'Tables'),
          el('a', { href: `#/c/${enc(c.name)}/sql` }, 'SQL'),
          el('a', { href: `#/c/${enc(c.name)}/jobs` }, 'Jobs'),
          el('a', { href: `#/c/${enc(c.name)}/live` }, 'Live'))));
    }
    if (!(h.body.clients || []).length) box.append(el('p', { class: 'muted' }, 'No clients are configured.'));
    root.append(el('h2', {}, 'This node (admin)'));
    if (!keys.admin()) {
      root.append(el('p', { class: 'muted' }, 'Give the admin key on the ', el('a', { href: '#/keys' }, 'Keys'), ' page to see this node\'s clients from /schema/clients.'));
      return;
    }
    const s = await admin('GET', '/schema/clients');
    if (!s.ok) return void root.append(notice('error', restError(s)));
    root.append(table(['client', 'kind', 'status'], (s.body.data || []).map((c) => [c.client_name, c.kind, c.status])));
  },

  // --- tables of a client ------------------------------------------------
  async tables(root, { client }) {
    db(client);
    root.append(el('h1', {}, `Tables of ${client}`));
    const res = await schemaOf(client, true);
    if (!res.ok) {
      if (needsKey(res.r.status, res.r.body?.code)) root.append(apiKeyPrompt(client, restError(res.r)));
      else root.append(notice('error', restError(res.r)));
      return;
    }
    const s = res.schema;
    root.append(el('p', { class: 'muted' }, `${s.kind} · ${s.tables.length} tables and views`));
    const box = el('div', { class: 'cards', 'data-testid': 'tables' });
    for (const t of s.tables) {
      const pk = new Set(t.primary_key || []);
      box.append(el('div', { class: 'card', 'data-table': t.table_name },
        el('h3', {}, el('a', { href: `#/c/${enc(client)}/t/${enc(t.table_name)}` }, t.table_name),
          t.is_view ? el('span', { class: 'badge' }, 'view') : null),
        el('div', { class: 'muted' }, pk.size ? `primary key (${[...pk].join(', ')})` : 'no primary key'),
        el('table', { class: 'cols' }, el('tbody', {}, t.columns.map((c) => el('tr', {},
          el('td', {}, c.name, pk.has(c.name) ? el('span', { class: 'badge' }, 'key') : null),
          el('td', {}, c.type),
          el('td', { class: 'muted' }, c.nullable ? 'null' : 'not null'))))),
        el('div', { class: 'row' },
          el('a', { href: `#/c/${enc(client)}/t/${enc(t.table_name)}` }, 'Rows'),
          el('a', { href: `#/c/${enc(client)}/live?table=${enc(t.table_name)}` }, 'Live'))));
    }
    root.append(box);
  },

  // --- a table's rows ----------------------------------------------------
  async table(root, { client, table: name }) {
    const client$ = db(client);
    root.append(el('h1', {}, `${name}`, el('span', { class: 'muted' }, ` · ${client}`)));
    const res = await schemaOf(client);
    if (!res.ok) {
      root.append(needsKey(res.r.status, res.r.body?.code) ? apiKeyPrompt(client, restError(res.r)) : notice('error', restError(res.r)));
      return;
    }
    const t = res.schema.tables.find((x) => x.table_name === name);
    if (!t) return void root.append(notice('error', `no table ${name} in ${client}`));
    const cols = t.columns;
    const byName = new Map(cols.map((c) => [c.name, c]));
    const pk = t.primary_key || [];
    const editable = pk.length > 0 && !t.is_view;
    const state = { filters: [], sort: pk[0] || cols[0]?.name || '', asc: true, page: 0, size: 50 };

    const filters = filterEditor(cols, state.filters, () => { state.page = 0; load(); });
    const sortSel = el('select', { 'aria-label': 'Sort by', onchange: () => { state.sort = sortSel.value; load(); } },
      el('option', { value: '' }, '(none)'), cols.map((c) => el('option', { value: c.name }, c.name)));
    sortSel.value = state.sort;
    const dirSel = el('select', { 'aria-label': 'Sort direction', onchange: () => { state.asc = dirSel.value === 'asc'; load(); } },
      el('option', { value: 'asc' }, 'ascending'), el('option', { value: 'desc' }, 'descending'));
    const sizeSel = el('select', { 'aria-label': 'Rows per page', onchange: () => { state.size = Number(sizeSel.value); state.page = 0; load(); } },
      [25, 50, 100, 250].map((n) => el('option', { value: n }, `${n} rows`)));
    sizeSel.value = String(state.size);
    const prev = el('button', { onclick: () => { state.page--; load(); } }, '← Previous');
    const next = el('button', { onclick: () => { state.page++; load(); } }, 'Next →');
    const range = el('span', { class: 'muted', 'data-testid': 'range' });
    const out = el('div', { 'data-testid': 'message' });
    const grid = el('div', { class: 'scroll' });
    const insertBtn = el('button', { onclick: () => startInsert(), disabled: t.is_view }, '+ New row');

    root.append(el('div', { class: 'panel' },
      el('h2', {}, 'Filter'), filters.node,
      el('div', { class: 'row' }, el('label', {}, 'Sort by', sortSel), el('label', {}, 'Direction', dirSel), el('label', {}, 'Page size', sizeSel))),
    el('div', { class: 'pager' }, insertBtn, prev, next, range),
    out, grid);
    if (!editable) out.append(notice('warn', t.is_view ? 'A view: rows are read-only.' : 'No primary key: rows can be read and inserted, not edited or deleted.'));

    let rows = [];
    let editing = null; // index being edited, or 'new'

    function query() {
      let q = client$.from(name).select(cols.map((c) => c.name).join(','));
      q = filters.apply(q, byName);
      if (state.sort) q = q.order(state.sort, { ascending: state.asc });
      return q.range(state.page * state.size, state.page * state.size + state.size - 1);
    }

    async function load() {
      out.replaceChildren();
      let q;
      try { q = query(); } catch (e) { out.append(notice('error', String(e.message || e))); return; }
      const { data, error } = await q;
      if (error) {
        out.append(notice('error', errorText(error)));
        if (needsKey(error.httpStatus, error.code)) out.append(apiKeyPrompt(client, 'The server refused the read.'));
        return;
      }
      rows = data;
      editing = null;
      draw();
    }

    function draw() {
      prev.disabled = state.page === 0;
      next.disabled = rows.length < state.size;
      range.textContent = rows.length ? `rows ${state.page * state.size + 1}–${state.page * state.size + rows.length}` : `no rows on page ${state.page + 1}`;
      const head = el('tr', {}, cols.map((c) => el('th', { scope: 'col' },
        el('button', { onclick: () => { if (state.sort === c.name) state.asc = !state.asc; else { state.sort = c.name; state.asc = true; } sortSel.value = state.sort; dirSel.value = state.asc ? 'asc' : 'desc'; load(); }, 'aria-label': `Sort by ${c.name}` },
          c.name, state.sort === c.name ? (state.asc ? ' ▲' : ' ▼') : ''))));
      head.prepend(el('th', { scope: 'col' }, el('span', { class: 'visually-hidden' }, 'Actions')));
      const body = el('tbody');
      if (editing === 'new') body.append(editRow(null));
      // The actions come first, so they stay on screen on a phone.
      rows.forEach((r, i) => body.append(editing === i ? editRow(r, i) : el('tr', { 'data-row': i },
        el('td', { class: 'actions' },
          el('button', { onclick: () => { editing = i; draw(); }, disabled: !editable, 'aria-label': `Edit row ${i + 1}` }, 'Edit'), ' ',
          el('button', { class: 'danger', onclick: () => remove(r), disabled: !editable, 'aria-label': `Delete row ${i + 1}` }, 'Delete')),
        cols.map((c) => valueCell(r[c.name])))));
      grid.replaceChildren(el('table', { class: 'data', 'data-testid': 'rows' }, el('thead', {}, head), body));
      grid.querySelector('tr.editing input')?.focus();
    }

    function editRow(r, i) {
      const inputs = cols.map((c) => el('input', { 'aria-label': c.name, name: c.name, value: r ? inputText(r[c.name]) : '', placeholder: r ? '' : (c.nullable ? 'NULL' : c.type) }));
      const save = () => (r ? saveEdit(r, inputs) : saveInsert(inputs));
      const tr = el('tr', { class: 'editing', onkeydown: (e) => { if (e.key === 'Enter') { e.preventDefault(); save(); } if (e.key === 'Escape') { editing = null; draw(); } } },
        el('td', { class: 'actions' }, el('button', { class: 'primary', onclick: save }, r ? 'Save' : 'Insert'), ' ',
          el('button', { onclick: () => { editing = null; draw(); } }, 'Cancel')),
        inputs.map((inp) => el('td', {}, inp)));
      return tr;
    }

    function startInsert() { editing = 'new'; draw(); }

    async function saveEdit(r, inputs) {
      const values = {};
      inputs.forEach((inp, j) => {
        const c = cols[j];
        if (inp.value !== inputText(r[c.name])) values[c.name] = parseValue(c, inp.value);
      });
      if (!Object.keys(values).length) { editing = null; draw(); return; }
      let q = client$.from(name).update(values);
      for (const k of pk) q = q.eq(k, r[k]);
      const { error } = await q;
      out.replaceChildren(error ? notice('error', errorText(error)) : notice('ok', 'Row updated.'));
      if (!error) await reload();
    }

    async function saveInsert(inputs) {
      const row = {};
      inputs.forEach((inp, j) => { if (inp.value !== '') row[cols[j].name] = parseValue(cols[j], inp.value); });
      const { error } = await client$.from(name).insert(row);
      out.replaceChildren(error ? notice('error', errorText(error)) : notice('ok', 'Row inserted.'));
      if (!error) await reload();
    }

    async function remove(r) {
      const what = pk.map((k) => `${k}=${cellText(r[k])}`).join(', ');
      if (!window.confirm(`Delete the row ${what} from ${name}?`)) return;
      let q = client$.from(name).delete();
      for (const k of pk) q = q.eq(k, r[k]);
      const { error } = await q;
      out.replaceChildren(error ? notice('error', errorText(error)) : notice('ok', `Row ${what} deleted.`));
      if (!error) await reload();
    }

    async function reload() {
      const msg = [...out.childNodes];
      await load();
      if (!out.childNodes.length) out.append(...msg);
    }

    await load();
  },

  // --- SQL editor ------------------------------------------------------
  async sql(root, { client }) {
    const client$ = db(client);
    root.append(el('h1', {}, 'SQL', el('span', { class: 'muted' }, ` · ${client}`)));
    const saved = store.getItem(`athena.console.sql.${client}`) || 'SELECT 1 AS one';
    const editor = el('textarea', { rows: 6, 'aria-label': 'SQL', spellcheck: 'false', value: saved });
    const run = el('button', { class: 'primary', onclick: () => start() }, 'Run ', el('span', { class: 'kbd' }, 'Ctrl+Enter'));
    const cancel = el('button', { class: 'danger', disabled: true, onclick: () => ctl?.abort() }, 'Cancel');
    const counter = el('span', { class: 'counter', 'data-testid': 'row-count', 'aria-live': 'off' }, '0 rows');
    const state = el('span', { class: 'muted', 'data-testid': 'sql-state', role: 'status' }, 'ready');
    const out = el('div');
    root.append(el('div', { class: 'panel' }, editor, el('div', { class: 'row' }, run, cancel, counter, state)), out);
    const grid = new VirtualGrid(root, 'Query results');
    let ctl = null;
    editor.addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); start(); }
    });

    async function start() {
      if (ctl) return;
      const text = editor.value.trim();
      if (!text) return;
      store.setItem(`athena.console.sql.${client}`, editor.value);
      ctl = new AbortController();
      run.disabled = true;
      cancel.disabled = false;
      out.replaceChildren();
      grid.clear();
      counter.textContent = '0 rows';
      state.textContent = 'running…';
      const t0 = performance.now();
      const stream = client$.sql(text).stream({ signal: ctl.signal });
      let n = 0;
      try {
        // Batches already received resolve at once, so the loop would run
        // them all in one task: give the event loop back every few ms to
        // keep the page responsive while a big result pours in.
        let slice = performance.now();
        for await (const batch of stream) {
          grid.append(batch.rows);
          n = batch.rowCount;
          counter.textContent = `${n.toLocaleString('en')} rows`;
          if (performance.now() - slice > 8) {
            await yieldToBrowser();
            slice = performance.now();
          }
        }
        state.textContent = `done in ${((performance.now() - t0) / 1000).toFixed(2)} s`;
        if (stream.meta?.truncated) out.append(notice('warn', 'The server truncated the result.'));
      } catch (e) {
        state.textContent = e?.code === 'canceled' ? 'canceled' : 'failed';
        out.append(notice(e?.code === 'canceled' ? 'warn' : 'error', errorText(e)));
        if (needsKey(e?.httpStatus, e?.code)) out.append(apiKeyPrompt(client, 'The server refused the query.'));
      } finally {
        counter.textContent = `${n.toLocaleString('en')} rows`;
        ctl = null;
        run.disabled = false;
        cancel.disabled = true;
      }
    }
    window.__console = { grid, counter };
    editor.focus();
    return () => { ctl?.abort(); grid.destroy(); };
  },

  // --- deferred jobs ---------------------------------------------------
  async jobs(root, { client }) {
    const client$ = db(client);
    const listKey = `athena.console.jobs.${client}`;
    const ids = () => JSON.parse(store.getItem(listKey) || '[]');
    const saveIds = (l) => store.setItem(listKey, JSON.stringify(l));
    root.append(el('h1', {}, 'Deferred jobs', el('span', { class: 'muted' }, ` · ${client}`)));
    const editor = el('textarea', { rows: 4, 'aria-label': 'SQL of the job', spellcheck: 'false', value: 'SELECT now() AS at' });
    const out = el('div');
    const attach = el('input', { 'aria-label': 'Job id', placeholder: 'job id', class: 'grow' });
    const tbody = el('tbody');
    const result = el('div');
    root.append(el('div', { class: 'panel' },
      editor,
      el('div', { class: 'row' },
        el('button', { class: 'primary', onclick: submit }, 'Submit as a deferred job'),
        el('form', { class: 'row grow', onsubmit: (e) => { e.preventDefault(); const id = attach.value.trim(); if (id) { add(id); attach.value = ''; } } },
          attach, el('button', { type: 'submit' }, 'Watch')))),
    out,
    el('div', { class: 'scroll' }, el('table', { class: 'data jobs', 'data-testid': 'jobs' },
      el('thead', {}, el('tr', {}, ['', 'job', 'status', 'attempts', 'action', 'created', 'error'].map(headCell))), tbody)),
    result);
    editor.addEventListener('keydown', (e) => { if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); submit(); } });
    const watched = new Map();
    let resultGrid = null;

    async function submit() {
      out.replaceChildren();
      try {
        const job = await client$.sql(editor.value).defer();
        add(job.id, job);
        out.append(notice('ok', `Job ${job.id} submitted.`));
      } catch (e) {
        out.append(notice('error', errorText(e)));
      }
    }

    function add(id, job) {
      const l = ids();
      if (!l.includes(id)) saveIds([id, ...l].slice(0, 50));
      watch(id, job);
    }

    function watch(id, job) {
      if (watched.has(id)) return;
      job = job || client$.job(id);
      const tr = el('tr', { 'data-job': id });
      tbody.prepend(tr);
      const draw = (info) => {
        const st = info?.status || job.status || '…';
        tr.replaceChildren(
          el('td', { class: 'actions' },
            el('button', { onclick: () => act('cancel'), disabled: st !== 'queued' && st !== 'running', 'aria-label': `Cancel job ${id}` }, 'Cancel'), ' ',
            el('button', { onclick: () => act('requeue'), disabled: st !== 'failed' && st !== 'completed', 'aria-label': `Requeue job ${id}` }, 'Requeue'), ' ',
            el('button', { onclick: showResult, disabled: st !== 'completed' && st !== 'failed', 'aria-label': `Result of job ${id}` }, 'Result'), ' ',
            el('button', { onclick: forget, 'aria-label': `Forget job ${id}` }, 'Forget')),
          el('td', {}, id),
          el('td', { class: `status-${st}`, 'data-testid': 'job-status' }, st),
          el('td', {}, info?.attempts ?? ''),
          el('td', {}, info?.action ?? ''),
          el('td', {}, info?.created_at ? new Date(info.created_at).toLocaleString() : ''),
          el('td', { title: info?.error || '' }, info?.error || ''));
      };
      const act = async (what) => {
        const { error } = await job[what]();
        out.replaceChildren(error ? notice('error', errorText(error)) : notice('ok', `Job ${id}: ${what} sent.`));
      };
      const showResult = async () => {
        const r = await job.result();
        result.replaceChildren(el('h2', {}, `Result of ${id}`));
        if (r.error) return void result.append(notice('error', errorText(r.error)));
        const rows = Array.isArray(r.data) ? r.data : [r.data];
        result.append(el('p', { class: 'muted', 'data-testid': 'job-result-count' }, `${rows.length} rows`));
        resultGrid?.destroy();
        resultGrid = new VirtualGrid(result, `Result of job ${id}`);
        resultGrid.append(rows.filter((x) => x && typeof x === 'object'));
      };
      const forget = () => {
        job.unwatch();
        watched.delete(id);
        tr.remove();
        saveIds(ids().filter((x) => x !== id));
      };
      watched.set(id, job);
      job.onStatus(draw);
      draw(job.info);
      job.refresh().then(({ data, error }) => { if (error) out.append(notice('error', `${id}: ${errorText(error)}`)); else draw(data); });
    }

    for (const id of ids().reverse()) watch(id);
    return () => { for (const j of watched.values()) j.unwatch(); resultGrid?.destroy(); };
  },

  // --- live view ---------------------------------------------------------
  async live(root, { client }, params) {
    const client$ = db(client);
    root.append(el('h1', {}, 'Live view', el('span', { class: 'muted' }, ` · ${client}`)),
      el('p', { class: 'muted' }, 'Subscribe to a table with filters: the rows below stay current as the server pushes every change (live.subscribe).'));
    const res = await schemaOf(client);
    if (!res.ok) {
      root.append(needsKey(res.r.status, res.r.body?.code) ? apiKeyPrompt(client, restError(res.r)) : notice('error', restError(res.r)));
      return;
    }
    const tables = res.schema.tables;
    const tableSel = el('select', { 'aria-label': 'Table' }, tables.map((t) => el('option', { value: t.table_name }, t.table_name)));
    if (params.get('table')) tableSel.value = params.get('table');
    const holder = el('div');
    let filters;
    const pick = () => {
      const t = tables.find((x) => x.table_name === tableSel.value);
      filters = filterEditor(t?.columns || [], [], () => subscribe());
      holder.replaceChildren(filters.node);
    };
    tableSel.addEventListener('change', pick);
    pick();
    const status = el('span', { class: 'muted', role: 'status', 'data-testid': 'live-state' }, 'not subscribed');
    const log = el('div', { class: 'live-log panel', 'aria-label': 'Events' });
    const grid = el('div', { class: 'scroll' });
    let live = null;
    const stop = () => { live?.unsubscribe(); live = null; status.textContent = 'not subscribed'; };
    root.append(el('div', { class: 'panel' }, el('div', { class: 'row' }, el('label', {}, 'Table', tableSel)), holder,
      el('div', { class: 'row' }, el('button', { class: 'primary', onclick: subscribe }, 'Subscribe'), el('button', { onclick: stop }, 'Stop'), status)),
    log, grid);

    function subscribe() {
      stop();
      const t = tables.find((x) => x.table_name === tableSel.value);
      if (!t) return;
      const byName = new Map(t.columns.map((c) => [c.name, c]));
      let q;
      try { q = filters.apply(client$.from(t.table_name).select(t.columns.map((c) => c.name).join(',')), byName); } catch (e) { log.prepend(el('div', {}, String(e.message || e))); return; }
      status.textContent = 'subscribing…';
      live = q.subscribe((e) => {
        log.prepend(el('div', {}, `${new Date().toLocaleTimeString()} ${e.type}${e.error ? ': ' + errorText(e.error) : ''}`));
        if (e.type === 'end') status.textContent = e.error ? `ended: ${e.error.code}` : 'ended';
        else status.textContent = `${e.rows?.length ?? 0} rows`;
        if (e.rows) grid.replaceChildren(table(t.columns.map((c) => c.name), e.rows.map((r) => t.columns.map((c) => r[c.name]))));
      });
    }
    return stop;
  },

  // --- session keys ------------------------------------------------------
  async keys(root) {
    root.append(el('h1', {}, 'Session keys'),
      el('p', { class: 'muted' }, 'Keys are kept in this tab\'s sessionStorage only: closing the tab forgets them.'));
    root.append(el('div', { class: 'panel' }, el('h2', {}, 'Admin key'),
      keyForm('Admin key (ATHENA_KEY_12)', keys.admin(), (k) => { keys.setAdmin(k); route(); })));
    const h = await rest('GET', '/health', { key: keys.admin() });
    for (const c of h.ok ? h.body.clients || [] : []) {
      root.append(el('div', { class: 'panel' }, el('h2', {}, `API key for ${c.name}`),
        keyForm(`API key for ${c.name}`, keys.api(c.name), (k) => { keys.setApi(c.name, k); schemas.delete(c.name); route(); })));
    }
  },

  // --- admin: API keys -----------------------------------------------------
  async adminKeys(root) {
    root.append(el('h1', {}, 'API keys'));
    if (!adminGate(root)) return;
    const [list, rights, cat, enf] = await Promise.all([admin('GET', '/admin/api-keys'), admin('GET', '/admin/api-key-rights'),
      admin('GET', '/admin/clients'), admin('GET', '/admin/api-key-config')]);
    for (const r of [list, rights, cat, enf]) if (!r.ok) return void root.append(notice('error', restError(r)), adminRetry(r));
    const rightNames = rights.body.data.map((r) => r.name);
    const out = el('div');
    const secret = el('div');

    const enforce = el('input', { type: 'checkbox', checked: enf.body.data.enforce_api_keys, onchange: async () => {
      const r = await admin('PUT', '/admin/api-key-config', { enforce_api_keys: enforce.checked });
      out.replaceChildren(r.ok ? notice('ok', r.body.message) : notice('error', restError(r)));
      if (!r.ok) enforce.checked = !enforce.checked;
    } });
    root.append(el('div', { class: 'panel' }, el('label', { class: 'check' }, enforce, 'Require an API key on every client (enforce_api_keys)')));

    const name = el('input', { 'aria-label': 'Name', required: true, placeholder: 'name' });
    const clientSel = el('select', { 'aria-label': 'Client' }, el('option', { value: '' }, 'any client'),
      cat.body.data.map((c) => el('option', { value: c.client_name }, c.client_name)));
    const checks = rightNames.map((n) => el('input', { type: 'checkbox', value: n, checked: n === 'gateway.read' }));
    const form = el('form', { class: 'panel', onsubmit: async (e) => {
      e.preventDefault();
      const body = { name: name.value.trim(), rights: checks.filter((c) => c.checked).map((c) => c.value) };
      if (clientSel.value) body.client_name = clientSel.value;
      const r = await admin('POST', '/admin/api-keys', body);
      if (!r.ok) return void out.replaceChildren(notice('error', restError(r)));
      out.replaceChildren();
      // The secret is shown once, here, and never stored.
      secret.replaceChildren(el('div', { class: 'notice ok', role: 'status' },
        el('strong', {}, 'Copy this key now: it is shown only once.'), el('br'),
        el('code', { class: 'secret', 'data-testid': 'new-key' }, r.body.data.api_key), el('br'),
        el('button', { type: 'button', onclick: () => navigator.clipboard?.writeText(r.body.data.api_key) }, 'Copy'), ' ',
        el('button', { type: 'button', onclick: () => secret.replaceChildren() }, 'Done')));
      name.value = '';
      await drawList();
    } },
    el('h2', {}, 'Create a key'),
    el('div', { class: 'row' }, el('label', {}, 'Name', name), el('label', {}, 'Client', clientSel)),
    el('div', { class: 'row' }, checks.map((c) => el('label', { class: 'check' }, c, c.value))),
    el('div', { class: 'row' }, el('button', { class: 'primary', type: 'submit' }, 'Create key')));
    const listBox = el('div');
    root.append(form, secret, out, el('h2', {}, 'Keys'), listBox);

    async function drawList() {
      const r = await admin('GET', '/admin/api-keys');
      if (!r.ok) return void out.replaceChildren(notice('error', restError(r)));
      const tbody = el('tbody');
      for (const k of r.body.data) {
        const rightsCell = el('td', {}, (k.rights || []).join(', '));
        const tr = el('tr', { 'data-key': k.id },
          el('td', { class: 'actions' },
            el('button', { disabled: !!k.archived_at, onclick: () => editRights(k, rightsCell), 'aria-label': `Edit rights of ${k.name}` }, 'Rights'), ' ',
            el('button', { class: 'danger', disabled: !!k.archived_at, 'aria-label': `Revoke ${k.name}`, onclick: async () => {
              if (!window.confirm(`Revoke the key ${k.name} (${k.id})?`)) return;
              const d = await admin('DELETE', `/admin/api-keys/${enc(k.id)}`);
              out.replaceChildren(d.ok ? notice('ok', `Key ${k.id} revoked.`) : notice('error', restError(d)));
              await drawList();
            } }, 'Revoke')),
          el('td', {}, k.id), el('td', {}, k.name), el('td', {}, k.client_name || 'any'), rightsCell,
          el('td', {}, k.archived_at ? 'revoked' : k.is_active ? 'active' : 'inactive'));
        tbody.append(tr);
      }
      listBox.replaceChildren(el('div', { class: 'scroll' }, el('table', { class: 'data', 'data-testid': 'keys' },
        el('thead', {}, el('tr', {}, ['', 'id', 'name', 'client', 'rights', 'state'].map(headCell))), tbody)));
    }

    function editRights(k, td) {
      const boxes = rightNames.map((n) => el('input', { type: 'checkbox', value: n, checked: (k.rights || []).includes(n) }));
      td.replaceChildren(el('div', { class: 'row' }, boxes.map((b) => el('label', { class: 'check' }, b, b.value)),
        el('button', { class: 'primary', onclick: async () => {
          const r = await admin('PATCH', `/admin/api-keys/${enc(k.id)}`, { rights: boxes.filter((b) => b.checked).map((b) => b.value) });
          out.replaceChildren(r.ok ? notice('ok', `Rights of ${k.id} saved.`) : notice('error', restError(r)));
          await drawList();
        } }, 'Save rights')));
    }
    await drawList();
  },

  // --- admin: client catalog ---------------------------------------------
  async adminClients(root) {
    root.append(el('h1', {}, 'Client catalog'));
    if (!adminGate(root)) return;
    const out = el('div');
    const listBox = el('div');
    const name = el('input', { 'aria-label': 'Client name', placeholder: 'name', required: true });
    const kind = el('select', { 'aria-label': 'Kind' }, ['postgresql', 'sqlite', 'scylla'].map((k) => el('option', { value: k }, k)));
    const uri = el('input', { 'aria-label': 'URI, path or hosts', placeholder: 'postgres://… or a file path', class: 'grow' });
    const desc = el('input', { 'aria-label': 'Description', placeholder: 'description' });
    const form = el('form', { class: 'panel', onsubmit: async (e) => {
      e.preventDefault();
      const body = { client_name: name.value.trim(), kind: kind.value };
      if (desc.value) body.description = desc.value;
      if (kind.value === 'sqlite') body.path = uri.value.trim();
      else if (kind.value === 'scylla') body.hosts = uri.value.split(',').map((s) => s.trim()).filter(Boolean);
      else body.uri = uri.value.trim();
      const r = await admin('POST', '/admin/clients', body);
      out.replaceChildren(r.ok ? notice('ok', `Client ${body.client_name} added.`) : notice('error', restError(r)));
      if (r.ok) { name.value = uri.value = desc.value = ''; }
      await drawList();
    } }, el('h2', {}, 'Add a client'),
    el('div', { class: 'row' }, el('label', {}, 'Name', name), el('label', {}, 'Kind', kind), el('label', { class: 'grow' }, 'URI / path / hosts', uri), el('label', {}, 'Description', desc)),
    el('div', { class: 'row' }, el('button', { class: 'primary', type: 'submit' }, 'Add client')));
    root.append(form, out, listBox);

    async function drawList() {
      const r = await admin('GET', '/admin/clients');
      if (!r.ok) return void listBox.replaceChildren(notice('error', restError(r)), adminRetry(r));
      const tbody = el('tbody');
      for (const c of r.body.data) {
        tbody.append(el('tr', { 'data-client': c.client_name },
          el('td', { class: 'actions' }, el('button', { 'aria-label': `${c.is_frozen ? 'Unfreeze' : 'Freeze'} ${c.client_name}`, onclick: async () => {
            const f = await admin('PUT', `/admin/clients/${enc(c.client_name)}/freeze`, { is_frozen: !c.is_frozen });
            out.replaceChildren(f.ok ? notice('ok', `${c.client_name}: ${f.body.message}`) : notice('error', restError(f)));
            await drawList();
          } }, c.is_frozen ? 'Unfreeze' : 'Freeze')),
          el('td', {}, c.client_name), el('td', {}, c.kind), el('td', {}, c.source),
          el('td', {}, c.is_active ? 'active' : 'inactive'), el('td', {}, c.loaded ? 'loaded' : 'not loaded'),
          el('td', { 'data-testid': 'frozen' }, c.is_frozen ? 'frozen' : '')));
      }
      listBox.replaceChildren(el('div', { class: 'scroll' }, el('table', { class: 'data', 'data-testid': 'catalog' },
        el('thead', {}, el('tr', {}, ['', 'client', 'kind', 'source', 'state', 'node', 'frozen'].map(headCell))), tbody)));
    }
    await drawList();
  },

  // --- admin: statistics -------------------------------------------------
  async adminStats(root, _p, params) {
    root.append(el('h1', {}, 'Statistics'));
    if (!adminGate(root)) return;
    const out = el('div');
    const refresh = el('button', { onclick: async () => {
      const r = await admin('POST', '/admin/clients/statistics/refresh');
      out.replaceChildren(r.ok ? notice('ok', r.body.message) : notice('error', restError(r)));
      await draw();
    } }, 'Rebuild from the logs');
    const box = el('div');
    root.append(el('div', { class: 'row' }, refresh), out, box);
    async function draw() {
      const r = await admin('GET', '/admin/clients/statistics');
      if (!r.ok) return void box.replaceChildren(notice('error', restError(r)), adminRetry(r));
      const list = r.body.data || [];
      const parts = [el('h2', {}, 'Per client'),
        list.length ? table(['client', 'requests', 'ok', 'errors', 'avg ms', 'last request'],
          list.map((s) => [el('a', { href: `#/admin/stats?client=${enc(s.client_name)}` }, s.client_name), s.total_requests, s.success_count, s.error_count,
            Number(s.avg_duration_ms ?? 0).toFixed(2), s.last_request_at ?? '']), 'stats')
          : el('p', { class: 'muted' }, 'No requests recorded yet.')];
      const pick = params.get('client') || list[0]?.client_name;
      if (pick) {
        const d = await admin('GET', `/admin/clients/${enc(pick)}/statistics`);
        parts.push(el('h2', {}, `Tables of ${pick}`));
        if (!d.ok) parts.push(notice('error', restError(d)));
        else {
          const tables = d.body.data.tables || [];
          parts.push(tables.length ? table(Object.keys(tables[0]), tables.map((t) => Object.values(t)), 'table-stats') : el('p', { class: 'muted' }, 'No table statistics yet.'));
        }
      }
      box.replaceChildren(...parts);
    }
    await draw();
  },
};

/** adminGate asks for the admin key when the session has none. */
function adminGate(root) {
  if (keys.admin()) return true;
  root.append(el('div', { class: 'panel' }, notice('warn', 'These pages need the admin key (ATHENA_KEY_12). It is kept in this tab\'s sessionStorage only.'),
    keyForm('Admin key', '', (k) => { keys.setAdmin(k); route(); })));
  return false;
}

/** adminRetry offers a new admin key after a 401. */
function adminRetry(r) {
  if (r.status !== 401) return null;
  return keyForm('Admin key', '', (k) => { keys.setAdmin(k); route(); });
}

/** yieldToBrowser resolves after the browser had a chance to handle input and paint. */
function yieldToBrowser() {
  if (globalThis.scheduler?.yield) return globalThis.scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** headCell is a column head; an empty one is the (visually hidden) actions column. */
const headCell = (h) => el('th', { scope: 'col' }, h === '' ? el('span', { class: 'visually-hidden' }, 'Actions') : h);

/** table renders rows (arrays of values or nodes) under heads. */
function table(heads, rows, testid) {
  return el('div', { class: 'scroll' }, el('table', { class: 'data', 'data-testid': testid },
    el('thead', {}, el('tr', {}, heads.map(headCell))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((v) => (v instanceof Node ? el('td', {}, v) : valueCell(v))))))));
}

// The condition operators a filter offers, as the builder names them.
const OPERATORS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'is', 'in', 'contains', 'containedBy'];

/** filterEditor edits a list of {column, operator, value} and applies it to a builder. */
function filterEditor(cols, list, onApply) {
  const rowsBox = el('div', { class: 'filters' });
  const node = el('form', { onsubmit: (e) => { e.preventDefault(); onApply(); } }, rowsBox,
    el('div', { class: 'row' }, el('button', { type: 'button', onclick: () => addRow() }, '+ Condition'), el('button', { class: 'primary', type: 'submit' }, 'Apply')));
  const items = [];
  function addRow(f = { column: cols[0]?.name, operator: 'eq', value: '' }) {
    const col = el('select', { 'aria-label': 'Column' }, cols.map((c) => el('option', { value: c.name }, c.name)));
    col.value = f.column;
    const op = el('select', { 'aria-label': 'Operator' }, OPERATORS.map((o) => el('option', { value: o }, o)));
    op.value = f.operator;
    const val = el('input', { 'aria-label': 'Value', value: f.value, placeholder: 'value (in: a,b,c; is: null/true/false)' });
    const item = { col, op, val };
    const line = el('div', { class: 'filter' }, col, op, val,
      el('button', { type: 'button', 'aria-label': 'Remove condition', onclick: () => { items.splice(items.indexOf(item), 1); line.remove(); } }, '✕'));
    items.push(item);
    rowsBox.append(line);
  }
  for (const f of list) addRow(f);
  return {
    node,
    apply(q, byName) {
      for (const { col, op, val } of items) {
        const c = byName.get(col.value);
        const o = op.value;
        const text = val.value;
        if (o === 'is') {
          const v = /^null$/i.test(text) ? null : /^true$/i.test(text) ? true : /^false$/i.test(text) ? false : undefined;
          if (v === undefined) throw new Error(`${col.value} is …: the value must be null, true or false`);
          q = q.is(col.value, v);
        } else if (o === 'in') {
          q = q.in(col.value, text.split(',').map((s) => parseValue(c, s.trim())));
        } else if (o === 'like' || o === 'ilike') {
          q = q[o](col.value, text);
        } else {
          q = q[o](col.value, parseValue(c, text));
        }
      }
      return q;
    },
  };
}

// ---------------------------------------------------------------- router

const routes = [
  [/^\/?$/, 'clients', []],
  [/^\/keys$/, 'keys', []],
  [/^\/c\/([^/]+)$/, 'tables', ['client']],
  [/^\/c\/([^/]+)\/t\/([^/]+)$/, 'table', ['client', 'table']],
  [/^\/c\/([^/]+)\/sql$/, 'sql', ['client']],
  [/^\/c\/([^/]+)\/jobs$/, 'jobs', ['client']],
  [/^\/c\/([^/]+)\/live$/, 'live', ['client']],
  [/^\/admin\/keys$/, 'adminKeys', []],
  [/^\/admin\/clients$/, 'adminClients', []],
  [/^\/admin\/stats$/, 'adminStats', []],
];

let cleanup = null;
let current = null;

function parseHash() {
  const h = location.hash.replace(/^#/, '') || '/';
  const [path, query] = h.split('?');
  return { path, params: new URLSearchParams(query || '') };
}

function nav(page, p) {
  const links = [['#/', 'Clients', page === 'clients']];
  const client = p.client;
  if (client) {
    const c = enc(client);
    links.push(['sep', '›'], [`#/c/${c}`, 'Tables', page === 'tables' || page === 'table'], [`#/c/${c}/sql`, 'SQL', page === 'sql'],
      [`#/c/${c}/jobs`, 'Jobs', page === 'jobs'], [`#/c/${c}/live`, 'Live', page === 'live']);
  }
  links.push(['sep', '|'], ['#/admin/keys', 'API keys', page === 'adminKeys'], ['#/admin/clients', 'Catalog', page === 'adminClients'],
    ['#/admin/stats', 'Statistics', page === 'adminStats'], ['sep', '|'], ['#/keys', 'Session keys', page === 'keys']);
  document.getElementById('nav').replaceChildren(...links.map(([href, text, on]) => (href === 'sep'
    ? el('span', { class: 'sep', 'aria-hidden': 'true' }, text)
    : el('a', { href, 'aria-current': on ? 'page' : undefined }, text))));
}

let lastClient = '';

async function route() {
  const { path, params } = parseHash();
  let page = 'clients';
  const p = {};
  for (const [re, name, names] of routes) {
    const m = re.exec(path);
    if (m) {
      page = name;
      names.forEach((n, i) => (p[n] = decodeURIComponent(m[i + 1])));
      break;
    }
  }
  if (p.client) lastClient = p.client;
  else if (lastClient && page !== 'clients') p.client = lastClient;
  if (typeof cleanup === 'function') {
    try { cleanup(); } catch { /* a page's cleanup must not block the next page */ }
  }
  cleanup = null;
  const token = {};
  current = token;
  nav(page, p);
  const root = main();
  root.replaceChildren();
  root.dataset.page = page;
  root.removeAttribute('data-ready');
  document.title = `Athena console · ${page}`;
  try {
    const c = await pages[page](root, p, params);
    if (current === token) cleanup = c;
    else if (typeof c === 'function') c();
  } catch (e) {
    root.append(notice('error', `console error: ${e?.message || e}`));
  }
  if (current === token) root.dataset.ready = 'true';
}

window.addEventListener('hashchange', () => { route(); main().focus({ preventScroll: true }); });
route();
