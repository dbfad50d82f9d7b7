// minnow console: a small single-page app over the console's JSON API.
// It never holds a secret: the session lives in an HttpOnly cookie, and every
// state change carries the per-session CSRF token in a header. The DOM is
// built with createElement/textContent only, so names and keys from the
// server are never parsed as HTML.
'use strict';

let session = null;

// ---- helpers -------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const $ = (sel) => document.querySelector(sel);
const enc = encodeURIComponent;

function showError(message) {
  const box = $('#error');
  box.textContent = message;
  box.hidden = !message;
}

function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
}

function when(text) {
  if (!text) return '';
  const d = new Date(text);
  return isNaN(d) ? text : d.toLocaleString();
}

class ApiError extends Error {
  constructor(status, message, code) { super(message); this.status = status; this.code = code; }
}

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD' && session) opts.headers['x-csrf-token'] = session.csrfToken;
  if (body !== undefined) {
    if (typeof body === 'string') { opts.body = body; opts.headers['content-type'] = 'text/plain'; }
    else { opts.body = JSON.stringify(body); opts.headers['content-type'] = 'application/json'; }
  }
  const res = await fetch(path, opts);
  let doc = null;
  try { doc = await res.json(); } catch (_) { doc = null; }
  if (!res.ok) {
    const message = (doc && doc.error) || ('Request failed (HTTP ' + res.status + ')');
    if (res.status === 401 && path !== '/api/session') { session = null; location.hash = '#/login'; }
    throw new ApiError(res.status, message, doc && doc.code);
  }
  return doc;
}

// Runs an action, showing its failure as a readable message.
async function attempt(fn) {
  try { showError(''); return await fn(); } catch (e) { showError(e.message); return undefined; }
}

function render(title, ...content) {
  const main = $('#main');
  const moved = main.dataset.title !== title;
  main.dataset.title = title;
  main.replaceChildren(h('h1', { text: title }), ...content);
  // A new page moves keyboard focus to its content (not on a re-render of the same page).
  if (moved && document.activeElement && document.activeElement.closest && document.activeElement.closest('header')) main.focus();
  document.title = title + ' · minnow console';
}

// What the signed-in identity may do, from the server's own policy
// evaluation (`/api/rights`). Write controls are hidden when it says no;
// the server still refuses a crafted request. Unknown rights (an older
// server) hide nothing. Object writes are judged for keys under `prefix`.
async function rightsFor(bucket, prefix) {
  const q = bucket ? '?bucket=' + enc(bucket) + (prefix ? '&prefix=' + enc(prefix) : '') : '';
  try { return await api('GET', '/api/rights' + q); } catch (_) { return null; }
}
const can = (rights, what) => !rights || !!rights[what];
function markRights(rights) { $('#main').dataset.rights = rights ? 'loaded' : 'unknown'; }

function isImage(key) { return /\.(png|jpe?g|gif|webp|avif|bmp)$/i.test(key); }
function objectUrl(bucket, key, download) {
  return '/api/buckets/' + enc(bucket) + '/object?key=' + enc(key) + (download ? '&download=1' : '');
}

// ---- routing ---------------------------------------------------------------

async function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [page, ...rest] = hash.split('/');
  if (!session) {
    try { session = await api('GET', '/api/session'); } catch (_) { session = null; }
  }
  $('#top').hidden = !session;
  if (!session) return loginPage();
  $('#whoami').textContent = session.accessKey;
  $('#nav-identity').hidden = !session.admin;
  for (const a of document.querySelectorAll('header nav a')) {
    a.classList.toggle('active', a.getAttribute('href') === '#/' + page);
  }
  showError('');
  const arg = (i) => decodeURIComponent(rest[i] || '');
  switch (page) {
    case 'browse': return browsePage(arg(0), decodeURIComponent(rest.slice(1).join('/')));
    case 'object': return objectPage(arg(0), decodeURIComponent(rest.slice(1).join('/')));
    case 'settings': return settingsPage(arg(0));
    case 'identity': return identityPage();
    case 'health': return healthPage();
    default: return bucketsPage();
  }
}

// ---- sign in / out ---------------------------------------------------------

function loginPage() {
  const err = h('p', { id: 'login-error', class: 'state-offline', role: 'alert' });
  const form = h('form', { class: 'card login', id: 'login-form' },
    h('h1', { text: 'Sign in to minnow' }),
    h('label', { for: 'login-access', text: 'Access key' }),
    h('input', { id: 'login-access', name: 'accessKey', autocomplete: 'username', required: true }),
    h('label', { for: 'login-secret', text: 'Secret key' }),
    h('input', { id: 'login-secret', name: 'secretKey', type: 'password', autocomplete: 'current-password', required: true }),
    h('p', {}, h('button', { id: 'login-submit', type: 'submit', text: 'Sign in' })),
    err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    try {
      session = await api('POST', '/api/session', {
        accessKey: $('#login-access').value, secretKey: $('#login-secret').value });
      if (location.hash === '' || location.hash === '#/login') location.hash = '#/buckets';
      else route();
    } catch (e) { err.textContent = e.message; }
  });
  $('#main').replaceChildren(form);
  document.title = 'Sign in · minnow console';
  $('#login-access').focus();
}

async function signOut() {
  await attempt(() => api('DELETE', '/api/session'));
  session = null;
  location.hash = '#/login';
  route();
}

// ---- buckets ---------------------------------------------------------------

