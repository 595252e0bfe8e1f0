import { AthenaError, envelopeError } from './errors.js';
import { call, lostError, RowStream, toResult } from './request.js';
const terminal = (s) => s === 'completed' || s === 'failed' || s === 'canceled';
/**
 * Job follows a deferred request: status callbacks, a promise of its
 * result, cancel and requeue. It keeps watching across reconnects
 * (`deferred.subscribe` with the job id on each new socket) and, as a
 * watchdog, reads the job every `jobPollMs` while it runs, so a lost event
 * only delays an update. Get one from {@link QueryBuilder.defer},
 * {@link SqlQuery.defer} or {@link Client.job}.
 */
export class Job {
    conn;
    /** The job's id: keep it to re-attach with {@link Client.job} from another page. */
    id;
    /** The last state seen; undefined until the server answered. */
    info;
    listeners = new Set();
    settled;
    settle;
    routeId;
    done = false;
    poll;
    /** @internal Use {@link Client.job}. */
    constructor(conn, id, pollMs) {
        this.conn = conn;
        this.id = id;
        this.settled = new Promise((resolve) => {
            this.settle = resolve;
        });
        if (pollMs > 0) {
            this.poll = setInterval(() => {
                if (this.conn.status === 'open') {
                    this.refresh().catch(() => { });
                }
            }, pollMs);
        }
        conn.addResumable(this);
    }
    /** The last status seen. */
    get status() {
        return this.info?.status;
    }
    /** Calls fn with the current state (if known) and on every change; returns the unsubscribe function. */
    onStatus(fn) {
        this.listeners.add(fn);
        if (this.info) {
            fn(this.info);
        }
        return () => this.listeners.delete(fn);
    }
    /**
     * Resolves once the job is final: `data` is the rows (or whatever the
     * request returned) of a completed job; a failed or canceled job, or one
     * that could not be watched, has `error` set.
     */
    result() {
        return this.settled;
    }
    /**
     * Streams the job's whole result once it has completed: an async
     * iterator of row batches (`deferred.result` with `stream: true`), read
     * from the server's store only as fast as the page consumes them, so a
     * result of any size never sits whole in the page or the gateway. It
     * waits for the job to complete first; a failed or canceled job throws
     * its error. When the connection is lost mid-stream, it resumes from the
     * chunk after the last one delivered (`from_seq`) once the socket is
     * back, up to `resumes` times. Breaking out of the loop stops it.
     *
     * ```ts
     * const job = await client.sql('SELECT * FROM events').defer();
     * for await (const batch of job.stream()) render(batch.rows, batch.rowCount);
     * ```
     */
    async *stream(options = {}) {
        const done = await this.result();
        if (done.error) {
            throw done.error;
        }
        let next = options.fromSeq ?? 0;
        let base = 0;
        let resumes = options.resumes ?? 3;
        for (;;) {
            const body = { request_id: this.id };
            if (next > 0) {
                body.from_seq = next;
            }
            const rs = new RowStream(this.conn, { action: 'deferred.result', body }, options.signal);
            let seen = 0;
            try {
                for await (const b of rs) {
                    next = b.seq + 1;
                    seen = b.rowCount;
                    yield { rows: b.rows, seq: b.seq, rowCount: base + b.rowCount };
                }
                return;
            }
            catch (e) {
                if (!(e instanceof AthenaError) || e.code !== 'connection_lost' || resumes <= 0) {
                    throw e;
                }
                resumes--;
                base += seen;
            }
        }
    }
    /** Reads the job now (`deferred.get`). */
    async refresh(o) {
        const r = toResult(await call(this.conn, { action: 'deferred.get', body: { request_id: this.id } }, 'read', o));
        if (r.data) {
            this.update(r.data);
        }
        return r;
    }
    /** Cancels the job (`deferred.cancel`). */
    cancel(o) {
        return this.control('deferred.cancel', o);
    }
    /**
     * Runs a failed or canceled job again (`deferred.requeue`). This handle
     * has already settled; follow the new run with `client.job(job.id)`.
     */
    async requeue(o) {
        return this.control('deferred.requeue', o);
    }
    /** Stops watching (the job keeps running on the server); {@link Job.result} then resolves with error `canceled`. */
    unwatch() {
        if (this.routeId !== undefined && this.conn.sendNow({ request_id: this.conn.nextId('c'), action: 'deferred.unsubscribe', body: { request_id: this.id } })) {
            this.conn.drop(this.routeId);
        }
        this.finish({ data: null, error: new AthenaError('canceled', 'stopped watching the job; it keeps running on the server', 499), status: 499, meta: null });
    }
    /** @internal Watches the job under routeId (a deferral's own request id). */
    watch(routeId) {
        this.routeId = routeId;
        return {
            frame: (f) => this.frame(f),
            lost: (err) => err && this.lost(err),
        };
    }
    /** @internal A new socket is open: subscribe again. */
    resume() {
        if (this.done) {
            return;
        }
        const id = this.conn.nextId('j');
        this.conn.send({ request_id: id, action: 'deferred.subscribe', body: { request_id: this.id } }, this.watch(id));
    }
    /** @internal The client closed. */
    lost(err) {
        this.finish({ data: null, error: err, status: 0, meta: null });
    }
    /** @internal Applies a state read from the server. */
    update(info) {
        if (this.done || !info || typeof info.status !== 'string') {
            return;
        }
        const changed = info.status !== this.info?.status;
        this.info = { ...this.info, ...info };
        if (changed) {
            for (const fn of [...this.listeners]) {
                fn(this.info);
            }
        }
        if (terminal(info.status)) {
            this.finish(jobResult(this.info));
        }
    }
    async control(action, o) {
        const r = toResult(await call(this.conn, { action, body: { request_id: this.id } }, 'write', o));
        if (r.data) {
            if (action === 'deferred.requeue' && this.done) {
                return r; // a finished handle stays finished; attach a new one with client.job(id)
            }
            this.update(r.data);
        }
        return r;
    }
    frame(f) {
        if (f.type === 'event' && f.event === 'deferred.status') {
            this.update(f.data);
        }
        else if (f.type === 'reply') {
            const r = toResult(f);
            if (r.error) {
                this.finish({ data: null, error: r.error, status: r.status, meta: null });
            }
            else if (r.data) {
                this.update(r.data);
            }
        }
    }
    finish(r) {
        if (this.done) {
            return;
        }
        this.done = true;
        clearInterval(this.poll);
        this.conn.removeResumable(this);
        if (this.routeId !== undefined) {
            this.conn.drop(this.routeId);
        }
        this.settle(r);
    }
}
/** The Result of a final job. */
function jobResult(info) {
    const env = info.result ?? {};
    const meta = info.result_truncated ? { ...env.meta, result_truncated: true } : (env.meta ?? null);
    if (info.status === 'completed' && env.status !== 'error') {
        return { data: (env.data ?? null), error: null, status: 200, meta };
    }
    if (info.status === 'canceled') {
        return { data: null, error: new AthenaError('canceled', env.message ?? 'the job was canceled', 499), status: 499, meta };
    }
    const err = env.code ? envelopeError(env, 0) : new AthenaError('internal', info.error || 'the job failed');
    return { data: null, error: err, status: err.httpStatus, meta };
}
/**
 * submit sends a request with `defer: true` and resolves with its job once
 * the server acknowledged it (202). The socket keeps delivering the job's
 * events under the request's id. A lost acknowledgement rejects with
 * `unknown_outcome`: the job may exist, and it is not submitted twice.
 */
