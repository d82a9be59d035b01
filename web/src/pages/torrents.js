// The torrent list: the add box (magnet, URL, info-hash, .torrent file), filters, live
// rows with their controls, and a selection of several rows to start, stop or remove.

import { explain, post } from '../api.js';
import { h, mount, setText, toast } from '../dom.js';
import * as fmt from '../format.js';
import * as live from '../live.js';
import { breakable } from '../shared.js';
import { removeMany, removeTorrent, setRunning, toggleTorrent } from '../torrent-actions.js';
import { continueRow } from '../continue.js';

const SORTS = {
  added: (a, b) => (a.added_at < b.added_at ? -1 : a.added_at > b.added_at ? 1 : 0),
  name: (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base', numeric: true }),
  size: (a, b) => a.size - b.size,
  progress: (a, b) => a.progress - b.progress,
  speed: (a, b) => a.download_rate + a.upload_rate - (b.download_rate + b.upload_rate),
  seeds: (a, b) => a.seeds - b.seeds,
};

/** View settings survive navigation within the tab. */
const view = JSON.parse(sessionStorage.getItem('swarmcast.list') || '{"status":"","search":"","sort":"added","desc":true}');
view.category ??= '';

export function torrentsPage(main) {
  const rows = new Map();
  /** Ids of the selected rows; rows filtered out of view leave the selection. */
  const selected = new Set();
  const selection = selectionBar(selected, () => syncSelection());
  const list = h('ul', { class: 'torrents', 'aria-label': 'Torrents', id: 'torrent-list' });
  const empty = h('p', { class: 'empty muted', hidden: true });
  const counter = h('span', { class: 'muted small', 'aria-live': 'polite' });

  const search = h('input', { type: 'search', id: 'filter-search', placeholder: 'Search by name', 'aria-label': 'Search torrents', value: view.search });
  const status = h('select', { id: 'filter-status', 'aria-label': 'Filter by status' },
    h('option', { value: '', text: 'All' }),
    ['downloading', 'seeding', 'paused', 'metadata', 'checking', 'error'].map((s) =>
      h('option', { value: s, text: fmt.STATUS_LABEL[s], selected: view.status === s })));
  // Categories (labels) as the download clients (Sonarr, Radarr) file them.
  const category = h('select', { id: 'filter-category', 'aria-label': 'Filter by category' });
  const sort = h('select', { id: 'sort', 'aria-label': 'Sort by' },
    Object.keys(SORTS).map((k) => h('option', { value: k, text: `Sort: ${k}`, selected: view.sort === k })));
  const order = h('button', { type: 'button', class: 'secondary', id: 'sort-order' });
  const setOrderLabel = () => {
    order.textContent = view.desc ? '↓' : '↑';
    order.setAttribute('aria-label', view.desc ? 'Descending, switch to ascending' : 'Ascending, switch to descending');
  };
  setOrderLabel();
  const changed = () => {
    Object.assign(view, { search: search.value, status: status.value, category: category.value, sort: sort.value });
    sessionStorage.setItem('swarmcast.list', JSON.stringify(view));
    layout();
  };
  search.addEventListener('input', changed);
  status.addEventListener('change', changed);
  category.addEventListener('change', changed);
  sort.addEventListener('change', changed);
  order.addEventListener('click', () => {
    view.desc = !view.desc;
    setOrderLabel();
    changed();
  });

  mount(main,
    continueRow(),
    addBox(),
    h('section', { class: 'toolbar', 'aria-label': 'Filter and sort' }, search, status, category, sort, order, counter),
    selection.el,
    list,
    empty,
  );

  /** Shows the rows that pass the filter, in order, creating and dropping rows as needed. */
  function layout() {
    const needle = view.search.trim().toLowerCase();
    const all = [...live.torrents.values()];
    categoryOptions(all);
    const shown = all
      .filter((t) => !view.status || t.status === view.status)
      .filter((t) => !view.category || t.category === view.category)
      .filter((t) => !needle || t.name.toLowerCase().includes(needle) || t.id.includes(needle))
      .sort((a, b) => (view.desc ? -1 : 1) * SORTS[view.sort](a, b) || a.id.localeCompare(b.id));
    for (const [id, row] of rows) {
      if (!live.torrents.has(id)) {
        row.el.remove();
        rows.delete(id);
      }
    }
    const els = shown.map((t) => {
      let row = rows.get(t.id);
      if (!row) {
        row = torrentRow(t, (on) => {
          if (on) selected.add(t.id);
          else selected.delete(t.id);
          syncSelection();
        });
        rows.set(t.id, row);
      }
      row.update(t);
      return row.el;
    });
    const current = [...list.children];
    if (current.length !== els.length || current.some((el, i) => el !== els[i])) {
      // Re-append only when the order changed: moving nodes steals the keyboard focus.
      const focused = document.activeElement;
      for (const [id, row] of rows) if (!els.includes(row.el)) row.el.remove();
      els.forEach((el, i) => {
        if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null);
      });
      if (focused && focused !== document.activeElement && document.contains(focused)) focused.focus();
    }
    empty.hidden = els.length > 0;
    empty.textContent = all.length === 0
      ? 'No torrents yet. Paste a magnet link above or drop a .torrent file.'
      : 'No torrent matches this filter.';
    setText(counter, all.length ? `${els.length} of ${all.length}` : '');
    const visible = new Set(shown.map((t) => t.id));
    for (const id of selected) if (!visible.has(id)) selected.delete(id);
    syncSelection();
  }

  /** Shows the selection bar and ticks the rows of the current selection. */
  function syncSelection() {
    for (const [id, row] of rows) row.select(selected.has(id));
    const shownIds = [...list.children].map((el) => el.dataset.id);
    selection.update(shownIds);
  }

  /** The category choices: every category a torrent has, and the one chosen. */
  function categoryOptions(all) {
    const names = [...new Set(all.map((t) => t.category).filter(Boolean).concat(view.category || []))].sort();
    const key = names.join('\n');
    if (category.dataset.names === key) return;
    category.dataset.names = key;
    category.replaceChildren(h('option', { value: '', text: 'All categories' }),
      ...names.map((c) => h('option', { value: c, text: c, selected: view.category === c })));
    category.hidden = names.length === 0;
  }

  layout();
  return live.onRows((kind, arg) => {
    if (kind === 'row' && rows.has(arg.id) && !needsLayout(arg)) rows.get(arg.id).update(arg);
    else layout();
  });

  /** A row update needs a new layout when it may change its place or visibility. */
  function needsLayout(t) {
    return view.status !== '' || view.category !== '' || view.sort !== 'added' || view.search !== '' ? true : !rows.has(t.id);
  }
}