async function bucketsPage() {
  const rights = await rightsFor('');
  const name = h('input', { id: 'new-bucket-name', placeholder: 'new-bucket', 'aria-label': 'New bucket name' });
  const create = h('form', { class: 'row', id: 'create-bucket-form', hidden: !can(rights, 'canCreateBucket') }, name, h('button', { id: 'create-bucket', type: 'submit', text: 'Create bucket' }));
  create.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (await attempt(() => api('POST', '/api/buckets', { name: name.value })) !== undefined) bucketsPage();
  });
  const body = h('tbody');
  render('Buckets', create, h('div', { class: 'table-wrap' }, h('table', { id: 'buckets-table' },
    h('thead', {}, h('tr', {}, h('th', { text: 'Name' }), h('th', { class: 'num', text: 'Objects' }),
      h('th', { class: 'num', text: 'Size' }), h('th', { class: 'hide-narrow', text: 'Created' }), h('th', { text: 'Actions' }))),
    body)));
  markRights(rights);
  const doc = await attempt(() => api('GET', '/api/buckets'));
  if (!doc) return;
  if (doc.buckets.length === 0) body.append(h('tr', {}, h('td', { colspan: 5, class: 'muted', text: 'No buckets yet.' })));
  for (const b of doc.buckets) {
    const count = b.objects === undefined ? '—' : b.objects + (b.capped ? '+' : '');
    body.append(h('tr', { 'data-bucket': b.name },
      h('td', {}, h('a', { class: 'bucket-link', href: '#/browse/' + enc(b.name) + '/', text: b.name })),
      h('td', { class: 'num', text: count }),
      h('td', { class: 'num', text: bytes(b.bytes) }),
      h('td', { class: 'hide-narrow', text: when(b.created) }),
      h('td', {},
        h('a', { class: 'button secondary', href: '#/settings/' + enc(b.name), text: 'Settings' }), ' ',
        h('button', { class: 'danger', type: 'button', hidden: !can(rights, 'canDeleteBucket'), 'aria-label': 'Delete bucket ' + b.name, text: 'Delete', onclick: async () => {
          if (!confirm('Delete bucket ' + b.name + '? It must be empty.')) return;
          if (await attempt(() => api('DELETE', '/api/buckets/' + enc(b.name))) !== undefined) bucketsPage();
        } }))));
  }
}

// ---- object browser ----------------------------------------------------------

let sortBy = { field: 'name', asc: true };

async function browsePage(bucket, prefix) {
  const rights = await rightsFor(bucket, prefix);
  const upOk = can(rights, 'canUpload'), delOk = can(rights, 'canDeleteObjects');
  const crumbs = h('nav', { class: 'crumbs', 'aria-label': 'Folder path' },
    h('a', { href: '#/buckets', text: 'Buckets' }), ' / ',
    h('a', { href: '#/browse/' + enc(bucket) + '/', text: bucket }));
  let acc = '';
  for (const part of prefix.split('/').filter(Boolean)) {
    acc += part + '/';
    crumbs.append(' / ', h('a', { href: '#/browse/' + enc(bucket) + '/' + enc(acc), text: part }));
  }
  const fileInput = h('input', { id: 'file-input', type: 'file', multiple: true, 'aria-label': 'Choose files to upload' });
  const uploads = h('div', { id: 'upload-status', 'aria-live': 'polite' });
  const drop = h('div', { id: 'drop-zone', hidden: !upOk, text: 'Drop files here to upload to ' + (prefix || 'the bucket root') });
  fileInput.addEventListener('change', () => uploadFiles(bucket, prefix, fileInput.files, uploads));
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault(); drop.classList.remove('over');
    uploadFiles(bucket, prefix, ev.dataTransfer.files, uploads);
  });
  const search = h('input', { id: 'search', type: 'search', placeholder: 'Filter by name prefix', 'aria-label': 'Filter by name prefix' });
  const folderName = h('input', { id: 'new-folder', placeholder: 'new folder', 'aria-label': 'New folder name' });
  const newFolder = h('button', { type: 'button', class: 'secondary', text: 'Open folder', onclick: () => {
    const n = folderName.value.replace(/^\/+|\/+$/g, '');
    if (n) location.hash = '#/browse/' + enc(bucket) + '/' + enc(prefix + n + '/');
  } });
  const delSel = h('button', { id: 'delete-selected', type: 'button', class: 'danger', hidden: !delOk, text: 'Delete selected' });
  const body = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, text: 'Load more' });
  const sortHead = (label, field, cls) => h('th', { class: cls }, h('button', { type: 'button', text: label + (sortBy.field === field ? (sortBy.asc ? ' ▲' : ' ▼') : ''), onclick: () => {
    sortBy = { field, asc: sortBy.field === field ? !sortBy.asc : true };
    browsePage(bucket, prefix);
  } }));
  render(bucket, crumbs,
    h('div', { class: 'row' }, upOk ? h('span', { id: 'upload-control' }, h('label', { for: 'file-input', text: 'Upload files' }), fileInput) : null,
      h('a', { class: 'button secondary', href: '#/settings/' + enc(bucket), text: 'Bucket settings' })),
    drop, uploads,
    h('div', { class: 'row' }, search, folderName, newFolder, delSel),
    h('div', { class: 'table-wrap' }, h('table', { id: 'objects-table' },
      h('thead', {}, h('tr', {}, h('th', {}, h('span', { class: 'muted', text: '✓' })), h('th'),
        sortHead('Name', 'name'), sortHead('Size', 'size', 'num'), sortHead('Modified', 'date', 'hide-narrow'), h('th', { text: 'Actions' }))),
      body)), more);

  let rows = { folders: [], objects: [] };
  const draw = () => {
    const filter = search.value;
    const objs = rows.objects.filter((o) => o.key.slice(prefix.length).startsWith(filter));
    const dir = sortBy.asc ? 1 : -1;
    objs.sort((a, b) => dir * (sortBy.field === 'size' ? a.size - b.size
      : sortBy.field === 'date' ? a.lastModified.localeCompare(b.lastModified) : a.key.localeCompare(b.key)));
    body.replaceChildren();
    for (const f of rows.folders.filter((f) => f.slice(prefix.length).startsWith(filter))) {
      body.append(h('tr', { class: 'folder-row' }, h('td'), h('td', { text: '📁' }),
        h('td', { colspan: 4 }, h('a', { href: '#/browse/' + enc(bucket) + '/' + enc(f), text: f.slice(prefix.length) }))));
    }
    for (const o of objs) {
      const name = o.key.slice(prefix.length);
      body.append(h('tr', { class: 'object-row', 'data-key': o.key },
        h('td', {}, h('input', { type: 'checkbox', class: 'select', 'aria-label': 'Select ' + name, value: o.key })),
        h('td', {}, isImage(o.key) ? h('img', { class: 'thumb', loading: 'lazy', alt: '', src: objectUrl(bucket, o.key) }) : ''),
        h('td', {}, h('a', { class: 'object-link', href: '#/object/' + enc(bucket) + '/' + enc(o.key), text: name })),
        h('td', { class: 'num', text: bytes(o.size) }),
        h('td', { class: 'hide-narrow', text: when(o.lastModified) }),
        h('td', {}, h('a', { class: 'button secondary', href: objectUrl(bucket, o.key, true), text: 'Download' }), ' ',
          h('button', { class: 'danger', type: 'button', hidden: !delOk, 'aria-label': 'Delete ' + name, text: 'Delete', onclick: async () => {
            if (!confirm('Delete ' + o.key + '?')) return;
            if (await attempt(() => api('POST', '/api/buckets/' + enc(bucket) + '/delete', { keys: [o.key] })) !== undefined) browsePage(bucket, prefix);
          } }))));
    }
    if (!body.children.length) body.append(h('tr', {}, h('td', { colspan: 6, class: 'muted', text: 'Nothing here yet.' })));
  };
  let next = null;
  const load = async () => {
    const page = await attempt(() => api('GET', '/api/buckets/' + enc(bucket) + '/objects?prefix=' + enc(prefix) + (next ? '&token=' + enc(next) : '')));
    if (!page) return;
    rows.folders.push(...page.folders);
    rows.objects.push(...page.objects);
    next = page.next;
    more.hidden = !next;
    draw();
  };
  markRights(rights);
  more.addEventListener('click', load);
  search.addEventListener('input', draw);
  delSel.addEventListener('click', async () => {
    const keys = [...document.querySelectorAll('input.select:checked')].map((c) => c.value);
    if (!keys.length || !confirm('Delete ' + keys.length + ' object(s)?')) return;
    const res = await attempt(() => api('POST', '/api/buckets/' + enc(bucket) + '/delete', { keys }));
    if (res && res.failed.length) showError('Some objects were not deleted: ' + res.failed.map((f) => f.key + ' (' + f.message + ')').join(', '));
    else if (res) browsePage(bucket, prefix);
  });
  await load();
}

