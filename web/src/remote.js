// "Play on…": the TVs (UPnP renderers) the box found, and a remote for the one
// playing: pause/resume, a seek bar and stop, following the TV's own state.

import { explain, get, post } from './api.js';
import { h, mount, setText, toast } from './dom.js';
import { clock } from './watching.js';

const POLL_MS = 2000;

/**
 * A "Play on…" card for torrent `torrentId` (file `fileIndex`); `position()` gives
 * where to start (the local player's time). Returns { el, stop }.
 */
export function playOn({ torrentId, fileIndex, position, onCast }) {
  const list = h('div', { class: 'row gap wrap', id: 'renderers' });
  const remote = h('div', { class: 'remote', id: 'remote' });
  const search = h('button', { type: 'button', class: 'secondary', id: 'find-tvs', onclick: () => find(true) }, 'Look for TVs');
  const el = h('section', { class: 'card', id: 'play-on' }, h('h2', { text: 'Play on…' }), list, search, remote);
  let timer = null;
  let stopped = false;

  async function find(fresh) {
    setText(search, 'Looking…');
    try {
      const tvs = await get(`/api/renderers${fresh ? '?refresh=1' : ''}`);
      if (stopped) return;
      mount(list, tvs.length ? tvs.map((tv) => h('button', {
        type: 'button', class: 'secondary renderer', dataset: { id: tv.id },
        title: [tv.manufacturer, tv.model, tv.address].filter(Boolean).join(' · '),
        onclick: () => cast(tv),
      }, `📺 ${tv.name}`)) : h('p', { class: 'muted small', text: 'No TV or renderer answered on the network.' }));
    } catch (e) {
      mount(list, h('p', { class: 'muted small', text: explain(e) }));
    } finally {
      setText(search, 'Look for TVs again');
    }
  }

  async function cast(tv) {
    try {
      const body = { torrent: torrentId, position_s: Math.floor(position() || 0) };
      if (fileIndex !== null && fileIndex !== undefined) body.file = fileIndex;
      await post(`/api/renderers/${tv.id}/play`, body);
      toast(`Playing on ${tv.name}`, 'ok');
      if (onCast) onCast(tv);
      showRemote(tv);
    } catch (e) {
      toast(explain(e), 'error');
    }
  }

  function showRemote(tv) {
    const state = h('span', { id: 'remote-state', text: '…' });
    const time = h('span', { class: 'mono small', id: 'remote-time', text: '' });
    const bar = h('input', { type: 'range', min: 0, max: 0, step: 1, value: 0, id: 'remote-seek', 'aria-label': 'Position on the TV', class: 'grow' });
    let dragging = false;
    bar.addEventListener('input', () => { dragging = true; setText(time, clock(bar.value)); });
    bar.addEventListener('change', async () => {
      dragging = false;
      try { await post(`/api/renderers/${tv.id}/seek`, { position_s: Number(bar.value) }); } catch (e) { toast(explain(e), 'error'); }
    });
    const act = (what) => async () => {
      try { await post(`/api/renderers/${tv.id}/${what}`); poll(); } catch (e) { toast(explain(e), 'error'); }
    };
    const pause = h('button', { type: 'button', class: 'secondary', id: 'remote-pause', onclick: act('pause') }, 'Pause');
    const resume = h('button', { type: 'button', class: 'secondary', id: 'remote-resume', onclick: act('resume') }, 'Play');
    const stop = h('button', { type: 'button', class: 'secondary', id: 'remote-stop', onclick: async () => { await act('stop')(); clearInterval(timer); } }, 'Stop');
    mount(remote, h('p', {}, h('strong', { text: tv.name }), ' · ', state), h('div', { class: 'row gap' }, bar, time),
      h('div', { class: 'row gap wrap' }, pause, resume, stop));
    async function poll() {
      try {
        const st = await get(`/api/renderers/${tv.id}/status`);
        setText(state, (st.state || '').replace(/_/g, ' ').toLowerCase());
        pause.hidden = st.state !== 'PLAYING';
        resume.hidden = st.state === 'PLAYING';
        if (st.duration_s) bar.max = Math.floor(st.duration_s);
        if (!dragging && st.position_s !== null && st.position_s !== undefined) {
          bar.value = Math.floor(st.position_s);
          setText(time, `${clock(st.position_s)} / ${clock(st.duration_s || 0)}`);
        }
      } catch (e) {
        setText(state, explain(e));
      }
    }
    clearInterval(timer);
    poll();
    timer = setInterval(poll, POLL_MS);
  }

  find(false);
  return { el, stop: () => { stopped = true; clearInterval(timer); } };
}
