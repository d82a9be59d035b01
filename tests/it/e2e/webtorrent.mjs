// Two WebTorrent tracker clients (the npm bittorrent-tracker package's Client, bundled
// with esbuild) in two pages of Debian's Chromium (playwright-core), which has real
// WebRTC, announce one info hash on swarmcast's WebSocket tracker. Started by
// tests/it/webtorrent.rs with SWARMCAST_URL (the daemon), TRACKER_URL (its ws://
// announce URL) and INFO_HASH (40 hex digits).
//
// A announces; B announces the same info hash: the tracker relays B's offer to A (A's
// `peer` event, with B's peer id), A's answer back to B (B's `peer` event, with A's). The
// two then connect over WebRTC on this machine and each sends the other a line. B's
// scrape over the socket counts both; when A stops, B's next scrape counts one.
// Prints `RESULT {...}` with both pages' event logs; exits 1 on any failure.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchChromium, until } from './browser.mjs';

const webRequire = createRequire(new URL('../../../web/package.json', import.meta.url));
const esbuild = webRequire('esbuild');

const BASE = process.env.SWARMCAST_URL;
const TRACKER = process.env.TRACKER_URL;
const INFO_HASH = process.env.INFO_HASH;
const log = (...a) => console.log('[webtorrent]', ...a);
setTimeout(() => {
  console.error('[webtorrent] FAILED: the run took more than 150 s');
  process.exit(1);
}, 150000).unref();

const pkg = fileURLToPath(new URL('./webtorrent/', import.meta.url));
if (!existsSync(`${pkg}node_modules/bittorrent-tracker`)) {
  console.error(`[webtorrent] FAILED: ${pkg}node_modules is missing: run scripts/setup.sh test`);
  process.exit(1);
}
const built = await esbuild.build({
  entryPoints: [`${pkg}client.js`],
  bundle: true,
  write: false,
  platform: 'browser',
  format: 'iife',
  define: { global: 'globalThis', 'process.browser': 'true' },
  logLevel: 'error',
});
const bundle = built.outputFiles[0].text;
log(`bundled the client: ${bundle.length} bytes`);

const browser = await launchChromium([
  // Host candidates as addresses (not mDNS names), loopback included: the two pages
  // meet on this machine; no STUN server is given, so nothing else is asked.
  '--disable-features=WebRtcHideLocalIpsWithMdns', '--allow-loopback-in-peer-connection',
]);

// A page with one tracker client. Its own browser context, so its own WebSocket (the
// client shares one socket per URL within a page).
async function start(name, peerId) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => log(`${name} page error:`, e.message));
  await page.goto(`${BASE}/api/health`);
  await page.addScriptTag({ content: bundle });
  await page.evaluate(({ tracker, infoHash, peerId, name }) => {
    const events = [];
    window.events = events;
    const client = new window.TrackerClient({
      infoHash,
      peerId,
      announce: [tracker],
      port: 6881,
      rtcConfig: { iceServers: [] },
    });
    window.client = client;
    client.on('error', (e) => events.push({ ev: 'error', msg: String(e.message || e) }));
    client.on('warning', (e) => events.push({ ev: 'warning', msg: String(e.message || e) }));
    client.on('update', (d) => events.push({ ev: 'update', complete: d.complete, incomplete: d.incomplete, interval: d.interval }));
    client.on('scrape', (d) => events.push({ ev: 'scrape', complete: d.complete, incomplete: d.incomplete }));
    client.on('peer', (peer) => {
      events.push({ ev: 'peer', id: peer.id });
      peer.on('connect', () => {
        events.push({ ev: 'connect', id: peer.id });
        peer.send(`hello from ${name}`);
      });
      peer.on('data', (d) => events.push({ ev: 'data', from: peer.id, text: new TextDecoder().decode(d) }));
      peer.on('error', (e) => events.push({ ev: 'peer-error', msg: String(e.message || e) }));
    });
    client.start();
  }, { tracker: TRACKER, infoHash: INFO_HASH, peerId, name });
  return page;
}

const events = (page) => page.evaluate(() => window.events);
const hex = (s) => Buffer.from(s, 'latin1').toString('hex');

// Peer ids as the WebTorrent client makes them: a client prefix, then 12 characters.
const ID_A = '-WW0208-swarmcastAAA';
const ID_B = '-WW0208-swarmcastBBB';
let pageA, pageB;
let failed = null;
try {
  pageA = await start('A', hex(ID_A));
  const upA = await until('A\'s announce reply', 20000, async () => (await events(pageA)).find((e) => e.ev === 'update'));
  log('A announced:', JSON.stringify(upA));
  if (upA.incomplete !== 1 || upA.complete !== 0) throw new Error(`A's reply counts ${JSON.stringify(upA)}, not one leecher`);

  pageB = await start('B', hex(ID_B));
  const upB = await until('B\'s announce reply', 20000, async () => (await events(pageB)).find((e) => e.ev === 'update'));
  log('B announced:', JSON.stringify(upB));
  if (upB.incomplete !== 2) throw new Error(`B's reply counts ${JSON.stringify(upB)}, not two leechers`);

  // B's offer reaches A through the tracker; A's answer reaches B.
  await until('A to receive B\'s offer (a peer event with B\'s id)', 30000,
    async () => (await events(pageA)).find((e) => e.ev === 'peer' && e.id === hex(ID_B)));
  log('A received B\'s offer');
  await until('B to receive A\'s answer (a peer event with A\'s id)', 30000,
    async () => (await events(pageB)).find((e) => e.ev === 'peer' && e.id === hex(ID_A)));
  log('B received A\'s answer');

  // With offer and answer exchanged, WebRTC connects the pages directly.
  await until('A and B to connect over WebRTC and exchange a line', 30000, async () => {
    const [a, b] = [await events(pageA), await events(pageB)];
    return a.some((e) => e.ev === 'data' && e.text === 'hello from B') && b.some((e) => e.ev === 'data' && e.text === 'hello from A');
  });
  log('A and B connected and exchanged data');

  // Scrape by message, from the real client.
  await pageB.evaluate(() => window.client.scrape());
  const s2 = await until('B\'s scrape reply', 20000, async () => (await events(pageB)).find((e) => e.ev === 'scrape'));
  if (s2.incomplete !== 2) throw new Error(`the scrape counts ${JSON.stringify(s2)}, not two leechers`);
  // A stops (`event: stopped`, then its socket closes): it leaves the swarm.
  await pageA.evaluate(() => new Promise((resolve) => window.client.destroy(resolve)));
  await until('B\'s scrape to count one peer after A stopped', 20000, async () => {
    await pageB.evaluate(() => window.client.scrape());
    await new Promise((r) => setTimeout(r, 300));
    return (await events(pageB)).find((e) => e.ev === 'scrape' && e.incomplete === 1);
  });
  log('after A stopped, the scrape counts one peer');
  const warnings = [...await events(pageA), ...await events(pageB)].filter((e) => e.ev === 'error');
  if (warnings.length) throw new Error(`client errors: ${JSON.stringify(warnings)}`);
} catch (e) {
  failed = e;
}
const result = {
  a: pageA ? await events(pageA).catch(() => null) : null,
  b: pageB ? await events(pageB).catch(() => null) : null,
};
console.log('RESULT', JSON.stringify(result));
await browser.close();
if (failed) {
  console.error('[webtorrent] FAILED:', failed.message);
  process.exit(1);
}
log('ok');
