// Settings: the daemon's config as grouped forms. Each key shows its unit, help and,
// for a fixed list, its choices (`GET /api/config/keys`). Keys the daemon changes at
// run time are fields; the others are listed as set in the config file, needing a
// restart. A refused value is shown at its field.

import { ApiError, explain, get, patch } from '../api.js';
import { h, mount, setText, toast } from '../dom.js';
import * as fmt from '../format.js';
import { fieldErrors, loadPage } from '../shared.js';

/** Sections in the order people look for them, with a title and a line of intro. */
const SECTIONS = [
  ['engine', 'Downloads and speed', 'BitTorrent: speed limits, peers and trackers.'],
  ['seeding', 'Seeding', 'When finished torrents stop sharing. Each torrent can override these on its page.'],
  ['quota', 'Disk space', 'How much the downloads may take, and the free space always kept.'],
  ['storage', 'Folders', 'Where downloads go on the box.'],
  ['media', 'Streaming', 'Preparing videos for browsers and TVs (HLS).'],
  ['watch', 'Watch folder', 'A folder where dropped .torrent and .magnet files are added.'],
  ['hooks', 'Hooks and webhooks', 'What is told of torrent events.'],
  ['dlna', 'TVs (DLNA)', 'The media server TVs and players find on the network.'],
  ['mdns', 'Local name (mDNS)', 'swarmcast.local on the network.'],
  ['tracker', 'Tracker', 'The built-in BitTorrent tracker.'],
  ['search', 'Search', 'Torznab indexers for the Search page.'],
  ['auth', 'Accounts and security', 'Sessions, sign-in limits and who needs no password.'],
  ['server', 'Web server', 'The address of this web interface.'],
  ['log', 'Log', 'What the daemon writes to its log.'],
];

const CHOICE_LABEL = { pause: 'Pause', remove: 'Remove, keep the data', remove_data: 'Remove and delete the data' };

export function settingsPage(main) {
  mount(main, h('p', { class: 'muted', text: 'Loading…' }));
  Promise.all([loadPage(main, 'config', '/api/config'), get('/api/config/keys').catch((e) => e)]).then(([config, keys]) => {
    if (config === undefined) return;
    if (keys instanceof Error) {
      if (!(keys instanceof ApiError && keys.noRoute)) toast(explain(keys), 'error');
      keys = describeLocally(config);
    }
    mount(main, settingsForm(main, config, keys));
  });
}

function settingsForm(main, config, keys) {
  const fields = [];
  const changedCount = h('span', { class: 'muted small', id: 'settings-changed', 'aria-live': 'polite' });
  const general = h('p', { class: 'error', role: 'alert', id: 'settings-error', hidden: true });
  const errors = fieldErrors(fields, general);
  const save = h('button', { type: 'submit', class: 'primary', id: 'settings-save', text: 'Save changes' });
  const countChanges = () => {
    const n = fields.filter((f) => f.changed()).length;
    setText(changedCount, n ? `${n} unsaved change${n === 1 ? '' : 's'}` : '');
  };

  const bySection = new Map();
  for (const k of keys) {
    if (!bySection.has(k.section)) bySection.set(k.section, []);
    bySection.get(k.section).push(k);
  }
  const order = [...SECTIONS.map(([s]) => s), ...[...bySection.keys()].filter((s) => !SECTIONS.some(([x]) => x === s))];
  const groups = order.filter((s) => bySection.has(s)).map((section) => {
    const [, title, intro] = SECTIONS.find(([s]) => s === section) || [section, label(section), ''];
    const list = bySection.get(section);
    const live = list.filter((k) => k.runtime);
    const fixed = list.filter((k) => !k.runtime);
    return h('fieldset', { class: 'group', id: `section-${section}` },
      h('legend', { text: title }),
      intro ? h('p', { class: 'muted small', text: intro }) : null,
      live.length ? h('div', { class: 'grid-fields' }, live.map((k) => {
        const f = editable(k, valueAt(config, k.key), countChanges);
        fields.push(f);
        return f.el;
      })) : null,
      fixed.length ? h('details', { class: 'restart-keys' },
        h('summary', {}, `${fixed.length} more in the config file `, h('span', { class: 'badge restart', text: 'restart needed' })),
        h('p', { class: 'muted small', text: 'These are read when the daemon starts: change them in its config file (/etc/swarmcast/config.toml), then restart it.' }),
        h('dl', { class: 'fixed-keys' }, fixed.map((k) => readOnly(k, valueAt(config, k.key))))) : null);
  });

  const form = h('form', {
    class: 'card settings',
    novalidate: true,
    async onsubmit(e) {
      e.preventDefault();
      errors.clear();
      const changes = {};
      for (const f of fields) {
        if (!f.changed()) continue;
        const bad = f.check();
        if (bad) return errors.show(`${f.key}: ${bad}`);
        changes[f.key] = f.read();
      }
      if (!Object.keys(changes).length) {
        toast('Nothing changed', 'info', 2000);
        return;
      }
      save.disabled = true;
      try {
        await patch('/api/config', changes);
        toast(`Settings saved: ${Object.keys(changes).join(', ')}`, 'ok', 3000);
        settingsPage(main);
      } catch (err) {
        errors.show(explain(err));
      } finally {
        save.disabled = false;
      }
    },
  },
  h('div', { class: 'row between wrap gap' }, h('h1', { text: 'Settings' })),
  h('p', { class: 'muted small' }, 'Fields here apply at once, without a restart. Keys marked ',
    h('span', { class: 'badge restart', text: 'restart needed' }), ' are set in the config file.'),
  groups,
  h('div', { class: 'savebar row gap wrap' }, general, h('span', { class: 'grow' }, changedCount), save));
  form.addEventListener('input', countChanges);
  form.addEventListener('change', countChanges);
  return form;
}

