// API keys: create (shown once), list, revoke.

import { ApiError, del, explain, markAbsent, post } from '../api.js';
import { ask, h, mount, toast } from '../dom.js';
import * as fmt from '../format.js';
import { cardTable, copy, loadPage } from '../shared.js';

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
    const keys = await loadPage(main, 'keys', '/auth/api-keys');
    if (keys === undefined) return;
    if (!keys.length) {
      mount(list, h('p', { class: 'muted', text: 'No keys yet.' }));
      return;
    }
    mount(list, h('div', { class: 'table-wrap' }, cardTable(h('table', { id: 'keys-table' },
      h('thead', {}, h('tr', {}, ['Name', 'Prefix', 'Created', 'Expires', 'Last used', 'Actions'].map((c, i) => h('th', {}, i === 5 ? h('span', { class: 'visually-hidden', text: c }) : c)))),
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
        }, 'Revoke')))))))));
  }
  refresh();
}
