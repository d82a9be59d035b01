// System status: CPU, memory, disk, encoders and services, refreshed every 5 s.

import { get } from '../api.js';
import { h, mount } from '../dom.js';
import * as fmt from '../format.js';
import { cardTable, loadPage } from '../shared.js';

export function systemPage(main) {
  let timer = null;
  const body = h('div', { class: 'system' });
  mount(main, h('section', { class: 'card' }, h('h1', { text: 'System' }), body));
  async function refresh() {
    const [status, stats] = await Promise.all([
      loadPage(main, 'system', '/api/system/status'),
      get('/api/stats').catch(() => null),
    ]);
    if (status === undefined) {
      clearInterval(timer);
      return;
    }
    const disk = status.disk || {};
    const used = disk.total ? disk.total - disk.free : 0;
    mount(body,
      h('div', { class: 'tiles' },
        tile('CPU', `${(status.cpu_pct ?? 0).toFixed(0)}%`, `${status.cpu_count ?? '?'} cores · load ${Array.isArray(status.load) ? status.load.map((l) => l.toFixed(2)).join(' ') : status.load ?? '–'}`),
        tile('Memory', fmt.bytes(status.ram_used), `of ${fmt.bytes(status.ram_total)}`, status.ram_total ? (status.ram_used / status.ram_total) * 100 : null),
        tile('Disk', `${fmt.bytes(disk.free)} free`, `${fmt.bytes(used)} used of ${fmt.bytes(disk.total)}${disk.path ? ` · ${disk.path}` : ''}`, disk.total ? (used / disk.total) * 100 : null),
        tile('Downloads', fmt.bytes(disk.used_by_downloads), disk.quota ? `quota ${fmt.bytes(disk.quota)}` : 'no quota', disk.quota ? (disk.used_by_downloads / disk.quota) * 100 : null),
        status.temperature_c !== undefined && status.temperature_c !== null ? tile('Temperature', `${status.temperature_c.toFixed(1)} °C`, '') : null,
        tile('Uptime', fmt.duration(status.uptime), ''),
        stats ? tile('Transfer', `↓ ${fmt.rate(stats.download_rate)}`, `↑ ${fmt.rate(stats.upload_rate)} · ${stats.peers} peers · ${stats.dht_nodes} DHT nodes`) : null),
      h('h2', { text: 'Video encoders' }),
      status.encoders?.length
        ? h('div', { class: 'table-wrap' }, cardTable(h('table', {},
          h('thead', {}, h('tr', {}, ['Encoder', 'Kind', 'Verified', 'In use'].map((c) => h('th', { text: c })))),
          h('tbody', {}, status.encoders.map((e) => h('tr', {},
            h('td', { class: 'mono', text: e.name }), h('td', { text: e.kind }),
            h('td', { text: e.verified ? '✔ yes' : '✘ no' }), h('td', { text: e.name === status.selected_encoder ? '●' : '' })))))))
        : h('p', { class: 'muted', text: 'No encoder found.' }),
      servicesBox(),
    );
  }
  refresh();
  timer = setInterval(refresh, 5000);
  return () => clearInterval(timer);
}

function servicesBox() {
  const box = h('div', {}, h('h2', { text: 'Services' }));
  get('/api/services/status').then((s) => {
    const entries = Object.entries(s.services || s).filter(([, v]) => v && typeof v === 'object');
    box.append(h('ul', { class: 'plain' }, entries.map(([name, v]) =>
      h('li', {}, h('span', { class: `dot ${v.running ? 'ok' : 'bad'}` }), ` ${name}: ${v.running ? 'running' : 'stopped'}`))));
  }).catch(() => box.remove());
  return box;
}

function tile(name, value, sub, pct = null) {
  return h('div', { class: 'tile' },
    h('div', { class: 'muted small', text: name }),
    h('div', { class: 'big-num', text: value }),
    pct !== null ? h('div', { class: 'bar' }, h('div', { class: 'fill', style: { width: `${Math.min(100, pct)}%` } })) : null,
    sub ? h('div', { class: 'muted small', text: sub }) : null);
}
