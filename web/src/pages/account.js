// Your account: who you are, and changing your password (which signs out your other
// sessions: other browsers, other devices), and your tracker passkey and stats.

import { ApiError, explain, get, patch, post } from '../api.js';
import { bytes, ratio } from '../format.js';
import { h, mount, toast } from '../dom.js';
import { session } from '../router.js';

export function accountPage(main) {
  const current = h('input', { id: 'current-password', type: 'password', required: true, autocomplete: 'current-password' });
  const next = h('input', { id: 'new-password', type: 'password', required: true, minlength: 8, autocomplete: 'new-password', 'aria-describedby': 'new-password-help' });
  const again = h('input', { id: 'repeat-password', type: 'password', required: true, minlength: 8, autocomplete: 'new-password' });
  const error = h('p', { class: 'error', role: 'alert', id: 'password-error', hidden: true });
  const button = h('button', { type: 'submit', class: 'primary', id: 'change-password', text: 'Change password' });
  const who = h('p', {});
  const fieldError = (input, text) => {
    error.textContent = text;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  };
  const form = h('form', {
    class: 'card',
    async onsubmit(e) {
      e.preventDefault();
      error.hidden = true;
      for (const i of [current, next, again]) i.removeAttribute('aria-invalid');
      if (next.value !== again.value) return fieldError(again, 'The two new passwords differ.');
      if (next.value === current.value) return fieldError(next, 'Choose a password different from the current one.');
      button.disabled = true;
      try {
        await patch('/auth/password', { current_password: current.value, new_password: next.value });
        form.reset();
        toast('Password changed. Your other sessions were signed out.', 'ok', 5000);
      } catch (err) {
        if (err instanceof ApiError && err.status === 403) fieldError(current, explain(err));
        else fieldError(next, explain(err));
      } finally {
        button.disabled = false;
      }
    },
  },
  h('h2', { text: 'Change your password' }),
  h('p', { class: 'muted small', text: 'Every other browser and device signed in as you is signed out; this one stays signed in. API keys keep working.' }),
  h('div', { class: 'grid-fields' },
    h('div', { class: 'field' }, h('label', { for: 'current-password', text: 'Current password' }), current),
    h('div', { class: 'field' }, h('label', { for: 'new-password', text: 'New password' }), next,
      h('span', { class: 'muted small', id: 'new-password-help', text: 'At least 8 characters.' })),
    h('div', { class: 'field' }, h('label', { for: 'repeat-password', text: 'New password again' }), again)),
  error,
  h('div', { class: 'row end' }, button));
  const stats = h('dl', { class: 'tracker-stats' });
  const renew = h('button', { type: 'button', text: 'New passkey' });
  const tracker = h('section', { class: 'card' }, h('h2', { text: 'Tracker' }),
    h('p', { class: 'muted small', text: 'Bytes your BitTorrent clients reported to this box\'s tracker through your passkey. A new passkey stops the old one: download your .torrent files again.' }),
    stats, h('div', { class: 'row end' }, renew));
  const showStats = () => get('/api/user/me').then((u) => {
    const row = (k, v) => [h('dt', { text: k }), h('dd', { text: v })];
    mount(stats, ...row('Uploaded', bytes(u.uploaded)), ...row('Downloaded', bytes(u.downloaded)),
      ...row('Ratio', u.ratio == null ? '–' : ratio(u.ratio)), ...row('Passkey', u.passkey));
  }).catch((e) => mount(stats, h('p', { class: 'error', text: explain(e) })));
  renew.addEventListener('click', () => post('/api/user/me/passkey').then(() => { toast('New passkey made.', 'ok'); showStats(); })
    .catch((e) => toast(explain(e), 'error')));
  mount(main, h('section', { class: 'card' }, h('h1', { text: 'Account' }), who), form, tracker);
  showStats();
  const show = (u) => mount(who, 'Signed in as ', h('strong', { text: u.username }), u.is_admin ? ' (administrator).' : '.');
  if (session.user) show(session.user);
  get('/auth/me').then(show).catch(() => {});
}
