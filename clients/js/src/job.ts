import { AthenaError, envelopeError } from './errors.js';
import type { Connection, Frame, Resumable, Route } from './connection.js';
import { call, lostError, RowStream, toResult, type CallOptions, type FrameBody, type Meta, type Result, type Row, type RowBatch } from './request.js';

/** A deferred job's state. `completed`, `failed` and `canceled` are final. */
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'canceled';

/** A deferred job as the server describes it (`deferred.get`, `deferred.status` events). */
export interface JobInfo {
  /** The job id. */
  request_id: string;
  /** Where it is. */
  status: JobStatus;
  /** The client it runs on. */
  client_name?: string;
  /** The operation: fetch, insert, update, delete, query, sql. */
  action?: string;
  /** How often it was claimed by a worker. */
  attempts?: number;
  /** When it was submitted (RFC 3339). */
  created_at?: string;
  /** When the current attempt started. */
  started_at?: string | null;
  /** When it ended. */
  finished_at?: string | null;
  /** Why it failed, for a failed job. */
  error?: string;
  /**
   * The envelope the request produced (final states only) when it is
   * small; for a bigger fetch, query or sql result, its summary
   * ({@link ResultSummary}): read the rows with {@link Job.stream}.
   */
  result?: { status?: string; message?: string; data?: unknown; meta?: Meta; code?: string; error?: string } & Partial<ResultSummary>;
  /** The stored result was cut at the server's per-job bound (the summary's message says where). */
  result_truncated?: boolean;
  /** The gateway node that holds (or last held) the job's claim. */
  worker_id?: string;
  /** When a running job's claim runs out; past it, another node runs the job again. */
  lease_expires_at?: string | null;
}

/** The summary of a deferred result stored in chunks on the server. */
export interface ResultSummary {
  /** Rows stored. */
  row_count: number;
  /** Chunks stored. */
  chunks: number;
  /** Bytes stored (the client's quota counts them). */
  bytes: number;
  /** Rows per chunk (the last may hold fewer). */
  chunk_rows: number;
  /** The result was cut at the per-job bound. */
  truncated?: boolean;
  /** What the request did, and where a cut result was cut. */
  message?: string;
}

/** Options of {@link Job.stream}. */
export interface JobStreamOptions {
  /** Aborting stops the stream (the stored result stays on the server). */
  signal?: AbortSignal;
  /** The chunk to start at (default 0): a page that kept the last `seq` it saw resumes after it. */
  fromSeq?: number;
  /** How often a stream cut by a lost connection is resumed (from the next chunk) before it fails. Default 3. */
  resumes?: number;
}

const terminal = (s: JobStatus | undefined): boolean => s === 'completed' || s === 'failed' || s === 'canceled';

/**
 * Job follows a deferred request: status callbacks, a promise of its
 * result, cancel and requeue. It keeps watching across reconnects
 * (`deferred.subscribe` with the job id on each new socket) and, as a
 * watchdog, reads the job every `jobPollMs` while it runs, so a lost event
 * only delays an update. Get one from {@link QueryBuilder.defer},
 * {@link SqlQuery.defer} or {@link Client.job}.
 */
export class Job<T = unknown> implements Resumable {
  /** The job's id: keep it to re-attach with {@link Client.job} from another page. */
  readonly id: string;
  /** The last state seen; undefined until the server answered. */
  info: JobInfo | undefined;
  private readonly listeners = new Set<(info: JobInfo) => void>();
  private readonly settled: Promise<Result<T>>;
  private settle!: (r: Result<T>) => void;
  private routeId: string | undefined;
  private done = false;
  private poll: ReturnType<typeof setInterval> | undefined;

