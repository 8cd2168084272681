// Ward's review UI: plain JavaScript, no build step. It signs in with an API key (kept in this
// tab's sessionStorage only), lists the review queue, shows an item with every finding, and
// records decisions. Images come from the encrypted evidence store only, are fetched with the
// key into a blob URL, and are shown blurred and greyscale unless the reviewer reveals them;
// a reveal lasts REVEAL_MS and ends early when the reviewer leaves the item or the tab. A reveal is
// recorded first (POST /v1/reviews/:id/evidence/reveal, audited as evidence.reveal): when that fails,
// the image stays blurred. Irreversible decisions (confirm, dismiss into a bank) ask first.
// Reviewer settings (blur strength, greyscale, video mute) are kept in localStorage under
// `ward.settings.<key id>`: per reviewer key, in this browser, never sent to the server.

const REVEAL_MS = 10_000;
const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem('ward.key') || '', items: [], index: -1, item: null, banks: [], me: null };
const DEFAULT_SETTINGS = { blur: 24, grey: true, mute: true };
let settings = { ...DEFAULT_SETTINGS };
let revealTimer = null;
let revealTick = null;
let imageUrl = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { authorization: `Bearer ${state.key}`, ...(options.headers || {}) },
  });
  if (options.raw && res.ok) return res;
  const body = await res
    .json()
    .catch(() => ({ ok: false, error: { code: 'WARD_ERR_INTERNAL', message: `HTTP ${res.status}` } }));
  if (!body.ok) {
    const err = new Error(body.error.message);
    err.code = body.error.code;
    err.status = res.status;
    throw err;
  }
  return body.data;
}

// ---------------------------------------------------------------------------------------------
// Sign in

async function signIn(key) {
  state.key = key;
  const me = await api('/v1/me');
  if (me.role === 'submitter') throw new Error('A submitter key cannot review: use an analyst or admin key');
  sessionStorage.setItem('ward.key', key);
  state.me = me;
  loadSettings();
  $('whoami').textContent = `${me.name || me.keyId} (${me.role}${me.childSafety ? ', child-safety data' : ''})`;
  $('signin').hidden = true;
  $('nav').hidden = false;
  show('queue');
  await loadBanks();
  await loadQueue();
}

function signOut() {
  sessionStorage.removeItem('ward.key');
  state.key = '';
  hideImage();
  location.reload();
}

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  $('signin-error').textContent = '';
  signIn($('key').value.trim()).catch((err) => {
    state.key = '';
    $('signin-error').textContent = err.message;
  });
  $('key').value = '';
});
$('signout').addEventListener('click', signOut);

// ---------------------------------------------------------------------------------------------
// Reviewer settings (per key id, in localStorage)

function settingsKey() {
  return `ward.settings.${state.me?.keyId ?? 'anonymous'}`;
}

function loadSettings() {
  let stored = {};
  try {
    stored = JSON.parse(localStorage.getItem(settingsKey()) || '{}') || {};
  } catch {
    stored = {};
  }
  const blur = Number(stored.blur);
  settings = {
    // Never below 8 px: the blur is the reviewer's protection, not an option to switch off.
    blur: Number.isFinite(blur) ? Math.min(64, Math.max(8, blur)) : DEFAULT_SETTINGS.blur,
    grey: typeof stored.grey === 'boolean' ? stored.grey : DEFAULT_SETTINGS.grey,
    mute: typeof stored.mute === 'boolean' ? stored.mute : DEFAULT_SETTINGS.mute,
  };
  applySettings();
}

function applySettings() {
  const root = document.documentElement.style;
  root.setProperty('--blur', `${settings.blur}px`);
  root.setProperty('--grey', settings.grey ? '1' : '0');
  for (const v of document.querySelectorAll('video')) v.muted = settings.mute;
  $('set-blur').value = String(settings.blur);
  $('set-blur-value').textContent = `${settings.blur} px`;
  $('set-grey').checked = settings.grey;
  $('set-mute').checked = settings.mute;
}

function saveSettings() {
  settings = {
    blur: Math.min(64, Math.max(8, Number($('set-blur').value) || DEFAULT_SETTINGS.blur)),
    grey: $('set-grey').checked,
    mute: $('set-mute').checked,
  };
  localStorage.setItem(settingsKey(), JSON.stringify(settings));
  applySettings();
}

for (const id of ['set-blur', 'set-grey', 'set-mute']) $(id).addEventListener('input', saveSettings);
for (const id of ['set-grey', 'set-mute']) $(id).addEventListener('change', saveSettings);
$('settings-open').addEventListener('click', () => $('settings').showModal());

