// Tiny DOM helpers: build elements without a framework.

/**
 * Creates an element. `attrs` keys: `class`, `text`, `on<Event>` handlers, `dataset`,
 * boolean attributes (`true` sets, `false`/`null` omits), anything else as an attribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Sets text only when it changed, so live updates do not disturb selection. */
export function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

/** A live-region message at the bottom of the screen. kind: 'error' | 'ok' | 'info'. */
export function toast(message, kind = 'info', ms = 6000) {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const close = h('button', { class: 'icon', type: 'button', 'aria-label': 'Dismiss', text: '×' });
  const t = h('div', { class: `toast ${kind}` }, h('span', { text: message }), close);
  const remove = () => t.remove();
  close.addEventListener('click', remove);
  box.append(t);
  if (ms) setTimeout(remove, ms);
}

/**
 * A modal confirmation built on <dialog>. `body` is a node or text; resolves to the
 * value of the button pressed, or null on cancel/Escape.
 */
export function ask({ title, body, buttons }) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title' });
    const form = h('form', { method: 'dialog' },
      h('h2', { id: 'dlg-title', text: title }),
      h('div', { class: 'dialog-body' }, body),
      h('div', { class: 'row end gap' },
        h('button', { type: 'submit', value: '', class: 'secondary', text: 'Cancel' }),
        buttons.map((b) => h('button', { type: 'submit', value: b.value, class: b.class || 'primary', text: b.label })),
      ),
    );
    dlg.append(form);
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(dlg.returnValue || null);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}
