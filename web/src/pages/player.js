// The player: asks the daemon for a stream, plays its HLS playlist with hls.js (or the
// browser's own HLS on Safari), shows the stream's status, and hands out URLs for TVs
// and players. Without the streaming routes it falls back to the raw file.

import { ApiError, explain, get, markAbsent, post } from '../api.js';
import { h, mount, setText, toast } from '../dom.js';
import * as fmt from '../format.js';
import * as live from '../live.js';
import { copy } from '../shared.js';
import { playOn } from '../remote.js';
import { follow } from '../watching.js';
import { preroll } from '../preroll.js';
import { trackMenus } from '../tracks.js';

export function playerPage(main, id) {
  let hls = null;
  let pre = null;
  let stopped = false;
  let statusTimer = null;
  let unfollow = null;
  let remote = null;
  // While "Resume at m:ss / Start over" waits for an answer, the player does not start.
  let asking = false;
  const watchPanel = h('div', { class: 'watch-panel', id: 'watch-panel', 'aria-live': 'polite' });
  const t = live.torrents.get(id);
  // `?file=N` plays that file of the torrent; without it the daemon picks the video.
  const fileParam = new URLSearchParams(location.search).get('file');
  const fileIndex = fileParam !== null && /^\d+$/.test(fileParam) ? Number(fileParam) : null;
  const video = h('video', { id: 'player', controls: true, playsinline: true, preload: 'auto' });
  const title = h('h1', { class: 'title', text: t?.name || 'Preparing the stream…' });
  const state = h('p', { class: 'muted', id: 'player-state', role: 'status', text: 'Asking the box for a stream…' });
  const facts = {};
  const fact = (key, label) => {
    facts[key] = h('dd', { id: `stream-${key}`, text: '–' });
    return h('div', {}, h('dt', { text: label }), facts[key]);
  };
  const links = h('div', { class: 'stream-links' });
  const trackBox = h('div', { class: 'row gap wrap', id: 'track-menus' });
  mount(main,
    h('nav', { class: 'crumbs small' }, h('a', { href: `/t/${id}`, text: '← Details' })),
    h('section', { class: 'card player' }, title, h('div', { class: 'video-wrap' }, video), trackBox, watchPanel, state,
      h('dl', { class: 'facts' }, fact('mode', 'Mode'), fact('encoder', 'Encoder'), fact('buffered', 'Buffered'),
        fact('segments', 'Segments ready'), fact('clients', 'Clients'))),
    h('section', { class: 'card' }, h('h2', { text: 'Play on another device' }), links),
  );

  start().catch((e) => {
    if (!stopped) fail(explain(e));
  });

  async function start() {
    let s;
    // While the box prepares the stream, say what it waits for.
    let shown = false;
    const early = setInterval(async () => {
      const st = await get(`/api/stream/${id}/status`).catch(() => null);
      if (!stopped && !s && st?.waiting) {
        setText(state, waitingText(st.waiting));
        shown = true;
      }
    }, 1000);
    try {
      s = await post('/api/stream', fileIndex === null ? { infoHash: id } : { infoHash: id, fileIndex });
    } catch (e) {
      if (e instanceof ApiError && e.noRoute) {
        markAbsent('stream');
        return raw();
      }
      throw e;
    } finally {
      clearInterval(early);
    }
    if (stopped) return;
    if (shown) setText(state, 'Starting playback…');
    // A torrent of several files (a season pack) names the file playing: the episode.
    const file = s.videoFile ? s.videoFile.split('/').pop() : '';
    const label = file && file !== s.name ? file : s.name || t?.name || id;
    setText(title, label);
    document.title = `${label || 'Player'} · swarmcast`;
    setText(facts.mode, s.mode || '–');
    const hlsUrl = withToken(s.hlsUrl, s.token);
    const rawUrl = s.streamUrl ? withToken(s.streamUrl, s.token) : null;
    showLinks(label, hlsUrl, rawUrl);
    const streamId = s.infoHash || id;
    if (s.fileIndex !== undefined) {
      unfollow = follow({
        video, panel: watchPanel, torrentId: streamId, fileIndex: s.fileIndex, resumeAt: s.resumeAt || 0, next: s.next,
        play: (torrent, file) => location.assign(`/play/${torrent}?file=${file}`),
        // The place chosen is a start: it waits for the buffer like any (preroll.js).
        onAnswer: (at) => {
          asking = false;
          if (at === null) return;
          if (pre) pre.start();
          else autoplay();
        },
      });
      asking = unfollow.asking();
    }
    await attach(hlsUrl);
    if (stopped) return;
    if (s.fileIndex !== undefined) {
      remote = playOn({ torrentId: streamId, fileIndex: s.fileIndex, position: () => video.currentTime, onCast: () => video.pause() });
      links.parentElement.before(remote.el);
    }
    const poll = async () => {
      try {
        // The file this player plays: a season pack may have the next episode open too.
        const file = s.fileIndex ?? fileIndex;
        const st = await get(`/api/stream/${streamId}/status${file === null || file === undefined ? '' : `?file=${file}`}`);
        setText(facts.mode, st.mode || '–');
        setText(facts.encoder, st.encoder || (st.mode === 'passthrough' ? 'none (passthrough)' : '–'));
        setText(facts.buffered, st.buffered_seconds !== undefined ? fmt.duration(st.buffered_seconds) : '–');
        setText(facts.segments, st.segments_ready ?? '–');
        setText(facts.clients, st.clients ?? '–');
        // A player that waits (start, seek, a stall) says for what; playing clears it.
        if (st.waiting && (video.paused || video.readyState < 3)) setText(state, waitingText(st.waiting));
      } catch (e) {
        if (e instanceof ApiError && e.noRoute) clearInterval(statusTimer);
      }
    };
    poll();
    statusTimer = setInterval(poll, 2000);
  }

  /** Plays the original file through the Range route (browsers handle MP4/WebM). */
  async function raw() {
    const torrent = t || (await get(`/api/torrents/${id}`));
    if (stopped) return;
    const index = fileIndex ?? torrent.video_file;
    if (index === null || index === undefined) throw new ApiError(422, 'NO_VIDEO_FILE', 'This torrent has no playable video file');
    setText(title, torrent.name);
    const url = `/api/torrents/${id}/files/${index}`;
    setText(facts.mode, 'original file');
    setText(state, 'HLS streaming is not available on this box; playing the original file.');
    showLinks(torrent.name, null, new URL(url, location.origin).href);
    video.src = url;
    autoplay();
    video.addEventListener('error', () => fail('The browser cannot play this file directly. Try a player such as VLC with the raw link below.'), { once: true });
  }

  video.addEventListener('playing', () => setText(state, 'Playing.'));

  async function attach(url) {
    const ua = navigator.userAgent;
    const safari = /Safari/.test(ua) && !/Chrome|Chromium|Android|CriOS|Edg/.test(ua);
    if (safari && video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = url;
      autoplay();
      setText(state, 'Playing with the browser’s own HLS.');
      return;
    }
    const { default: Hls } = await import('hls.js');
    if (stopped) return;
    if (!Hls.isSupported()) {
      if (video.canPlayType('application/vnd.apple.mpegurl')) {
        video.src = url;
        return;
      }
      fail('This browser cannot play HLS. Use the stream URL in VLC or Kodi.');
      return;
    }
    hls = new Hls({ maxBufferLength: 30, backBufferLength: 60, manifestLoadingTimeOut: 60000, fragLoadingTimeOut: 60000, levelLoadingTimeOut: 60000 });
    trackMenus(hls, Hls, trackBox);
    let recovered = 0;
    // Starts and seeks wait until the buffer will not run dry (see preroll.js).
    pre = preroll(hls, Hls, video, autoplay);
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      setText(state, 'Ready.');
      pre.start();
    });
    hls.on(Hls.Events.ERROR, (_, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && recovered++ < 3) hls.recoverMediaError();
      else if (data.type === Hls.ErrorTypes.NETWORK_ERROR && recovered++ < 3) hls.startLoad();
      else fail(`Playback failed (${data.details}).`);
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  }

  function showLinks(name, hlsUrl, rawUrl) {
    const rows = [];
    if (hlsUrl) {
      const m3u = new Blob([`#EXTM3U\n#EXTINF:-1,${name.replace(/[\r\n]/g, ' ')}\n${hlsUrl}\n`], { type: 'audio/x-mpegurl' });
      const href = URL.createObjectURL(m3u);
      rows.push(
        h('p', { class: 'muted small', text: 'For a TV, VLC or Kodi: this link works without signing in, for a limited time.' }),
        h('div', { class: 'row gap wrap' },
          h('input', { class: 'grow mono', readonly: true, value: hlsUrl, 'aria-label': 'Stream URL', id: 'stream-url', onfocus: (e) => e.target.select() }),
          h('button', { type: 'button', class: 'primary', id: 'copy-url', onclick: () => copy(hlsUrl, 'Stream URL copied') }, 'Copy stream URL'),
          h('a', { class: 'button secondary', href, download: `${safeName(name)}.m3u`, id: 'download-m3u', text: 'Download .m3u' })),
      );
    }
    if (rawUrl) {
      rows.push(
        h('p', { class: 'muted small', text: 'The original file, for players that handle MKV and other formats:' }),
        h('div', { class: 'row gap wrap' },
          h('a', { class: 'button secondary', href: rawUrl, target: '_blank', rel: 'noopener', id: 'raw-link', text: 'Open original file' }),
          h('button', { type: 'button', class: 'secondary', onclick: () => copy(rawUrl, 'Raw URL copied') }, 'Copy raw URL')),
      );
    }
    mount(links, rows);
  }

  /** Starts playback when the browser allows it; otherwise the user presses play. */
  function autoplay() {
    if (asking) {
      setText(state, 'Resume where you stopped, or start over?');
      return;
    }
    video.play().catch(() => setText(state, 'Press play to start.'));
  }

  function fail(message) {
    setText(state, message);
    state.className = 'error';
    toast(message, 'error');
  }

  return () => {
    stopped = true;
    if (unfollow) unfollow();
    if (remote) remote.stop();
    clearInterval(statusTimer);
    if (pre) pre.stop();
    if (hls) hls.destroy();
    video.removeAttribute('src');
    video.load();
    document.title = 'swarmcast';
  };
}