function torrentRow(t, onSelect) {
  const id = t.id;
  const name = h('a', { class: 'name', href: `/t/${id}` });
  const pick = h('input', { type: 'checkbox', class: 'pick', onchange: (e) => onSelect(e.target.checked) });
  const badge = h('span', { class: 'badge' });
  const cat = h('span', { class: 'category muted small', hidden: true });
  const fill = h('div', { class: 'fill' });
  const bar = h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-label': 'Progress' }, fill);
  const pct = h('span', { class: 'pct' });
  const stat = (label) => {
    const v = h('span', { class: 'v' });
    return [h('span', { class: 'stat' }, h('span', { class: 'k', text: label }), v), v];
  };
  const [downEl, down] = stat('↓');
  const [upEl, up] = stat('↑');
  const [peersEl, peers] = stat('Peers');
  const [etaEl, eta] = stat('ETA');
  const [sizeEl, size] = stat('Size');
  const [ratioEl, ratio] = stat('Ratio');
  const error = h('p', { class: 'row-error', hidden: true });
  const play = h('a', { class: 'button primary small play', href: `/play/${id}`, text: '▶ Play' });
  const toggle = h('button', { type: 'button', class: 'secondary small toggle' });
  const remove = h('button', { type: 'button', class: 'danger-outline small remove', text: 'Remove' });
  let current = t;
  toggle.addEventListener('click', () => toggleTorrent(current, toggle));
  remove.addEventListener('click', () => removeTorrent(current));
  const el = h('li', { class: 'torrent', dataset: { id } },
    h('div', { class: 'line1' }, pick, name, cat, badge),
    h('div', { class: 'line2' }, bar, pct),
    h('div', { class: 'stats' }, downEl, upEl, peersEl, etaEl, sizeEl, ratioEl),
    error,
    h('div', { class: 'actions' }, play, toggle, remove),
  );
  let shownName = null;
  function update(nt) {
    current = nt;
    el.dataset.status = nt.status;
    if (shownName !== (nt.name || nt.id)) {
      shownName = nt.name || nt.id;
      mount(name, breakable(shownName));
    }
    pick.setAttribute('aria-label', `Select ${shownName}`);
    setText(badge, fmt.STATUS_LABEL[nt.status] || nt.status);
    setText(cat, nt.category || '');
    cat.hidden = !nt.category;
    badge.className = `badge ${nt.status}`;
    const p = Math.min(100, Math.max(0, nt.progress || 0));
    fill.style.width = `${p}%`;
    bar.setAttribute('aria-valuenow', String(p));
    setText(pct, fmt.percent(p));
    setText(down, fmt.rate(nt.download_rate));
    setText(up, fmt.rate(nt.upload_rate));
    setText(peers, fmt.peers(nt));
    setText(eta, nt.status === 'downloading' ? fmt.duration(nt.eta) : '–');
    setText(size, nt.size ? fmt.bytes(nt.size) : '–');
    setText(ratio, fmt.ratio(nt.ratio));
    error.hidden = !nt.error;
    setText(error, nt.error || '');
    play.hidden = nt.video_file === null || nt.video_file === undefined;
    const paused = nt.status === 'paused' || nt.status === 'error';
    setText(toggle, paused ? 'Start' : 'Stop');
    toggle.setAttribute('aria-label', `${paused ? 'Start' : 'Stop'} ${nt.name}`);
    remove.setAttribute('aria-label', `Remove ${nt.name}`);
    play.setAttribute('aria-label', `Play ${nt.name}`);
  }
  const select = (on) => {
    pick.checked = on;
    el.classList.toggle('selected', on);
  };
  return { el, update, select };
}

