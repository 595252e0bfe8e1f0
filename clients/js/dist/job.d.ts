import { AthenaError } from './errors.js';
import type { Connection, Resumable, Route } from './connection.js';
import { type CallOptions, type FrameBody, type Meta, type Result } from './request.js';
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
    /** The envelope the request produced (final states only). */
    result?: {
        status?: string;
        message?: string;
        data?: unknown;
        meta?: Meta;
        code?: string;
        error?: string;
    };
    /** The result lost its rows for being over the server's cap: stream the request instead. */
    result_truncated?: boolean;
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