/** A field for a key the daemon changes at run time. */
function editable(k, value, changed) {
  const id = `cfg-${k.key.replace(/\./g, '-')}`;
  const err = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  const helpId = `${id}-help`;
  const attrs = { id, name: k.key, 'aria-describedby': helpId };
  let input;
  let read;
  let check = () => null;
  if (k.choices) {
    const options = k.choices.includes(value) ? k.choices : [value, ...k.choices];
    input = h('select', attrs, options.map((c) => h('option', { value: c, text: CHOICE_LABEL[c] || c, selected: c === value })));
    read = () => input.value;
  } else if (k.type === 'boolean') {
    input = h('input', { ...attrs, type: 'checkbox', checked: !!value });
    read = () => input.checked;
  } else if (k.type === 'integer' || k.type === 'number') {
    input = h('input', { ...attrs, type: 'number', inputmode: 'decimal', min: 0, step: k.type === 'integer' ? 1 : 'any', value: String(value ?? '') });
    read = () => Number(input.value);
    check = () => {
      if (input.value.trim() === '' || Number.isNaN(Number(input.value))) return 'give a number';
      if (k.type === 'integer' && !Number.isInteger(Number(input.value))) return 'give a whole number';
      return null;
    };
  } else if (k.type === 'list') {
    input = h('textarea', { ...attrs, rows: Math.max(2, (value?.length || 0) + 1), text: (value || []).join('\n') });
    read = () => input.value.split('\n').map((s) => s.trim()).filter(Boolean);
  } else if (k.secret) {
    input = h('input', { ...attrs, type: 'password', autocomplete: 'new-password', placeholder: value ? 'set; type to replace' : 'not set' });
    read = () => input.value;
    return field(k, input, err, helpId, { read, check, changed: () => input.value !== '' });
  } else {
    input = h('input', { ...attrs, value: value ?? '', spellcheck: false, autocomplete: 'off' });
    read = () => input.value;
  }
  const original = JSON.stringify(read());
  return field(k, input, err, helpId, { read, check, changed: () => JSON.stringify(read()) !== original });
}

function field(k, input, err, helpId, { read, check, changed }) {
  const unitHint = h('span', { class: 'muted small unit-hint' });
  const showHint = () => {
    if (k.unit === 'bytes' || k.unit === 'bytes/s') {
      const n = Number(input.value);
      setText(unitHint, input.value === '' || Number.isNaN(n) ? '' : n === 0 ? '= 0 (off)' : `= ${k.unit === 'bytes' ? fmt.bytes(n) : fmt.rate(n)}`);
    }
  };
  input.addEventListener('input', showHint);
  showHint();
  const name = label(k.key.split('.').slice(1).join(' › '));
  const help = h('span', { class: 'muted small', id: helpId, text: k.help || '' }, k.type === 'list' ? ' One per line.' : null);
  const el = k.type === 'boolean'
    ? h('div', { class: 'field', dataset: { key: k.key } }, h('label', { class: 'check', for: input.id }, input, ` ${name}`), help, err)
    : h('div', { class: 'field', dataset: { key: k.key } },
      h('label', { for: input.id, text: name }),
      k.unit && !k.choices ? h('div', { class: 'with-unit' }, input, h('span', { class: 'unit', text: k.unit })) : input,
      unitHint, help, err);
  return { key: k.key, input, err, el, read, check, changed };
}

/** A key set in the config file: its value, shown, not editable. */
function readOnly(k, value) {
  const shown = k.secret && value ? '********'
    : Array.isArray(value) ? (value.length ? value.map((v) => (typeof v === 'object' ? v.name || JSON.stringify(v) : v)).join(', ') : 'none')
      : value === '' ? 'not set' : `${value}${k.unit && typeof value === 'number' ? ` ${k.unit}` : ''}`;
  return h('div', { class: 'fixed-key', dataset: { key: k.key } },
    h('dt', {}, h('span', { text: label(k.key.split('.').slice(1).join(' › ')) }), ' ', h('code', { class: 'muted small', text: k.key })),
    h('dd', {}, h('span', { class: 'mono', text: shown }), k.help ? h('span', { class: 'muted small help', text: k.help }) : null));
}

function valueAt(config, key) {
  return key.split('.').reduce((o, part) => (o === undefined || o === null ? undefined : o[part]), config);
}

/** Without `/api/config/keys` (an older daemon): every leaf, as editable, without help. */
function describeLocally(config, prefix = '') {
  return Object.entries(config).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) return describeLocally(v, key);
    const type = typeof v === 'boolean' ? 'boolean' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number')
      : Array.isArray(v) ? (v.some((x) => typeof x === 'object') ? 'table' : 'list') : 'string';
    return [{ key, section: key.split('.')[0], type, runtime: type !== 'table', secret: false, unit: null, choices: null, help: '' }];
  });
}

function label(key) {
  const s = key.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}
