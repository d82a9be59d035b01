// Admin pages: settings, users, API keys, system status and the activity log. Each
// page hides itself (and its menu entry) when its route is missing from this build.

import { ApiError, del, explain, get, markAbsent, patch, post } from '../api.js';
import { ask, h, mount, toast } from '../dom.js';
import * as fmt from '../format.js';
import * as live from '../live.js';
import { activityItem, copy } from './details.js';

/** Loads a page's data; on a missing route shows "not available" and hides the entry. */
async function load(main, feature, path) {
  try {
    return await get(path);
  } catch (e) {
    if (e instanceof ApiError && e.noRoute) {
      markAbsent(feature);
      mount(main, h('section', { class: 'card' }, h('h1', { text: 'Not available' }),
        h('p', { text: 'This box’s daemon does not offer this page yet.' })));
    } else {
      mount(main, h('section', { class: 'card' }, h('h1', { text: 'Cannot load this page' }), h('p', { class: 'error', text: explain(e) })));
    }
    return undefined;
  }
}

// ---- Settings --------------------------------------------------------------------

export function settingsPage(main) {
  mount(main, h('p', { class: 'muted', text: 'Loading…' }));
  load(main, 'config', '/api/config').then((config) => {
    if (config === undefined) return;
    const inputs = [];
    const form = h('form', {
      class: 'card settings',
      async onsubmit(e) {
        e.preventDefault();
        const changes = {};
        for (const { path, input, original, kind } of inputs) {
          const value = readValue(input, kind);
          if (JSON.stringify(value) === JSON.stringify(original)) continue;
          let o = changes;
          path.slice(0, -1).forEach((k) => (o = o[k] ??= {}));
          o[path[path.length - 1]] = value;
        }
        if (!Object.keys(changes).length) {
          toast('Nothing changed', 'info', 2000);
          return;
        }
        try {
          await patch('/api/config', changes);
          toast('Settings saved', 'ok', 2500);
          settingsPage(main);
        } catch (err) {
          toast(explain(err), 'error', 0);
        }
      },
    },
    h('div', { class: 'row between wrap gap' }, h('h1', { text: 'Settings' }), h('button', { type: 'submit', class: 'primary', text: 'Save changes' })),
    fields(config, [], inputs),
    h('div', { class: 'row end' }, h('button', { type: 'submit', class: 'primary', text: 'Save changes' })));
    mount(main, form);
  });
}

function fields(obj, path, inputs) {
  const leaves = [];
  const groups = [];
  for (const [key, value] of Object.entries(obj)) {
    const p = [...path, key];
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      groups.push(h('fieldset', {}, h('legend', { text: label(key) }), fields(value, p, inputs)));
      continue;
    }
    const id = `cfg-${p.join('-')}`;
    const kind = Array.isArray(value) ? 'list' : value === null ? 'nullable' : typeof value;
    let input;
    if (kind === 'boolean') input = h('input', { id, type: 'checkbox', checked: value });
    else if (kind === 'number') input = h('input', { id, type: 'number', value: String(value), step: 'any' });
    else if (kind === 'list') input = h('textarea', { id, rows: Math.max(2, value.length + 1), text: value.join('\n') });
    else input = h('input', { id, value: value ?? '', placeholder: value === null ? 'not set' : null });
    inputs.push({ path: p, input, original: value, kind });
    leaves.push(kind === 'boolean'
      ? h('label', { class: 'check field', for: id }, input, ` ${label(key)}`)
      : h('div', { class: 'field' }, h('label', { for: id, text: label(key) }), input,
        kind === 'list' ? h('span', { class: 'muted small', text: 'One per line' }) : null));
  }
  return [h('div', { class: 'grid-fields' }, leaves), groups];
}

function readValue(input, kind) {
  if (kind === 'boolean') return input.checked;
  if (kind === 'number') return input.value === '' ? 0 : Number(input.value);
  if (kind === 'list') return input.value.split('\n').map((s) => s.trim()).filter(Boolean);
  if (kind === 'nullable') return input.value === '' ? null : input.value;
  return input.value;
}

