import type { Connection } from './connection.js';
import { Job } from './job.js';
import { LiveQuery, type LiveEvent } from './live.js';
import { RowStream, type CallOptions, type Result, type Row } from './request.js';
/** A filter condition as the server reads it (`conditions[]` of a request body). */
export interface Condition {
    /** eq, neq, gt, gte, lt, lte, like, ilike, is, in, contains, containedBy, not, or. */
    operator: string;
    /** The column; absent for `not` and `or`, whose value is an expression. */
    column?: string;
    /** The operand. */
    value?: unknown;
}
/** A time bucket of a group, truncated in UTC; a week starts on Monday (ISO 8601). */
export type Bucket = 'minute' | 'hour' | 'day' | 'week' | 'month';
/**
 * One entry of {@link AggregateSpec.group_by}: a column name, or a column
 * truncated to a time bucket and named with `as`.
 */
export type AggregateGroup = string | {
    column: string;
    bucket?: Bucket;
    as?: string;
};
/** One measure: `count(*)`, or a function of one column. */
export type Measure = 'count(*)' | `${'count' | 'count_distinct' | 'sum' | 'avg' | 'min' | 'max'}(${string})`;
/**
 * The `aggregate` member of a fetch (see {@link QueryBuilder.aggregate}):
 * groups and named measures the database computes in one statement.
 * Output names (measure keys, and grouped columns without `as`) use
 * letters, digits and underscores.
 */
export interface AggregateSpec {
    /** The groups, e.g. `['region', { column: 'created_at', bucket: 'day', as: 'day' }]`. */
    group_by?: AggregateGroup[];
    /** Output name → measure, e.g. `{ total: 'sum(amount)', orders: 'count(*)' }`. */
    measures?: Record<string, Measure>;
}
/** What the builders share with the client (internal). */
export interface Context {
    conn: Connection;
    headers: Record<string, string>;
    jobPollMs: number;
}
type Op = 'select' | 'insert' | 'upsert' | 'update' | 'delete' | 'sql';
interface State {
    table: string;
    op: Op;
    columns?: string | undefined;
    conditions: Condition[];
    limit?: number | undefined;
    offset?: number | undefined;
    sort?: {
        field: string;
        direction: 'asc' | 'desc';
    } | undefined;
    values?: unknown;
    onConflict?: string | undefined;
    updateBody?: unknown;
    defaultToNull?: boolean | undefined;
    resourceId?: string | number | undefined;
    single?: 'one' | 'maybe' | undefined;
    signal?: AbortSignal | undefined;
    timeoutMs?: number | undefined;
    query?: string | undefined;
    aggregate?: AggregateSpec | undefined;
}
/** Options of {@link QueryBuilder.upsert}, as in `@xylex-group/athena`. */
export interface UpsertOptions {
    /** The conflict target column(s), e.g. `"id"` or `"email"`. */
    onConflict?: string;
    /** What to set on conflict; default: the inserted values. */
    updateBody?: Row;
    /** Columns missing from some rows are written as NULL instead of their default. */
    defaultToNull?: boolean;
}
/** Options of {@link QueryBuilder.insert}. */
export interface InsertOptions {
    /** Columns missing from some rows are written as NULL instead of their default. */
    defaultToNull?: boolean;
}
/** Options of {@link QueryBuilder.delete}. */
export interface DeleteOptions {
    /** Deletes the row with this primary key (the body's `resource_id`). */
    resourceId?: string | number;
}
/** Options of {@link QueryBuilder.stream}. */
export interface StreamOptions {
    /** Aborting cancels the stream on the server. */
    signal?: AbortSignal;
}
/**
 * QueryBuilder is what `client.from(table)` returns: an immutable chain
 * (every method returns a new builder) that runs when awaited, once per
 * builder — awaiting the same builder again gives the same result and sends
 * nothing. Filters may come before `select()` (the `@xylex-group/athena`
 * order) or after it (the supabase-js order); `update()` and `delete()`
 * take the filters from both sides too. The result is a {@link Result}:
 * a failed call resolves with `error` set, it never rejects.
 */