/**
 * The bar over the list: "select all shown", and once rows are chosen, how many, and
 * Start, Stop and Remove for all of them.
 */
function selectionBar(selected, changed) {
  let shown = [];
  const all = h('input', { type: 'checkbox', id: 'select-all', 'aria-label': 'Select every torrent shown' });
  const count = h('span', { class: 'muted small', id: 'selection-count', 'aria-live': 'polite' });
  const chosen = () => [...selected].map((id) => live.torrents.get(id)).filter(Boolean);
  const act = (label, id, cls, fn) => h('button', {
    type: 'button', class: `${cls} small`, id, text: label,
    async onclick(e) {
      e.target.disabled = true;
      try {
        await fn(chosen());
      } finally {
        e.target.disabled = false;
      }
    },
  });
  const actions = h('div', { class: 'row gap wrap', hidden: true },
    act('Start', 'bulk-start', 'secondary', (ts) => setRunning(ts, true)),
    act('Stop', 'bulk-stop', 'secondary', (ts) => setRunning(ts, false)),
    act('Remove…', 'bulk-remove', 'danger-outline', async (ts) => {
      if (await removeMany(ts)) {
        selected.clear();
        changed();
      }
    }),
    h('button', { type: 'button', class: 'link small', id: 'bulk-clear', text: 'Clear selection', onclick: () => { selected.clear(); changed(); } }));
  all.addEventListener('change', () => {
    if (all.checked) shown.forEach((id) => selected.add(id));
    else selected.clear();
    changed();
  });
  const el = h('section', { class: 'selection row gap wrap', 'aria-label': 'Selected torrents', hidden: true },
    h('label', { class: 'check' }, all, ' Select all'), count, actions);
  function update(ids) {
    shown = ids;
    el.hidden = ids.length === 0;
    const n = selected.size;
    all.checked = n > 0 && ids.every((id) => selected.has(id));
    all.indeterminate = n > 0 && !all.checked;
    actions.hidden = n === 0;
    setText(count, n ? `${n} selected` : '');
  }
  return { el, update };
}