function label(key) {
  const s = key.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// ---- Users -----------------------------------------------------------------------

export function usersPage(main) {
  const list = h('div');
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const username = h('input', { id: 'new-username', required: true, autocomplete: 'off' });
  const email = h('input', { id: 'new-email', type: 'email', autocomplete: 'off' });
  const password = h('input', { id: 'new-password', type: 'password', required: true, minlength: 8, autocomplete: 'new-password' });
  const form = h('form', {
    class: 'card',
    async onsubmit(e) {
      e.preventDefault();
      error.hidden = true;
      try {
        const body = { username: username.value.trim(), password: password.value };
        if (email.value.trim()) body.email = email.value.trim();
        await post('/auth/register', body);
        toast(`User ${body.username} created`, 'ok', 2500);
        form.reset();
        refresh();
      } catch (err) {
        if (err instanceof ApiError && err.noRoute) markAbsent('users');
        error.textContent = explain(err);
        error.hidden = false;
      }
    },
  }, h('h2', { text: 'Add a user' }),
  h('div', { class: 'grid-fields' },
    h('div', { class: 'field' }, h('label', { for: 'new-username', text: 'User name' }), username),
    h('div', { class: 'field' }, h('label', { for: 'new-email', text: 'Email (optional)' }), email),
    h('div', { class: 'field' }, h('label', { for: 'new-password', text: 'Password (8+ characters)' }), password)),
  error, h('button', { type: 'submit', class: 'primary', text: 'Add user' }));
  mount(main, h('section', { class: 'card' }, h('h1', { text: 'Users' }), list), form);

  async function refresh() {
    try {
      const users = await get('/api/users');
      mount(list, h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, ['User', 'Email', 'Role', 'Created', ''].map((c) => h('th', { text: c })))),
        h('tbody', {}, users.map((u) => h('tr', {},
          h('td', { text: u.username }), h('td', { text: u.email || '–' }),
          h('td', {}, h('label', { class: 'check' }, h('input', {
            type: 'checkbox', checked: !!u.is_admin, 'aria-label': `${u.username} is an administrator`,
            async onchange(e) {
              try {
                await patch(`/api/users/${u.id}`, { is_admin: e.target.checked });
                toast(`${u.username} is ${e.target.checked ? 'now' : 'no longer'} an administrator`, 'ok', 2500);
              } catch (err) {
                e.target.checked = !e.target.checked;
                toast(explain(err), 'error');
              }
            },
          }), ' Admin')),
          h('td', { text: fmt.time(u.created_at) }),
          h('td', {}, h('button', {
            type: 'button', class: 'danger-outline small', 'aria-label': `Delete user ${u.username}`,
            async onclick() {
              const ok = await ask({ title: `Delete user ${u.username}?`, body: 'Their sessions and API keys stop working at once.', buttons: [{ value: 'yes', label: 'Delete user', class: 'danger' }] });
              if (ok !== 'yes') return;
              try {
                await del(`/api/users/${u.id}`);
                refresh();
              } catch (err) {
                toast(explain(err), 'error');
              }
            },
          }, 'Delete'))))))));
    } catch (e) {
      if (e instanceof ApiError && e.noRoute) {
        try {
          const me = await get('/auth/me');
          mount(list, h('p', {}, 'Signed in as ', h('strong', { text: me.username }), me.is_admin ? ' (administrator).' : '.'),
            h('p', { class: 'muted small', text: 'This box cannot list its users yet.' }));
        } catch (err) {
          if (err instanceof ApiError && err.noRoute) {
            markAbsent('users');
            mount(main, h('section', { class: 'card' }, h('h1', { text: 'Not available' }), h('p', { text: 'This box has no user accounts yet.' })));
          }
        }
      } else mount(list, h('p', { class: 'error', text: explain(e) }));
    }
  }
  refresh();
}

// ---- API keys --------------------------------------------------------------------