/** What the box waits for, in words: "Fetching the film's index… 1.2 of 2.9 MB, 3 peers, 1.1 MB/s, about 2 s". */
export function waitingText(w) {
  const what = {
    metadata: 'Fetching the torrent’s metadata',
    index: 'Fetching the film’s index',
    data: `Fetching segment ${w.segment}`,
    encoding: `Encoding segment ${w.segment}`,
  }[w.what] || 'Waiting';
  const mb = (n) => (n / 1048576).toFixed(1);
  const parts = [];
  if (w.bytes_needed >= 100000) parts.push(`${mb(Math.min(w.bytes_have, w.bytes_needed))} of ${mb(w.bytes_needed)} MB`);
  if (w.peers !== null && w.peers !== undefined) parts.push(`${w.peers} peer${w.peers === 1 ? '' : 's'}`);
  if (w.rate !== null && w.rate !== undefined) parts.push(fmt.rate(w.rate));
  if (w.eta_s !== null && w.eta_s !== undefined && w.what !== 'encoding') parts.push(`about ${Math.max(1, Math.round(w.eta_s))} s`);
  return `${what}…${parts.length ? ` ${parts.join(', ')}` : ''}`;
}

/** An absolute URL carrying the stream token, for devices that cannot sign in. */
function withToken(url, token) {
  const u = new URL(url, location.origin);
  if (token && !u.searchParams.has('token')) u.searchParams.set('token', token);
  return u.href;
}

function safeName(name) {
  return (name || 'stream').replace(/[^\w .()-]+/g, '_').slice(0, 80);
}