/** The add box: one field for magnet / URL / info-hash, and .torrent by drop or pick. */
function addBox() {
  const input = h('input', {
    id: 'add-input', name: 'uri', autocomplete: 'off', spellcheck: false, required: true,
    placeholder: 'Magnet link, .torrent URL or info-hash', 'aria-label': 'Magnet link, .torrent URL or info-hash',
  });
  const addButton = h('button', { type: 'submit', class: 'primary', id: 'add-button', text: 'Add' });
  const error = h('p', { class: 'error', role: 'alert', id: 'add-error', hidden: true });
  const file = h('input', { type: 'file', accept: '.torrent,application/x-bittorrent', class: 'visually-hidden', id: 'torrent-file' });
  const pick = h('label', { for: 'torrent-file', class: 'button secondary', tabindex: 0, text: 'Choose .torrent file' });
  pick.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      file.click();
    }
  });

  const showError = (e) => {
    error.textContent = explain(e);
    error.hidden = false;
  };
  const added = (t, how) => {
    live.upsert(t);
    error.hidden = true;
    toast(`Added “${t.name || t.id}”${how}`, 'ok', 3000);
  };
  const conflict = (e) => {
    const id = e.body?.id || e.body?.error?.id;
    if (e.code === 'CONFLICT' && id) {
      error.hidden = false;
      mount(error, 'This torrent is already on the box. ', h('a', { href: `/t/${id}`, text: 'Open it' }));
      return true;
    }
    return false;
  };

  const form = h('form', {
    class: 'add-form',
    async onsubmit(e) {
      e.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      const body = /^[0-9a-fA-F]{40}$|^[A-Za-z2-7]{32}$/.test(value) ? { info_hash: value }
        : value.startsWith('magnet:') ? { magnet_uri: value } : { uri: value };
      addButton.disabled = true;
      try {
        const t = await post('/api/torrents/', body);
        input.value = '';
        added(t, t.status === 'metadata' ? ': fetching its metadata' : '');
      } catch (err) {
        if (!conflict(err)) showError(err);
      } finally {
        addButton.disabled = false;
      }
    },
  }, input, addButton);

  async function upload(f) {
    if (!f) return;
    if (!/\.torrent$/i.test(f.name) && f.type !== 'application/x-bittorrent') {
      showError(new Error(`“${f.name}” is not a .torrent file.`));
      return;
    }
    const data = new FormData();
    data.append('file', f, f.name);
    try {
      const t = await post('/api/torrents/upload', data);
      added(t, '');
    } catch (err) {
      if (!conflict(err)) showError(err);
    } finally {
      file.value = '';
    }
  }
  file.addEventListener('change', () => upload(file.files[0]));

  const box = h('section', { class: 'card add', 'aria-label': 'Add a torrent' },
    form,
    h('div', { class: 'row gap wrap' }, pick, file, h('span', { class: 'muted small drop-hint', text: 'or drop a .torrent file anywhere on this box' })),
    error,
  );
  // The whole box is a drop zone; it lights up while a file is dragged over it.
  let depth = 0;
  box.addEventListener('dragenter', (e) => {
    e.preventDefault();
    depth++;
    box.classList.add('dragging');
  });
  box.addEventListener('dragover', (e) => e.preventDefault());
  box.addEventListener('dragleave', () => {
    if (--depth <= 0) box.classList.remove('dragging'), (depth = 0);
  });
  box.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    box.classList.remove('dragging');
    const f = e.dataTransfer?.files?.[0];
    if (f) upload(f);
    else {
      const text = e.dataTransfer?.getData('text/plain');
      if (text) input.value = text.trim();
    }
  });
  return box;
}
