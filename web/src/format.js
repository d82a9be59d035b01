// Human-readable sizes, rates, durations and times.

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${UNITS[i]}`;
}

export function rate(n) {
  return n ? `${bytes(n)}/s` : '0 B/s';
}

export function duration(s) {
  if (s === null || s === undefined) return '∞';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${hr}h ${m % 60}m`;
  return `${Math.floor(hr / 24)}d ${hr % 24}h`;
}

export function percent(p) {
  const v = Number(p) || 0;
  return `${v >= 100 ? 100 : v.toFixed(1)}%`;
}

export function ratio(r) {
  return (Number(r) || 0).toFixed(2);
}

export function time(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function ago(iso) {
  if (!iso) return '–';
  const s = (Date.now() - new Date(iso).getTime()) / 1000;
  if (s < 5) return 'just now';
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return time(iso);
}

export const STATUS_LABEL = {
  metadata: 'Fetching metadata',
  checking: 'Checking',
  downloading: 'Downloading',
  seeding: 'Seeding',
  paused: 'Paused',
  error: 'Error',
  removed: 'Removed',
};

/** A torrent's connected peers and how many of them are seeds: "3 (1 seed)". */
export function peers(t) {
  const p = t?.peers ?? 0;
  const s = t?.seeds ?? 0;
  return `${p} (${s} seed${s === 1 ? '' : 's'})`;
}
