// The live torrent list: one EventSource on /api/events feeding a Map of torrents and
// the listeners of whichever page is shown.

import { get } from './api.js';

/** id → torrent, as last pushed by the daemon. */
export const torrents = new Map();

const rowListeners = new Set();
const activityListeners = new Set();
const stateListeners = new Set();
let source = null;
let retry = 1000;
let retryTimer = null;
let state = 'connecting';
/** When the stream last said anything (the daemon sends a heartbeat every 5 s). */
let lastHeard = 0;
let watchdog = null;

/** Without a word from the daemon for this long, the box counts as not responding. */
export const SILENCE_MS = 15000;

/** Subscribes to row changes: fn(kind, torrent|id) with kind 'all' | 'row' | 'removed'. */
export function onRows(fn) {
  rowListeners.add(fn);
  return () => rowListeners.delete(fn);
}

/** Subscribes to engine events ({event, torrent_id, name, detail, time}). */
export function onActivity(fn) {
  activityListeners.add(fn);
  return () => activityListeners.delete(fn);
}

/** Subscribes to the connection state: 'connecting' | 'live' | 'stalled' | 'offline'. */
export function onState(fn) {
  stateListeners.add(fn);
  fn(state);
  return () => stateListeners.delete(fn);
}

function setState(s) {
  if (s === state) return;
  state = s;
  for (const fn of stateListeners) fn(s);
}

function emitRows(kind, arg) {
  for (const fn of rowListeners) fn(kind, arg);
}

/** Applies a torrent object returned by an API call at once, before the push arrives. */
export function upsert(t) {
  torrents.set(t.id, t);
  emitRows('row', t);
}

export function forget(id) {
  if (torrents.delete(id)) emitRows('removed', id);
}

/** Opens the push channel (idempotent). */
export function connect() {
  if (source) return;
  clearTimeout(retryTimer);
  setState('connecting');
  source = new EventSource('/api/events');
  const heard = () => {
    lastHeard = Date.now();
    if (state === 'stalled') setState('live');
  };
  source.addEventListener('open', () => {
    retry = 1000;
    lastHeard = Date.now();
    setState('live');
  });
  for (const name of ['torrents', 'torrent', 'removed', 'resync', 'activity', 'heartbeat']) source.addEventListener(name, heard);
  // A stream that stays open but goes silent is a stuck daemon (or a frozen network).
  clearInterval(watchdog);
  watchdog = setInterval(() => {
    if (state === 'live' && Date.now() - lastHeard > SILENCE_MS) setState('stalled');
  }, 1000);
  source.addEventListener('torrents', (e) => {
    torrents.clear();
    for (const t of JSON.parse(e.data)) torrents.set(t.id, t);
    emitRows('all');
  });
  source.addEventListener('torrent', (e) => upsert(JSON.parse(e.data)));
  source.addEventListener('removed', (e) => forget(JSON.parse(e.data).id));
  source.addEventListener('resync', () => refresh());
  source.addEventListener('activity', (e) => {
    const ev = JSON.parse(e.data);
    if (ev.event === 'removed') forget(ev.torrent_id);
    for (const fn of activityListeners) fn(ev);
  });
  source.addEventListener('error', () => {
    // The browser retries by itself unless the server refused the stream (401, 404…).
    if (source.readyState === EventSource.CLOSED) {
      source = null;
      setState('offline');
      retryTimer = setTimeout(reconnect, retry);
      retry = Math.min(retry * 2, 30000);
    } else {
      setState('connecting');
    }
  });
}

async function reconnect() {
  try {
    // Find out why: an expired session sends the user to the sign-in page.
    await get('/api/stats');
  } catch {
    // api() fires swarmcast:unauthorized on 401; anything else: keep retrying.
  }
  connect();
}

/** Closes the push channel (on sign-out). */
export function disconnect() {
  clearTimeout(retryTimer);
  clearInterval(watchdog);
  if (source) source.close();
  source = null;
  torrents.clear();
}

/** Refetches the whole list (after a dropped event, or when pushing is unavailable). */
export async function refresh() {
  const list = await get('/api/torrents/?limit=100');
  torrents.clear();
  for (const t of list) torrents.set(t.id, t);
  emitRows('all');
}
