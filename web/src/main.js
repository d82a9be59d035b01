// The app shell: finds out who is signed in, draws the header and the page for the
// current path (the route table), and keeps internal links inside the app.

import './style.css';
import { ApiError, get, isAbsent, post } from './api.js';
import { h, mount, toast } from './dom.js';
import * as live from './live.js';
import { isAdmin, navigate, onNavigate, session } from './router.js';
import { loginPage, setupPage } from './pages/auth.js';
import { torrentsPage } from './pages/torrents.js';
import { detailsPage } from './pages/details.js';
import { playerPage } from './pages/player.js';
import { settingsPage } from './pages/settings.js';
import { usersPage } from './pages/users.js';
import { keysPage } from './pages/keys.js';
import { systemPage } from './pages/system.js';
import { activityPage } from './pages/activity.js';
import { searchPage } from './pages/search.js';
import { accountPage } from './pages/account.js';
import { filesPage } from './pages/files.js';

const ROUTES = [
  [/^\/$/, torrentsPage],
  [/^\/t\/([0-9a-f]{40})$/, detailsPage],
  [/^\/play\/([0-9a-f]{40})$/, playerPage],
  [/^\/search$/, searchPage, 'search'],
  [/^\/activity$/, activityPage],
  [/^\/files$/, filesPage],
  [/^\/system$/, systemPage, 'system'],
  [/^\/settings$/, settingsPage, 'config', true],
  [/^\/users$/, usersPage, 'users', true],
  [/^\/keys$/, keysPage, 'keys'],
  [/^\/account$/, accountPage],
  [/^\/login$/, loginPage],
  [/^\/setup$/, setupPage],
];

const NAV = [
  ['/', 'Torrents'],
  ['/search', 'Search', 'search'],
  ['/activity', 'Activity'],
  ['/files', 'Files'],
  ['/system', 'System', 'system'],
  ['/settings', 'Settings', 'config', true],
  ['/users', 'Users', 'users', true],
  ['/keys', 'API keys', 'keys'],
  ['/account', 'Account', 'auth'],
];

const app = document.getElementById('app');
const connBadge = h('span', { class: 'conn', title: 'Live updates from the box', role: 'status' });
live.onState((s) => {
  connBadge.className = `conn ${s}`;
  connBadge.textContent = { live: 'live', stalled: 'not responding', offline: 'offline' }[s] || 'connecting';
  connBadge.title = s === 'stalled' ? 'The box has sent nothing for 15 s' : 'Live updates from the box';
});
let cleanup = null;

/**
 * The header: brand, navigation, live badge and the account. On phones the navigation
 * folds behind a menu button and opens as a list under the header.
 */
function header() {
  const shown = ([, , feature, admin]) =>
    !(feature && isAbsent(feature)) && !(admin && !isAdmin()) && !(feature === 'auth' && !session.user);
  const links = NAV.filter(shown).map(
    ([path, label]) => h('a', { href: path, class: 'nav-link', 'aria-current': location.pathname === path ? 'page' : null, text: label }),
  );
  const who = session.user
    ? h('div', { class: 'who' },
        h('span', { class: 'muted', text: session.user.username }),
        h('button', { type: 'button', class: 'secondary small', id: 'logout', onclick: logout, text: 'Sign out' }))
    : null;
  const nav = h('nav', { 'aria-label': 'Main', id: 'main-nav' }, links);
  const menu = h('button', {
    type: 'button', class: 'secondary small menu-button', id: 'menu-button',
    'aria-controls': 'main-nav', 'aria-expanded': 'false', text: '☰ Menu',
  });
  const top = h('header', { class: 'top' },
    h('a', { href: '/', class: 'brand' }, h('img', { src: '/favicon.svg', alt: '', width: 24, height: 24 }), 'swarmcast'),
    connBadge,
    menu,
    who,
    nav,
  );
  const setOpen = (open) => {
    top.classList.toggle('open', open);
    menu.setAttribute('aria-expanded', String(open));
  };
  menu.addEventListener('click', () => setOpen(!top.classList.contains('open')));
  top.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && top.classList.contains('open')) {
      setOpen(false);
      menu.focus();
    }
  });
  return top;
}

async function logout() {
  try {
    await post('/auth/logout');
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) toast(e.message, 'error');
  }
  session.user = null;
  live.disconnect();
  navigate('/login', { replace: true });
}

function render() {
  if (cleanup) cleanup();
  cleanup = null;
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const signedOut = !session.user && !session.local;
  if (signedOut && path !== '/login' && path !== '/setup') {
    history.replaceState(null, '', `/login?next=${encodeURIComponent(path)}`);
    return render();
  }
  let page = null;
  let match = null;
  for (const [re, fn, feature, admin] of ROUTES) {
    match = path.match(re);
    if (match) {
      page = admin && !isAdmin() ? forbidden : fn;
      if (feature && isAbsent(feature)) page = unavailable;
      break;
    }
  }
  const main = h('main', { id: 'main', tabindex: '-1' });
  const chrome = path === '/login' || path === '/setup' ? [] : [header()];
  mount(app, h('a', { href: '#main', class: 'skip' , text: 'Skip to content' }), chrome, main);
  if (!signedOut) live.connect();
  cleanup = (page || notFound)(main, ...(match ? match.slice(1) : [])) || null;
}

function notFound(main) {
  mount(main, h('section', { class: 'card' }, h('h1', { text: 'Page not found' }), h('a', { href: '/', text: 'Back to the torrents' })));
}

function forbidden(main) {
  mount(main, h('section', { class: 'card' }, h('h1', { text: 'Administrators only' }), h('p', { text: 'Ask an administrator of this box.' })));
}

function unavailable(main) {
  mount(main, h('section', { class: 'card' }, h('h1', { text: 'Not available' }), h('p', { text: 'This box’s daemon does not offer this feature.' })));
}

/**
 * Finds out who we are: a user, nobody (sign in, or set up a new box), or a build
 * without accounts. A box without users goes to setup without asking `/auth/me`.
 */
async function whoAmI() {
  try {
    const setup = await get('/auth/setup');
    if (setup?.needed) {
      if (location.pathname !== '/setup') history.replaceState(null, '', '/setup');
      return;
    }
  } catch (e) {
    if (!(e instanceof ApiError && (e.noRoute || e.status === 405))) throw e;
  }
  try {
    session.user = await get('/auth/me');
  } catch (e) {
    if (e instanceof ApiError && e.noRoute) session.local = true;
    else if (!(e instanceof ApiError && e.status === 401)) throw e;
  }
}

// Internal links navigate without a reload; modified clicks keep the browser's meaning.
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || a.target || a.hasAttribute('download') || url.pathname.startsWith('/api/')) return;
  if (url.hash && url.pathname === location.pathname) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);
onNavigate(render);
window.addEventListener('swarmcast:features', () => {
  const top = document.querySelector('header.top');
  if (top) top.replaceWith(header());
});
window.addEventListener('swarmcast:unauthorized', () => {
  if (session.local || !session.user) return;
  session.user = null;
  live.disconnect();
  toast('Your session ended. Please sign in again.', 'info');
  navigate(`/login?next=${encodeURIComponent(location.pathname)}`, { replace: true });
});

whoAmI()
  .catch((e) => toast(e.message, 'error', 0))
  .finally(render);