  /** @internal Use {@link Client.job}. */
  constructor(private readonly conn: Connection, id: string, pollMs: number) {
    this.id = id;
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
    });
    if (pollMs > 0) {
      this.poll = setInterval(() => {
        if (this.conn.status === 'open') {
          this.refresh().catch(() => {});
        }
      }, pollMs);
    }
    conn.addResumable(this);
  }

  /** The last status seen. */
  get status(): JobStatus | undefined {
    return this.info?.status;
  }

  /** Calls fn with the current state (if known) and on every change; returns the unsubscribe function. */
  onStatus(fn: (info: JobInfo) => void): () => void {
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
  result(): Promise<Result<T>> {
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
  async *stream<R = Row>(options: JobStreamOptions = {}): AsyncGenerator<RowBatch<R>, void, undefined> {
    const done = await this.result();
    if (done.error) {
      throw done.error;
    }
    let next = options.fromSeq ?? 0;
    let base = 0;
    let resumes = options.resumes ?? 3;
    for (;;) {
      const body: Record<string, unknown> = { request_id: this.id };
      if (next > 0) {
        body.from_seq = next;
      }
      const rs = new RowStream<R>(this.conn, { action: 'deferred.result', body }, options.signal);
      let seen = 0;
      try {
        for await (const b of rs) {
          next = b.seq + 1;
          seen = b.rowCount;
          yield { rows: b.rows, seq: b.seq, rowCount: base + b.rowCount };
        }
        return;
      } catch (e) {
        if (!(e instanceof AthenaError) || e.code !== 'connection_lost' || resumes <= 0) {
          throw e;
        }
        resumes--;
        base += seen;
      }
    }
  }

  /** Reads the job now (`deferred.get`). */
  async refresh(o?: CallOptions): Promise<Result<JobInfo>> {
    const r = toResult<JobInfo>(await call(this.conn, { action: 'deferred.get', body: { request_id: this.id } }, 'read', o));
    if (r.data) {
      this.update(r.data);
    }
    return r;
  }

  /** Cancels the job (`deferred.cancel`). */
  cancel(o?: CallOptions): Promise<Result<JobInfo>> {
    return this.control('deferred.cancel', o);
  }

  /**
   * Runs a failed or canceled job again (`deferred.requeue`). This handle
   * has already settled; follow the new run with `client.job(job.id)`.
   */
  async requeue(o?: CallOptions): Promise<Result<JobInfo>> {
    return this.control('deferred.requeue', o);
  }

  /** Stops watching (the job keeps running on the server); {@link Job.result} then resolves with error `canceled`. */
  unwatch(): void {
    if (this.routeId !== undefined && this.conn.sendNow({ request_id: this.conn.nextId('c'), action: 'deferred.unsubscribe', body: { request_id: this.id } })) {
      this.conn.drop(this.routeId);
    }
    this.finish({ data: null, error: new AthenaError('canceled', 'stopped watching the job; it keeps running on the server', 499), status: 499, meta: null });
  }

  /** @internal Watches the job under routeId (a deferral's own request id). */
  watch(routeId: string): Route {
    this.routeId = routeId;
    return {
      frame: (f) => this.frame(f),
      lost: (err) => err && this.lost(err),
    };
  }

  /** @internal A new socket is open: subscribe again. */
  resume(): void {
    if (this.done) {
      return;
    }
    const id = this.conn.nextId('j');
    this.conn.send({ request_id: id, action: 'deferred.subscribe', body: { request_id: this.id } }, this.watch(id));
  }

  /** @internal The client closed. */
  lost(err: AthenaError): void {
    this.finish({ data: null, error: err, status: 0, meta: null });
  }

  /** @internal Applies a state read from the server. */
  update(info: JobInfo): void {
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
      this.finish(jobResult<T>(this.info));
    }
  }

  private async control(action: string, o?: CallOptions): Promise<Result<JobInfo>> {
    const r = toResult<JobInfo>(await call(this.conn, { action, body: { request_id: this.id } }, 'write', o));
    if (r.data) {
      if (action === 'deferred.requeue' && this.done) {
        return r; // a finished handle stays finished; attach a new one with client.job(id)
      }
      this.update(r.data);
    }
    return r;
  }

  private frame(f: Frame): void {
    if (f.type === 'event' && f.event === 'deferred.status') {
      this.update(f.data as JobInfo);
    } else if (f.type === 'reply') {
      const r = toResult<JobInfo>(f);
      if (r.error) {
        this.finish({ data: null, error: r.error, status: r.status, meta: null });
      } else if (r.data) {
        this.update(r.data);
      }
    }
  }

  private finish(r: Result<T>): void {
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
function jobResult<T>(info: JobInfo): Result<T> {
  const env = info.result ?? {};
  const meta: Meta | null = info.result_truncated ? { ...env.meta, result_truncated: true } : (env.meta ?? null);
  if (info.status === 'completed' && env.status !== 'error') {
    return { data: (env.data ?? null) as T | null, error: null, status: 200, meta };
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
export function submit<T>(conn: Connection, frame: FrameBody, pollMs: number, o: CallOptions = {}): Promise<Job<T>> {
  return new Promise<Job<T>>((resolve, reject) => {
    if (o.signal?.aborted) {
      reject(new AthenaError('canceled', 'canceled by the caller', 499));
      return;
    }
    const id = conn.nextId();
    let job: Job<T> | undefined;
    let route: Route | undefined;
    // Until the acknowledgement, aborting drops a queued deferral or asks
    // the server to cancel it (the reply then says whether a job exists).
    const onAbort = (): void => {
      if (conn.unqueue(id)) {
        reject(new AthenaError('canceled', 'canceled by the caller', 499));
      } else {
        conn.sendNow({ request_id: conn.nextId('c'), action: 'request.cancel', body: { request_id: id } });
      }
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const first: Route = {
      frame(f) {
        if (route) {
          route.frame(f);
          return;
        }
        if (f.type !== 'reply') {
          return;
        }
        o.signal?.removeEventListener('abort', onAbort);
        const r = toResult<JobInfo>(f);
        if (r.error || !r.data?.request_id) {
          conn.drop(id);
          reject(r.error ?? new AthenaError('bad_frame', 'the server did not defer the request'));
          return;
        }
        job = new Job<T>(conn, r.data.request_id, pollMs);
        route = job.watch(id);
        job.update(r.data);
        resolve(job);
      },
      lost(err) {
        if (route) {
          route.lost(err);
        } else {
          o.signal?.removeEventListener('abort', onAbort);
          reject(err ?? lostError('write'));
        }
      },
    };
    try {
      conn.send({ ...frame, request_id: id, defer: true, ...(o.timeoutMs ? { timeout_ms: o.timeoutMs } : {}) }, first);
    } catch (e) {
      o.signal?.removeEventListener('abort', onAbort);
      reject(e);
    }
  });
}