function uploadFiles(bucket, prefix, files, box) {
  let pending = files.length;
  for (const file of files) {
    const bar = h('progress', { max: 100, value: 0 });
    const note = h('span', { class: 'note', text: 'uploading' });
    const row = h('div', { class: 'upload-row', 'data-name': file.name }, h('span', { text: file.name }), bar, note);
    box.append(row);
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', objectUrl(bucket, prefix + file.name));
    xhr.setRequestHeader('x-csrf-token', session.csrfToken);
    if (file.type) xhr.setRequestHeader('content-type', file.type);
    xhr.upload.addEventListener('progress', (ev) => { if (ev.lengthComputable) bar.value = Math.round(100 * ev.loaded / ev.total); });
    xhr.addEventListener('loadend', () => {
      let doc = null;
      try { doc = JSON.parse(xhr.responseText); } catch (_) { doc = null; }
      if (xhr.status >= 200 && xhr.status < 300) {
        bar.value = 100; note.textContent = 'done'; row.classList.add('done');
      } else {
        row.classList.add('failed');
        note.textContent = 'failed: ' + ((doc && doc.error) || ('HTTP ' + xhr.status));
        showError('Upload of ' + file.name + ' failed: ' + ((doc && doc.error) || ('HTTP ' + xhr.status)));
      }
      pending -= 1;
      if (pending === 0 && !box.querySelector('.failed')) browsePage(bucket, prefix);
    });
    xhr.send(file);
  }
}

// ---- object details ----------------------------------------------------------

