// Search the configured indexers and add a result in one click.

import { ApiError, explain, get, markAbsent, post } from '../api.js';
import { h, mount, toast } from '../dom.js';
import * as fmt from '../format.js';
import * as live from '../live.js';
import { breakable, cardTable } from '../shared.js';

export function searchPage(main) {
  const query = h('input', { type: 'search', id: 'search-query', required: true, placeholder: 'Film title or IMDb id (tt…)', 'aria-label': 'Search', autocomplete: 'off' });
  const results = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'primary', text: 'Search' });
  const form = h('form', {
    class: 'row gap',
    async onsubmit(e) {
      e.preventDefault();
      const q = query.value.trim();
      if (!q) return;
      const param = /^tt\d+$/.test(q) ? `imdbId=${encodeURIComponent(q)}` : `query=${encodeURIComponent(q)}`;
      button.disabled = true;
      mount(results, h('p', { class: 'muted', text: 'Searching…' }));
      try {
        show(await get(`/api/search?${param}`));
      } catch (err) {
        if (err instanceof ApiError && err.noRoute) {
          markAbsent('search');
          mount(main, h('section', { class: 'card' }, h('h1', { text: 'Search is not available' }), h('p', { text: 'No search indexer is configured on this box.' })));
          return;
        }
        mount(results, h('p', { class: 'error', role: 'alert', text: explain(err) }));
      } finally {
        button.disabled = false;
      }
    },
  }, query, button);
  mount(main, h('section', { class: 'card' }, h('h1', { text: 'Search' }), form, results));
  query.focus();

  function show(items) {
    if (!items.length) {
      mount(results, h('p', { class: 'muted', text: 'Nothing found.' }));
      return;
    }
    mount(results, h('div', { class: 'table-wrap' }, cardTable(h('table', {},
      h('thead', {}, h('tr', {}, ['Title', 'Size', 'Seeds', 'Peers', 'Indexer', 'Actions'].map((c, i) => h('th', {}, i === 5 ? h('span', { class: 'visually-hidden', text: c }) : c)))),
      h('tbody', {}, items.map((r) => h('tr', {},
        h('td', { class: 'fname' }, breakable(r.title)), h('td', { class: 'num', text: fmt.bytes(r.size) }),
        h('td', { class: 'num', text: r.seeders ?? '–' }), h('td', { class: 'num', text: r.leechers ?? '–' }),
        h('td', { text: r.indexer || '' }),
        h('td', {}, h('button', {
          type: 'button', class: 'secondary small', 'aria-label': `Add ${r.title}`,
          async onclick(e) {
            e.target.disabled = true;
            try {
              const body = r.magnet_uri ? { magnet_uri: r.magnet_uri } : { info_hash: r.info_hash };
              live.upsert(await post('/api/torrents/', body));
              toast(`Added “${r.title}”`, 'ok', 2500);
            } catch (err) {
              toast(explain(err), 'error');
              e.target.disabled = false;
            }
          },
        }, 'Add')))))))));
  }
}
