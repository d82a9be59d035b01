// Start, stop and remove, one torrent or several, shared by the list and the details page.

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

/** Starts (`run`) or stops several torrents; says how many it could not. */
export async function setRunning(list, run) {
  const todo = list.filter((t) => (t.status === 'paused' || t.status === 'error') === run);
  const failed = [];
  await Promise.all(todo.map(async (t) => {
    try {
      live.upsert(await post(`/api/torrents/${t.id}/${run ? 'start' : 'stop'}`));
    } catch (e) {
      failed.push(`${t.name || t.id}: ${explain(e)}`);
    }
  }));
  if (failed.length) toast(`${failed.length} of ${todo.length} could not ${run ? 'start' : 'stop'}. ${failed[0]}`, 'error');
  else toast(todo.length ? `${run ? 'Started' : 'Stopped'} ${plural(todo.length)}` : `Nothing to ${run ? 'start' : 'stop'}`, 'ok', 2500);
}

/**
 * Removes several torrents after one question (keep or delete the data; deleting asks
 * again). Resolves to true when every one was removed.
 */
export async function removeMany(list) {
  if (!list.length) return false;
  if (list.length === 1) return removeTorrent(list[0]);
  const names = list.slice(0, 5).map((t) => h('li', { text: t.name || t.id }));
  const choice = await ask({
    title: `Remove ${plural(list.length)}?`,
    body: [h('ul', { class: 'small' }, names, list.length > 5 ? h('li', { text: `and ${list.length - 5} more` }) : null),
      h('p', { text: 'Keep the data to go on using the downloaded files, or delete them from the box.' })],
    buttons: [
      { value: 'keep', label: 'Remove, keep data', class: 'secondary' },
      { value: 'delete', label: 'Delete data…', class: 'danger' },
    ],
  });
  if (!choice) return false;
  if (choice === 'delete') {
    const sure = await ask({
      title: 'Delete the data permanently?',
      body: h('p', { text: `The files of ${plural(list.length)} will be deleted from the box. This cannot be undone.` }),
      buttons: [{ value: 'yes', label: `Delete ${plural(list.length)} and data`, class: 'danger' }],
    });
    if (sure !== 'yes') return false;
  }
  const failed = [];
  await Promise.all(list.map(async (t) => {
    try {
      await del(`/api/torrents/${t.id}?delete_files=${choice === 'delete'}`);
      live.forget(t.id);
    } catch (e) {
      failed.push(`${t.name || t.id}: ${explain(e)}`);
    }
  }));
  if (failed.length) {
    toast(`${failed.length} of ${list.length} could not be removed. ${failed[0]}`, 'error');
    return false;
  }
  toast(choice === 'delete' ? `Deleted ${plural(list.length)} and their data` : `Removed ${plural(list.length)}; their data is kept`, 'ok', 3000);
  return true;
}

function plural(n) {
  return n === 1 ? '1 torrent' : `${n} torrents`;
}