export declare class QueryBuilder<T = Row> implements PromiseLike<Result<T[]>> {
    private readonly ctx;
    private readonly s;
    private run;
    /** @internal Use {@link Client.from}. */
    constructor(ctx: Context, s: State);
    private with;
    private where;
    /** Chooses the columns to return (`"id,name"`; default all), and for reads makes the chain a select. */
    select(columns?: string): this;
    /**
     * Makes the select an aggregate computed by the database: one row per
     * group holding the groups, then the measures. Filters, `order()` (on a
     * group or measure name), `limit()`/`range()` (counting groups),
     * `stream()` and `defer()` apply as to rows; `select()` columns do not
     * combine with it. Sums keep every digit (JSON numbers); averages of
     * integers are exact decimals.
     *
     * @example
     * const { data } = await athena.from('orders')
     *   .aggregate({ group_by: ['region', { column: 'created_at', bucket: 'day', as: 'day' }],
     *                measures: { revenue: 'sum(amount)', orders: 'count(*)' } })
     *   .gte('created_at', '2024-03-01T00:00:00Z')
     *   .order('revenue', { ascending: false })
     *   .limit(20);
     */
    aggregate(spec: AggregateSpec): this;
    /** Rows whose column equals value (`null` means IS NULL). */
    eq(column: string, value: unknown): this;
    /** Rows whose column differs from value. */
    neq(column: string, value: unknown): this;
    /** Rows whose column is greater than value. */
    gt(column: string, value: unknown): this;
    /** Rows whose column is greater than or equal to value. */
    gte(column: string, value: unknown): this;
    /** Rows whose column is less than value. */
    lt(column: string, value: unknown): this;
    /** Rows whose column is less than or equal to value. */
    lte(column: string, value: unknown): this;
    /** Rows whose column matches a LIKE pattern (`%` or `*` as wildcard). */
    like(column: string, pattern: string): this;
    /** Rows whose column matches a pattern, ignoring case. */
    ilike(column: string, pattern: string): this;
    /** Rows whose column IS null, true or false. */
    is(column: string, value: null | boolean): this;
    /** Rows whose column is one of values. */
    in(column: string, values: readonly unknown[]): this;
    /** Rows whose array or JSON column contains value. */
    contains(column: string, value: unknown): this;
    /** Rows whose array or JSON column is contained by value. */
    containedBy(column: string, value: unknown): this;
    /**
     * Negation: `not("age", "gt", 30)`, or `not("age.gt.30,name.eq.bob")`
     * (a PostgREST-style expression, negated as a whole).
     */
    not(columnOrExpression: string, operator?: string, value?: unknown): this;
    /** Rows matching any of a PostgREST-style expression: `"age.gt.30,name.eq.bob"`. */
    or(expression: string): this;
    /** Rows whose columns equal every value of filters. */
    match(filters: Record<string, unknown>): this;
    /** Sorts by column (one column: the server's `sort_by`; a later call replaces it). */
    order(column: string, options?: {
        ascending?: boolean;
    }): this;
    /** Returns at most count rows. */
    limit(count: number): this;
    /** Returns rows from index `from` to `to`, both included (offset and limit). */
    range(from: number, to: number): this;
    /** Makes the result one row: `error` `not_single` unless exactly one row matched. */
    single(columns?: string): SingleQuery<T>;
    /** Makes the result one row or null: `error` `not_single` if more than one matched. */
    maybeSingle(columns?: string): SingleQuery<T | null>;
    /** Inserts one row or an array of rows (one statement, one transaction); the result holds the rows written. */
    insert(values: Row | Row[], options?: InsertOptions): this;
    /** Inserts, or updates on conflict with `onConflict` (setting `updateBody`, default the inserted values). */
    upsert(values: Row | Row[], options?: UpsertOptions): this;
    /** Updates the rows the filters match; the result holds the updated rows, `meta.affected_rows` their count. */
    update(values: Row): this;
    /** Deletes the rows the filters match (or the row `resourceId` names); the result holds the deleted rows. */
    delete(options?: DeleteOptions): this;
    /** Cancels the call (`request.cancel`) when signal aborts. */
    abortSignal(signal: AbortSignal): this;
    /** Sets the server-side deadline (`timeout_ms`). */
    timeout(ms: number): this;
    /** Runs the call (once per builder) and resolves with its {@link Result}. */
    then<R1 = Result<T[]>, R2 = never>(onfulfilled?: ((value: Result<T[]>) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2>;
    /**
     * Streams the rows of a select (or SQL query) as chunks: an async
     * iterator of {@link RowBatch} with a running row count, not capped by
     * the server's `max_rows`.
     */
    stream(options?: StreamOptions): RowStream<T>;
    /**
     * Defers the call: the server stores it as a job and answers at once.
     * Resolves with the {@link Job} once the server acknowledged it; rejects
     * with an {@link AthenaError} if it refused (e.g. `queue_unavailable`)
     * or the acknowledgement was lost (`unknown_outcome`: it is not sent
     * again). The signal cancels the deferral until it is acknowledged; then
     * cancel the job with {@link Job.cancel}.
     */
    defer(options?: CallOptions): Promise<Job<T[]>>;
    /**
     * Subscribes to the select as a live query (`live.subscribe`, DESIGN.md
     * §4b): callback gets the first rows, then every change, with the
     * current rows kept by the client; after a reconnect it resumes from its
     * cursor. Needs a server with live queries. Aborting the signal
     * unsubscribes.
     */
    subscribe(callback: (event: LiveEvent<T>) => void, options?: {
        signal?: AbortSignal;
    }): LiveQuery<T>;
    /** The request frame (without request_id). */
    private frame;
    private execute;
}
/**
 * SqlQuery is what {@link Client.sql} returns: raw SQL on the client
 * (`gateway.query`), awaited like a builder, or streamed, or deferred.
 */
export type SqlQuery<T = Row> = Pick<QueryBuilder<T>, 'then' | 'stream' | 'defer' | 'abortSignal' | 'timeout'>;
/** What SingleQuery wraps: a builder that is awaited and can take a signal. */
interface Runnable extends PromiseLike<unknown> {
    abortSignal(signal: AbortSignal): Runnable;
}
/**
 * SingleQuery is what `single()` and `maybeSingle()` return: awaited, its
 * `data` is one row (or null) instead of an array.
 */
export declare class SingleQuery<T> implements PromiseLike<Result<T>> {
    private readonly q;
    /** @internal Use {@link QueryBuilder.single} or {@link QueryBuilder.maybeSingle}. */
    constructor(q: Runnable);
    /** Cancels the call (`request.cancel`) when signal aborts. */
    abortSignal(signal: AbortSignal): SingleQuery<T>;
    /** Runs the call (once) and resolves with its {@link Result}. */
    then<R1 = Result<T>, R2 = never>(onfulfilled?: ((value: Result<T>) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2>;
}
export {};