function show(view) {
  if (!state.me) return; // nothing to show before sign-in (the nav is hidden then too)
  $('queue-view').hidden = view !== 'queue';
  $('audit-view').hidden = view !== 'audit';
  for (const b of document.querySelectorAll('button.tab')) b.classList.toggle('active', b.dataset.view === view);
  if (view !== 'queue') blur();
  if (view === 'audit') loadAudit();
}

for (const b of document.querySelectorAll('button.tab')) b.addEventListener('click', () => show(b.dataset.view));

// ---------------------------------------------------------------------------------------------
// Queue

async function loadBanks() {
  try {
    state.banks = (await api('/v1/banks')).banks;
  } catch {
    state.banks = [];
  }
  const confirm = $('confirm-bank');
  const dismiss = $('dismiss-bank');
  // No bank is preselected: the reviewer chooses one for every confirmation.
  confirm.replaceChildren(
    el('option', { value: '' }, '(choose a block bank)'),
    ...state.banks.filter((b) => b.kind === 'block').map((b) => el('option', { value: b.name }, b.name)),
  );
  dismiss.replaceChildren(
    el('option', { value: '' }, '(none)'),
    ...state.banks.filter((b) => b.kind === 'negative').map((b) => el('option', { value: b.name }, b.name)),
  );
}

async function loadQueue(keepId) {
  const status = $('status').value;
  const data = await api(`/v1/reviews?status=${encodeURIComponent(status)}&limit=200`);
  state.items = data.items;
  $('queue-count').textContent = `${data.total} item${data.total === 1 ? '' : 's'}`;
  const list = $('queue-list');
  list.replaceChildren(
    ...state.items.map((item, i) =>
      // Each row is a button: reachable with Tab, chosen with Enter or Space.
      el(
        'li',
        { 'data-id': String(item.id), 'data-testid': `queue-item-${item.id}` },
        el(
          'button',
          { type: 'button', onclick: () => select(i), 'data-testid': `queue-button-${item.id}` },
          el('span', { class: 'verdict' }, item.verdict),
          ` #${item.id} · ${item.contentType} · ${item.status}`,
          el('br'),
          el('span', { class: 'muted' }, `${item.name || 'upload'} · score ${item.score ?? '–'}`),
        ),
      ),
    ),
  );
  const at = keepId ? state.items.findIndex((x) => x.id === keepId) : -1;
  if (at >= 0) select(at);
  else if (state.items.length === 0) clearItem();
}

$('status').addEventListener('change', () => loadQueue());
$('refresh').addEventListener('click', () => loadQueue(state.item?.id));

function clearItem() {
  hideImage();
  state.index = -1;
  state.item = null;
  $('item-body').hidden = true;
  $('item-empty').hidden = false;
}

async function select(i) {
  if (i < 0 || i >= state.items.length) return;
  hideImage(); // leaving an item always re-blurs and drops its image
  state.index = i;
  for (const li of $('queue-list').children)
    li.classList.toggle('selected', li.dataset.id === String(state.items[i].id));
  const item = await api(`/v1/reviews/${state.items[i].id}`);
  state.item = item;
  renderItem(item);
}

// ---------------------------------------------------------------------------------------------
// Item

