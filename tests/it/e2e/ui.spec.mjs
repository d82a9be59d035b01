// Drives the web UI in Debian's Chromium (playwright-core) against a running daemon.
// Started by tests/it/web_ui.rs, which provides: SWARMCAST_URL, E2E_MAGNET (seeded by a
// real transmission-daemon on loopback), E2E_DOWNLOAD_DIR and E2E_ARTIFACTS.
//
// Steps whose routes are not in this daemon yet (accounts, HLS streaming, API keys) are
// skipped with a printed reason, decided by asking the daemon (a route that does not
// exist answers 404 "no such route"). Any console error, page error, failed request or
// unexpected HTTP error fails the run.

import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(new URL('../../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const BASE = process.env.SWARMCAST_URL;
const MAGNET = process.env.E2E_MAGNET;
const DOWNLOADS = process.env.E2E_DOWNLOAD_DIR;
const ARTIFACTS = process.env.E2E_ARTIFACTS;
const INFO_HASH = /btih:([0-9a-fA-F]{40})/.exec(MAGNET)[1].toLowerCase();
const TORRENT_FILE = process.env.E2E_TORRENT_FILE;
const TORRENT_FILE_HASH = process.env.E2E_TORRENT_FILE_HASH;
const USER = { username: 'admin', password: 'correct horse battery' };

const problems = [];
// Whatever hangs, the run ends on its own, saying where it was.
let current = 'start';
const log = (...a) => {
  current = a.join(' ');
  console.log('[e2e]', ...a);
};
setTimeout(() => {
  console.error(`[e2e] FAILED: the run took more than 240 s; last step: ${current}`);
  if (problems.length) console.error('[e2e] problems:\n  ' + problems.join('\n  '));
  process.exit(1);
}, 240000).unref();

const skip = (step, why) => log(`SKIP ${step}: ${why}`);

/** Bounded polling: `fn` until truthy, every 200 ms, for at most `ms`. */
async function until(what, ms, fn) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Whether a route exists: anything but 404 "no such route". */
async function routeExists(method, path, body, cookie) {
  const headers = body ? { 'content-type': 'application/json', 'x-requested-with': 'e2e' } : {};
  if (cookie) headers.cookie = cookie;
  const res = await fetch(BASE + path, {
    method,
    headers,
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return !(res.status === 404 && /no such route/i.test(text));
}

// Routes the UI depends on that other parts of the daemon add; each is probed once.
const PROBES = {
  auth: ['GET', '/auth/me'],
  setup: ['GET', '/auth/setup'],
  stream: ['POST', '/api/stream', {}],
  keys: ['GET', '/auth/api-keys'],
  users: ['GET', '/api/users'],
  config: ['GET', '/api/config'],
  system: ['GET', '/api/system/status'],
  services: ['GET', '/api/services/status'],
  search: ['GET', '/api/search'],
};
const routes = {};
// Paths the UI may legitimately probe and get 404 from while a route is absent, and the
// 401 of /auth/me while signed out.
const absent = new Set();
/** Probes every route; with accounts, unknown API paths answer 401 until signed in. */
async function probe(cookie) {
  for (const [name, [method, path, body]] of Object.entries(PROBES)) {
    routes[name] = await routeExists(method, path, body, cookie);
    if (routes[name]) absent.delete(path);
    else absent.add(path);
  }
  log('routes present:', JSON.stringify(routes));
}
await probe();
/** Errors a step provokes on purpose ("METHOD /path STATUS"), allowed while it runs. */
const provoked = new Set();
function expected(url, status) {
  const path = new URL(url).pathname;
  if ([...provoked].some((p) => p.endsWith(` ${path} ${status}`))) return true;
  if (status === 404 && absent.has(path)) return true;
  if (status === 401 && path === '/auth/me') return true;
  return false;
}

function watch(page, label) {
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = msg.location()?.url || '';
    const m = /status of (\d{3})/.exec(msg.text());
    if (m && url && expected(url, Number(m[1]))) return;
    problems.push(`${label}: console error: ${msg.text()} ${url}`);
  });
  page.on('requestfailed', (req) => {
    const err = req.failure()?.errorText || '';
    // Media elements, hls.js, EventSource and a page being left cancel their own
    // requests (on seek, on navigation); that is not a failure.
    if (err === 'net::ERR_ABORTED' && !['document', 'script', 'stylesheet'].includes(req.resourceType())) return;
    problems.push(`${label}: request failed: ${req.method()} ${req.url()} ${err}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && !expected(res.url(), res.status())) {
      problems.push(`${label}: HTTP ${res.status()} for ${res.request().method()} ${res.url()}`);
    }
  });
}

// launch() gives Chromium a fresh, empty user-data-dir of its own, removed on close.
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required'],
});

/** GET from the API as the browser's signed-in user (its cookies). */
async function apiGet(context, path) {
  const cookie = (await context.cookies(BASE)).map((c) => `${c.name}=${c.value}`).join('; ');
  const res = await fetch(BASE + path, { headers: cookie ? { cookie } : {} });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

async function shot(page, name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  log('screenshot', path);
}

let failed = null;
let page = null;
try {
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await desktop.newPage();
  watch(page, 'desktop');
  await page.goto(BASE + '/');

  // 1. First-run setup, sign out, sign in with remember-me.
  if (routes.auth) {
    await page.waitForURL(/\/(login|setup)/);
    await page.goto(BASE + '/setup');
    await page.fill('#username', USER.username);
    await page.fill('#password', USER.password);
    await page.click('button[type=submit]');
    await page.waitForSelector('#add-input');
    await page.click('#logout');
    await page.waitForURL(/\/login/);
    await page.fill('#username', USER.username);
    await page.fill('#password', USER.password);
    await page.check('#remember');
    await page.click('button[type=submit]');
    await page.waitForSelector('#add-input');
    const cookies = await desktop.cookies();
    if (!cookies.some((c) => c.name === 'session')) throw new Error('no session cookie after sign-in');
    log('setup, sign-out and sign-in: ok');
    // A stream POST with an empty body is refused by the route (400), or 404s without it.
    provoked.add('POST /api/stream 400');
    await probe(cookies.map((c) => `${c.name}=${c.value}`).join('; '));
  } else {
    skip('setup/login', 'GET /auth/me answers 404 (no accounts in this daemon yet)');
  }

  // A bad magnet gets a readable error from the API, shown next to the box.
  await page.waitForSelector('#add-input');
  provoked.add('POST /api/torrents/ 400');
  await page.fill('#add-input', 'magnet:?xt=urn:btih:nothex');
  await page.press('#add-input', 'Enter');
  await page.waitForSelector('#add-error:not([hidden])');
  const message = await page.locator('#add-error').textContent();
  if (!/magnet|info.?hash/i.test(message)) throw new Error(`unreadable add error: ${message}`);
  await page.waitForTimeout(300);
  provoked.delete('POST /api/torrents/ 400');
  log(`bad magnet refused with: ${message}`);

  // 2. Add the magnet from the keyboard; the row appears and its progress rises
  // without a reload.
  await page.evaluate(() => (window.__noReload = true));
  await page.fill('#add-input', MAGNET);
  await page.press('#add-input', 'Enter');
  const row = page.locator(`li.torrent[data-id="${INFO_HASH}"]`);
  await row.waitFor({ timeout: 15000 });
  log('row appeared');
  const seen = new Set();
  await until('the download to finish', 120000, async () => {
    const p = parseFloat(await row.locator('.pct').textContent());
    seen.add(p);
    return p >= 100;
  });
  const between = [...seen].filter((p) => p > 0 && p < 100);
  if (between.length < 2) throw new Error(`progress did not visibly rise: saw ${[...seen].join(', ')}`);
  if (!(await page.evaluate(() => window.__noReload))) throw new Error('the page reloaded');
  log(`progress rose live through ${between.length} values to 100%`);
  await until('status seeding', 15000, async () => (await row.getAttribute('data-status')) === 'seeding');
  if (await page.locator('#add-error').isVisible()) throw new Error('the old error is still shown');

  // Filter, search and sort change the rows shown.
  await page.fill('#filter-search', 'no such film');
  await row.waitFor({ state: 'detached' });
  await page.fill('#filter-search', 'e2e-film');
  await row.waitFor();
  await page.selectOption('#filter-status', 'paused');
  await row.waitFor({ state: 'detached' });
  await page.selectOption('#filter-status', '');
  await page.selectOption('#sort', 'name');
  await page.fill('#filter-search', '');
  await row.waitFor();

  // Stop and start.
  await row.locator('button.toggle').click();
  await until('status paused', 10000, async () => (await row.getAttribute('data-status')) === 'paused');
  await row.locator('button.toggle').click();
  await until('status seeding again', 20000, async () => (await row.getAttribute('data-status')) === 'seeding');
  log('filter, search, stop and start: ok');

  // A .torrent file picked from disk: its files are listed at once and can be chosen.
  await page.setInputFiles('#torrent-file', TORRENT_FILE);
  const extra = page.locator(`li.torrent[data-id="${TORRENT_FILE_HASH}"]`);
  await extra.waitFor({ timeout: 15000 });
  await extra.locator('a.name').click();
  await page.waitForSelector('.files tbody tr >> nth=2');
  const notes = page.locator('.files tr:has-text("b-notes.txt") input[type=checkbox]');
  await notes.uncheck();
  await page.click('.files button:has-text("Download selected files")');
  await until('the file choice to be saved', 10000, async () => {
    const t = await apiGet(desktop, `/api/torrents/${TORRENT_FILE_HASH}`);
    return t.files.find((f) => f.name.endsWith('b-notes.txt'))?.selected === false;
  });
  await shot(page, 'files-choice-1280');
  await page.goto(BASE + '/');
  await extra.locator('button.remove').click();
  await page.click('dialog button[value=keep]');
  await extra.waitFor({ state: 'detached', timeout: 15000 });
  log('.torrent upload, file choice and remove keeping data: ok');
  await shot(page, 'list-1280');

  // Details page: files, peers, graph, activity.
  await row.locator('a.name').click();
  await page.waitForSelector('.files table');
  await until('the activity history', 10000, async () => (await page.locator('.activity li').count()) > 0);
  await page.waitForTimeout(2500); // a few graph samples
  await shot(page, 'details-1280');

  // 3. Play: currentTime passes 5 s, then a seek to 50 % resumes within 5 s.
  await page.click('a.play, a:has-text("Play")');
  await page.waitForSelector('video#player');
  if (!routes.stream) log('POST /api/stream answers 404: the player uses the raw file (Range) instead of HLS');
  // Not awaited in the page: play()'s promise stays pending until media arrives.
  await page.evaluate(() => {
    document.querySelector('video').play().catch(() => {});
  });
  await until('currentTime > 5 s', 60000, () => page.evaluate(() => document.querySelector('video').currentTime > 5));
  const target = await page.evaluate(() => {
    const v = document.querySelector('video');
    const t = v.duration / 2;
    v.currentTime = t;
    return t;
  });
  const seekStart = Date.now();
  await until('playback to resume after the seek', 5000, () => page.evaluate((t) => {
    const v = document.querySelector('video');
    return !v.paused && !v.seeking && v.currentTime > t + 0.5;
  }, target));
  log(`played past 5 s; seek to ${target.toFixed(1)} s resumed in ${Date.now() - seekStart} ms`);
  await shot(page, 'player-1280');

  // 4. API keys: create one, see it once, find it in the list.
  if (routes.keys) {
    await page.goto(BASE + '/keys');
    await page.fill('#key-name', 'e2e key');
    await page.click('#create-key');
    const key = await page.locator('#new-api-key').inputValue();
    if (!key) throw new Error('the new API key was not shown');
    await page.waitForSelector('#keys-table td:has-text("e2e key")');
    const res = await fetch(`${BASE}/api/torrents/`, { headers: { authorization: `Bearer ${key}` } });
    if (res.status !== 200) throw new Error(`the new API key does not work: HTTP ${res.status}`);
    await shot(page, 'keys-1280');
    log('API key created and used: ok');
  } else {
    skip('API keys', 'GET /auth/api-keys answers 404');
  }

  // The activity log and the admin pages: each renders, or, while its route is absent,
  // says it is not available and leaves the menu.
  await page.goto(BASE + '/activity');
  await page.waitForSelector('.activity li:has-text("added")');
  for (const [path, feature, heading] of [['/system', 'system', 'System'], ['/settings', 'config', 'Settings'], ['/users', 'users', 'Users'], ['/keys', 'keys', 'API keys']]) {
    await page.click(`header nav a[href="${path}"]`);
    if (routes[feature] || (feature === 'users' && routes.auth)) {
      await page.waitForSelector(`main h1:has-text("${heading}")`);
      await page.waitForTimeout(500);
      if (await page.locator('main .error:visible').count()) throw new Error(`${path} shows an error: ${await page.locator('main .error:visible').first().textContent()}`);
      if (feature === 'users' && routes.users) {
        await page.fill('#new-username', 'viewer');
        await page.fill('#new-password', 'another long password');
        await page.click('main form button[type=submit]');
        await page.waitForSelector('main td:has-text("viewer")');
        log('user created from the Users page: ok');
      }
      await shot(page, `admin-${feature}-1280`);
    } else {
      await page.waitForSelector('main h1:has-text("Not available")');
      await page.waitForSelector(`header nav a[href="${path}"]`, { state: 'detached' });
      skip(`${heading} page`, `its route answers 404; the page says so and leaves the menu`);
    }
  }
  await shot(page, 'admin-last-1280');

  // Search: with no indexer configured the page says so in words.
  if (routes.search) {
    provoked.add('GET /api/search 502');
    await page.click('header nav a[href="/search"]');
    await page.fill('#search-query', 'test film');
    await page.press('#search-query', 'Enter');
    await page.waitForSelector('main [role=alert]');
    const said = await page.locator('main [role=alert]').textContent();
    if (!/indexer/i.test(said)) throw new Error(`unreadable search error: ${said}`);
    await page.waitForTimeout(300);
    provoked.delete('GET /api/search 502');
    await shot(page, 'search-1280');
    log(`search without indexers says: ${said}`);
  } else {
    skip('search', 'GET /api/search answers 404');
  }

  // 5. Phone-sized screenshots (light and dark), sharing the desktop's sign-in.
  const state = await desktop.storageState();
  for (const scheme of ['light', 'dark']) {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, colorScheme: scheme, storageState: state, isMobile: true, hasTouch: true });
    const p = await phone.newPage();
    watch(p, `phone-${scheme}`);
    await p.goto(BASE + '/');
    await p.locator(`li.torrent[data-id="${INFO_HASH}"]`).waitFor();
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) throw new Error(`the list is ${overflow}px wider than a 390px screen`);
    await shot(p, `list-390-${scheme}`);
    await p.goto(`${BASE}/t/${INFO_HASH}`);
    await p.waitForSelector('.files table');
    await shot(p, `details-390-${scheme}`);
    // The narrowest phones in use: 360 px, with nothing wider than the screen.
    await p.setViewportSize({ width: 360, height: 740 });
    for (const path of ['/', `/t/${INFO_HASH}`, '/activity']) {
      await p.goto(BASE + path);
      await p.waitForSelector('main section');
      const wide = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      if (wide > 0) throw new Error(`${path} is ${wide}px wider than a 360px screen`);
    }
    await phone.close();
  }

  // Remove the torrent with its data, confirming twice.
  await page.goto(BASE + '/');
  await row.waitFor();
  await row.locator('button.remove').click();
  await page.click('dialog button[value=delete]');
  await page.waitForSelector('dialog:has-text("permanently")');
  await shot(page, 'remove-confirm-1280');
  await page.click('dialog button[value=yes]');
  await row.waitFor({ state: 'detached', timeout: 15000 });
  await until('the data to be deleted', 15000, () => {
    const left = existsSync(DOWNLOADS) ? readdirSync(DOWNLOADS).filter((f) => f.includes('swarmcast-e2e-film')) : [];
    return left.length === 0;
  });
  log('removed with its data: ok');
  await page.waitForTimeout(500);
} catch (e) {
  failed = e;
  if (page) await page.screenshot({ path: join(ARTIFACTS, 'failure.png') }).catch(() => {});
} finally {
  await browser.close();
}

if (problems.length) {
  console.error('[e2e] problems seen in the browser:\n  ' + problems.join('\n  '));
}
if (failed) console.error('[e2e] FAILED:', failed.stack || failed);
if (failed || problems.length) process.exit(1);
log('all steps passed');
