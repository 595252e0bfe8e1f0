/**
 * Codes the client itself produces, beside the server's own codes
 * (`unknown_column`, `conflict`, `timeout`, ... as listed in the server's
 * README), which arrive unchanged in {@link AthenaError.code}.
 *
 * - `connection_lost`: the socket closed before a read's reply arrived; it
 *   is safe to run the read again ({@link AthenaError.retryable}).
 * - `unknown_outcome`: the socket closed after a write (or a deferral) was
 *   sent and before its reply arrived: it may or may not have run. The
 *   client never sends it again by itself.
 * - `canceled`: the call's `AbortSignal` fired (the server's own
 *   `canceled` replies carry the same code).
 * - `timeout`: no reply within the call's `timeoutMs` plus a grace period.
 * - `queue_full`: the socket is not open and the offline queue is full (or
 *   disabled with `maxQueue: 0`).
 * - `closed`: {@link Client.close} was called, or reconnecting gave up.
 * - `not_single`: `single()` found no row or more than one; `maybeSingle()`
 *   found more than one.
 * - `no_websocket`: there is no global `WebSocket` and none was passed in.
 * - `bad_frame`: the server sent something that is not a protocol frame.
 */
export type ClientErrorCode = 'connection_lost' | 'unknown_outcome' | 'canceled' | 'timeout' | 'queue_full' | 'closed' | 'not_single' | 'no_websocket' | 'bad_frame';
/**
 * The error of a failed call: always a value with a machine `code`, never a
 * bare string. Errors the server reported carry its `code`, `message` and
 * `http_status` (as {@link AthenaError.httpStatus}); errors the client
 * produced carry one of {@link ClientErrorCode} and `httpStatus` 0.
 */
export declare class AthenaError extends Error {
    /** The machine code: the server's (`unknown_column`, `conflict`, ...) or one of {@link ClientErrorCode}. */
    readonly code: string;
    /** The HTTP status REST would have given (`http_status` of the reply); 0 when no server answered. */
    readonly httpStatus: number;
    /** Whether running the same call again cannot do harm twice (a read whose reply was lost). */
    readonly retryable: boolean;
    /** The server's `error` text of the reply, when it sent one. */
    readonly details: string | undefined;
    /**
     * @param code - machine code
     * @param message - human-readable message
     * @param httpStatus - the reply's `http_status`, or 0
     * @param retryable - see {@link AthenaError.retryable}
     * @param details - the reply's `error` text
     */
    constructor(code: string, message: string, httpStatus?: number, retryable?: boolean, details?: string);
}
/** Builds the error of an error envelope (a reply or a job result). */
export declare function envelopeError(env: {
    message?: unknown;
    error?: unknown;
    code?: unknown;
}, httpStatus: number): AthenaError;
