import { AthenaError } from './errors.js';
import { toResult } from './request.js';
/**
 * LiveQuery is a live subscription (DESIGN.md §4b, `live.subscribe`): the
 * current rows, then every change, with the rows materialized here. After a
 * reconnect it subscribes again with its resume cursor. It needs a server
 * with live queries; against one without, it ends at once with the
 * server's error (`bad_request`: unknown action).
 */
export class LiveQuery {
    conn;
    request;
    callback;
    /** The current rows. */
    rows = [];
    /** Resolves with the first rows; rejects if the subscription ended before them. */
    ready;
    cursor;
    key = [];
    routeId;
    done = false;
    started = false;
    resolveReady;
    rejectReady;
    /** @internal Use {@link QueryBuilder.subscribe}. */
    constructor(conn, request, callback) {
        this.conn = conn;
        this.request = request;
        this.callback = callback;
        this.ready = new Promise((resolve, reject) => {
            this.resolveReady = resolve;
            this.rejectReady = reject;
        });
        this.ready.catch(() => { }); // the callback hears the error too
        conn.addResumable(this);
        if (conn.status === 'open') {
            this.resume();
        }
    }
    /** Ends the subscription (`live.unsubscribe`). */
    unsubscribe() {
        if (this.routeId !== undefined) {
            this.conn.sendNow({ request_id: this.conn.nextId('c'), action: 'live.unsubscribe', body: { request_id: this.routeId } });
        }
        this.end(undefined, false);
    }
    /** @internal Subscribes on a new socket, resuming from the cursor when there is one. */
    resume() {
        if (this.done) {
            return;
        }
        const id = this.conn.nextId('l');
        this.routeId = id;
        const frame = { ...this.request, request_id: id, action: 'live.subscribe' };
        if (this.cursor !== undefined) {
            frame.resume = { cursor: this.cursor };
        }
        this.conn.send(frame, {
            frame: (f) => this.frame(f),
            lost: (err) => err && this.lost(err),
        });
    }
    /** @internal The client closed. */
    lost(err) {
        this.end(err, true);
    }
    frame(f) {
        if (f.type === 'reply') {
            const r = toResult(f);
            if (r.error) {
                this.end(r.error, true);
                return;
            }
            const meta = r.meta ?? {};
            if (Array.isArray(meta.key)) {
                this.key = meta.key;
            }
            this.cursor = typeof meta.cursor === 'string' ? meta.cursor : this.cursor;
            // A resumed subscription whose missed changes follow as events keeps
            // its rows; any other reply carries the whole result.
            if (!(meta.resumed === true && this.started)) {
                this.replace(Array.isArray(r.data) ? r.data : [], this.started ? 'resync' : 'snapshot');
            }
            return;
        }
        if (f.type !== 'event') {
            return;
        }
        if (typeof f.cursor === 'string') {
            this.cursor = f.cursor;
        }
        if (f.event === 'live.change') {
            const change = f.data;
            this.apply(change);
            this.callback({ type: 'change', rows: this.rows, change });
        }
        else if (f.event === 'live.resync') {
            this.replace(Array.isArray(f.data) ? f.data : [], 'resync');
        }
        else if (f.event === 'live.end') {
            const d = (f.data ?? {});
            this.end(new AthenaError(d.code ?? 'closed', d.message ?? 'the live query ended'), true);
        }
    }
    replace(rows, type) {
        this.rows = rows;
        if (!this.started) {
            this.started = true;
            this.resolveReady(rows);
        }
        this.callback({ type, rows });
    }
    id(v) {
        return JSON.stringify(this.key.map((k) => v?.[k]));
    }
    apply(c) {
        const key = this.id((c.key ?? c.row));
        const at = this.rows.findIndex((r) => this.id(r) === key);
        const rows = this.rows.slice();
        if (c.op === 'delete') {
            if (at >= 0) {
                rows.splice(at, 1);
            }
        }
        else if (c.row !== undefined) {
            if (at >= 0) {
                rows[at] = c.row;
            }
            else {
                rows.push(c.row);
            }
            const sort = this.request.body?.sort_by;
            if (sort?.field) {
                const f = sort.field;
                const dir = /^asc/i.test(sort.direction ?? 'asc') ? 1 : -1;
                rows.sort((a, b) => {
                    const x = a[f];
                    const y = b[f];
                    return x === y ? 0 : x < y ? -dir : dir;
                });
            }
        }
        this.rows = rows;
    }
    end(err, notify) {
        if (this.done) {
            return;
        }
        this.done = true;
        this.conn.removeResumable(this);
        if (this.routeId !== undefined) {
            this.conn.drop(this.routeId);
        }
        if (!this.started) {
            this.rejectReady(err ?? new AthenaError('canceled', 'unsubscribed before the first rows', 499));
        }
        if (notify) {
            this.callback({ type: 'end', rows: this.rows, ...(err ? { error: err } : {}) });
        }
    }
}