async function objectPage(bucket, key) {
  // Judged for this key (as a prefix), like the browse page judges its folder.
  const rights = await rightsFor(bucket, key);
  const info = await attempt(() => api('GET', '/api/buckets/' + enc(bucket) + '/object/info?key=' + enc(key)));
  const folder = key.includes('/') ? key.slice(0, key.lastIndexOf('/') + 1) : '';
  const back = h('p', {}, h('a', { href: '#/browse/' + enc(bucket) + '/' + enc(folder), text: '← ' + bucket + '/' + folder }));
  if (!info) return render(key, back);
  const meta = Object.entries(info.metadata || {});
  const list = h('dl', { id: 'details' },
    h('dt', { text: 'Size' }), h('dd', { id: 'detail-size', text: bytes(info.size) + ' (' + info.size + ' bytes)' }),
    h('dt', { text: 'ETag' }), h('dd', { id: 'detail-etag', text: info.etag || '' }),
    h('dt', { text: 'Content type' }), h('dd', { id: 'detail-type', text: info.contentType || '' }),
    h('dt', { text: 'Last modified' }), h('dd', { text: when(info.lastModified) }),
    h('dt', { text: 'Expires' }), h('dd', { id: 'detail-expiration', text: expiryText(info.expiration) }),
    h('dt', { text: 'Metadata' }), h('dd', { id: 'detail-metadata', text: meta.length ? meta.map(([k, v]) => k + ': ' + v).join(', ') : 'none' }),
    info.cdnUrl ? h('dt', { text: 'CDN URL' }) : null,
    info.cdnUrl ? h('dd', {}, h('a', { id: 'detail-cdn', href: info.cdnUrl, rel: 'noreferrer', text: info.cdnUrl })) : null);
  const expiry = h('select', { id: 'share-expiry', 'aria-label': 'Share link lifetime' },
    h('option', { value: 3600, text: '1 hour' }), h('option', { value: 86400, text: '1 day' }), h('option', { value: 604800, text: '7 days' }));
  const shareOut = h('p', { id: 'share-url', class: 'notice', hidden: true });
  const share = h('button', { id: 'share-create', type: 'button', class: 'secondary', text: 'Create share link', onclick: async () => {
    const res = await attempt(() => api('POST', '/api/buckets/' + enc(bucket) + '/object/share', { key, expiresSeconds: Number(expiry.value) }));
    if (res) { shareOut.textContent = res.url; shareOut.hidden = false; }
  } });
  render(key.slice(folder.length), back,
    isImage(key) ? h('img', { id: 'preview', class: 'preview', alt: 'Preview of ' + key, src: objectUrl(bucket, key) }) : null,
    h('div', { class: 'card' }, list),
    h('div', { class: 'row' }, h('a', { id: 'download', class: 'button', href: objectUrl(bucket, key, true), text: 'Download' }),
      expiry, share,
      h('button', { type: 'button', class: 'danger', hidden: !can(rights, 'canDeleteObjects'), text: 'Delete', onclick: async () => {
        if (!confirm('Delete ' + key + '?')) return;
        if (await attempt(() => api('POST', '/api/buckets/' + enc(bucket) + '/delete', { keys: [key] })) !== undefined) location.hash = '#/browse/' + enc(bucket) + '/' + enc(folder);
      } })),
    shareOut);
  markRights(rights);
}

function expiryText(header) {
  if (!header) return 'never (no lifecycle rule applies)';
  const m = /expiry-date="([^"]+)"(?:,\s*rule-id="([^"]+)")?/.exec(header);
  return m ? when(m[1]) + (m[2] ? ' (rule ' + m[2] + ')' : '') : header;
}

// ---- bucket settings: anonymous access and lifecycle ---------------------------

async function settingsPage(bucket) {
  const rights = await rightsFor(bucket);
  const current = h('p', { id: 'access-current' });
  const kind = h('select', { id: 'access-kind', 'aria-label': 'Anonymous access' },
    h('option', { value: 'private', text: 'Private (no anonymous access)' }),
    h('option', { value: 'download', text: 'Download (anonymous read of a prefix)' }));
  const prefix = h('input', { id: 'access-prefix', placeholder: 'prefix/ (empty: whole bucket)', 'aria-label': 'Prefix' });
  const save = h('form', { class: 'row', id: 'access-form', hidden: !can(rights, 'canEditAccess') }, kind, prefix, h('button', { id: 'access-save', type: 'submit', text: 'Save access' }));
  const showAccess = (a) => {
    if (!a) return;
    current.textContent = a.access === 'private' ? 'Current: private' :
      a.access === 'custom' ? 'Current: a custom bucket policy (saving replaces it)' :
        'Current: ' + a.access + ' on ' + (a.prefix ? a.prefix + '*' : 'every object');
    if (a.access === 'private' || a.access === 'download') kind.value = a.access;
    if (a.prefix !== undefined) prefix.value = a.prefix;
  };
  save.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showAccess(await attempt(() => api('PUT', '/api/buckets/' + enc(bucket) + '/access', { access: kind.value, prefix: prefix.value })));
  });

  const rulesBody = h('tbody');
  const rPrefix = h('input', { id: 'rule-prefix', value: 'temp/', 'aria-label': 'Rule prefix' });
  const rDays = h('input', { id: 'rule-days', type: 'number', min: 1, value: 7, 'aria-label': 'Days until expiry' });
  const lcOk = can(rights, 'canEditLifecycle');
  const addRule = h('form', { class: 'row', id: 'rule-form', hidden: !lcOk },
    h('span', {}, h('label', { for: 'rule-prefix', text: 'Prefix' }), rPrefix),
    h('span', {}, h('label', { for: 'rule-days', text: 'Expire after days' }), rDays),
    h('button', { id: 'rule-add', type: 'submit', text: 'Add rule' }));
  const importText = h('textarea', { id: 'rule-import', rows: 4, cols: 40, placeholder: 'mc ilm JSON or S3 lifecycle XML', 'aria-label': 'Lifecycle document to import' });
  const importBtn = h('button', { type: 'button', class: 'secondary', text: 'Import (replaces all rules)' });
  const showRules = (doc) => {
    if (!doc) return;
    rulesBody.replaceChildren();
    if (!doc.rules.length) rulesBody.append(h('tr', {}, h('td', { colspan: 5, class: 'muted', text: 'No lifecycle rules.' })));
    for (const r of doc.rules) {
      rulesBody.append(h('tr', { class: 'rule-row', 'data-rule': r.id },
        h('td', { text: r.id }), h('td', { text: r.prefix || '(all objects)' }),
        h('td', { text: r.expirationDays ? r.expirationDays + ' days' : (r.expirationDate || '—') }),
        h('td', { text: r.status }),
        h('td', {}, h('button', { type: 'button', class: 'danger', hidden: !lcOk, 'aria-label': 'Delete rule ' + r.id, text: 'Delete', onclick: async () => {
          showRules(await attempt(() => api('DELETE', '/api/buckets/' + enc(bucket) + '/lifecycle/' + enc(r.id))));
        } }))));
    }
  };
  addRule.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showRules(await attempt(() => api('POST', '/api/buckets/' + enc(bucket) + '/lifecycle', { prefix: rPrefix.value, days: Number(rDays.value) })));
  });
  importBtn.addEventListener('click', async () => {
    showRules(await attempt(() => api('POST', '/api/buckets/' + enc(bucket) + '/lifecycle/import', importText.value)));
  });

  render('Settings of ' + bucket,
    h('p', {}, h('a', { href: '#/browse/' + enc(bucket) + '/', text: '← browse ' + bucket })),
    h('section', { class: 'card', 'aria-labelledby': 'access-h' }, h('h2', { id: 'access-h', text: 'Anonymous access' }), current, save),
    h('section', { class: 'card', 'aria-labelledby': 'rules-h' }, h('h2', { id: 'rules-h', text: 'Lifecycle rules' }),
      h('div', { class: 'table-wrap' }, h('table', { id: 'rules-table' },
        h('thead', {}, h('tr', {}, h('th', { text: 'ID' }), h('th', { text: 'Prefix' }), h('th', { text: 'Expiry' }), h('th', { text: 'Status' }), h('th'))),
        rulesBody)),
      addRule, h('div', { class: 'row', id: 'rule-import-row', hidden: !lcOk }, importText, importBtn)),
    corsSection(bucket, can(rights, 'canEditCors')));
  markRights(rights);
  showAccess(await attempt(() => api('GET', '/api/buckets/' + enc(bucket) + '/access')));
  showRules(await attempt(() => api('GET', '/api/buckets/' + enc(bucket) + '/lifecycle')));
  showCors(bucket, await attempt(() => api('GET', '/api/buckets/' + enc(bucket) + '/cors')));
}

