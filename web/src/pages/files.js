// The file browser: a folder of the download dir, its sub-folders as links, files to
// open, and an upload button that sends files into the folder shown.

import { explain, get, post } from '../api.js';
import { h, mount, toast } from '../dom.js';
import { bytes } from '../format.js';

export function filesPage(main) {
  const path = new URLSearchParams(location.search).get('path') || '';
  const list = h('ul', { class: 'files' });
  const input = h('input', { type: 'file', multiple: true, hidden: true });
  const button = h('button', { type: 'button', text: 'Upload…' });
  button.addEventListener('click', () => input.click());
  input.addEventListener('change', async () => {
    if (!input.files.length) return;
    const form = new FormData();
    form.append('path', path);
    for (const f of input.files) form.append('file', f, f.name);
    button.disabled = true;
    try {
      const done = await post('/api/files/upload', form);
      toast(`Uploaded ${done.map((f) => f.name).join(', ')}`);
      load();
    } catch (e) {
      toast(explain(e), 'error');
    } finally {
      button.disabled = false;
      input.value = '';
    }
  });
  const up = path ? h('a', { href: `/files?path=${encodeURIComponent(path.split('/').slice(0, -1).join('/'))}`, text: '↑ up' }) : '';
  mount(main, h('section', { class: 'card' }, h('h1', { text: `Files${path ? `: ${path}` : ''}` }), h('p', {}, up, ' ', button, input), list));
  function load() {
    get(`/api/files?path=${encodeURIComponent(path)}`).then((entries) => {
      list.replaceChildren();
      if (!entries.length) list.append(h('li', { class: 'muted', text: 'This folder is empty.' }));
      for (const e of entries) {
        const sub = path ? `${path}/${e.name}` : e.name;
        const link = e.type === 'dir'
          ? h('a', { href: `/files?path=${encodeURIComponent(sub)}`, text: `${e.name}/` })
          : h('a', { href: `/api/files/content?path=${encodeURIComponent(sub)}`, text: e.name, target: '_blank', 'data-external': '' });
        list.append(h('li', {}, link, e.type === 'dir' ? '' : ` ${bytes(e.size)}`));
      }
    }).catch((e) => list.replaceChildren(h('li', { class: 'error', text: explain(e) })));
  }
  load();
}
