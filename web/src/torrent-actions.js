// Start, stop and remove, shared by the list and the details page.

import { del, explain, post } from './api.js';
import { h, ask, toast } from './dom.js';
import * as fmt from './format.js';
import * as live from './live.js';

/** Starts a stopped torrent or stops a running one. */
export async function toggleTorrent(t, button) {
  const paused = t.status === 'paused' || t.status === 'error';
  if (button) button.disabled = true;
  try {
    live.upsert(await post(`/api/torrents/${t.id}/${paused ? 'start' : 'stop'}`));
  } catch (e) {
    toast(explain(e), 'error');
  } finally {
    if (button) button.disabled = false;
  }
}

/**
 * Asks how to remove a torrent: keep the data, or delete it (a second, explicit
 * choice). Resolves to true when the torrent was removed.
 */
export async function removeTorrent(t) {
  const choice = await ask({
    title: `Remove “${t.name || t.id}”?`,
    body: [
      h('p', { text: 'Keep the data to go on using the downloaded files, or delete them from the box.' }),
      t.downloaded ? h('p', { class: 'muted small', text: `${fmt.bytes(t.downloaded)} downloaded.` }) : null,
    ],
    buttons: [
      { value: 'keep', label: 'Remove, keep data', class: 'secondary' },
      { value: 'delete', label: 'Delete data…', class: 'danger' },
    ],
  });
  if (!choice) return false;
  if (choice === 'delete') {
    const sure = await ask({
      title: 'Delete the data permanently?',
      body: h('p', { text: `The files of “${t.name || t.id}” will be deleted from the box. This cannot be undone.` }),
      buttons: [{ value: 'yes', label: 'Delete torrent and data', class: 'danger' }],
    });
    if (sure !== 'yes') return false;
  }
  try {
    await del(`/api/torrents/${t.id}?delete_files=${choice === 'delete'}`);
    live.forget(t.id);
    toast(choice === 'delete' ? `Deleted “${t.name}” and its data` : `Removed “${t.name}”; its data is kept`, 'ok', 3000);
    return true;
  } catch (e) {
    toast(explain(e), 'error');
    return false;
  }
}
