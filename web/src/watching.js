// Watching in the player: reports where the viewer is (every few seconds, on pause and
// when the page closes), offers "Resume at 42:10" or "Start over", and near the end
// offers the next episode with a countdown.

import { api } from './api.js';
import { h, mount, setText } from './dom.js';

const REPORT_EVERY_MS = 10000;
/** Seconds before the end at which the next episode is offered. */
const OFFER_NEXT_WITHIN_S = 15;
const COUNTDOWN_S = 10;

/** `H:MM:SS` or `M:SS`. */
export function clock(s) {
  const t = Math.max(0, Math.floor(s || 0));
  const hh = Math.floor(t / 3600);
  const mm = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/**
 * Sends the position (`at`, else where the video is); `keepalive` lets it leave as the
 * page closes.
 */
function report(torrentId, fileIndex, video, keepalive = false, at = video.currentTime) {
  if (!Number.isFinite(at) || at <= 0) return;
  const body = { position_s: at };
  if (Number.isFinite(video.duration) && video.duration > 0) body.duration_s = video.duration;
  const path = `/api/watch/${torrentId}/${fileIndex}`;
  if (keepalive) {
    fetch(path, {
      method: 'PUT', keepalive: true, credentials: 'same-origin', body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'swarmcast' },
    }).catch(() => {});
    return;
  }
  api('PUT', path, body).catch(() => {});
}

/**
 * Follows `video` for torrent `torrentId`, file `fileIndex`. `panel` shows the resume
 * question and the next-episode offer; `play(torrentId, fileIndex)` opens another file.
 * While the resume question is open the player does not start by itself (`asking()`
 * says so; the caller's autoplay waits) and nothing is reported, so the kept place is
 * not overwritten by a player idling at 0. Answered, the video is put at the place
 * chosen and `onAnswer(t)` starts it (by default `video.play()`); a press on the
 * video's own play button answers "from here" (`onAnswer(null)`).
 * Returns a function that stops following (and reports one last time).
 */
export function follow({ video, panel, torrentId, fileIndex, resumeAt, next, play, onAnswer = null }) {
  let offered = false;
  let countdown = null;
  let asking = resumeAt > 5;
  // Left for the next episode: reported as seen to the end (watched), whatever the
  // last frame shown.
  let finished = false;
  const send = (keepalive = false) => {
    if (asking) return;
    report(torrentId, fileIndex, video, keepalive, finished ? video.duration : video.currentTime);
  };
  const timer = setInterval(() => { if (!video.paused) send(); }, REPORT_EVERY_MS);
  const onPause = () => send();
  const onHide = () => send(true);
  video.addEventListener('pause', onPause);
  window.addEventListener('pagehide', onHide);

  /** The answer: `t` seconds, or null for "from here" (the viewer pressed play). */
  const answer = (t) => {
    if (!asking) return;
    asking = false;
    mount(panel);
    video.removeEventListener('play', fromHere);
    if (t === null) {
      if (onAnswer) onAnswer(null);
      return;
    }
    const go = () => {
      video.currentTime = t;
      if (onAnswer) onAnswer(t);
      else video.play().catch(() => {});
    };
    if (video.readyState >= 1) go(); else video.addEventListener('loadedmetadata', go, { once: true });
  };
  const fromHere = () => answer(null);
  if (asking) {
    const at = clock(resumeAt);
    mount(panel,
      h('div', { class: 'row gap wrap resume', id: 'resume-offer' },
        h('span', { text: `You stopped at ${at}.` }),
        h('button', { type: 'button', class: 'primary', id: 'resume', onclick: () => answer(resumeAt) }, `Resume at ${at}`),
        h('button', { type: 'button', class: 'secondary', id: 'start-over', onclick: () => answer(0) }, 'Start over')));
    video.addEventListener('play', fromHere);
  }

  const offerNext = () => {
    if (offered || !next) return;
    offered = true;
    let left = COUNTDOWN_S;
    const label = h('span', { id: 'next-countdown', text: `Next episode in ${left} s: ${next.name.split('/').pop()}` });
    const go = () => {
      clearInterval(countdown);
      finished = true;
      send(true);
      play(next.torrentId, next.fileIndex);
    };
    mount(panel,
      h('div', { class: 'row gap wrap next-episode', id: 'next-offer' }, label,
        h('button', { type: 'button', class: 'primary', id: 'play-next', onclick: go }, 'Play now'),
        h('button', { type: 'button', class: 'secondary', id: 'cancel-next', onclick: () => { clearInterval(countdown); mount(panel); } }, 'Cancel')));
    countdown = setInterval(() => {
      // A viewer who paused is not carried off: the countdown waits with the film.
      if (video.paused && !video.ended) return;
      left -= 1;
      setText(label, `Next episode in ${left} s: ${next.name.split('/').pop()}`);
      if (left <= 0) go();
    }, 1000);
  };
  const onTime = () => {
    if (Number.isFinite(video.duration) && video.duration - video.currentTime <= OFFER_NEXT_WITHIN_S && video.currentTime > 0) {
      if (!offered) send();
      offerNext();
    }
  };
  video.addEventListener('timeupdate', onTime);
  video.addEventListener('ended', offerNext);

  const stop = () => {
    send(true);
    clearInterval(timer);
    clearInterval(countdown);
    video.removeEventListener('pause', onPause);
    video.removeEventListener('timeupdate', onTime);
    video.removeEventListener('ended', offerNext);
    window.removeEventListener('pagehide', onHide);
    video.removeEventListener('play', fromHere);
  };
  stop.asking = () => asking;
  return stop;
}
