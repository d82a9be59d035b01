// The activity log of the whole box, live.

import { explain, get } from '../api.js';
import { h, mount } from '../dom.js';
import * as live from '../live.js';
import { activityItem } from '../shared.js';

export function activityPage(main) {
  const list = h('ol', { class: 'activity' });
  mount(main, h('section', { class: 'card' }, h('h1', { text: 'Activity' }), list));
  const item = (e) => {
    const li = activityItem(e);
    if (e.torrent_id) li.append(' ', h('a', { href: `/t/${e.torrent_id}`, text: e.name || e.torrent_id.slice(0, 12) }));
    return li;
  };
  get('/api/activity?limit=200').then((entries) => {
    if (!entries.length) list.append(h('li', { class: 'muted', text: 'Nothing has happened yet.' }));
    for (const e of entries) list.append(item(e));
  }).catch((e) => list.append(h('li', { class: 'error', text: explain(e) })));
  return live.onActivity((e) => {
    list.querySelector('li.muted')?.remove();
    list.prepend(item(e));
  });
}
