// First-run setup and sign-in.

import { ApiError, explain, get, post } from '../api.js';
import { h, mount } from '../dom.js';
import { navigate, signedIn } from '../router.js';

function credentialsForm({ title, intro, submit, remember, onSubmit, footer }) {
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, minlength: 1, maxlength: 64 });
  const pass = h('input', {
    id: 'password', name: 'password', type: 'password', required: true,
    autocomplete: remember ? 'current-password' : 'new-password', minlength: remember ? 1 : 8,
  });
  const rememberBox = remember ? h('input', { id: 'remember', name: 'remember', type: 'checkbox' }) : null;
  const button = h('button', { type: 'submit', class: 'primary wide', text: submit });
  const form = h('form', {
    class: 'card auth',
    async onsubmit(e) {
      e.preventDefault();
      error.hidden = true;
      button.disabled = true;
      try {
        await onSubmit({ username: user.value.trim(), password: pass.value, remember_me: rememberBox?.checked });
      } catch (err) {
        error.textContent = explain(err);
        error.hidden = false;
        pass.select();
      } finally {
        button.disabled = false;
      }
    },
  },
    h('div', { class: 'brand big' }, h('img', { src: '/favicon.svg', alt: '', width: 32, height: 32 }), 'swarmcast'),
    h('h1', { text: title }),
    intro ? h('p', { class: 'muted', text: intro }) : null,
    h('label', { for: 'username', text: 'User name' }), user,
    h('label', { for: 'password', text: 'Password' }), pass,
    remember ? h('label', { class: 'check' }, rememberBox, ' Keep me signed in on this device') : null,
    error,
    button,
    footer,
  );
  return { form, user };
}

export function loginPage(main) {
  const next = new URLSearchParams(location.search).get('next') || '/';
  const { form, user } = credentialsForm({
    title: 'Sign in',
    submit: 'Sign in',
    remember: true,
    async onSubmit(body) {
      const me = await post('/auth/login', body);
      signedIn(me?.user || me, next);
    },
    footer: h('p', { class: 'muted small' }, 'First time on this box? ', h('a', { href: '/setup', text: 'Create the administrator' })),
  });
  mount(main, h('div', { class: 'center' }, form));
  user.focus();
  // A box with no account yet goes straight to setup.
  get('/auth/setup').then((s) => {
    if (s?.needed === true) navigate('/setup', { replace: true });
  }).catch(() => {});
}

export function setupPage(main) {
  const { form, user } = credentialsForm({
    title: 'Welcome',
    intro: 'Create the administrator account of this box. You can add other users later.',
    submit: 'Create administrator',
    remember: false,
    async onSubmit(body) {
      if (body.password.length < 8) throw new Error('Choose a password of at least 8 characters.');
      try {
        const me = await post('/auth/setup', { username: body.username, password: body.password });
        signedIn(me?.user || me, '/');
      } catch (e) {
        if (e instanceof ApiError && (e.status === 403 || e.status === 409)) {
          throw new Error('This box already has an administrator. Sign in instead.');
        }
        throw e;
      }
    },
    footer: h('p', { class: 'muted small' }, 'Already set up? ', h('a', { href: '/login', text: 'Sign in' })),
  });
  mount(main, h('div', { class: 'center' }, form));
  user.focus();
}