export function submit(conn, frame, pollMs, o = {}) {
    return new Promise((resolve, reject) => {
        if (o.signal?.aborted) {
            reject(new AthenaError('canceled', 'canceled by the caller', 499));
            return;
        }
        const id = conn.nextId();
        let job;
        let route;
        // Until the acknowledgement, aborting drops a queued deferral or asks
        // the server to cancel it (the reply then says whether a job exists).
        const onAbort = () => {
            if (conn.unqueue(id)) {
                reject(new AthenaError('canceled', 'canceled by the caller', 499));
            }
            else {
                conn.sendNow({ request_id: conn.nextId('c'), action: 'request.cancel', body: { request_id: id } });
            }
        };
        o.signal?.addEventListener('abort', onAbort, { once: true });
        const first = {
            frame(f) {
                if (route) {
                    route.frame(f);
                    return;
                }
                if (f.type !== 'reply') {
                    return;
                }
                o.signal?.removeEventListener('abort', onAbort);
                const r = toResult(f);
                if (r.error || !r.data?.request_id) {
                    conn.drop(id);
                    reject(r.error ?? new AthenaError('bad_frame', 'the server did not defer the request'));
                    return;
                }
                job = new Job(conn, r.data.request_id, pollMs);
                route = job.watch(id);
                job.update(r.data);
                resolve(job);
            },
            lost(err) {
                if (route) {
                    route.lost(err);
                }
                else {
                    o.signal?.removeEventListener('abort', onAbort);
                    reject(err ?? lostError('write'));
                }
            },
        };
        try {
            conn.send({ ...frame, request_id: id, defer: true, ...(o.timeoutMs ? { timeout_ms: o.timeoutMs } : {}) }, first);
        }
        catch (e) {
            o.signal?.removeEventListener('abort', onAbort);
            reject(e);
        }
    });
}