// CORS rules of a bucket (PutBucketCors replaces the whole list; the
// console edits it one rule at a time).
function corsSection(bucket, editable) {
  const list = (v) => v.split(',').map((x) => x.trim()).filter(Boolean);
  const origins = h('input', { id: 'cors-origins', placeholder: 'https://app.example, https://*.example', 'aria-label': 'Allowed origins (comma-separated)' });
  const methods = h('fieldset', { id: 'cors-methods', class: 'methods' }, h('legend', { text: 'Methods' }),
    ...['GET', 'PUT', 'POST', 'DELETE', 'HEAD'].map((m) => h('label', { class: 'inline' },
      h('input', { type: 'checkbox', value: m, checked: m === 'GET' || m === 'HEAD' }), ' ' + m)));
  const headers = h('input', { id: 'cors-headers', placeholder: '* or content-type, x-amz-date', 'aria-label': 'Allowed headers (comma-separated)' });
  const maxAge = h('input', { id: 'cors-max-age', type: 'number', min: 0, value: 3600, 'aria-label': 'Max age in seconds' });
  const form = h('form', { id: 'cors-form', class: 'row', hidden: !editable },
    h('span', {}, h('label', { for: 'cors-origins', text: 'Allowed origins' }), origins), methods,
    h('span', {}, h('label', { for: 'cors-headers', text: 'Allowed headers' }), headers),
    h('span', {}, h('label', { for: 'cors-max-age', text: 'Max age (s)' }), maxAge),
    h('button', { id: 'cors-add', type: 'submit', text: 'Add CORS rule' }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const rule = {
      allowedOrigins: list(origins.value),
      allowedMethods: [...methods.querySelectorAll('input:checked')].map((c) => c.value),
      allowedHeaders: list(headers.value),
      maxAgeSeconds: maxAge.value === '' ? null : Number(maxAge.value),
    };
    showCors(bucket, await attempt(() => api('POST', '/api/buckets/' + enc(bucket) + '/cors', rule)));
  });
  return h('section', { class: 'card', 'aria-labelledby': 'cors-h', 'data-editable': editable ? 'yes' : 'no' },
    h('h2', { id: 'cors-h', text: 'CORS rules' }),
    h('div', { class: 'table-wrap' }, h('table', { id: 'cors-table' },
      h('thead', {}, h('tr', {}, h('th', { text: 'Origins' }), h('th', { text: 'Methods' }), h('th', { class: 'hide-narrow', text: 'Headers' }), h('th', { class: 'num', text: 'Max age' }), h('th'))),
      h('tbody', { id: 'cors-body' }))),
    form);
}

function showCors(bucket, doc) {
  const body = $('#cors-body');
  if (!doc || !body) return;
  const editable = body.closest('section').dataset.editable === 'yes';
  body.replaceChildren();
  if (!doc.rules.length) body.append(h('tr', {}, h('td', { colspan: 5, class: 'muted', text: 'No CORS rules: browsers on other sites get no access.' })));
  doc.rules.forEach((r, i) => {
    body.append(h('tr', { class: 'cors-row', 'data-index': i },
      h('td', { text: r.allowedOrigins.join(', ') }), h('td', { text: r.allowedMethods.join(', ') }),
      h('td', { class: 'hide-narrow', text: r.allowedHeaders.join(', ') || '—' }),
      h('td', { class: 'num', text: r.maxAgeSeconds === null || r.maxAgeSeconds === undefined ? '—' : r.maxAgeSeconds + ' s' }),
      h('td', {}, h('button', { type: 'button', class: 'danger', hidden: !editable, 'aria-label': 'Delete CORS rule ' + (i + 1), text: 'Delete', onclick: async () => {
        showCors(bucket, await attempt(() => api('DELETE', '/api/buckets/' + enc(bucket) + '/cors/' + i)));
      } }))));
  });
}

// ---- identity ------------------------------------------------------------------

