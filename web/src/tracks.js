// The player's audio and subtitle menus, from hls.js's renditions (`audioTracks`,
// `subtitleTracks`). The choice is remembered per user in localStorage, by language
// and name; with no choice remembered, forced subtitles show and others stay off.

import { get } from './api.js';
import { h, mount } from './dom.js';

let userKey = null;

/** The localStorage key of the signed-in user's track choices. */
async function storageKey() {
  if (!userKey) {
    let who = 'local';
    try {
      const me = await get('/auth/me');
      who = me?.username || me?.id || who;
    } catch {
      // No accounts, or signed out: the choice is this browser's.
    }
    userKey = `swarmcast.tracks.${who}`;
  }
  return userKey;
}

async function load() {
  try {
    return JSON.parse(localStorage.getItem(await storageKey()) || '{}');
  } catch {
    return {};
  }
}

async function save(patch) {
  const key = await storageKey();
  const now = { ...(await load()), ...patch };
  try {
    localStorage.setItem(key, JSON.stringify(now));
  } catch {
    // Private mode or a full store: the choice lasts this page only.
  }
}

/** Finds the track matching a remembered `{lang, name}`: the name first, then the language. */
function match(tracks, want) {
  if (!want) return -1;
  const byName = tracks.findIndex((t) => t.name === want.name);
  if (byName >= 0) return byName;
  return want.lang ? tracks.findIndex((t) => t.lang === want.lang) : -1;
}

/**
 * Fills `box` with an audio and a subtitle menu for `hls` once the manifest is parsed,
 * and applies the remembered choice. Call with `Hls` for its event names.
 */
export function trackMenus(hls, Hls, box) {
  hls.on(Hls.Events.MANIFEST_PARSED, async () => {
    const saved = await load();
    const audio = hls.audioTracks || [];
    const subs = hls.subtitleTracks || [];
    const rows = [];
    if (audio.length > 1) {
      const i = match(audio, saved.audio);
      if (i >= 0) hls.audioTrack = i;
      const sel = h('select', { id: 'audio-track', 'aria-label': 'Audio track', onchange: (e) => {
        const n = Number(e.target.value);
        hls.audioTrack = n;
        save({ audio: { lang: audio[n].lang, name: audio[n].name } });
      } }, audio.map((t, n) => h('option', { value: String(n), text: t.name, selected: n === hls.audioTrack })));
      rows.push(h('label', { class: 'row gap' }, h('span', { text: 'Audio' }), sel));
    }
    if (subs.length) {
      // A remembered choice, else a forced track (signs, foreign dialogue), else off.
      let i = saved.subtitles === 'off' ? -1 : match(subs, saved.subtitles);
      if (i < 0 && saved.subtitles !== 'off') i = subs.findIndex((t) => t.forced);
      hls.subtitleDisplay = true;
      hls.subtitleTrack = i;
      const sel = h('select', { id: 'subtitle-track', 'aria-label': 'Subtitles', onchange: (e) => {
        const n = Number(e.target.value);
        hls.subtitleTrack = n;
        save({ subtitles: n < 0 ? 'off' : { lang: subs[n].lang, name: subs[n].name } });
      } },
      h('option', { value: '-1', text: 'Off', selected: i < 0 }),
      subs.map((t, n) => h('option', { value: String(n), text: t.name, selected: n === i })));
      rows.push(h('label', { class: 'row gap' }, h('span', { text: 'Subtitles' }), sel));
    }
    mount(box, rows);
  });
}
