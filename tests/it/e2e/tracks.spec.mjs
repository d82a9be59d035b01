// The player's audio and subtitle menus in Debian's Chromium (playwright-core, hls.js):
// forced subtitles show by default, switching audio loads the other rendition without
// touching the video, and a subtitle cue shows at its time after a seek.
// Started by tests/it/tracks.rs with SWARMCAST_URL, E2E_HASH, E2E_USER, E2E_PASSWORD.

import { launchChromium, until } from './browser.mjs';

const BASE = process.env.SWARMCAST_URL;
const HASH = process.env.E2E_HASH;
let step = 'start';
const log = (...a) => {
  step = a.join(' ');
  console.log('[tracks]', ...a);
};
setTimeout(() => {
  console.error(`[tracks] FAILED: more than 150 s; last step: ${step}`);
  process.exit(1);
}, 150000).unref();

const browser = await launchChromium();
let code = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const requests = [];
  page.on('response', (r) => requests.push(`${r.status()} ${new URL(r.url()).pathname}`));
  page.on('pageerror', (e) => console.error('[tracks] page error:', e.message));
  // What the page's policy refuses (hls.js gives each subtitle track a `data:` source).
  const refused = [];
  page.on('console', (m) => /Content Security Policy/.test(m.text()) && refused.push(m.text()));
  const login = await page.request.post(`${BASE}/auth/login`, {
    data: { username: process.env.E2E_USER, password: process.env.E2E_PASSWORD },
    headers: { 'x-requested-with': 'e2e' },
  });
  if (!login.ok()) throw new Error(`login: HTTP ${login.status()}`);
  await page.goto(`${BASE}/play/${HASH}`);
  await page.waitForSelector('#audio-track', { timeout: 60000 });
  await page.waitForSelector('#subtitle-track');
  const audioNames = await page.locator('#audio-track option').allTextContents();
  const subNames = await page.locator('#subtitle-track option').allTextContents();
  log('audio menu:', audioNames.join(' | '), '; subtitles menu:', subNames.join(' | '));
  if (audioNames.length !== 3) throw new Error(`audio menu has ${audioNames.length} entries`);
  if (subNames.length !== 6) throw new Error(`subtitle menu has ${subNames.length} entries (Off + 5)`);
  // Nothing chosen yet: the forced track shows.
  const chosen = await page.locator('#subtitle-track').inputValue();
  if (!/forced/i.test(subNames[Number(chosen) + 1])) throw new Error(`default subtitle is ${subNames[Number(chosen) + 1]}, not the forced one`);
  log('forced subtitles on by default: ok');

  await page.evaluate(() => document.querySelector('video').play().catch(() => {}));
  await until('currentTime > 2 s', 60000, () => page.evaluate(() => document.querySelector('video').currentTime > 2));
  const videoBefore = requests.filter((r) => /\/seg\d+\.ts$/.test(r)).length;
  // Switch to German: its rendition's segments load; the video's do not start over.
  await page.selectOption('#audio-track', '1');
  await until('a German audio segment', 30000, () => requests.some((r) => /^200 .*\/audio\/1-\d+\.ts$/.test(r)));
  const seg0Again = requests.filter((r) => /\/seg00000\.ts$/.test(r)).length;
  log(`German rendition loaded; video segments before the switch ${videoBefore}, seg00000 fetched ${seg0Again}x`);
  if (seg0Again > 1) throw new Error('switching audio fetched the first video segment again');

  // English subtitles, then a seek to 16.3 s: the middle cue shows.
  await page.selectOption('#subtitle-track', '0');
  await page.evaluate(() => {
    document.querySelector('video').currentTime = 16.3;
  });
  const cue = await until('the cue at 16 s', 30000, () => page.evaluate(() => {
    const v = document.querySelector('video');
    for (const t of v.textTracks) {
      if (t.mode !== 'showing' || !t.activeCues) continue;
      for (const c of t.activeCues) if (/middle/.test(c.text)) return c.text;
    }
    return null;
  }));
  log(`cue shown after the seek: ${JSON.stringify(cue)}`);
  // The choice is remembered for this user.
  await page.reload();
  await page.waitForSelector('#audio-track', { timeout: 60000 });
  const remembered = [await page.locator('#audio-track').inputValue(), await page.locator('#subtitle-track').inputValue()];
  if (remembered.join() !== '1,0') throw new Error(`after a reload the menus show ${remembered}, not German audio and English subtitles`);
  log('choice remembered: ok');
  if (refused.length) throw new Error(`the page's policy refused: ${refused.join(' | ')}`);
} catch (e) {
  console.error('[tracks] FAILED at', step, ':', e.message);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
