/**
 * `@athena-go/client`: the browser and Node client of the Athena (Go)
 * gateway's WebSocket (`/wss/gateway`). See README.md.
 *
 * @packageDocumentation
 */
import { type ConnectionStatus, type SocketConstructor } from './connection.js';
import type { ReconnectOptions } from './backoff.js';
import { Job } from './job.js';
import { QueryBuilder, type SqlQuery } from './query.js';
import type { Row } from './request.js';
export { AthenaError, type ClientErrorCode } from './errors.js';
export { reconnectDelay, CloseCode, type ReconnectOptions } from './backoff.js';
export type { ConnectionStatus, SocketConstructor, SocketLike } from './connection.js';
export type { CallOptions, Meta, Result, Row, RowBatch } from './request.js';
export { RowStream } from './request.js';
export { Job, type JobInfo, type JobStatus, type JobStreamOptions, type ResultSummary } from './job.js';
export { LiveQuery, type LiveChange, type LiveEvent } from './live.js';
export { QueryBuilder, SingleQuery, type AggregateGroup, type AggregateSpec, type Bucket, type Measure, type Condition, type DeleteOptions, type InsertOptions, type SqlQuery, type StreamOptions, type UpsertOptions } from './query.js';
/** Options of {@link connect}. */
export interface ConnectOptions {
    /** The client (database) to use: sent as `?client=` when the socket opens. */
    client?: string;
    /** An API key, sent in an `auth` frame first on every socket (never in the URL). */
    apiKey?: string;
    /** A WebSocket constructor, for runtimes without a global `WebSocket`. */
    WebSocket?: SocketConstructor;
    /**
     * Omit null columns from rows (`X-Strip-Nulls`). Default true, as
     * `@xylex-group/athena` does; set false to get every column.
     */
    stripNulls?: boolean;
    /** More headers for every request frame. */
    headers?: Record<string, string>;
    /**
     * How many calls may wait while the socket is (re)connecting; more fail
     * at once with `queue_full`. 0 fails every call made while not open.
     * Default 100.
     */
    maxQueue?: number;
    /** Back-off of reconnects (jittered, exponential; close codes decide). */
    reconnect?: ReconnectOptions;
    /** Application-level ping interval; a socket silent for a whole interval after a ping is dropped. Default 15000; 0 disables. */
    pingIntervalMs?: number;
    /** How often a watched job is read as a watchdog against lost events. Default 30000; 0 disables. */
    jobPollMs?: number;
}
/**
 * Client is one gateway socket, opened on first use. Every builder, stream,
 * job and live query made from it shares that socket.
 */
export declare class Client {
    private readonly conn;
    private readonly ctx;
    /** @internal Use {@link connect}. */
    constructor(url: string, options?: ConnectOptions);
    /** A query builder on table: `from("users").select("id,name").eq("active", true)`. */
    from<T = Row>(table: string): QueryBuilder<T>;
    /** Raw SQL on the client (`gateway.query`): await it, `.stream()` it or `.defer()` it. */
    sql<T = Row>(query: string): SqlQuery<T>;
    /** Re-attaches to a deferred job by id (from another page, or after a reload). */
    job<T = unknown>(id: string): Job<T>;
    /** The connection's status now. */
    get status(): ConnectionStatus;
    /** Calls fn with the status now and on every change; returns the unsubscribe function. */
    onStatus(fn: (status: ConnectionStatus) => void): () => void;
    /** Opens the socket now instead of on first use. */
    connect(): void;
    /** Closes the socket for good; waiting calls fail with `closed`. */
    close(): void;
}
/**
 * connect returns a client of the gateway at url: `https://host` (the
 * socket path `/wss/gateway` is added), or a full `wss://host/wss/gateway`.
 * The socket opens on first use.
 */
export declare function connect(url: string, options?: ConnectOptions): Client;
