// Settings: the daemon's run-time config as a form.

import { explain, patch } from '../api.js';
import { h, mount, toast } from '../dom.js';
import { loadPage } from '../shared.js';

export function settingsPage(main) {
  mount(main, h('p', { class: 'muted', text: 'Loading…' }));
  loadPage(main, 'config', '/api/config').then((config) => {
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
