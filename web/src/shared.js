// Helpers several pages use: copying to the clipboard, one activity-log line, and
// loading a page's data with the "not available" fallback.

import { ApiError, explain, get, markAbsent } from './api.js';
import { h, mount, toast } from './dom.js';
import * as fmt from './format.js';

/** One line of an activity log. */
export function activityItem(e) {
  return h('li', {},
    h('time', { datetime: e.time, class: 'muted small', text: fmt.time(e.time) }), ' ',
    h('strong', { text: e.event.replace(/_/g, ' ') }),
    e.detail ? h('span', { class: 'muted', text: ` — ${e.detail}` }) : null);
}

/** Copies text, with a fallback for plain-HTTP pages where the Clipboard API is absent. */
export async function copy(text, done = 'Copied') {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
    } else {
      const ta = h('textarea', { class: 'visually-hidden', readonly: true }, text);
      document.body.append(ta);
      ta.select();
      const ok = document.execCommand('copy');
      ta.remove();
      if (!ok) throw new Error('copy refused');
    }
    toast(done, 'ok', 2500);
  } catch {
    toast('The browser refused to copy; select the text and copy it by hand.', 'error');
  }
}

/** Loads a page's data; on a missing route shows "not available" and hides the entry. */
export async function loadPage(main, feature, path) {
  try {
    return await get(path);
  } catch (e) {
    if (e instanceof ApiError && e.noRoute) {
      markAbsent(feature);
      mount(main, h('section', { class: 'card' }, h('h1', { text: 'Not available' }),
        h('p', { text: 'This box’s daemon does not offer this page yet.' })));
    } else {
      mount(main, h('section', { class: 'card' }, h('h1', { text: 'Cannot load this page' }), h('p', { class: 'error', text: explain(e) })));
    }
    return undefined;
  }
}