function renderItem(item) {
  const r = item.report;
  $('item-empty').hidden = true;
  $('item-body').hidden = false;
  $('item-redacted').hidden = !item.redacted;
  $('item-title').textContent = `#${item.id} · ${r.verdict.toUpperCase()} · ${item.status}`;
  $('item-meta').textContent = `${r.contentType}${r.format ? ` (${r.format})` : ''} · ${r.size ?? '?'} bytes · ${
    r.archivePath ? `${r.path} → ${r.archivePath}` : r.path
  } · queued ${new Date(item.createdAt).toLocaleString()}${item.decision ? ` · decided: ${item.decision.action}` : ''}`;

  $('reasons').replaceChildren(
    ...r.reasons.map((x) =>
      el('li', {}, `${x.rule}: ${x.message}${x.score !== undefined ? ` (score ${x.score})` : ''}`),
    ),
  );
  const hits = [
    ...r.matches.map((m) => ({ ...m, kind: 'match' })),
    ...(r.suppressedBy || []).map((m) => ({ ...m, kind: 'suppressed by (negative)' })),
  ];
  $('matches').replaceChildren(
    hits.length === 0
      ? el('p', { class: 'muted' }, 'No bank matches.')
      : el(
          'table',
          {},
          el(
            'thead',
            {},
            el('tr', {}, ...['', 'bank', 'signal', 'distance', 'labels', 'value'].map((h) => el('th', {}, h))),
          ),
          el(
            'tbody',
            {},
            ...hits.map((m) =>
              el(
                'tr',
                {},
                el('td', {}, m.kind),
                el('td', {}, m.bank),
                el('td', {}, m.signal + (m.transform ? ` (${m.transform})` : '')),
                el('td', {}, m.distance),
                el('td', {}, (m.labels || []).join(', ')),
                el('td', {}, el('code', {}, m.value)),
              ),
            ),
          ),
        ),
  );
  // Findings grouped by area: provenance, model, text, and the rest.
  const groups = new Map();
  for (const f of r.findings) {
    const area = f.type.includes('.') ? f.type.slice(0, f.type.indexOf('.')) : 'other';
    if (!groups.has(area)) groups.set(area, []);
    groups.get(area).push(f);
  }
  $('findings').replaceChildren(
    ...(groups.size === 0
      ? [el('p', { class: 'muted' }, 'No findings from extractors (provenance, model, text).')]
      : [...groups].map(([area, list]) =>
          el(
            'div',
            { class: 'finding-group', 'data-testid': `findings-${area}` },
            el('h4', {}, area),
            el(
              'ul',
              {},
              ...list.map((f) =>
                el(
                  'li',
                  {},
                  el('span', { class: `sev-${f.severity}` }, f.severity),
                  ` ${f.type}: ${f.message}${f.score !== undefined ? ` (score ${f.score})` : ''} — ${f.source}`,
                  f.data ? el('pre', {}, JSON.stringify(f.data, null, 2)) : '',
                ),
              ),
            ),
          ),
        )),
  );
  $('signals').replaceChildren(
    ...Object.entries(r.signals).flatMap(([k, v]) => [
      el('dt', {}, k),
      el('dd', {}, el('code', {}, Array.isArray(v) ? v.join(' ') : v)),
    ]),
  );
  $('decide-result').textContent = '';
  $('decide-result').className = '';
  const decided = item.status === 'confirmed' || item.status === 'dismissed';
  for (const b of document.querySelectorAll('#decide button')) b.disabled = decided;
  renderMedia(item);
  renderReport(item);
}

// ---------------------------------------------------------------------------------------------
// Report (confirmed items): the CyberTipline report's pre-filled fields for the reviewer to
// check, schema errors by element, then submission; the retention of the item's reports.

function reportChoices(item) {
  const choice = {};
  if ($('report-class').value) choice.industryClassification = $('report-class').value;
  const annotations = $('report-annotations')
    .value.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (annotations.length > 0) choice.annotations = annotations;
  return { reviewIds: [item.id], choices: { [String(item.id)]: choice } };
}

async function renderReport(item) {
  const section = $('report');
  section.hidden = item.status !== 'confirmed';
  $('report-fields').replaceChildren();
  $('report-errors').replaceChildren();
  $('report-result').textContent = '';
  $('report-submit').disabled = true;
  if (section.hidden) return;
  try {
    const r = await api(`/v1/reports?reviewId=${item.id}`);
    const ret = r.retention;
    $('report-retention').textContent =
      r.reports.length === 0
        ? 'Not reported yet.'
        : `Reports: ${r.reports.map((x) => `#${x.id} ${x.reporter} ${x.state}`).join(', ')} · evidence and contents kept until ${ret.retainUntil}${ret.legalHold ? ' (legal hold)' : ''}`;
  } catch (err) {
    $('report-retention').textContent = `${err.code || 'error'}: ${err.message}`;
  }
}

async function checkReport() {
  const item = state.item;
  if (!item) return;
  $('report-errors').replaceChildren();
  try {
    const b = await api('/v1/reports/ncmec/build', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(reportChoices(item)),
    });
    const f = b.files[0]?.prefilled || {};
    const rows = [
      ['MD5', f.md5],
      ['SHA-1', f.sha1],
      ['PDQ', f.pdq],
      ['Viewed by a person (fileViewedByEsp)', String(f.viewedByPerson)],
      ['Generative AI', String(f.generativeAi)],
      ['Models named', (f.models || []).map((m) => m.name).join(', ')],
      ['Model bank matches', (f.modelBankMatches || []).join('; ')],
      ['Classification', f.choices?.industryClassification],
      ['Annotations', (f.choices?.annotations || []).join(', ')],
      ['Uploader', f.metadata?.uploader ? JSON.stringify(f.metadata.uploader) : ''],
    ];
    $('report-fields').replaceChildren(
      ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, el('code', {}, v || '—'))]),
    );
    $('report-errors').replaceChildren(
      ...b.errors.flatMap((d) =>
        d.errors.map((e) => el('li', {}, `${d.document}: element ${e.element || '?'}: ${e.message}`)),
      ),
    );
    $('report-submit').disabled = !b.valid;
    $('report-result').textContent = b.valid ? 'The report passes the schema. Check the fields, then submit.' : '';
  } catch (err) {
    $('report-result').textContent = `${err.code || 'error'}: ${err.message}`;
  }
}

