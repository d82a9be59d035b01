// Watching in Debian's Chromium (playwright-core), against a running daemon. Started by
// tests/it/web_ui.rs (`watching_in_chromium`), which provides SWARMCAST_URL, E2E_FILM
// (a 40 s film) and E2E_PACK (a season pack: S01E01 20 s, S01E02 20 s, S01E03 12 s),
// both downloaded already from a real transmission-daemon, and E2E_ARTIFACTS.
//
// 1. Resume after a reload: the film is played past 12 s, the page reloaded; reopened
//    from the "Continue watching" row, it offers "Resume at 0:1x" and does not start on
//    its own; "Resume" starts within a few seconds of the saved place, "Start over" at 0.
//    Played past 90 % it counts as watched and leaves the row.
// 2. Next episode: the pack starts at S01E01 and names S01E02 as `next`; near the end
//    the countdown "Next episode in N s" runs, the box has made S01E02's first segment
//    before the countdown ends, and S01E02 plays without a click; from S01E02, "Play
//    now" goes to S01E03 at once. Moving on marks the episode left as watched.
//
// Any console error, page error, failed request or unexpected HTTP error fails the run.

import { join } from 'node:path';
import { launchChromium, until } from './browser.mjs';

const BASE = process.env.SWARMCAST_URL;
const FILM = process.env.E2E_FILM;
const PACK = process.env.E2E_PACK;
const ARTIFACTS = process.env.E2E_ARTIFACTS;
const USER = { username: 'admin', password: 'correct horse battery' };

const problems = [];
let current = 'start';
const log = (...a) => {
  current = a.join(' ');
  console.log('[watch-e2e]', ...a);
};
setTimeout(() => {
  console.error(`[watch-e2e] FAILED: the run took more than 240 s; last step: ${current}`);
  if (problems.length) console.error('[watch-e2e] problems:\n  ' + problems.join('\n  '));
  process.exit(1);
}, 240000).unref();

/**
 * /api/stream/{id}/status answers 404 until the stream opens (the player polls it);
 * /auth/me answers 401 before signing in.
 */
const expected = (url, status) => (status === 404 && /\/api\/stream\/[0-9a-f]{40}\/status/.test(url))
  || (status === 401 && new URL(url).pathname === '/auth/me');

