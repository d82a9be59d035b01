// "Continue watching": the films and episodes the user stopped in, most recent first,
// as a row above the torrent list.

import { get } from './api.js';
import { h, mount } from './dom.js';
import { clock } from './watching.js';

const SHOWN = 8;

/** The row (hidden while empty); fills itself from `GET /api/watch`. */
export function continueRow() {
  const row = h('ul', { class: 'continue-list row gap wrap' });
  const el = h('div', { class: 'card continue', id: 'continue-watching', role: 'region', 'aria-label': 'Continue watching', hidden: true },
    h('h2', { text: 'Continue watching' }), row);
  get('/api/watch').then((items) => {
    const open = (items || []).filter((w) => !w.watched && w.position_s > 5).slice(0, SHOWN);
    if (!open.length) return;
    mount(row, open.map((w) => {
      const pct = w.duration_s ? Math.min(100, (100 * w.position_s) / w.duration_s) : 0;
      return h('li', { class: 'continue-item', dataset: { torrent: w.torrent_id, file: w.file_index } },
        h('a', { href: `/play/${w.torrent_id}?file=${w.file_index}`, class: 'continue-link' },
          h('span', { class: 'fname', text: w.name.split('/').pop() }),
          h('span', { class: 'muted small', text: w.duration_s ? `${clock(w.position_s)} of ${clock(w.duration_s)}` : `at ${clock(w.position_s)}` }),
          h('progress', { max: 100, value: pct, 'aria-label': `${Math.round(pct)} % watched` })));
    }));
    el.hidden = false;
  }).catch(() => {});
  return el;
}
