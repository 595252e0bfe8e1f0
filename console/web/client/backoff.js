/** Close codes the server sends (GET /wss/info lists them). */
export const CloseCode = {
    /** Normal closure. */
    normal: 1000,
    /** The server is shutting down: another node (or this one restarted) can take us at once. */
    goingAway: 1001,
    /** No close frame: the connection dropped. */
    abnormal: 1006,
    /** Slow consumer: the client stopped reading. */
    policy: 1008,
    /** A frame exceeded max_frame_bytes. */
    tooBig: 1009,
    /** Internal server error. */
    internal: 1011,
};
/**
 * reconnectDelay returns how long to wait before reconnect attempt
 * `attempt` (0 for the first after a loss) given the close code that ended
 * the last socket: "full jitter" exponential back-off, except that a 1001
 * (server shutting down) retries at once the first time and a 1008 (slow
 * consumer) waits at least `policyDelayMs`. Close codes 4000-4999 are
 * application refusals and are never retried (returns -1), like an
 * exhausted `maxAttempts`.
 */
export function reconnectDelay(attempt, code, o = {}, random = Math.random) {
    const initial = o.initialDelayMs ?? 500;
    const max = o.maxDelayMs ?? 15000;
    if (attempt >= (o.maxAttempts ?? Infinity) || (code >= 4000 && code <= 4999)) {
        return -1;
    }
    if (code === CloseCode.goingAway && attempt === 0) {
        return 0;
    }
    const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
    // Half fixed, half random: spread out, but never a hot loop.
    const delay = ceiling / 2 + random() * (ceiling / 2);
    if (code === CloseCode.policy) {
        const floor = o.policyDelayMs ?? 5000;
        return Math.max(floor, delay) + random() * floor;
    }
    return delay;
}
