import { AthenaError } from './errors.js';
import type { Connection, Frame } from './connection.js';
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
/** The error of a call whose socket was lost before its reply. */
export declare function lostError(kind: Kind): AthenaError;
/** The error of a call aborted by its signal. */
export declare function abortError(): AthenaError;
/**
 * call sends one request and resolves with its reply frame, or rejects with
 * an {@link AthenaError} made by the client (lost socket, abort, timeout,
 * full queue). A read is abandoned at once on abort; a write waits for its
 * reply, which says whether the cancel came in time.
 */
export declare function call(conn: Connection, frame: FrameBody, kind: Kind, o?: CallOptions): Promise<Frame>;
/** Turns a reply frame into a {@link Result}. */
export declare function toResult<T>(f: Frame): Result<T>;
/** The Result of a call that failed in the client. */
export declare function failed<T>(e: unknown): Result<T>;
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
export declare class RowStream<T = Row> implements AsyncIterableIterator<RowBatch<T>> {
    private readonly conn;
    private readonly frame;
    private readonly signal?;
    /** Rows handed to the consumer so far. */
    rowCount: number;
    /** The final reply's meta (`row_count`, `chunks`) once the stream ended. */
    meta: Meta | null;
    private readonly buf;
    private ended;
    private waiter;
    private id;
    /** @internal Use {@link QueryBuilder.stream} or {@link SqlQuery.stream}. */
    constructor(conn: Connection, frame: FrameBody, signal?: AbortSignal | undefined);
    /** The stream is its own iterator. */
    [Symbol.asyncIterator](): this;
    /** The next batch; rejects with an {@link AthenaError} if the stream failed. */
    next(): Promise<IteratorResult<RowBatch<T>>>;
    /** Stops the stream: cancels it on the server if it is still running. */
    return(): Promise<IteratorResult<RowBatch<T>>>;
    private start;
    private readonly onAbort;
    private stop;
    private end;
    private decode;
}
