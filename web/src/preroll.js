// Pre-roll for hls.js: after the start and after each seek, playback begins only once the
// buffer ahead covers the time the next segment takes to arrive, at the rate the segment
// just waited for arrived (seconds of film per second). A player that starts on its first
// segment over a swarm barely faster than the film runs dry a segment later (the 64 s
// stop of issue 14): the wait is taken before playing instead, once, with the reason on
// screen, rather than as a stall in the middle of the film.

/** The longest a start or a seek is held back once it could play (its first fragment is in), in ms. */
const MAX_HOLD_MS = 20000;

/**
 * Holds `video` paused after a start (`start()`) or a seek until enough is buffered,
 * then calls `play()`. A player paused by its user stays paused.
 */
export function preroll(hls, Hls, video, play) {
  // Film seconds per second of the latest fragment loaded while held, per fragment type:
  // with an audio rendition, its fragments come in apart from the video's, and quickly
  // once the video's bytes are here; the slower of the two is what playback waits for.
  let rates = {};
  let hold = null; // { since, playable } while held: when it began, when it could have played
  let last = 0;
  const ahead = () => {
    const t = video.currentTime;
    const b = video.buffered;
    for (let i = 0; i < b.length; i++) if (b.start(i) <= t + 0.2 && t < b.end(i)) return b.end(i) - t;
    return 0;
  };
  const target = () => hls.levels?.[Math.max(0, hls.currentLevel)]?.details?.targetduration || 4;
  const release = (why) => {
    console.debug(`[preroll] play (${why}): ${ahead().toFixed(2)} s ahead, rates ${JSON.stringify(rates)}, held ${Date.now() - hold.since} ms`);
    hold = null;
    play();
  };
  const check = () => {
    if (!hold) return;
    const have = ahead();
    const atEnd = video.duration > 0 && video.currentTime + have >= video.duration - 0.5;
    const known = Object.values(rates);
    const need = known.length ? target() / Math.min(...known) : Infinity;
    // As much ahead as hls.js ever buffers: it fetches no more, waiting cannot help (a
    // start from a place buffered while the player waited, e.g. for "Resume or start over").
    const full = have >= (hls.config?.maxBufferLength || 30) - target();
    if (have > 0) hold.playable ??= Date.now();
    if (have > 0 && (have >= need || atEnd || full)) release(have >= need ? 'enough' : atEnd ? 'end' : 'full');
    else if (hold.playable && Date.now() - hold.playable > MAX_HOLD_MS) release('held too long');
  };
  const begin = () => {
    hold = { since: Date.now() };
    rates = {};
  };
  hls.on(Hls.Events.FRAG_LOADED, (_, d) => {
    // The rate of the latest fragment at or after the playhead (not of one loaded before
    // the seek): the first one after a seek also carries the restart, the next ones
    // show how fast the film comes in.
    const { start, duration, stats, type } = d.frag;
    const secs = (stats.loading.end - stats.loading.start) / 1000;
    if (hold && secs > 0 && start + duration > video.currentTime + 0.2) rates[type] = duration / secs;
    console.debug(`[preroll] ${type} fragment ${start.toFixed(1)}+${duration.toFixed(1)} s in ${secs.toFixed(2)} s at ${video.currentTime.toFixed(2)}${hold ? ' (held)' : ''}`);
  });
  hls.on(Hls.Events.FRAG_BUFFERED, check);
  video.addEventListener('timeupdate', () => {
    if (!video.seeking) last = video.currentTime;
  });
  video.addEventListener('seeking', () => {
    // hls.js nudges the playhead over small holes itself: not a seek to hold for.
    if (Math.abs(video.currentTime - last) < 1 || (video.paused && !hold)) return;
    begin();
    video.pause();
  });
  const timer = setInterval(check, 250);
  return {
    start() {
      begin();
      check();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
