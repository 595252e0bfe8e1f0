import { AthenaError, envelopeError } from './errors.js';
import type { Connection, Frame, Route } from './connection.js';

/** A row as the server returns it. */
export type Row = Record<string, unknown>;

/** The reply's `meta`: `row_count`, `chunks`, `truncated`, `affected_rows`, ... as the server sends them. */
export type Meta = Record<string, unknown>;

/**
 * The outcome of a call, as in supabase-js: `error` is null on success and
 * `data` is null on failure. `status` is the HTTP status REST would have
 * given (0 when no server answered).
 */
export interface Result<T> {
  /** The rows (or one row, or what the request returns); null on failure. */
  data: T | null;
  /** Null on success; the error, with its machine `code`, on failure. */
  error: AthenaError | null;
  /** The reply's `http_status`; 0 when no server answered. */
  status: number;
  /** The reply's `meta`, when it had one. */
  meta: Meta | null;
}

/** Options every call takes. */
export interface CallOptions {
  /** Aborting sends `request.cancel`; see the README for what a write then reports. */
  signal?: AbortSignal | undefined;
  /** Server-side deadline (`timeout_ms`); the client also gives up 2 s after it. */
  timeoutMs?: number | undefined;
}

/** Whether a lost reply may hide effects (a write) or not (a read). */
export type Kind = 'read' | 'write';

/** The request frame minus its request_id. */
export type FrameBody = Record<string, unknown>;

const timeoutGraceMs = 2000;

/** The error of a call whose socket was lost before its reply. */
export function lostError(kind: Kind): AthenaError {
  return kind === 'write'
    ? new AthenaError('unknown_outcome', 'the connection was lost before the reply: the write may or may not have run, and was not sent again')
    : new AthenaError('connection_lost', 'the connection was lost before the reply; the read can be run again', 0, true);
}

/** The error of a call aborted by its signal. */
export function abortError(): AthenaError {
  return new AthenaError('canceled', 'canceled by the caller', 499);
}

/**
 * call sends one request and resolves with its reply frame, or rejects with
 * an {@link AthenaError} made by the client (lost socket, abort, timeout,
 * full queue). A read is abandoned at once on abort; a write waits for its
 * reply, which says whether the cancel came in time.
 */
export function call(conn: Connection, frame: FrameBody, kind: Kind, o: CallOptions = {}): Promise<Frame> {
  return new Promise<Frame>((resolve, reject) => {
    const { signal, timeoutMs } = o;
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const id = conn.nextId();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (): void => {
      conn.drop(id);
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const abandon = (err: AthenaError): void => {
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
    const onAbort = (): void => abandon(abortError());
    const route: Route = {
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
    } catch (e) {
      finish();
      reject(e);
    }
  });
}

/** Turns a reply frame into a {@link Result}. */
export function toResult<T>(f: Frame): Result<T> {
  const status = typeof f.http_status === 'number' ? f.http_status : 0;
  const meta = (f.meta as Meta | undefined) ?? null;
  if (f.status !== 'success') {
    return { data: null, error: envelopeError(f as { message?: unknown }, status), status, meta };
  }
  return { data: (f.data ?? null) as T | null, error: null, status, meta };
}

/** The Result of a call that failed in the client. */
export function failed<T>(e: unknown): Result<T> {
  if (e instanceof AthenaError) {
    return { data: null, error: e, status: e.httpStatus, meta: null };
  }
  throw e;
}

/** One chunk of a stream. */
export interface RowBatch<T> {
  /** The rows of this chunk (at most the server's `chunk_rows`). */
  rows: T[];
  /** The chunk's number, from 0. */
  seq: number;
  /** Rows received so far, this chunk included: the progress. */
  rowCount: number;
}

/**
 * RowStream is the async iterator {@link QueryBuilder.stream} returns: one
 * {@link RowBatch} per chunk frame. The request is sent on the first
 * `next()`. Chunks that arrive before the consumer asks for them are kept
 * undecoded and parsed only when the consumer iterates, so the page does
 * the decoding work at the consumer's pace. Breaking out of the loop (or
 * aborting the signal) cancels the request on the server.
 */
export class RowStream<T = Row> implements AsyncIterableIterator<RowBatch<T>> {
  /** Rows handed to the consumer so far. */
  rowCount = 0;
  /** The final reply's meta (`row_count`, `chunks`) once the stream ended. */
  meta: Meta | null = null;
  private readonly buf: string[] = [];
  private ended: { error: AthenaError | null } | undefined;
  private waiter: { resolve(r: IteratorResult<RowBatch<T>>): void; reject(e: unknown): void } | undefined;
  private id: string | undefined;

  /** @internal Use {@link QueryBuilder.stream} or {@link SqlQuery.stream}. */
  constructor(private readonly conn: Connection, private readonly frame: FrameBody, private readonly signal?: AbortSignal) {}

  /** The stream is its own iterator. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next batch; rejects with an {@link AthenaError} if the stream failed. */
  next(): Promise<IteratorResult<RowBatch<T>>> {
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
  return(): Promise<IteratorResult<RowBatch<T>>> {
    this.stop(null);
    return Promise.resolve({ done: true, value: undefined });
  }

  private start(): void {
    if (this.signal?.aborted) {
      this.end(abortError());
      return;
    }
    const id = this.conn.nextId();
    this.id = id;
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    const route: Route = {
      chunk: (raw) => {
        const w = this.waiter;
        if (w) {
          this.waiter = undefined;
          w.resolve(this.decode(raw));
        } else {
          this.buf.push(raw);
        }
      },
      frame: (f) => {
        if (f.type !== 'reply') {
          return;
        }
        const r = toResult<unknown>(f);
        this.meta = r.meta;
        this.end(r.error);
      },
      lost: (err) => this.end(err ?? lostError('read')),
    };
    try {
      this.conn.send({ ...this.frame, request_id: id, stream: true }, route);
    } catch (e) {
      this.end(e as AthenaError);
    }
  }

  private readonly onAbort = (): void => this.stop(abortError());

  private stop(err: AthenaError | null): void {
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

  private end(err: AthenaError | null): void {
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
      } else {
        w.resolve({ done: true, value: undefined });
      }
    }
  }

  private decode(raw: string): IteratorResult<RowBatch<T>> {
    const f = JSON.parse(raw) as { seq: number; data: T[] };
    this.rowCount += f.data.length;
    return { done: false, value: { rows: f.data, seq: f.seq, rowCount: this.rowCount } };
  }
}