async function submitReport() {
  const item = state.item;
  if (!item) return;
  $('report-submit').disabled = true;
  $('report-result').textContent = 'Submitting…';
  try {
    const r = await api('/v1/reports/ncmec', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(reportChoices(item)),
    });
    $('report-result').textContent = `Report #${r.id}: ${r.state}${r.remoteId ? ` (CyberTipline ${r.remoteId})` : ''}`;
    await renderReport(item);
    $('report-result').textContent = `Report #${r.id}: ${r.state}${r.remoteId ? ` (CyberTipline ${r.remoteId})` : ''}`;
  } catch (err) {
    $('report-result').textContent = `${err.code || 'error'}: ${err.message}`;
  }
}

$('report-check').addEventListener('click', checkReport);
$('report-submit').addEventListener('click', submitReport);

function renderMedia(item) {
  const img = $('media-img');
  const note = $('media-note');
  img.hidden = true;
  $('reveal').hidden = true;
  if (!item.evidence.available) {
    note.textContent = `No image shown. ${item.evidence.reason}.`;
    return;
  }
  if (item.contentType !== 'image') {
    note.textContent = `A copy is kept (encrypted), but ${item.contentType} content is not shown here.`;
    return;
  }
  note.textContent = 'Loading (blurred)…';
  const id = item.id;
  api(`/v1/reviews/${id}/evidence`, { raw: true })
    .then((res) => res.blob())
    .then((blob) => {
      if (state.item?.id !== id) return;
      imageUrl = URL.createObjectURL(blob);
      img.classList.remove('revealed');
      img.src = imageUrl;
      img.hidden = false;
      note.textContent = '';
      $('reveal').hidden = false;
    })
    .catch((err) => {
      note.textContent = `No image: ${err.message}`;
    });
}

async function reveal() {
  const img = $('media-img');
  const item = state.item;
  if (img.hidden || !imageUrl || !item) return;
  // Recorded before it is shown (evidence.reveal in the audit log); no record, no reveal.
  try {
    await api(`/v1/reviews/${item.id}/evidence/reveal`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ms: REVEAL_MS }),
    });
  } catch (err) {
    $('reveal-timer').textContent = `Not revealed: ${err.message}`;
    return;
  }
  if (state.item?.id !== item.id || img.hidden) return;
  img.classList.add('revealed');
  img.alt = 'Item under review (revealed)';
  clearTimeout(revealTimer);
  clearInterval(revealTick);
  const until = Date.now() + REVEAL_MS;
  const tick = () => {
    $('reveal-timer').textContent = `revealed: blurs again in ${Math.ceil((until - Date.now()) / 1000)} s`;
  };
  tick();
  revealTick = setInterval(tick, 500);
  revealTimer = setTimeout(blur, REVEAL_MS);
}

function blur() {
  clearTimeout(revealTimer);
  clearInterval(revealTick);
  revealTimer = null;
  const img = $('media-img');
  img.classList.remove('revealed');
  img.alt = 'Item under review (blurred)';
  $('reveal-timer').textContent = '';
}

function hideImage() {
  blur();
  const img = $('media-img');
  img.hidden = true;
  img.removeAttribute('src');
  if (imageUrl) URL.revokeObjectURL(imageUrl);
  imageUrl = null;
}

$('reveal').addEventListener('click', reveal);
// Leaving the tab or the window re-blurs at once.
document.addEventListener('visibilitychange', () => {
  if (document.hidden) blur();
});
window.addEventListener('blur', blur);
window.addEventListener('pagehide', hideImage);

// ---------------------------------------------------------------------------------------------
// Decisions

// Resolves true when the reviewer chooses "Yes" in the confirm dialog (Cancel is focused first).
function askFirst(text) {
  const dialog = $('decide-confirm');
  $('decide-confirm-text').textContent = text;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
    dialog.showModal();
  });
}