export function keysPage(main) {
  const list = h('div');
  const shown = h('div', { class: 'new-key', hidden: true, role: 'status' });
  const name = h('input', { id: 'key-name', required: true, maxlength: 64, placeholder: 'e.g. Kodi in the living room', autocomplete: 'off' });
  const days = h('input', { id: 'key-days', type: 'number', min: 1, max: 3650, placeholder: 'never' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h('form', {
    class: 'card',
    async onsubmit(e) {
      e.preventDefault();
      error.hidden = true;
      const body = { name: name.value.trim() };
      if (days.value) body.expires_days = Number(days.value);
      try {
        const k = await post('/auth/api-keys', body);
        form.reset();
        mount(shown,
          h('p', {}, h('strong', { text: `Key “${k.name}” created. ` }), 'Copy it now: it is shown only once.'),
          h('div', { class: 'row gap wrap' },
            h('input', { class: 'grow mono', readonly: true, value: k.api_key, id: 'new-api-key', 'aria-label': 'New API key', onfocus: (ev) => ev.target.select() }),
            h('button', { type: 'button', class: 'primary', onclick: () => copy(k.api_key, 'API key copied') }, 'Copy')));
        shown.hidden = false;
        refresh();
      } catch (err) {
        if (err instanceof ApiError && err.noRoute) markAbsent('keys');
        error.textContent = explain(err);
        error.hidden = false;
      }
    },
  }, h('h2', { text: 'Create a key' }),
  h('div', { class: 'grid-fields' },
    h('div', { class: 'field' }, h('label', { for: 'key-name', text: 'Name' }), name),
    h('div', { class: 'field' }, h('label', { for: 'key-days', text: 'Expires after (days)' }), days)),
  error, h('button', { type: 'submit', class: 'primary', id: 'create-key', text: 'Create key' }));
  mount(main, h('section', { class: 'card' }, h('h1', { text: 'API keys' }),
    h('p', { class: 'muted small', text: 'Scripts and apps use a key as “Authorization: Bearer <key>” or “X-API-Key: <key>”.' }), shown, list), form);

  async function refresh() {
    const keys = await load(main, 'keys', '/auth/api-keys');
    if (keys === undefined) return;
    if (!keys.length) {
      mount(list, h('p', { class: 'muted', text: 'No keys yet.' }));
      return;
    }
    mount(list, h('div', { class: 'table-wrap' }, h('table', { id: 'keys-table' },
      h('thead', {}, h('tr', {}, ['Name', 'Prefix', 'Created', 'Expires', 'Last used', ''].map((c) => h('th', { text: c })))),
      h('tbody', {}, keys.map((k) => h('tr', {},
        h('td', { text: k.name }), h('td', { class: 'mono', text: k.prefix }), h('td', { text: fmt.time(k.created_at) }),
        h('td', { text: k.expires_at ? fmt.time(k.expires_at) : 'never' }), h('td', { text: k.last_used_at ? fmt.ago(k.last_used_at) : 'never' }),
        h('td', {}, h('button', {
          type: 'button', class: 'danger-outline small', 'aria-label': `Revoke key ${k.name}`,
          async onclick() {
            const ok = await ask({ title: `Revoke “${k.name}”?`, body: 'Anything using this key stops working at once.', buttons: [{ value: 'yes', label: 'Revoke key', class: 'danger' }] });
            if (ok !== 'yes') return;
            try {
              await del(`/auth/api-keys/${encodeURIComponent(k.prefix)}`);
              toast(`Key “${k.name}” revoked`, 'ok', 2500);
              refresh();
            } catch (err) {
              toast(explain(err), 'error');
            }
          },
        }, 'Revoke'))))))));
  }
  refresh();
}

// ---- System ----------------------------------------------------------------------

export function systemPage(main) {
  let timer = null;
  const body = h('div', { class: 'system' });
  mount(main, h('section', { class: 'card' }, h('h1', { text: 'System' }), body));
  async function refresh() {
    const [status, stats] = await Promise.all([
      load(main, 'system', '/api/system/status'),
      get('/api/stats').catch(() => null),
    ]);
    if (status === undefined) {
      clearInterval(timer);
      return;
    }
    const disk = status.disk || {};
    const used = disk.total ? disk.total - disk.free : 0;
    mount(body,
      h('div', { class: 'tiles' },
        tile('CPU', `${(status.cpu_pct ?? 0).toFixed(0)}%`, `${status.cpu_count ?? '?'} cores · load ${Array.isArray(status.load) ? status.load.map((l) => l.toFixed(2)).join(' ') : status.load ?? '–'}`),
        tile('Memory', fmt.bytes(status.ram_used), `of ${fmt.bytes(status.ram_total)}`, status.ram_total ? (status.ram_used / status.ram_total) * 100 : null),
        tile('Disk', `${fmt.bytes(disk.free)} free`, `${fmt.bytes(used)} used of ${fmt.bytes(disk.total)}${disk.path ? ` · ${disk.path}` : ''}`, disk.total ? (used / disk.total) * 100 : null),
        tile('Downloads', fmt.bytes(disk.used_by_downloads), disk.quota ? `quota ${fmt.bytes(disk.quota)}` : 'no quota', disk.quota ? (disk.used_by_downloads / disk.quota) * 100 : null),
        status.temperature_c !== undefined && status.temperature_c !== null ? tile('Temperature', `${status.temperature_c.toFixed(1)} °C`, '') : null,
        tile('Uptime', fmt.duration(status.uptime), ''),
        stats ? tile('Transfer', `↓ ${fmt.rate(stats.download_rate)}`, `↑ ${fmt.rate(stats.upload_rate)} · ${stats.peers} peers · ${stats.dht_nodes} DHT nodes`) : null),
      h('h2', { text: 'Video encoders' }),
      status.encoders?.length
        ? h('div', { class: 'table-wrap' }, h('table', {},
          h('thead', {}, h('tr', {}, ['Encoder', 'Kind', 'Verified', 'In use'].map((c) => h('th', { text: c })))),
          h('tbody', {}, status.encoders.map((e) => h('tr', {},
            h('td', { class: 'mono', text: e.name }), h('td', { text: e.kind }),
            h('td', { text: e.verified ? '✔ yes' : '✘ no' }), h('td', { text: e.name === status.selected_encoder ? '●' : '' }))))))
        : h('p', { class: 'muted', text: 'No encoder found.' }),
      servicesBox(),
    );
  }
  refresh();
  timer = setInterval(refresh, 5000);
  return () => clearInterval(timer);
}

function servicesBox() {
  const box = h('div', {}, h('h2', { text: 'Services' }));
  get('/api/services/status').then((s) => {
    const entries = Object.entries(s.services || s).filter(([, v]) => v && typeof v === 'object');
    box.append(h('ul', { class: 'plain' }, entries.map(([name, v]) =>
      h('li', {}, h('span', { class: `dot ${v.running ? 'ok' : 'bad'}` }), ` ${name}: ${v.running ? 'running' : 'stopped'}`))));
  }).catch(() => box.remove());
  return box;
}

function tile(name, value, sub, pct = null) {
  return h('div', { class: 'tile' },
    h('div', { class: 'muted small', text: name }),
    h('div', { class: 'big-num', text: value }),
    pct !== null ? h('div', { class: 'bar' }, h('div', { class: 'fill', style: { width: `${Math.min(100, pct)}%` } })) : null,
    sub ? h('div', { class: 'muted small', text: sub }) : null);
}

// ---- Activity --------------------------------------------------------------------

export function activityPage(main) {
  const list = h('ol', { class: 'activity' });
  mount(main, h('section', { class: 'card' }, h('h1', { text: 'Activity' }), list));
  const item = (e) => {
    const li = activityItem(e);
    if (e.torrent_id) li.append(' ', h('a', { href: `/t/${e.torrent_id}`, text: e.name || e.torrent_id.slice(0, 12) }));
    return li;
  };
  get('/api/activity?limit=200').then((entries) => {
    if (!entries.length) list.append(h('li', { class: 'muted', text: 'Nothing has happened yet.' }));
    for (const e of entries) list.append(item(e));
  }).catch((e) => list.append(h('li', { class: 'error', text: explain(e) })));
  return live.onActivity((e) => {
    list.querySelector('li.muted')?.remove();
    list.prepend(item(e));
  });
}
