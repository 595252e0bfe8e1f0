import { AthenaError, envelopeError } from './errors.js';
const timeoutGraceMs = 2000;
/** The error of a call whose socket was lost before its reply. */
export function lostError(kind) {
    return kind === 'write'
        ? new AthenaError('unknown_outcome', 'the connection was lost before the reply: the write may or may not have run, and was not sent again')
        : new AthenaError('connection_lost', 'the connection was lost before the reply; the read can be run again', 0, true);
}
/** The error of a call aborted by its signal. */
export function abortError() {
    return new AthenaError('canceled', 'canceled by the caller', 499);
}
/**
 * call sends one request and resolves with its reply frame, or rejects with
 * an {@link AthenaError} made by the client (lost socket, abort, timeout,
 * full queue). A read is abandoned at once on abort; a write waits for its
 * reply, which says whether the cancel came in time.
 */
export function call(conn, frame, kind, o = {}) {
    return new Promise((resolve, reject) => {
        const { signal, timeoutMs } = o;
        if (signal?.aborted) {
            reject(abortError());
            return;
        }
        const id = conn.nextId();
        let timer;
        const finish = () => {
            conn.drop(id);
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
        };
        const abandon = (err) => {
            if (conn.unqueue(id)) {
                finish();
                reject(err);
                return;
            }
            conn.sendNow({ request_id: conn.nextId('c'), action: 'request.cancel', body: { request_id: id } });
            if (kind === 'read') {
                finish();
                reject(err);
            }
        };
        const onAbort = () => abandon(abortError());
        const route = {
            frame(f) {
                if (f.type === 'reply') {
                    finish();
                    resolve(f);
                }
            },
            lost(err) {
                finish();
                reject(err ?? lostError(kind));
            },
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        if (timeoutMs && timeoutMs > 0) {
            timer = setTimeout(() => abandon(new AthenaError('timeout', `no reply within ${timeoutMs} ms`, 504)), timeoutMs + timeoutGraceMs);
        }
        try {
            conn.send({ ...frame, request_id: id, ...(timeoutMs ? { timeout_ms: timeoutMs } : {}) }, route);
        }
        catch (e) {
            finish();
            reject(e);
        }
    });
}
/** Turns a reply frame into a {@link Result}. */
export function toResult(f) {
    const status = typeof f.http_status === 'number' ? f.http_status : 0;
    const meta = f.meta ?? null;
    if (f.status !== 'success') {
        return { data: null, error: envelopeError(f, status), status, meta };
    }
    return { data: (f.data ?? null), error: null, status, meta };
}
/** The Result of a call that failed in the client. */
export function failed(e) {
    if (e instanceof AthenaError) {
        return { data: null, error: e, status: e.httpStatus, meta: null };
    }
    throw e;
}
/**
 * RowStream is the async iterator {@link QueryBuilder.stream} returns: one
 * {@link RowBatch} per chunk frame. The request is sent on the first
 * `next()`. Chunks that arrive before the consumer asks for them are kept
 * undecoded and parsed only when the consumer iterates, so the page does
 * the decoding work at the consumer's pace. Breaking out of the loop (or
 * aborting the signal) cancels the request on the server.
 */
export class RowStream {
    conn;
    frame;
    signal;
    /** Rows handed to the consumer so far. */
    rowCount = 0;
    /** The final reply's meta (`row_count`, `chunks`) once the stream ended. */
    meta = null;
    buf = [];
    ended;
    waiter;
    id;
    /** @internal Use {@link QueryBuilder.stream} or {@link SqlQuery.stream}. */
    constructor(conn, frame, signal) {
        this.conn = conn;
        this.frame = frame;
        this.signal = signal;
    }
    /** The stream is its own iterator. */
    [Symbol.asyncIterator]() {
        return this;
    }
    /** The next batch; rejects with an {@link AthenaError} if the stream failed. */
    next() {
        if (this.id === undefined && !this.ended) {
            this.start();
        }
        const raw = this.buf.shift();
        if (raw !== undefined) {
            return Promise.resolve(this.decode(raw));
        }
        if (this.ended) {
            return this.ended.error ? Promise.reject(this.ended.error) : Promise.resolve({ done: true, value: undefined });
        }
        return new Promise((resolve, reject) => {
            this.waiter = { resolve, reject };
        });
    }
    /** Stops the stream: cancels it on the server if it is still running. */
    return() {
        this.stop(null);
        return Promise.resolve({ done: true, value: undefined });
    }
    start() {
        if (this.signal?.aborted) {
            this.end(abortError());
            return;
        }
        const id = this.conn.nextId();
        this.id = id;
        this.signal?.addEventListener('abort', this.onAbort, { once: true });
        const route = {
            chunk: (raw) => {
                const w = this.waiter;
                if (w) {
                    this.waiter = undefined;
                    w.resolve(this.decode(raw));
                }
                else {
                    this.buf.push(raw);
                }
            },
            frame: (f) => {
                if (f.type !== 'reply') {
                    return;
                }
                const r = toResult(f);
                this.meta = r.meta;
                this.end(r.error);
            },
            lost: (err) => this.end(err ?? lostError('read')),
        };
        try {
            this.conn.send({ ...this.frame, request_id: id, stream: true }, route);
        }
        catch (e) {
            this.end(e);
        }
    }
    onAbort = () => this.stop(abortError());
    stop(err) {
        if (this.ended) {
            return;
        }
        const id = this.id;
        if (id !== undefined && !this.conn.unqueue(id)) {
            this.conn.sendNow({ request_id: this.conn.nextId('c'), action: 'request.cancel', body: { request_id: id } });
        }
        this.buf.length = 0;
        this.end(err);
    }
    end(err) {
        if (this.ended) {
            return;
        }
        this.ended = { error: err };
        if (this.id !== undefined) {
            this.conn.drop(this.id);
        }
        this.signal?.removeEventListener('abort', this.onAbort);
        const w = this.waiter;
        if (w && !this.buf.length) {
            this.waiter = undefined;
            if (err) {
                w.reject(err);
            }
            else {
                w.resolve({ done: true, value: undefined });
            }
        }
    }
    decode(raw) {
        const f = JSON.parse(raw);
        this.rowCount += f.data.length;
        return { done: false, value: { rows: f.data, seq: f.seq, rowCount: this.rowCount } };
    }
}