async function decide(action) {
  const item = state.item;
  if (!item || $('item-body').hidden) return;
  if (document.querySelector('#decide button[data-action]')?.disabled) return;
  const body = { action };
  const labels = $('labels')
    .value.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (labels.length > 0) body.labels = labels;
  if ($('note').value.trim()) body.note = $('note').value.trim();
  if (action === 'confirm') {
    body.bank = $('confirm-bank').value;
    if (!body.bank) {
      $('decide-result').textContent = 'Choose a block bank to confirm into (an admin creates banks).';
      return;
    }
  }
  if (action === 'dismiss' && $('dismiss-bank').value) body.bank = $('dismiss-bank').value;
  if (action === 'confirm' || body.bank) {
    const what =
      action === 'confirm'
        ? `Confirm #${item.id} and add its signals to the block bank “${body.bank}”? Matching uploads are blocked from now on.`
        : `Dismiss #${item.id} and add its signals to the negative bank “${body.bank}”? Matching uploads are no longer flagged.`;
    if (!(await askFirst(what))) {
      $('decide-result').textContent =
        `#${item.id}: not ${action === 'confirm' ? 'confirmed' : 'dismissed'} (cancelled)`;
      $('decide-result').className = '';
      return;
    }
  }
  try {
    const updated = await api(`/v1/reviews/${item.id}/decision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    $('labels').value = '';
    $('note').value = '';
    const where = updated.decision?.bank
      ? ` (${(updated.decision.added || []).join(', ')} added to ${updated.decision.bank})`
      : '';
    hideImage();
    await loadQueue();
    $('decide-result').textContent = `#${item.id}: ${updated.status}${where}`;
    $('decide-result').className = 'ok';
    if (state.items.length > 0) {
      const next = Math.min(state.index, state.items.length - 1);
      await select(Math.max(0, next));
      $('decide-result').textContent = `#${item.id}: ${updated.status}${where}`;
      $('decide-result').className = 'ok';
    } else {
      state.item = updated;
      renderItem(updated);
      $('decide-result').textContent = `#${item.id}: ${updated.status}${where}`;
      $('decide-result').className = 'ok';
    }
  } catch (err) {
    $('decide-result').textContent = `${err.code || 'error'}: ${err.message}`;
    $('decide-result').className = 'error';
  }
}

for (const b of document.querySelectorAll('#decide button[data-action]')) {
  b.addEventListener('click', () => decide(b.dataset.action));
}

document.addEventListener('keydown', (e) => {
  if (!state.key || e.ctrlKey || e.metaKey || e.altKey) return;
  if (document.querySelector('dialog[open]')) return;
  const t = e.target;
  if (t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement) return;
  if ($('queue-view').hidden) return;
  const k = e.key.toLowerCase();
  const actions = {
    j: () => select(state.index + 1),
    k: () => select(state.index - 1),
    v: reveal,
    c: () => decide('confirm'),
    d: () => decide('dismiss'),
    e: () => decide('escalate'),
    r: () => loadQueue(state.item?.id),
    '?': () => $('help').showModal(),
  };
  if (actions[k]) {
    e.preventDefault();
    actions[k]();
  }
});

// ---------------------------------------------------------------------------------------------
// Audit log

async function loadAudit() {
  $('audit-error').textContent = '';
  let data;
  try {
    data = await api('/v1/audit?order=desc&limit=100');
  } catch (err) {
    $('audit-error').textContent = `${err.code || 'error'}: ${err.message}`;
    return;
  }
  $('audit')
    .querySelector('tbody')
    .replaceChildren(
      ...data.records.map((r) =>
        el(
          'tr',
          { 'data-testid': `audit-${r.seq}` },
          el('td', {}, r.seq),
          el('td', {}, new Date(r.at).toLocaleString()),
          el('td', {}, r.actor),
          el('td', {}, r.action),
          el('td', {}, r.target),
          el('td', {}, el('pre', {}, JSON.stringify(r.details))),
        ),
      ),
    );
}

$('audit-refresh').addEventListener('click', loadAudit);
$('audit-verify').addEventListener('click', async () => {
  try {
    const v = await api('/v1/audit/verify');
    $('audit-status').textContent = v.verified
      ? `verified: ${v.records} records, head ${v.head?.hash ? v.head.hash.slice(0, 16) : '–'}…`
      : `BROKEN at record ${v.broken?.seq ?? '?'}: ${v.broken?.reason ?? 'unknown'}`;
  } catch (err) {
    $('audit-status').textContent = `${err.code || 'error'}: ${err.message}`;
  }
});

if (state.key) {
  signIn(state.key).catch(() => {
    sessionStorage.removeItem('ward.key');
    state.key = '';
  });
}
