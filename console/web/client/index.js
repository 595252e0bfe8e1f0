/**
 * `@athena-go/client`: the browser and Node client of the Athena (Go)
 * gateway's WebSocket (`/wss/gateway`). See README.md.
 *
 * @packageDocumentation
 */
import { Connection } from './connection.js';
import { Job } from './job.js';
import { QueryBuilder } from './query.js';
export { AthenaError } from './errors.js';
export { reconnectDelay, CloseCode } from './backoff.js';
export { RowStream } from './request.js';
export { Job } from './job.js';
export { LiveQuery } from './live.js';
export { QueryBuilder, SingleQuery } from './query.js';
/**
 * Client is one gateway socket, opened on first use. Every builder, stream,
 * job and live query made from it shares that socket.
 */
export class Client {
    conn;
    ctx;
    /** @internal Use {@link connect}. */
    constructor(url, options = {}) {
        this.conn = new Connection(socketURL(url, options.client), {
            WebSocket: options.WebSocket,
            apiKey: options.apiKey,
            maxQueue: options.maxQueue,
            reconnect: options.reconnect,
            pingIntervalMs: options.pingIntervalMs,
        });
        const headers = { ...options.headers };
        headers['X-Strip-Nulls'] = String(options.stripNulls ?? true);
        this.ctx = { conn: this.conn, headers, jobPollMs: options.jobPollMs ?? 30000 };
    }
    /** A query builder on table: `from("users").select("id,name").eq("active", true)`. */
    from(table) {
        return new QueryBuilder(this.ctx, { table, op: 'select', conditions: [] });
    }
    /** Raw SQL on the client (`gateway.query`): await it, `.stream()` it or `.defer()` it. */
    sql(query) {
        return new QueryBuilder(this.ctx, { table: '', op: 'sql', conditions: [], query });
    }
    /** Re-attaches to a deferred job by id (from another page, or after a reload). */
    job(id) {
        const j = new Job(this.conn, id, this.ctx.jobPollMs);
        if (this.conn.status === 'open') {
            j.resume();
        }
        return j;
    }
    /** The connection's status now. */
    get status() {
        return this.conn.status;
    }
    /** Calls fn with the status now and on every change; returns the unsubscribe function. */
    onStatus(fn) {
        return this.conn.onStatus(fn);
    }
    /** Opens the socket now instead of on first use. */
    connect() {
        this.conn.ensureOpen();
    }
    /** Closes the socket for good; waiting calls fail with `closed`. */
    close() {
        this.conn.close();
    }
}
/**
 * connect returns a client of the gateway at url: `https://host` (the
 * socket path `/wss/gateway` is added), or a full `wss://host/wss/gateway`.
 * The socket opens on first use.
 */
export function connect(url, options = {}) {
    return new Client(url, options);
}
/** The socket URL: ws(s) scheme, /wss/gateway unless a path is given, ?client=. */
function socketURL(url, client) {
    const base = globalThis.location?.href;
    const u = new URL(url, base);
    u.protocol = u.protocol.replace(/^http/, 'ws');
    if (u.pathname === '' || u.pathname === '/') {
        u.pathname = '/wss/gateway';
    }
    if (client) {
        u.searchParams.set('client', client);
    }
    return u.toString();
}