async function identityPage() {
  const usersBody = h('tbody');
  const ak = h('input', { id: 'user-access', placeholder: 'access key', 'aria-label': 'New user access key' });
  const pol = h('select', { id: 'user-policy', 'aria-label': 'Policy for the new user' });
  const secretBox = h('p', { id: 'user-secret', class: 'notice', hidden: true });
  const add = h('form', { class: 'row' }, ak, pol, h('button', { id: 'user-add', type: 'submit', text: 'Add user' }));
  render('Identity', h('section', { class: 'card' }, h('h2', { text: 'Add a user' }), add, secretBox),
    h('div', { class: 'table-wrap' }, h('table', { id: 'users-table' },
      h('thead', {}, h('tr', {}, h('th', { text: 'Access key' }), h('th', { text: 'Status' }), h('th', { text: 'Policies' }), h('th', { text: 'Actions' }))),
      usersBody)));
  const policies = await attempt(() => api('GET', '/api/policies'));
  if (!policies) { usersBody.append(h('tr', {}, h('td', { colspan: 4, class: 'muted', text: 'Identity management is not available to ' + session.accessKey + '.' }))); return; }
  const names = policies.policies.map((p) => p.name);
  for (const n of names) pol.append(h('option', { value: n, text: n, selected: n === 'readwrite' }));
  add.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const res = await attempt(() => api('POST', '/api/users', { accessKey: ak.value, policy: pol.value }));
    if (!res) return;
    secretBox.replaceChildren('User ', h('strong', { text: res.accessKey }), ' added. Secret key (shown only once): ',
      h('code', { id: 'user-secret-value', text: res.secretKey }));
    secretBox.hidden = false;
    ak.value = '';
    loadUsers();
  });
  const loadUsers = async () => {
    const doc = await attempt(() => api('GET', '/api/users'));
    if (!doc) return;
    usersBody.replaceChildren();
    if (!doc.users.length) usersBody.append(h('tr', {}, h('td', { colspan: 4, class: 'muted', text: 'No users yet.' })));
    for (const u of doc.users) {
      const base = '/api/users/' + enc(u.accessKey);
      const attach = h('select', { 'aria-label': 'Policy to attach to ' + u.accessKey },
        ...names.filter((n) => !u.policies.includes(n)).map((n) => h('option', { value: n, text: n })));
      usersBody.append(h('tr', { class: 'user-row', 'data-user': u.accessKey },
        h('td', { text: u.accessKey }),
        h('td', { class: u.enabled ? 'state-ok' : 'state-offline', text: u.enabled ? 'enabled' : 'disabled' }),
        h('td', {}, ...u.policies.map((p) => h('span', {}, p + ' ', h('button', { type: 'button', class: 'secondary', 'aria-label': 'Detach ' + p + ' from ' + u.accessKey, text: '×', onclick: async () => {
          if (await attempt(() => api('DELETE', base + '/policies/' + enc(p)))) loadUsers();
        } }), ' '))),
        h('td', {}, attach, ' ',
          h('button', { type: 'button', class: 'secondary', text: 'Attach', onclick: async () => {
            if (attach.value && await attempt(() => api('PUT', base + '/policies/' + enc(attach.value)))) loadUsers();
          } }), ' ',
          h('button', { type: 'button', class: 'secondary', text: u.enabled ? 'Disable' : 'Enable', onclick: async () => {
            if (await attempt(() => api('PUT', base + '/status', { enabled: !u.enabled }))) loadUsers();
          } }), ' ',
          h('button', { type: 'button', class: 'danger', 'aria-label': 'Remove ' + u.accessKey, text: 'Remove', onclick: async () => {
            if (!confirm('Remove user ' + u.accessKey + '?')) return;
            if (await attempt(() => api('DELETE', base)) !== undefined) loadUsers();
          } }))));
    }
  };
  loadUsers();
}

// ---- health --------------------------------------------------------------------

let healthTimer = null;
// Metric totals sampled while the Health page is open; rates come from differences.
const samples = [];

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

// A line chart of one or more series (arrays of numbers), scaled to its maximum.
function chart(id, title, series, unit) {
  const w = 320, hgt = 90;
  const max = Math.max(1e-9, ...series.flatMap((s) => s.values));
  const root = svg('svg', { viewBox: '0 0 ' + w + ' ' + hgt, class: 'chart', role: 'img', id });
  const last = series.map((s) => s.label + ' ' + fmt(s.values[s.values.length - 1] || 0, unit)).join(', ');
  root.setAttribute('aria-label', title + ': ' + last);
  root.append(svg('line', { x1: 0, y1: hgt - 1, x2: w, y2: hgt - 1, class: 'axis' }));
  series.forEach((s, i) => {
    const n = s.values.length;
    if (n < 1) return;
    const pts = s.values.map((v, j) => ((n === 1 ? w : (j * w) / (n - 1)).toFixed(1)) + ',' + (hgt - 2 - (v / max) * (hgt - 8)).toFixed(1));
    root.append(svg('polyline', { points: pts.join(' '), class: 'series s' + i }));
  });
  return h('figure', { class: 'card chart-card' }, h('figcaption', {}, h('strong', { text: title }), ' ', h('span', { class: 'muted', text: last + ' (max ' + fmt(max, unit) + ')' })), root);
}

function fmt(v, unit) {
  if (unit === 'B/s') return bytes(Math.round(v)) + '/s';
  if (unit === 'ms') return v.toFixed(1) + ' ms';
  return v.toFixed(1) + ' ' + unit;
}

function drawCharts(box) {
  const rate = [], rx = [], tx = [], lat = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1], b = samples[i];
    const dt = Math.max(0.001, (b.at - a.at) / 1000);
    rate.push(Math.max(0, b.requests - a.requests) / dt);
    rx.push(Math.max(0, b.rxBytes - a.rxBytes) / dt);
    tx.push(Math.max(0, b.txBytes - a.txBytes) / dt);
    const n = b.latencyCount - a.latencyCount;
    lat.push(n > 0 ? (1000 * (b.latencySeconds - a.latencySeconds)) / n : 0);
  }
  if (!rate.length) { box.replaceChildren(h('p', { class: 'muted', text: 'Charts appear after the second sample (5 s).' })); return; }
  box.replaceChildren(
    chart('chart-requests', 'Requests', [{ label: 'rate', values: rate }], 'req/s'),
    chart('chart-bytes', 'Traffic', [{ label: 'in', values: rx }, { label: 'out', values: tx }], 'B/s'),
    chart('chart-latency', 'Mean latency', [{ label: 'mean', values: lat }], 'ms'));
}

