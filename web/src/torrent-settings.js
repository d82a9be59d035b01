// The details page's "Limits and seeding" card: one torrent's speed limits, seeding
// rule, purpose and folder (`/api/torrents/{id}/settings`, administrators only). An
// empty field falls back to the box-wide setting, shown as its placeholder.

import { ApiError, explain, get, patch } from './api.js';
import { h, mount, toast } from './dom.js';
import * as fmt from './format.js';
import { fieldErrors } from './shared.js';

const ACTIONS = { pause: 'Pause it', remove: 'Remove it, keep the data', remove_data: 'Remove it and delete the data' };

/** The card; it removes itself for users who may not change these settings. */
export function torrentSettings(id) {
  const box = h('div', {}, h('p', { class: 'muted', text: 'Loading…' }));
  const card = h('section', { class: 'card', id: 'torrent-settings', 'aria-labelledby': 'ts-title' },
    h('h2', { id: 'ts-title', text: 'Limits and seeding' }), box);
  Promise.all([get(`/api/torrents/${id}/settings`), get('/api/config').catch(() => null)])
    .then(([s, config]) => mount(box, form(id, s, config)))
    .catch((e) => {
      if (e instanceof ApiError && (e.status === 403 || e.noRoute)) card.remove();
      else mount(box, h('p', { class: 'error', text: explain(e) }));
    });
  return card;
}

function form(id, s, config) {
  const global = config || {};
  const kib = (b) => (b === null || b === undefined ? '' : String(Math.round(b / 1024)));
  const globalRate = (b) => (b === undefined ? 'box-wide limit' : b ? `box-wide: ${fmt.rate(b)}` : 'box-wide: unlimited');
  const fields = [];
  const field = (key, label, input, unit, help) => {
    input.id = `ts-${key}`;
    input.name = key;
    const err = h('p', { class: 'field-error', id: `ts-${key}-error`, role: 'alert', hidden: true });
    fields.push({ key, input, err });
    return h('div', { class: 'field', dataset: { key } },
      h('label', { for: input.id, text: label }),
      unit ? h('div', { class: 'with-unit' }, input, h('span', { class: 'unit', text: unit })) : input,
      help ? h('span', { class: 'muted small', text: help }) : null,
      err);
  };
  const number = (value, attrs) => h('input', { type: 'number', min: 0, inputmode: 'decimal', value, ...attrs });
  const down = number(kib(s.download_limit), { step: 1, placeholder: globalRate(global.engine?.download_limit) });
  const up = number(kib(s.upload_limit), { step: 1, placeholder: globalRate(global.engine?.upload_limit) });
  const ratio = number(s.ratio_limit ?? '', { step: 0.1, placeholder: global.seeding ? `box-wide: ${global.seeding.ratio_limit || 'none'}` : 'box-wide' });
  const minutes = number(s.seed_time_limit_minutes ?? '', { step: 1, placeholder: global.seeding ? `box-wide: ${global.seeding.time_limit_minutes || 'none'}` : 'box-wide' });
  const action = h('select', {},
    h('option', { value: '', text: `As the box does${global.seeding ? ` (${ACTIONS[global.seeding.action] || global.seeding.action})` : ''}` }),
    Object.entries(ACTIONS).map(([v, label]) => h('option', { value: v, text: label, selected: s.seed_action === v })));
  const purpose = h('select', {},
    h('option', { value: 'keep', text: 'Keep: stays until removed', selected: s.purpose !== 'watch' }),
    h('option', { value: 'watch', text: 'Watch: may be removed for space once watched', selected: s.purpose === 'watch' }));
  const folder = h('input', { value: s.output_folder || '', spellcheck: false, autocomplete: 'off', class: 'mono' });
  const original = {};
  const read = () => ({
    download_limit: down.value === '' ? null : Math.round(Number(down.value) * 1024),
    upload_limit: up.value === '' ? null : Math.round(Number(up.value) * 1024),
    ratio_limit: ratio.value === '' ? null : Number(ratio.value),
    seed_time_limit_minutes: minutes.value === '' ? null : Number(minutes.value),
    seed_action: action.value || null,
    purpose: purpose.value,
    output_folder: folder.value.trim(),
  });
  Object.assign(original, read());
  const save = h('button', { type: 'submit', class: 'primary', id: 'ts-save', text: 'Save' });
  const errors = fieldErrors(fields, h('p', { class: 'error', role: 'alert', hidden: true }));
  const el = h('form', {
    class: 'torrent-settings',
    novalidate: true,
    async onsubmit(e) {
      e.preventDefault();
      errors.clear();
      const now = read();
      const body = {};
      for (const [k, v] of Object.entries(now)) if (JSON.stringify(v) !== JSON.stringify(original[k])) body[k] = v;
      if (body.output_folder === '') return errors.show('output_folder: give the folder to move the files to');
      if (!Object.keys(body).length) return toast('Nothing changed', 'info', 2000);
      save.disabled = true;
      try {
        await patch(`/api/torrents/${id}/settings`, body);
        Object.assign(original, now);
        toast(body.output_folder ? 'Saved; the files were moved' : 'Saved', 'ok', 2500);
      } catch (err) {
        errors.show(explain(err));
      } finally {
        save.disabled = false;
      }
    },
  },
  h('div', { class: 'grid-fields' },
    field('download_limit', 'Download limit', down, 'KiB/s', 'Empty: the box-wide limit. 0: unlimited.'),
    field('upload_limit', 'Upload limit', up, 'KiB/s', 'Empty: the box-wide limit. 0: unlimited.'),
    field('ratio_limit', 'Stop seeding at ratio', ratio, 'ratio', 'Uploaded ÷ size. Empty: box-wide. 0: no limit.'),
    field('seed_time_limit_minutes', 'Stop seeding after', minutes, 'minutes', 'From completion. Empty: box-wide. 0: no limit.'),
    field('seed_action', 'At a seeding limit', action),
    field('purpose', 'Purpose', purpose)),
  h('div', { class: 'grid-fields one' }, field('output_folder', 'Folder on the box', folder, null, 'Changing it moves the files there.')),
  errors.general,
  h('div', { class: 'row end' }, save));
  return el;
}
