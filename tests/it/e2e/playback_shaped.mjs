// Plays a torrent in the web UI's player (hls.js) in Debian's Chromium (playwright-core)
// and counts the stalls. Started by tests/playback_shaped.rs, which provides
// SWARMCAST_URL (the daemon), SESSION_COOKIE (`name=value` of a signed-in session),
// INFO_HASH (a torrent the daemon has), PLAY_BEFORE and PLAY_AFTER (seconds of media to
// play before and after the seek) and SEEK_TO (the seek's target, seconds).
//
// After the first `playing`: PLAY_BEFORE s of play, one seek, PLAY_AFTER s of play. A
// `waiting` event outside the seek (the playhead starved) that lasts 0.3 s or more, or the
// playhead standing still for more than a second while it should move, fails the run. Prints one JSON
// line `RESULT {...}` with the timings and every event.

import { launchChromium } from './browser.mjs';

const BASE = process.env.SWARMCAST_URL;
const INFO_HASH = process.env.INFO_HASH;
const [COOKIE_NAME, COOKIE_VALUE] = process.env.SESSION_COOKIE.split(/=(.*)/s);
const PLAY_BEFORE = Number(process.env.PLAY_BEFORE || 30);
const PLAY_AFTER = Number(process.env.PLAY_AFTER || 30);
const SEEK_TO = Number(process.env.SEEK_TO || 60);
const log = (...a) => console.log('[shaped]', ...a);
setTimeout(() => {
  console.error('[shaped] FAILED: the run took more than 280 s');
  process.exit(1);
}, 280000).unref();

const browser = await launchChromium();
let failed = null;
try {
  const context = await browser.newContext();
  await context.addCookies([{ name: COOKIE_NAME, value: COOKIE_VALUE, url: BASE }]);
  const page = await context.newPage();
  page.on('pageerror', (e) => log('page error:', e.message));
  page.on('console', (m) => m.text().startsWith('[preroll]') && log(m.text()));
  await page.goto(`${BASE}/play/${INFO_HASH}`);
  await page.waitForSelector('video#player');
  await page.evaluate(() => {
    const v = document.getElementById('player');
    const t0 = performance.now();
    const events = [];
    window.events = events;
    window.t0 = t0;
    for (const name of ['playing', 'waiting', 'seeking', 'seeked', 'stalled']) {
      v.addEventListener(name, () => events.push({ name, at: (performance.now() - t0) / 1000, time: v.currentTime, seeking: v.seeking }));
    }
    for (const name of ['pause', 'play']) {
      v.addEventListener(name, () => events.push({ name, at: (performance.now() - t0) / 1000, time: v.currentTime }));
    }
    // What the player says, each time it changes.
    const state = document.getElementById('player-state');
    new MutationObserver(() => events.push({ name: `state:${state.textContent}`, at: (performance.now() - t0) / 1000, time: v.currentTime }))
      .observe(state, { childList: true, characterData: true, subtree: true });
    // The playhead, sampled: a stretch of 1 s without progress while playing is a stall.
    window.stills = [];
    let last = { time: -1, at: 0 };
    setInterval(() => {
      const now = (performance.now() - t0) / 1000;
      if (v.paused || v.seeking || v.readyState === 0 || v.currentTime !== last.time) {
        if (last.still) window.stills.push({ at: last.at, time: last.time, for: now - last.at });
        last = { time: v.currentTime, at: now };
        return;
      }
      last.still = now - last.at > 1.0;
    }, 100);
  });

  const until = async (what, ms, fn, arg) => {
    const end = Date.now() + ms;
    for (;;) {
      if (await page.evaluate(fn, arg)) return;
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await until('the first playing', 90000, () => window.events.some((e) => e.name === 'playing'));
  const first = await page.evaluate(() => window.events.find((e) => e.name === 'playing').at);
  log(`first playing after ${first.toFixed(2)} s`);
  await until(`${PLAY_BEFORE} s of play`, (PLAY_BEFORE + 60) * 1000, (s) => document.getElementById('player').currentTime >= s, PLAY_BEFORE);
  const seekAt = await page.evaluate((to) => {
    const v = document.getElementById('player');
    v.currentTime = to;
    return (performance.now() - window.t0) / 1000;
  }, SEEK_TO);
  await until('playing after the seek', 90000, (at) => window.events.some((e) => e.name === 'playing' && e.at > at), seekAt);
  const resumed = await page.evaluate((at) => window.events.find((e) => e.name === 'playing' && e.at > at).at, seekAt);
  log(`seek to ${SEEK_TO} s: playing again after ${(resumed - seekAt).toFixed(2)} s`);
  await until(`${PLAY_AFTER} s of play after the seek`, (PLAY_AFTER + 60) * 1000, (s) => document.getElementById('player').currentTime >= s, SEEK_TO + PLAY_AFTER);
  const { events, stills } = await page.evaluate(() => ({ events: window.events, stills: window.stills }));
  // Waiting outside a seek: the playhead ran out of data. A `waiting` answered by
  // `playing` within 0.3 s is the renderer catching its breath on a loaded machine (it
  // shows on 2 busy cores with the whole buffer full), not a segment that came late:
  // those are listed, not counted.
  const stops = events
    .filter((e) => e.name === 'waiting' && !e.seeking && e.at > first && !(e.at >= seekAt && e.at <= resumed))
    .map((e) => ({ ...e, for: (events.find((p) => p.name === 'playing' && p.at >= e.at)?.at ?? Infinity) - e.at }));
  const stalls = stops.filter((e) => e.for >= 0.3);
  const blips = stops.filter((e) => e.for < 0.3);
  // A still playhead counts from the first playing on, outside the seek.
  const stillsAfter = stills.filter((s) => s.at >= first && !(s.at + s.for > seekAt && s.at <= resumed));
  const result = { first_playing_s: first, seek_to: SEEK_TO, seek_resumed_s: resumed - seekAt, stalls, blips, stills: stillsAfter, events };
  console.log(`RESULT ${JSON.stringify(result)}`);
  if (stalls.length || stillsAfter.length) failed = `${stalls.length} waiting event(s) and ${stillsAfter.length} still playhead(s) after the first playing: ${JSON.stringify({ stalls, stills: stillsAfter })}`;
} catch (e) {
  failed = e.stack || String(e);
} finally {
  await browser.close();
}
if (failed) {
  console.error(`[shaped] FAILED: ${failed}`);
  process.exit(1);
}
log('ok: no stall');
