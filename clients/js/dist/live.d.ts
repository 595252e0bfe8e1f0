import { AthenaError } from './errors.js';
import type { Connection, Resumable } from './connection.js';
import { type FrameBody, type Row } from './request.js';
/** One change of a live query, as `live.change` carries it. */
export interface LiveChange<T> {
    /** What happened to the row. */
    op: 'insert' | 'update' | 'delete';
    /** The row as it is now (insert, update). */
    row?: T;
    /** The row's key columns (`meta.key` of the subscription). */
    key?: Record<string, unknown>;
}
/**
 * What a live query's callback receives: `rows` is always the whole current
 * result, kept by the client. `snapshot` is the first result, `change` one
 * applied change, `resync` a full replacement (after a reconnect the server
 * could not replay, or when it says so), `end` the end of the subscription
 * (`error` says why).
 */
export interface LiveEvent<T> {
    /** What happened. */
    type: 'snapshot' | 'change' | 'resync' | 'end';
    /** The whole current result. */
    rows: T[];
    /** The change applied (type `change`). */
    change?: LiveChange<T>;
    /** Why it ended (type `end`; absent after unsubscribe). */
    error?: AthenaError;
}
/**
 * LiveQuery is a live subscription (DESIGN.md §4b, `live.subscribe`): the
 * current rows, then every change, with the rows materialized here. After a
 * reconnect it subscribes again with its resume cursor. It needs a server
 * with live queries; against one without, it ends at once with the
 * server's error (`bad_request`: unknown action).
 */
export declare class LiveQuery<T = Row> implements Resumable {
    private readonly conn;
    private readonly request;
    private readonly callback;
    /** The current rows. */
    rows: T[];
    /** Resolves with the first rows; rejects if the subscription ended before them. */
    readonly ready: Promise<T[]>;
    private cursor;
    private key;
    private routeId;
    private done;
    private started;
    private resolveReady;
    private rejectReady;
    /** @internal Use {@link QueryBuilder.subscribe}. */
    constructor(conn: Connection, request: FrameBody, callback: (e: LiveEvent<T>) => void);
    /** Ends the subscription (`live.unsubscribe`). */
    unsubscribe(): void;
    /** @internal Subscribes on a new socket, resuming from the cursor when there is one. */
    resume(): void;
    /** @internal The client closed. */
    lost(err: AthenaError): void;
    private frame;
    private replace;
    private id;
    private apply;
    private end;
}
