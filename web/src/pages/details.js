// One torrent: summary, live speed graph, files with per-file progress, choice, Play
// and M3U, its own limits, folder and seeding rule, peers, and its activity history.

import { ApiError, explain, get, post } from '../api.js';
import { h, mount, setText, toast } from '../dom.js';
import * as fmt from '../format.js';
import * as live from '../live.js';
import { speedGraph } from '../graph.js';
import { navigate } from '../router.js';
import { activityItem, breakable, cardTable, copy } from '../shared.js';
import { removeTorrent, toggleTorrent } from '../torrent-actions.js';
import { torrentSettings } from '../torrent-settings.js';

export function detailsPage(main, id) {
  let t = live.torrents.get(id);
  let stopped = false;
  const timers = [];
  const unsubs = [];
  mount(main, h('p', { class: 'muted', text: 'Loading…' }));

  const start = (torrent) => {
    t = torrent;
    render();
  };
  if (t) start(t);
  else {
    get(`/api/torrents/${id}`).then(start).catch((e) => {
      if (stopped) return;
      mount(main, h('section', { class: 'card' },
        h('h1', { text: e instanceof ApiError && e.status === 404 ? 'Torrent not found' : 'Cannot load this torrent' }),
        h('p', { text: explain(e) }), h('a', { href: '/', text: 'Back to the torrents' })));
    });
  }

  function render() {
    const title = h('h1', { class: 'title' });
    const badge = h('span', { class: 'badge' });
    const play = h('a', { class: 'button primary', href: `/play/${id}`, text: '▶ Play' });
    const toggle = h('button', { type: 'button', class: 'secondary', onclick: () => toggleTorrent(t, toggle) });
    const remove = h('button', {
      type: 'button', class: 'danger-outline',
      async onclick() {
        if (await removeTorrent(t)) navigate('/', { replace: true });
      },
    }, 'Remove');
    const fill = h('div', { class: 'fill' });
    const bar = h('div', { class: 'bar big', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-label': 'Progress' }, fill);
    const facts = {};
    const fact = (key, label) => {
      facts[key] = h('dd');
      return h('div', {}, h('dt', { text: label }), facts[key]);
    };
    const graph = speedGraph();
    const legend = h('p', { class: 'legend small' },
      h('span', { class: 'key down' }), 'Download ', h('strong', { id: 'rate-down' }),
      h('span', { class: 'key up' }), 'Upload ', h('strong', { id: 'rate-up' }));
    const files = h('div', { class: 'files' });
    const peers = h('div', { class: 'peers' });
    const activity = h('ol', { class: 'activity' });
    const error = h('p', { class: 'error', role: 'alert', hidden: true });

    mount(main,
      h('nav', { class: 'crumbs small' }, h('a', { href: '/', text: '← Torrents' })),
      h('section', { class: 'card summary' },
        h('div', { class: 'row between wrap gap' }, h('div', { class: 'title-wrap' }, title, badge), h('div', { class: 'row gap wrap' }, play, toggle, remove)),
        h('div', { class: 'line2' }, bar, h('span', { class: 'pct', id: 'detail-pct' })),
        error,
        h('dl', { class: 'facts' },
          fact('downloaded', 'Downloaded'), fact('uploaded', 'Uploaded'), fact('peers', 'Peers'),
          fact('eta', 'ETA'), fact('ratio', 'Ratio'), fact('added', 'Added'), fact('completed', 'Completed')),
        h('p', { class: 'small row gap wrap' },
          h('a', { href: `/api/torrents/${id}/torrent`, download: true, text: 'Download .torrent' }),
          h('button', { type: 'button', class: 'link', onclick: () => copy(t.magnet_uri, 'Magnet link copied') }, 'Copy magnet link')),
      ),
      h('section', { class: 'card' }, h('h2', { text: 'Speed' }), graph.canvas, legend),
      h('section', { class: 'card' }, h('h2', { text: 'Files' }), files),
      torrentSettings(id),
      h('section', { class: 'card' }, h('h2', { text: 'Peers' }), peers),
      h('section', { class: 'card' }, h('h2', { text: 'Activity' }), activity),
    );

    const fileView = filesTable(id, files);
    // The peers table follows the torrent's own count: when the count changes, the
    // table is fetched again at once rather than at its next poll.
    let peersShownFor = null;
    let loadPeers = () => {};
    function update(nt) {
      t = nt;
      main.querySelector('.summary').dataset.status = nt.status;
      document.title = `${nt.name} · swarmcast`;
      if (title.textContent !== (nt.name || nt.id)) mount(title, breakable(nt.name || nt.id));
      setText(badge, fmt.STATUS_LABEL[nt.status] || nt.status);
      badge.className = `badge ${nt.status}`;
      const p = Math.min(100, nt.progress || 0);
      fill.style.width = `${p}%`;
      bar.setAttribute('aria-valuenow', String(p));
      setText(main.querySelector('#detail-pct'), fmt.percent(p));
      setText(facts.downloaded, `${fmt.bytes(nt.downloaded)} of ${nt.size ? fmt.bytes(nt.size) : '?'}`);
      setText(facts.uploaded, fmt.bytes(nt.uploaded));
      setText(facts.peers, fmt.peers(nt));
      setText(facts.eta, nt.status === 'downloading' ? fmt.duration(nt.eta) : '–');
      setText(facts.ratio, fmt.ratio(nt.ratio));
      setText(facts.added, fmt.time(nt.added_at));
      setText(facts.completed, nt.completed_at ? fmt.time(nt.completed_at) : '–');
      setText(legend.querySelector('#rate-down'), fmt.rate(nt.download_rate));
      setText(legend.querySelector('#rate-up'), fmt.rate(nt.upload_rate));
      error.hidden = !nt.error;
      setText(error, nt.error || '');
      play.hidden = nt.video_file === null || nt.video_file === undefined;
      const paused = nt.status === 'paused' || nt.status === 'error';
      setText(toggle, paused ? 'Start' : 'Stop');
      fileView.update(nt);
      if (peersShownFor !== null && peersShownFor !== `${nt.peers}/${nt.seeds}`) loadPeers();
    }
    update(t);

    unsubs.push(live.onRows((kind, arg) => {
      if (kind === 'removed' && arg === id) {
        toast(`“${t.name}” was removed`, 'info');
        navigate('/', { replace: true });
      } else if ((kind === 'row' && arg.id === id) || (kind === 'all' && live.torrents.has(id))) {
        update(live.torrents.get(id));
      }
    }));
    // The graph gets a sample every second even when no change was pushed.
    timers.push(setInterval(() => graph.push(t.download_rate, t.upload_rate), 1000));
    graph.push(t.download_rate, t.upload_rate);
    window.addEventListener('resize', graph.draw);
    unsubs.push(() => window.removeEventListener('resize', graph.draw));

    loadPeers = async () => {
      if (document.hidden) return;
      peersShownFor = `${t.peers}/${t.seeds}`;
      try {
        const list = await get(`/api/torrents/${id}/peers`);
        if (!stopped) peersTable(peers, list, t);
      } catch (e) {
        if (!stopped) mount(peers, h('p', { class: 'muted', text: explain(e) }));
      }
    };
    loadPeers();
    timers.push(setInterval(loadPeers, 3000));

    get(`/api/activity?torrent=${id}&limit=50`).then((entries) => {
      if (stopped) return;
      if (!entries.length) activity.append(h('li', { class: 'muted', text: 'Nothing yet.' }));
      for (const e of entries) activity.append(activityItem(e));
    }).catch((e) => activity.append(h('li', { class: 'error', text: explain(e) })));
    unsubs.push(live.onActivity((e) => {
      if (e.torrent_id !== id) return;
      activity.querySelector('li.muted')?.remove();
      activity.prepend(activityItem(e));
    }));
  }

  return () => {
    stopped = true;
    timers.forEach(clearInterval);
    unsubs.forEach((u) => u());
    document.title = 'swarmcast';
  };
}

/** The file list with per-file progress, and a choice of files once metadata is known. */
function filesTable(id, box) {
  let shownFor = '';
  const checks = new Map();
  const progress = new Map();
  const apply = h('button', { type: 'button', class: 'primary small', hidden: true, text: 'Download selected files' });
  const note = h('p', { class: 'muted small' });

  apply.addEventListener('click', async () => {
    const files = [...checks].filter(([, c]) => c.checked).map(([i]) => i);
    if (!files.length) {
      toast('Choose at least one file, or stop the torrent instead.', 'error');
      return;
    }
    apply.disabled = true;
    try {
      live.upsert(await post(`/api/torrents/${id}/files`, { files }));
      apply.hidden = true;
      toast('File selection saved', 'ok', 2500);
    } catch (e) {
      toast(explain(e), 'error');
    } finally {
      apply.disabled = false;
    }
  });

  function update(t) {
    if (!t.files?.length) {
      if (shownFor !== 'none') mount(box, h('p', { class: 'muted', text: 'The file list appears once the metadata arrives.' }));
      shownFor = 'none';
      return;
    }
    const key = t.files.map((f) => `${f.index}:${f.name}:${f.selected !== false}`).join('|');
    if (key !== shownFor) {
      shownFor = key;
      checks.clear();
      progress.clear();
      const rows = t.files.map((f) => {
        const check = h('input', { type: 'checkbox', checked: f.selected !== false, 'aria-label': `Download ${f.name}`, onchange: () => (apply.hidden = false) });
        checks.set(f.index, check);
        const fill = h('div', { class: 'fill' });
        const pct = h('span', { class: 'pct' });
        progress.set(f.index, [fill, pct]);
        const base = f.name.split(/[\\/]/).pop();
        const play = f.is_video && f.selected !== false ? [
          h('a', { class: 'button secondary small file-play', href: `/play/${id}?file=${f.index}`, 'aria-label': `Play ${base}`, text: '▶ Play' }),
          h('a', {
            class: 'button secondary small file-m3u', href: `/api/playlist.m3u?torrent=${id}&file=${f.index}`,
            download: `${base.replace(/\.[^.]+$/, '')}.m3u`, 'aria-label': `M3U playlist of ${base}`, text: 'M3U',
          }),
        ] : [];
        return h('tr', { dataset: { index: f.index } },
          h('td', { class: 'sel', 'data-label': 'Download' }, check),
          h('td', { class: 'fname' }, breakable(f.name), f.is_video ? h('span', { class: 'tag', text: 'video' }) : null),
          h('td', { class: 'num' }, fmt.bytes(f.size)),
          h('td', { class: 'fprog' }, h('div', { class: 'line2' }, h('div', { class: 'bar' }, fill), pct)),
          h('td', { class: 'factions' }, h('div', { class: 'row gap' }, play)),
        );
      });
      mount(box,
        h('div', { class: 'table-wrap' }, cardTable(h('table', { class: 'files-table' },
          h('thead', {}, h('tr', {}, h('th', { class: 'sel' }, h('span', { class: 'visually-hidden', text: 'Download' })), h('th', { text: 'Name' }), h('th', { class: 'num', text: 'Size' }), h('th', { text: 'Progress' }), h('th', {}, h('span', { class: 'visually-hidden', text: 'Play' })))),
          h('tbody', {}, rows)))),
        h('div', { class: 'row gap' }, apply, note),
      );
    }
    for (const f of t.files) {
      const [fill, pct] = progress.get(f.index) || [];
      if (!fill) continue;
      fill.style.width = `${Math.min(100, f.progress)}%`;
      setText(pct, fmt.percent(f.progress));
      if (apply.hidden) checks.get(f.index).checked = f.selected !== false;
    }
  }
  return { update };
}

/**
 * The connected peers. The count above the table is the torrent's own (the same the
 * list and the summary show); the table lists the peers the engine has at this moment.
 */
function peersTable(box, peers, t) {
  const count = h('p', { class: 'muted small', id: 'peers-count', text: `Connected: ${fmt.peers(t)}` });
  if (!peers.length) {
    mount(box, count, h('p', { class: 'muted', text: t.peers ? 'The peers are between two updates; the list follows in a moment.' : 'No peers connected.' }));
    return;
  }
  mount(box, count, h('div', { class: 'table-wrap' }, cardTable(h('table', {},
    h('thead', {}, h('tr', {}, ['Address', 'Client', 'Has', 'Down', 'Up'].map((c, i) => h('th', { class: i > 1 ? 'num' : null, text: c })))),
    h('tbody', {}, peers.map((p) => h('tr', {},
      h('td', { class: 'mono', text: `${p.ip}:${p.port}` }),
      h('td', { text: p.client || '–' }),
      h('td', { class: 'num', text: p.progress === null || p.progress === undefined ? '–' : fmt.percent(p.progress) }),
      h('td', { class: 'num', text: fmt.rate(p.down_speed) }),
      h('td', { class: 'num', text: fmt.rate(p.up_speed) }),
    )))))));
}
