// The HTTP API client: JSON in and out, errors turned into readable messages.

/** An error answered by the daemon (`{"error": {code, message}}`) or by the network. */
export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }

  /** True when the route itself does not exist in this build of the daemon. */
  get noRoute() {
    return this.status === 404 && /no such route/i.test(this.message);
  }
}

const HINTS = {
  UNAUTHORIZED: 'Please sign in again.',
  FORBIDDEN: 'Your account is not allowed to do this.',
  QUOTA_EXCEEDED: 'There is not enough space on the box.',
  METADATA_TIMEOUT: 'No peer answered with the torrent’s metadata in time.',
  NO_SEEDS: 'No peer can supply the data right now.',
  NOT_READY: 'The video is not ready yet; the box is still fetching it.',
  NO_VIDEO_FILE: 'This torrent has no playable video file.',
  STREAM_FAILED: 'The box could not prepare this video.',
  SEARCH_FAILED: 'Every search indexer failed.',
};

/** A sentence for a person: the daemon's message, with a hint for well-known codes. */
export function explain(err) {
  if (!(err instanceof ApiError)) return String(err?.message || err);
  if (err.code === 'RATE_LIMITED') {
    const s = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : '';
    return `Too many requests.${s}`;
  }
  // The daemon's own message says what went wrong; the hint stands in when it is empty.
  const hint = HINTS[err.code];
  if (err.code === 'UNAUTHORIZED' && err.status === 401 && /log in/i.test(err.message)) return hint;
  if (!err.message) return hint || `Request failed (${err.status}).`;
  const text = err.message.charAt(0).toUpperCase() + err.message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * Calls the API. `body`: an object (sent as JSON) or FormData. Resolves to the parsed
 * JSON (or text), rejects with ApiError. A 401 outside the sign-in routes also fires
 * the window event `swarmcast:unauthorized`.
 */
export async function api(method, path, body, { signal } = {}) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin', signal };
  // The daemon refuses cookie-authenticated POSTs that a cross-site HTML form could send;
  // this header marks the request as the UI's own.
  if (method !== 'GET' && method !== 'HEAD') init.headers['X-Requested-With'] = 'swarmcast';
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', 'Cannot reach the box. Check the network connection.');
  }
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : await res.text();
  if (res.ok) return data;
  const e = data && typeof data === 'object' && data.error ? data.error : {};
  const err = new ApiError(res.status, e.code || `HTTP_${res.status}`, e.message || res.statusText, data);
  err.retryAfter = res.headers.get('retry-after');
  if (res.status === 401 && !path.startsWith('/auth/login') && !path.startsWith('/auth/setup') && path !== '/auth/me') {
    window.dispatchEvent(new CustomEvent('swarmcast:unauthorized'));
  }
  throw err;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body ?? {}, opts);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

/** Routes this build lacks, learnt from 404s, so the UI can hide what it cannot do. */
const absent = new Set();

export function markAbsent(feature) {
  absent.add(feature);
  window.dispatchEvent(new CustomEvent('swarmcast:features'));
}

export function isAbsent(feature) {
  return absent.has(feature);
}