async function healthPage() {
  const summary = h('dl', { id: 'health-summary' });
  const drives = h('tbody');
  const healOut = h('p', { id: 'heal-result', 'aria-live': 'polite' });
  const heal = h('button', { id: 'heal-now', type: 'button', text: 'Heal now', onclick: async () => {
    heal.disabled = true; healOut.textContent = 'Healing…';
    const r = await attempt(() => api('POST', '/api/heal'));
    heal.disabled = false;
    healOut.textContent = r ? 'Scanned ' + r.objectsScanned + ', healed ' + r.objectsHealed + ', failed ' + r.objectsFailed + ', rebuilt ' + bytes(r.bytesRebuilt) + '.' : '';
    load();
  } });
  const charts = h('div', { id: 'charts', class: 'charts' });
  const healBox = h('dl', { id: 'heal-status' });
  const scannerBox = h('dl', { id: 'scanner-status' });
  const forecastBox = h('div', { id: 'lifecycle-forecast', 'aria-live': 'polite' });
  render('Health', h('div', { class: 'card' }, summary),
    h('section', { class: 'card', 'aria-labelledby': 'heal-h' }, h('h2', { id: 'heal-h', text: 'Heal' }), healBox),
    h('section', { class: 'card', 'aria-labelledby': 'scanner-h' }, h('h2', { id: 'scanner-h', text: 'Lifecycle scanner' }), scannerBox,
      h('h3', { text: 'Next expiries' }), forecastBox),
    h('h2', { text: 'Activity' }), charts,
    h('h2', { text: 'Drives' }),
    h('div', { class: 'table-wrap' }, h('table', { id: 'drives-table' },
      h('thead', {}, h('tr', {}, h('th', { text: '#' }), h('th', { text: 'Path' }), h('th', { text: 'State' }), h('th', { text: 'Used' }), h('th', { class: 'num', text: 'Free' }))),
      drives)),
    h('div', { class: 'row' }, heal), healOut);
  const load = async () => {
    try {
      samples.push(await api('GET', '/api/metrics'));
      if (samples.length > 61) samples.shift();
      drawCharts(charts);
      drawScanner(scannerBox, samples[samples.length - 1]);
    } catch (_) { /* charts are optional; the drive table still shows */ }
    try { drawForecast(forecastBox, await api('GET', '/api/health/lifecycle')); } catch (_) { /* needs admin:ServerInfo, as the rest of the page */ }
    const info = await attempt(() => api('GET', '/api/health'));
    if (!info) return;
    drawHeal(healBox, info);
    summary.replaceChildren(
      h('dt', { text: 'State' }), h('dd', { id: 'health-state', class: 'state-' + info.state, text: info.state }),
      h('dt', { text: 'Erasure layout' }), h('dd', { text: info.layout }),
      h('dt', { text: 'Buckets / objects' }), h('dd', { text: info.buckets + ' / ' + info.objects + (info.objectsCapped ? '+' : '') }),
      h('dt', { text: 'Free space' }), h('dd', { text: bytes(info.freeBytes) + ' of ' + bytes(info.totalBytes) }),
      h('dt', { text: 'Uptime' }), h('dd', { text: Math.round(info.uptimeSeconds / 60) + ' min' }),
      h('dt', { text: 'Version' }), h('dd', { text: info.version }));
    drives.replaceChildren();
    for (const d of info.drives) {
      const used = d.totalBytes ? (d.totalBytes - d.freeBytes) / d.totalBytes : 0;
      const fill = h('span');
      fill.style.width = Math.round(used * 100) + '%';
      drives.append(h('tr', { class: 'drive-row', 'data-state': d.state },
        h('td', { text: d.index }), h('td', { text: d.path }),
        h('td', { class: 'state-' + d.state, text: d.state }),
        h('td', {}, h('div', { class: 'bar', role: 'img', 'aria-label': Math.round(used * 100) + '% used' }, fill)),
        h('td', { class: 'num', text: bytes(d.freeBytes) })));
    }
  };
  await load();
  clearInterval(healthTimer);
  // Refreshes while the page is open, so a drive that goes away shows up.
  healthTimer = setInterval(() => { if (location.hash.startsWith('#/health')) load(); else clearInterval(healthTimer); }, 5000);
}

