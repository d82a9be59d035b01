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

/**
 * Marks a table to turn into cards on phones: each cell gets its column's heading as
 * `data-label`, which the phone stylesheet shows before the value.
 */
export function cardTable(table) {
  table.classList.add('cards');
  const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim());
  for (const tr of table.querySelectorAll('tbody tr')) {
    [...tr.children].forEach((td, i) => {
      if (!td.hasAttribute('data-label')) td.dataset.label = heads[i] || '';
    });
  }
  return table;
}

/**
 * A name that wraps at word boundaries: spaces, and after the dots, dashes, underscores
 * and slashes that join the words of file names (`My.Film.2024.1080p.mkv`).
 */
export function breakable(name) {
  const out = [];
  for (const piece of String(name).split(/([._\-/\\])/)) {
    if (/^[._\-/\\]$/.test(piece)) out.push(piece, h('wbr'));
    else if (piece) out.push(piece);
  }
  return out;
}

/**
 * Shows an error at the field it names. The daemon's messages start with the key they
 * are about (`seeding.action: "x" is not one of …`, `ratio_limit: must be …`); a
 * message that names no field of this form shows in `general`. `fields`: a list of
 * `{key, input, err}` with `err` an element under the input.
 */
export function fieldErrors(fields, general) {
  const clear = () => {
    general.hidden = true;
    for (const f of fields) {
      f.err.hidden = true;
      f.input.removeAttribute('aria-invalid');
      f.input.removeAttribute('aria-errormessage');
    }
  };
  const show = (message) => {
    clear();
    const m = /^\s*([A-Za-z0-9_.[\]]+)\s*:\s*(.*)$/s.exec(message);
    const key = m ? m[1].toLowerCase().replace(/\[\d+\].*$/, '') : '';
    const f = key && (fields.find((x) => x.key === key) || fields.find((x) => key.startsWith(`${x.key}.`)));
    if (!f) {
      general.textContent = message;
      general.hidden = false;
      general.scrollIntoView({ block: 'nearest' });
      return;
    }
    const text = m[2].trim();
    f.err.textContent = text.charAt(0).toUpperCase() + text.slice(1);
    f.err.hidden = false;
    f.input.setAttribute('aria-invalid', 'true');
    f.input.setAttribute('aria-errormessage', f.err.id);
    f.input.scrollIntoView({ block: 'center' });
    f.input.focus({ preventScroll: true });
  };
  return { show, clear, general };
}
