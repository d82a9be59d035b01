// hls.js in Debian's Chromium (playwright-core) plays each row of the format matrix
// (tests/it/formats.rs) past 10 s: one page, one <video> and one hls.js per row, all at
// once. Started with FORMATS_URL (a server with /page.html, /hls.js and /r/{row}/index.m3u8)
// and FORMATS_ROWS (the rows, comma-separated). Prints one line per row (currentTime,
// `waiting` events, hls.js errors) and fails naming each row that did not get past 10 s,
// had a media error or a fatal hls.js error.

import { launchChromium, until } from './browser.mjs';

const BASE = process.env.FORMATS_URL;
const ROWS = process.env.FORMATS_ROWS.split(',').filter(Boolean);
const PAST = 10;
setTimeout(() => {
  console.error('[hls-rows] FAILED: more than 150 s');
  process.exit(1);
}, 150000).unref();

const browser = await launchChromium();
let code = 0;
try {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${BASE}/page.html`);
  await page.evaluate(({ rows }) => {
    window.rows = {};
    for (const row of rows) {
      const v = document.createElement('video');
      v.muted = true;
      v.width = 160;
      document.body.appendChild(v);
      const r = { t: 0, waiting: 0, errors: [], fatal: null, mediaError: null };
      window.rows[row] = r;
      v.addEventListener('waiting', () => { r.waiting += 1; });
      v.addEventListener('error', () => { r.mediaError = `${v.error?.code} ${v.error?.message || ''}`; });
      v.addEventListener('timeupdate', () => { r.t = v.currentTime; });
      const hls = new window.Hls();
      hls.on(window.Hls.Events.ERROR, (_, d) => {
        const what = `${d.type}/${d.details}${d.reason ? ` (${d.reason})` : ''}${d.error ? `: ${d.error.message}` : ''}`;
        if (d.fatal) r.fatal = what;
        else if (r.errors.length < 5) r.errors.push(what);
      });
      hls.on(window.Hls.Events.MANIFEST_PARSED, () => v.play().catch((e) => { r.mediaError = `play(): ${e.message}`; }));
      hls.loadSource(`/r/${row}/index.m3u8`);
      hls.attachMedia(v);
    }
  }, { rows: ROWS });
  const state = () => page.evaluate(() => window.rows);
  // Every row past 10 s, or stopped for good (a fatal error or a media error).
  await until(`every row past ${PAST} s`, 90000, async () => {
    const s = await state();
    return Object.values(s).every((r) => r.t > PAST || r.fatal || r.mediaError);
  }, 500).catch((e) => problems.push(e.message));
  const s = await state();
  for (const row of ROWS) {
    const r = s[row];
    const said = [r.fatal && `fatal: ${r.fatal}`, r.mediaError && `media error: ${r.mediaError}`,
      r.errors.length && `errors: ${r.errors.join('; ')}`].filter(Boolean).join(', ');
    console.log(`[hls-rows] ${row}: currentTime ${r.t.toFixed(2)} s, ${r.waiting} waiting${said ? `, ${said}` : ''}`);
    if (!(r.t > PAST) || r.fatal || r.mediaError) {
      problems.push(`${row}: reached ${r.t.toFixed(2)} s of ${PAST}; hls.js said: ${said || 'nothing'}`);
    }
  }
  if (problems.length) {
    console.error(`[hls-rows] FAILED:\n  ${problems.join('\n  ')}`);
    code = 1;
  }
} catch (e) {
  console.error('[hls-rows] FAILED:', e.message);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