// Heal progress from successive admin info samples: the rate is the
// change of bytes (and objects) done between two samples of one walk.
let healSamples = [];
function drawHeal(box, info) {
  const heal = info.heal || {};
  const now = Date.now();
  const last = healSamples[healSamples.length - 1];
  // A new walk starts its counters again: drop samples of the old one.
  if (last && (heal.bytesDone < last.bytesDone || heal.objectsDone < last.objectsDone)) healSamples = [];
  healSamples.push({ at: now, bytesDone: heal.bytesDone || 0, objectsDone: heal.objectsDone || 0 });
  if (healSamples.length > 12) healSamples.shift();
  const first = healSamples[0];
  const dt = (now - first.at) / 1000;
  const byteRate = dt > 0 ? ((heal.bytesDone || 0) - first.bytesDone) / dt : 0;
  const objRate = dt > 0 ? ((heal.objectsDone || 0) - first.objectsDone) / dt : 0;
  const healing = (heal.drivesHealing || []).length;
  const state = heal.drivesOffline > 0 ? 'waiting' : heal.running ? 'healing' : heal.redundancyFull ? 'complete' : 'pending';
  const stateText = {
    waiting: 'waiting: ' + heal.drivesOffline + ' drive(s) offline',
    healing: 'healing',
    complete: 'complete: full redundancy',
    pending: 'pending' + (healing ? ' (' + healing + ' drive(s) to fill)' : ''),
  }[state];
  let eta = '—';
  if (heal.running && byteRate > 0) eta = duration((heal.bytesLeft || 0) / byteRate);
  else if (heal.running && objRate > 0) eta = duration((heal.objectsLeft || 0) / objRate);
  else if (state === 'complete') eta = 'done';
  const total = (heal.objectsDone || 0) + (heal.objectsLeft || 0);
  box.replaceChildren(
    h('dt', { text: 'State' }), h('dd', { id: 'heal-state', 'data-state': state, class: 'state-' + (state === 'complete' ? 'ok' : state === 'waiting' ? 'offline' : 'degraded'), text: stateText }),
    h('dt', { text: 'Objects' }), h('dd', { id: 'heal-objects', 'data-done': heal.objectsDone || 0, text: (heal.objectsDone || 0) + ' done, ' + (heal.objectsLeft || 0) + ' left' + (total ? ' (' + Math.round((100 * (heal.objectsDone || 0)) / total) + '%)' : '') }),
    h('dt', { text: 'Bytes' }), h('dd', { id: 'heal-bytes', text: bytes(heal.bytesDone || 0) + ' done, ' + bytes(heal.bytesLeft || 0) + ' left' }),
    h('dt', { text: 'Rate' }), h('dd', { id: 'heal-rate', text: heal.running ? bytes(Math.round(byteRate)) + '/s, ' + objRate.toFixed(1) + ' objects/s' : '—' }),
    h('dt', { text: 'Time left' }), h('dd', { id: 'heal-eta', text: eta }),
    h('dt', { text: 'Queued objects' }), h('dd', { text: String(heal.queuedObjects || 0) }));
}

function duration(seconds) {
  if (!isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
}

// The lifecycle scanner's counters since the server started (its Prometheus
// metrics, sampled with the charts).
function drawScanner(box, m) {
  if (!m || !m.lifecycle) return;
  const l = m.lifecycle;
  box.replaceChildren(
    h('dt', { text: 'Completed cycles' }), h('dd', { id: 'scanner-cycles', text: String(l.cycles) }),
    h('dt', { text: 'Last cycle took' }), h('dd', { id: 'scanner-last', text: l.cycles ? l.lastCycleSeconds.toFixed(2) + ' s' : 'no cycle finished yet' }),
    h('dt', { text: 'Objects scanned' }), h('dd', { text: String(l.objectsScanned) }),
    h('dt', { text: 'Objects expired' }), h('dd', { id: 'scanner-expired', text: String(l.objectsExpired) }),
    h('dt', { text: 'Uploads aborted' }), h('dd', { text: String(l.uploadsAborted) }),
    h('dt', { text: 'Errors' }), h('dd', { text: String(l.errors) }));
}

// The scanner's last completed cycle and, per rule, the objects due next:
// a bar per coming midnight (UTC) and the soonest objects by name.
function drawForecast(box, report) {
  const utc = (iso) => iso.replace('T', ' ').replace(/(:00)?Z$/, '').replace(/ 00:00$/, '') + ' UTC';
  const c = report.lastCycle;
  const parts = [h('p', { id: 'scanner-last-cycle', text: c
    ? 'Last cycle ended ' + utc(c.ended) + ' (started ' + utc(c.started) + ', took ' + (c.durationMs / 1000).toFixed(2) + ' s).'
    : report.running ? 'No cycle has finished since the server started.' : 'This server runs no lifecycle scanner.' })];
  if (c && !report.rules.length) parts.push(h('p', { class: 'muted', text: 'No object is waiting for an expiration rule.' }));
  for (const r of report.rules) {
    const w = 280, hgt = 70, n = r.perDay.length, bw = w / n;
    const max = Math.max(1, ...r.perDay.map((d) => d.objects));
    const pic = svg('svg', { viewBox: '0 0 ' + w + ' ' + (hgt + 14), class: 'chart forecast-chart', role: 'img' });
    pic.setAttribute('aria-label', 'Objects due per day: ' + r.perDay.map((d) => d.dueBy.slice(0, 10) + ' ' + d.objects).join(', '));
    r.perDay.forEach((d, i) => {
      const bh = (d.objects / max) * (hgt - 4);
      pic.append(svg('rect', { x: (i * bw + 3).toFixed(1), y: (hgt - bh).toFixed(1), width: (bw - 6).toFixed(1), height: bh.toFixed(1), class: 'due-bar' }));
      const label = svg('text', { x: (i * bw + bw / 2).toFixed(1), y: hgt + 12, 'text-anchor': 'middle', class: 'due-label' });
      label.textContent = d.dueBy.slice(5, 10);
      pic.append(label);
    });
    parts.push(h('section', { class: 'forecast-rule', 'data-bucket': r.bucket, 'data-rule': r.ruleId },
      h('h4', {}, h('span', { text: r.bucket + ' · rule ' }), h('strong', { class: 'forecast-rule-id', text: r.ruleId }),
        h('span', { class: 'muted', text: ' — ' + r.objects + ' object(s) due' + (r.later ? ', ' + r.later + ' after these ' + n + ' days' : '') })),
      pic,
      h('ol', { class: 'forecast-soonest' }, ...r.soonest.map((e) => h('li', {},
        h('time', { datetime: e.expires, text: utc(e.expires) }), ' ', h('code', { text: e.key }))))));
  }
  box.replaceChildren(...parts);
}

// ---- start -----------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('#signout').addEventListener('click', signOut);
  window.addEventListener('hashchange', route);
  route();
});
