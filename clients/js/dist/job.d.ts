import { AthenaError } from './errors.js';
import type { Connection, Resumable, Route } from './connection.js';
import { type CallOptions, type FrameBody, type Meta, type Result, type Row, type RowBatch } from './request.js';
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
    result?: {
        status?: string;
        message?: string;
        data?: unknown;
        meta?: Meta;
        code?: string;
        error?: string;
    } & Partial<ResultSummary>;
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
/**
 * Job follows a deferred request: status callbacks, a promise of its
 * result, cancel and requeue. It keeps watching across reconnects
 * (`deferred.subscribe` with the job id on each new socket) and, as a
 * watchdog, reads the job every `jobPollMs` while it runs, so a lost event
 * only delays an update. Get one from {@link QueryBuilder.defer},
 * {@link SqlQuery.defer} or {@link Client.job}.
 */
export declare class Job<T = unknown> implements Resumable {
    private readonly conn;
    /** The job's id: keep it to re-attach with {@link Client.job} from another page. */
    readonly id: string;
    /** The last state seen; undefined until the server answered. */
    info: JobInfo | undefined;
    private readonly listeners;
    private readonly settled;
    private settle;
    private routeId;
    private done;
    private poll;
    /** @internal Use {@link Client.job}. */
    constructor(conn: Connection, id: string, pollMs: number);
    /** The last status seen. */
    get status(): JobStatus | undefined;
    /** Calls fn with the current state (if known) and on every change; returns the unsubscribe function. */
    onStatus(fn: (info: JobInfo) => void): () => void;
    /**
     * Resolves once the job is final: `data` is the rows (or whatever the
     * request returned) of a completed job; a failed or canceled job, or one
     * that could not be watched, has `error` set.
     */
    result(): Promise<Result<T>>;
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
    stream<R = Row>(options?: JobStreamOptions): AsyncGenerator<RowBatch<R>, void, undefined>;
    /** Reads the job now (`deferred.get`). */
    refresh(o?: CallOptions): Promise<Result<JobInfo>>;
    /** Cancels the job (`deferred.cancel`). */
    cancel(o?: CallOptions): Promise<Result<JobInfo>>;
    /**
     * Runs a failed or canceled job again (`deferred.requeue`). This handle
     * has already settled; follow the new run with `client.job(job.id)`.
     */
    requeue(o?: CallOptions): Promise<Result<JobInfo>>;
    /** Stops watching (the job keeps running on the server); {@link Job.result} then resolves with error `canceled`. */
    unwatch(): void;
    /** @internal Watches the job under routeId (a deferral's own request id). */
    watch(routeId: string): Route;
    /** @internal A new socket is open: subscribe again. */
    resume(): void;
    /** @internal The client closed. */
    lost(err: AthenaError): void;
    /** @internal Applies a state read from the server. */
    update(info: JobInfo): void;
    private control;
    private frame;
    private finish;
}
/**
 * submit sends a request with `defer: true` and resolves with its job once
 * the server acknowledged it (202). The socket keeps delivering the job's
 * events under the request's id. A lost acknowledgement rejects with
 * `unknown_outcome`: the job may exist, and it is not submitted twice.
 */
export declare function submit<T>(conn: Connection, frame: FrameBody, pollMs: number, o?: CallOptions): Promise<Job<T>>;
