// Users: list, add, make administrator, delete.

import { ApiError, del, explain, get, markAbsent, patch, post } from '../api.js';
import { ask, h, mount, toast } from '../dom.js';
import * as fmt from '../format.js';
import { cardTable } from '../shared.js';

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
      mount(list, h('div', { class: 'table-wrap' }, cardTable(h('table', { id: 'users-table' },
        h('thead', {}, h('tr', {}, ['User', 'Email', 'Role', 'Created', 'Actions'].map((c, i) => h('th', {}, i === 4 ? h('span', { class: 'visually-hidden', text: c }) : c)))),
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
          }, 'Delete')))))))));
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
