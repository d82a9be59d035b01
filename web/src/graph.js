// A live speed graph on a canvas: download and upload rates over the last minutes.

import * as fmt from './format.js';

const WINDOW = 120; // samples, one a second

export function speedGraph() {
  const canvas = document.createElement('canvas');
  canvas.className = 'graph';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', 'Download and upload speed over the last two minutes');
  const samples = [];

  function push(down, up) {
    samples.push([down || 0, up || 0]);
    if (samples.length > WINDOW) samples.shift();
    draw();
  }

  function draw() {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 600;
    const hgt = canvas.clientHeight || 160;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(hgt * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    const css = getComputedStyle(canvas);
    const grid = css.getPropertyValue('--border').trim() || '#8884';
    const text = css.getPropertyValue('--muted').trim() || '#888';
    const colors = [css.getPropertyValue('--down').trim() || '#2563eb', css.getPropertyValue('--up').trim() || '#16a34a'];
    const max = Math.max(1024, ...samples.flat());
    const top = niceCeil(max);
    const pad = { l: 4, r: 4, t: 18, b: 4 };
    const gw = w - pad.l - pad.r;
    const gh = hgt - pad.t - pad.b;
    ctx.strokeStyle = grid;
    ctx.lineWidth = 1;
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = text;
    for (let i = 0; i <= 4; i++) {
      const y = pad.t + (gh * i) / 4 + 0.5;
      ctx.beginPath();
      ctx.moveTo(pad.l, y);
      ctx.lineTo(w - pad.r, y);
      ctx.stroke();
    }
    ctx.fillText(fmt.rate(top), pad.l + 2, 12);
    colors.forEach((color, k) => {
      if (samples.length < 2) return;
      ctx.strokeStyle = color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      samples.forEach((s, i) => {
        const x = pad.l + gw - ((samples.length - 1 - i) * gw) / (WINDOW - 1);
        const y = pad.t + gh - (s[k] / top) * gh;
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.stroke();
    });
  }

  return { canvas, push, draw };
}

function niceCeil(v) {
  const p = 2 ** Math.ceil(Math.log2(v));
  return p * 0.75 >= v ? p * 0.75 : p;
}