function watch(page, label) {
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = msg.location()?.url || '';
    const m = /status of (\d{3})/.exec(msg.text());
    if (m && expected(url, Number(m[1]))) return;
    problems.push(`${label}: console error: ${msg.text()} ${url}`);
  });
  page.on('requestfailed', (req) => {
    const err = req.failure()?.errorText || '';
    // hls.js and a page being left cancel their own requests; not a failure.
    if (err === 'net::ERR_ABORTED' && !['document', 'script', 'stylesheet'].includes(req.resourceType())) return;
    problems.push(`${label}: request failed: ${req.method()} ${req.url()} ${err}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && !expected(res.url(), res.status())) problems.push(`${label}: HTTP ${res.status()} for ${res.request().method()} ${res.url()}`);
  });
}

const browser = await launchChromium();

async function api(context, path) {
  const cookie = (await context.cookies(BASE)).map((c) => `${c.name}=${c.value}`).join('; ');
  const res = await fetch(BASE + path, { headers: { cookie } });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

const videoState = (page) => page.evaluate(() => {
  const v = document.querySelector('video#player');
  return v ? { t: v.currentTime, paused: v.paused, d: v.duration, ready: v.readyState } : null;
});

/** The next `POST /api/stream` answer of `page` (within `ms`). */
async function nextStream(page, ms = 60000) {
  const res = await page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/stream', { timeout: ms });
  if (res.status() !== 200) throw new Error(`POST /api/stream answered ${res.status()}`);
  return res.json();
}

/** The next `POST /api/stream` answer of `page`, while `action` runs. */
async function streamAnswer(page, action) {
  const [answer] = await Promise.all([nextStream(page), action()]);
  return answer;
}

const continueItems = (page) => page.locator('#continue-watching li.continue-item').evaluateAll(
  (lis) => lis.map((li) => ({ torrent: li.dataset.torrent, file: Number(li.dataset.file), text: li.textContent })));

let failed = null;
let page = null;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  watch(page, 'desktop');
  await page.goto(BASE + '/login');
  await page.fill('#username', USER.username);
  await page.fill('#password', USER.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#add-input');

  // 1. Play the film past 12 s, then reload the page.
  const first = await streamAnswer(page, () => page.goto(`${BASE}/play/${FILM}`));
  if (first.resumeAt !== 0 || first.next !== null) throw new Error(`a new film: ${JSON.stringify(first)}`);
  if (await page.locator('#resume-offer').count()) throw new Error('a film never played offers to resume');
  await until('the film to play past 12 s', 60000, async () => (await videoState(page))?.t > 12);
  const left = (await videoState(page)).t;
  await page.reload();
  await page.waitForSelector('video#player');
  const saved = await until('the place to be saved on leaving', 10000, async () => {
    const { body } = await api(context, '/api/watch');
    const w = (body || []).find((x) => x.torrent_id === FILM);
    return w && w.position_s > 12 ? w : null;
  });
  if (Math.abs(saved.position_s - left) > 3 || saved.watched) throw new Error(`left at ${left}, kept ${JSON.stringify(saved)}`);
  log(`played to ${left.toFixed(1)} s and reloaded: kept ${saved.position_s.toFixed(1)} s of ${saved.duration_s}`);

  // 2. The torrent list's "Continue watching" row lists it, at its place.
  await page.goto(BASE + '/');
  await page.waitForSelector('#continue-watching:not([hidden]) li.continue-item');
  const items = await continueItems(page);
  const it = items.find((i) => i.torrent === FILM);
  const at = `${Math.floor(saved.position_s / 60)}:${String(Math.floor(saved.position_s % 60)).padStart(2, '0')}`;
  if (!it || !it.text.includes(`${at} of 0:40`)) throw new Error(`the row does not offer the film at ${at}: ${JSON.stringify(items)}`);
  await shot(page, 'watch-continue-row');
  log(`"Continue watching" lists the film at ${at}: ok`);

  // 3. Reopened from the row: "Resume at m:ss" is offered and the film waits for the
  // choice; resuming starts near the saved place.
  const again = await streamAnswer(page, () => page.click(`#continue-watching li[data-torrent="${FILM}"] a`));
  if (Math.abs(again.resumeAt - saved.position_s) > 0.01) throw new Error(`resumeAt ${again.resumeAt}, kept ${saved.position_s}`);
  await page.waitForSelector(`#resume:has-text("Resume at ${at}")`, { timeout: 30000 });
  await until('the player to be ready', 30000, async () => (await videoState(page))?.ready >= 1);
  await page.waitForTimeout(3000);
  const waiting = await videoState(page);
  if (!waiting.paused || waiting.t > 1) throw new Error(`the film started on its own while asking: ${JSON.stringify(waiting)}`);
  const kept = (await api(context, '/api/watch')).body.find((x) => x.torrent_id === FILM);
  if (Math.abs(kept.position_s - saved.position_s) > 0.01) throw new Error(`the place changed while asking: ${JSON.stringify(kept)}`);
  await shot(page, 'watch-resume-offer');
  await page.click('#resume');
  const clicked = Date.now();
  await until('playback from the saved place', 30000, async () => {
    const v = await videoState(page);
    return !v.paused && v.t > saved.position_s + 0.5;
  });
  const resumed = await videoState(page);
  if (resumed.t < saved.position_s - 3 || resumed.t > saved.position_s + 5) throw new Error(`resumed at ${resumed.t}, saved ${saved.position_s}`);
  if (await page.locator('#resume-offer').count()) throw new Error('the question stays after the answer');
  log(`"Resume at ${at}" offered, the film waited, and resumed at ${resumed.t.toFixed(1)} s (${Date.now() - clicked} ms after the click): ok`);

  // 4. Reloaded again: "Start over" plays from 0.
  await page.reload();
  await page.waitForSelector('#start-over', { timeout: 30000 });
  await until('the player to be ready', 30000, async () => (await videoState(page))?.ready >= 1);
  await page.click('#start-over');
  const overClicked = Date.now();
  await until('playback from the start', 30000, async () => {
    const v = await videoState(page);
    return !v.paused && v.t > 0.5;
  });
  const over = await videoState(page);
  if (over.t > 4) throw new Error(`"Start over" started at ${over.t}`);
  log(`"Start over" plays from ${over.t.toFixed(1)} s (${Date.now() - overClicked} ms after the click): ok`);

  // 5. Played past 90 %: watched, and gone from the row.
  await page.evaluate(() => { document.querySelector('video#player').currentTime = 37; });
  await until('the film to end', 40000, () => page.evaluate(() => document.querySelector('video#player').ended));
  const done = await until('the film to count as watched', 10000, async () =>
    (await api(context, '/api/watch')).body.find((x) => x.torrent_id === FILM && x.watched));
  await page.goto(BASE + '/');
  await page.waitForSelector('#add-input');
  await page.waitForTimeout(1500);
  if ((await continueItems(page)).some((i) => i.torrent === FILM)) throw new Error('a watched film stays in "Continue watching"');
  log(`played to the end: watched (${done.position_s.toFixed(1)} of ${done.duration_s} s) and not in "Continue watching": ok`);

  // 6. The season pack: S01E01 first, S01E02 named as next.
  const files = (await api(context, `/api/torrents/${PACK}`)).body.files;
  const index = (ep) => files.find((f) => f.name.endsWith(`S01E0${ep}.mp4`)).index;
  const [e1, e2, e3] = [index(1), index(2), index(3)];
  const s1 = await streamAnswer(page, () => page.goto(`${BASE}/play/${PACK}`));
  if (s1.fileIndex !== e1 || s1.next?.fileIndex !== e2 || s1.next?.torrentId !== PACK || !s1.next.name.endsWith('S01E02.mp4')) {
    throw new Error(`the pack's stream: ${JSON.stringify(s1)}`);
  }
  await page.waitForSelector('#next-offer', { timeout: 60000 });
  // Listened for now: the countdown may end while the checks below run.
  const s2promise = nextStream(page, 30000);
  s2promise.catch(() => {});
  const countdown = async () => Number(/Next episode in (\d+) s/.exec(await page.locator('#next-countdown').textContent())?.[1]);
  const n1 = await countdown();
  if (!(n1 > 0) || !(await page.locator('#next-countdown').textContent()).includes('S01E02')) throw new Error('no countdown to S01E02');
  // The box prepares S01E02 while the countdown runs: its first segment is made before
  // the player asks for it.
  const prepared = await until('S01E02 prepared before the countdown ends', 9000, async () => {
    if (!page.url().includes(`file=${e1}`) && page.url().includes('file=')) throw new Error('the countdown ended before S01E02 was prepared');
    const { status, body } = await api(context, `/api/stream/${PACK}/status?file=${e2}`);
    return status === 200 && body.segments_ready >= 1 ? body : null;
  });
  const n2 = await until('the countdown to count down', 3000, async () => {
    const n = await countdown().catch(() => 0);
    return n < n1 ? String(n) : null;
  });
  await shot(page, 'watch-next-countdown');
  log(`countdown "Next episode in ${n1} s" ran (then ${n2}); S01E02 prepared (${prepared.segments_ready} segments ready)`);
  // No click: S01E02 opens when the countdown ends.
  await page.waitForURL(new RegExp(`/play/${PACK}\\?file=${e2}$`), { timeout: 20000 });
  const s2 = await s2promise;
  const opened = Date.now();
  if (s2.fileIndex !== e2 || s2.resumeAt !== 0 || s2.next?.fileIndex !== e3) throw new Error(`S01E02's stream: ${JSON.stringify(s2)}`);
  await until('S01E02 to play', 30000, async () => (await videoState(page))?.t > 1);
  const heading = await page.locator('main h1').textContent();
  if (!heading.includes('S01E02')) throw new Error(`the player names ${heading}, not the episode playing`);
  log(`S01E02 plays without a click (${Date.now() - opened} ms from its page to 1 s played)`);
  const e1w = (await api(context, '/api/watch')).body.find((x) => x.torrent_id === PACK && x.file_index === e1);
  if (!e1w?.watched) throw new Error(`S01E01 left for the next episode is not watched: ${JSON.stringify(e1w)}`);

  // From S01E02: paused during the countdown, the countdown waits; then the viewer
  // clicks "Play now": S01E03 at once.
  await page.waitForSelector('#play-next', { timeout: 30000 });
  await page.evaluate(() => document.querySelector('video#player').pause());
  const held = await countdown();
  await page.waitForTimeout(2500);
  if ((await countdown()) !== held || !page.url().endsWith(`file=${e2}`)) throw new Error(`the countdown ran on while paused: ${held} then ${await countdown()}`);
  const s3 = await streamAnswer(page, () => page.click('#play-next'));
  if (s3.fileIndex !== e3 || s3.next !== null) throw new Error(`S01E03's stream: ${JSON.stringify(s3)}`);
  await until('S01E03 to play', 30000, async () => (await videoState(page))?.t > 1);
  const list = (await api(context, '/api/watch')).body;
  const e2w = list.find((x) => x.torrent_id === PACK && x.file_index === e2);
  if (!e2w?.watched) throw new Error(`S01E02 left with "Play now" is not watched: ${JSON.stringify(e2w)}`);
  log(`countdown held at ${held} s while paused; "Play now" opens S01E03; S01E01 and S01E02 count as watched: ok`);

  // The pack starts again where the viewer is: S01E03.
  await page.goto(BASE + '/');
  await page.waitForSelector('#add-input');
  await page.waitForTimeout(1000);
  const row = await continueItems(page);
  if (row.some((i) => i.torrent === PACK && (i.file === e1 || i.file === e2))) throw new Error(`watched episodes in the row: ${JSON.stringify(row)}`);
  await shot(page, 'watch-after-pack');
  log('watched episodes are not in "Continue watching": ok');
  // Opened again without naming a file, the pack starts at its first episode not watched.
  const s4 = await streamAnswer(page, () => page.goto(`${BASE}/play/${PACK}`));
  if (s4.fileIndex !== e3) throw new Error(`the pack opened again starts at file ${s4.fileIndex}, not S01E03 (${e3})`);
  await page.waitForSelector('main h1:has-text("S01E03")');
  log('the pack opened again starts at S01E03, the first episode not watched: ok');
  await context.close();
} catch (e) {
  failed = e;
  if (page) await page.screenshot({ path: join(ARTIFACTS, 'watch-failure.png') }).catch(() => {});
} finally {
  await browser.close();
}

if (problems.length) console.error('[watch-e2e] problems seen in the browser:\n  ' + problems.join('\n  '));
if (failed) console.error('[watch-e2e] FAILED:', failed.stack || failed);
if (failed || problems.length) process.exit(1);
log('all steps passed');
