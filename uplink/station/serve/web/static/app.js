// fenghuo station console: plain JavaScript, no libraries. Every text
// that comes from the network is put into the page with textContent
// (through el()), never as HTML.
'use strict';

const state = { user: '', csrf: '', stream: null, feed: [], view: '', refresh: null };

const LEVEL_ZH = ['', '一级', '二级', '三级', '四级'];
const STATUS_ZH = { open: '待处置', assigned: '处置中', resolved: '已处置', reviewed: '已复核', false_alarm: '误报' };
const STATE_ZH = { open: '发生', update: '更新', clear: '消除', escalate: '升级', drop: '丢弃' };
const ORIGIN_ZH = { gateway: '网关上报 gateway', gateway_lost: '网关失联 gateway lost', data_missing: '数据缺失 data missing' };
const FEED_MAX = 200;

// el builds an element; strings and numbers become text nodes.
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat()) {
    if (k === undefined || k === null || k === false) continue;
    e.append(typeof k === 'object' ? k : document.createTextNode(String(k)));
  }
  return e;
}

function main() { return document.getElementById('main'); }
function show(...kids) { main().replaceChildren(...kids); }

function when(t) {
  if (!t) return '';
  const d = new Date(t);
  if (isNaN(d)) return String(t);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function age(t) {
  const s = Math.max(0, Math.floor((Date.now() - new Date(t)) / 1000));
  if (s < 60) return `${s} 秒`;
  if (s < 3600) return `${Math.floor(s / 60)} 分钟`;
  if (s < 86400) return `${Math.floor(s / 3600)} 小时`;
  return `${Math.floor(s / 86400)} 天`;
}

function level(n) { return el('span', { class: `lv lv${n}` }, LEVEL_ZH[n] || String(n)); }
function status(s) { return el('span', { class: `st st-${s}` }, STATUS_ZH[s] || s); }

// api calls the JSON API; state changes carry the CSRF token.
async function api(method, path, body) {
  const opt = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') {
    opt.headers['Content-Type'] = 'application/json';
    opt.headers['X-CSRF-Token'] = state.csrf;
    opt.body = JSON.stringify(body || {});
  }
  const r = await fetch(path, opt);
  let data = {};
  try { data = await r.json(); } catch (e) { data = {}; }
  if (r.status === 401 && path !== '/api/login' && path !== '/api/session') {
    signedOut();
    throw new Error('请重新登录 sign in again');
  }
  if (!r.ok) throw new Error(data.error || `HTTP ${r.status}`);
  return data;
}

function signedOut() {
  state.user = ''; state.csrf = '';
  if (state.stream) { state.stream.close(); state.stream = null; }
  document.getElementById('nav').hidden = true;
  location.hash = '#/login';
}

// ---- sign-in and the first account -------------------------------------

async function viewLogin() {
  let setup = { needed: false, allowed: false, why: '' };
  try { setup = await api('GET', '/api/setup'); } catch (e) { /* sign-in still works */ }
  if (setup.needed) return viewSetup(setup);
  const msg = el('p', { class: 'err', id: 'login-error' });
  const form = el('form', { class: 'box', id: 'login-form' },
    el('h1', {}, '登录 Sign in'),
    el('label', { for: 'user' }, '用户名 User'), el('input', { id: 'user', name: 'user', autocomplete: 'username', required: true }),
    el('label', { for: 'password' }, '密码 Password'), el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    el('button', { type: 'submit', id: 'login-submit' }, '登录 Sign in'), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    try {
      const r = await api('POST', '/api/login', { user: form.user.value, password: form.password.value });
      signedIn(r);
    } catch (e) { msg.textContent = e.message; }
  });
  show(form);
}

function viewSetup(setup) {
  const msg = el('p', { class: 'err' });
  if (!setup.allowed) {
    show(el('div', { class: 'box' }, el('h1', {}, '尚无账号 No account yet'), el('p', {}, setup.why)));
    return;
  }
  const form = el('form', { class: 'box', id: 'setup-form' },
    el('h1', {}, '创建第一个账号 Create the first account'),
    el('p', { class: 'muted' }, '本站尚无账号；仅本机 (127.0.0.1) 首次访问可创建。No account exists; only a first visit from this machine can create one.'),
    el('label', { for: 'user' }, '用户名 User'), el('input', { id: 'user', name: 'user', required: true, maxlength: 64 }),
    el('label', { for: 'password' }, '密码 Password (≥ 10)'), el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10 }),
    el('label', { for: 'password2' }, '再次输入 Repeat'), el('input', { id: 'password2', name: 'password2', type: 'password', autocomplete: 'new-password', required: true }),
    el('button', { type: 'submit' }, '创建并登录 Create and sign in'), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (form.password.value !== form.password2.value) { msg.textContent = '两次密码不一致 passwords differ'; return; }
    try {
      signedIn(await api('POST', '/api/setup', { user: form.user.value, password: form.password.value }));
    } catch (e) { msg.textContent = e.message; }
  });
  show(form);
}

function signedIn(r) {
  state.user = r.user; state.csrf = r.csrf;
  document.getElementById('who').textContent = r.user;
  document.getElementById('nav').hidden = false;
  startStream();
  if (location.hash === '' || location.hash === '#/login' || location.hash === '#/') location.hash = '#/orders';
  else route();
}

// ---- live feed (Server-Sent Events) -------------------------------------

function startStream() {
  if (state.stream) return;
  const es = new EventSource('/api/stream');
  state.stream = es;
  es.addEventListener('open', () => { setLive(true); refreshView(); });
  es.addEventListener('error', () => {
    setLive(false);
    if (es.readyState === EventSource.CLOSED) { // refused (401, 503): try again later
      state.stream = null;
      setTimeout(() => { if (state.user) startStream(); }, 5000);
    }
  });
  es.addEventListener('tick', () => refreshView());
  es.addEventListener('feed', (m) => {
    let ev;
    try { ev = JSON.parse(m.data); } catch (e) { return; }
    state.feed.unshift(ev);
    if (state.feed.length > FEED_MAX) state.feed.length = FEED_MAX;
    const list = document.getElementById('feed');
    if (list) {
      list.prepend(feedItem(ev, true));
      while (list.children.length > FEED_MAX) list.lastChild.remove();
    }
    refreshView();
  });
}

function setLive(on) {
  const dot = document.getElementById('live');
  if (dot) dot.className = on ? 'live on' : 'live';
}

// refreshView reloads the current list, at most once per 300 ms.
function refreshView() {
  if (state.refresh) return;
  state.refresh = setTimeout(() => {
    state.refresh = null;
    if (state.view === 'orders') loadOrders();
    if (state.view === 'gateways') loadGateways();
  }, 300);
}

function feedItem(ev, fresh) {
  const what = ev.kind === 'ticket'
    ? [`${STATE_ZH[ev.state] || ev.state} `, ev.label_zh, ' ', ev.label_en ? `(${ev.label_en})` : '']
    : ['工单 ', STATUS_ZH[ev.status] || ev.status, ' ', ev.label_zh];
  return el('li', { class: fresh ? 'fresh' : '' }, el('span', { class: 'muted' }, when(ev.at), ' '), level(ev.level), ' ',
    what, ' — ', ev.gateway, ev.location ? ` · ${ev.location}` : '');
}

// ---- open orders ---------------------------------------------------------

function viewOrders() {
  show(
    el('h1', {}, '待办工单 Open orders ', el('span', { id: 'live', class: state.stream && state.stream.readyState === 1 ? 'live on' : 'live', title: '实时 live' })),
    el('div', { id: 'orders' }, el('p', { class: 'muted' }, '加载中… Loading…')),
    el('h2', {}, '实时动态 Live feed'),
    el('ul', { id: 'feed' }, state.feed.map((ev) => feedItem(ev, false))));
  loadOrders();
}

function byLevelThenAge(a, b) {
  return (a.level || 9) - (b.level || 9) || new Date(a.opened_at) - new Date(b.opened_at);
}

async function loadOrders() {
  const box = document.getElementById('orders');
  if (!box) return;
  let r;
  try { r = await api('GET', '/api/orders'); } catch (e) { box.replaceChildren(el('p', { class: 'err' }, e.message)); return; }
  const orders = r.orders.sort(byLevelThenAge);
  if (orders.length === 0) { box.replaceChildren(el('p', { class: 'muted', id: 'no-orders' }, '没有待办工单 No open orders')); return; }
  box.replaceChildren(el('table', { id: 'orders-table' },
    el('thead', {}, el('tr', {}, ['级别 Level', '隐患 Hazard', '场所 Site', '位置 Location', '网关 Gateway', '状态 Status', '已开 Age'].map((h) => el('th', {}, h)))),
    el('tbody', {}, orders.map((o) => el('tr', { class: 'clickable', 'data-ticket': o.ticket_id, onclick: () => { location.hash = `#/order/${o.id}`; } },
      el('td', {}, level(o.level)),
      el('td', {}, el('a', { href: `#/order/${o.id}` }, o.label_zh || o.hazard), el('div', { class: 'muted' }, o.label_en)),
      el('td', {}, o.site), el('td', {}, o.location), el('td', {}, o.gateway),
      el('td', {}, status(o.status), o.cleared ? el('div', { class: 'muted' }, '已消除 cleared') : null),
      el('td', { title: when(o.opened_at) }, age(o.opened_at)))))));
}

// ---- one order -----------------------------------------------------------

async function viewOrder(id) {
  show(el('p', { class: 'muted' }, '加载中… Loading…'));
  let r;
  try { r = await api('GET', `/api/orders/${encodeURIComponent(id)}`); } catch (e) { show(el('p', { class: 'err' }, e.message)); return; }
  const o = r.order;
  const last = r.events.length ? r.events[r.events.length - 1].ticket : null;
  const site = last && last.gateway && last.gateway.site ? last.gateway.site : {};
  show(
    el('h1', {}, level(o.level), ' ', o.label_zh || o.hazard, ' ', el('span', { class: 'muted' }, o.label_en), ' — ', el('span', { id: 'order-status' }, status(o.status))),
    el('div', { class: 'grid2' },
      el('dl', { class: 'kv' },
        kv('工单 Order', `#${o.id}`), kv('来源 Origin', ORIGIN_ZH[o.origin] || o.origin), kv('工单号 Ticket', o.ticket_id),
        kv('场所 Site', o.site), kv('地址 Address', site.address), kv('位置 Location', o.location), kv('设备 Device', o.device),
        kv('网关 Gateway', o.gateway), kv('乡镇 Township', o.township), kv('开单 Opened', when(o.opened_at)),
        kv('最近状态 Last state', STATE_ZH[o.last_state] || o.last_state), kv('说明 Detail', o.detail),
        o.missing_events ? kv('缺失 Missing', String(o.missing_events)) : null),
      actions(o)),
    el('h2', {}, '处置记录 Steps'),
    table(['时间 When', '操作 Action', '从 From', '到 To', '人员 By', '备注 Note'], r.steps.map((s) =>
      [when(s.at), s.action, STATUS_ZH[s.from] || s.from, STATUS_ZH[s.to] || s.to, s.by, s.note]), 'steps'),
    el('h2', {}, '事件与证据 Events and evidence'),
    table(['序号 Seq', '事件 State', '发生 Occurred', '接收 Received', '证据 Evidence', '建议 Suggestion'], r.events.map((e) =>
      [String(e.seq), STATE_ZH[e.state] || e.state, e.occurred_at, when(e.received_at), evidence(e.ticket), e.ticket ? e.ticket.suggestion_zh : '']), 'events'));
}

function kv(k, v) { return v ? [el('dt', {}, k), el('dd', {}, v)] : null; }

function evidence(t) {
  if (!t || !t.evidence) return '';
  const ev = t.evidence;
  const parts = [];
  if (ev.point) parts.push(`${ev.point} = ${ev.value ?? ''}${ev.unit ? ' ' + ev.unit : ''}`);
  if (ev.threshold !== undefined) parts.push(`阈值 threshold ${ev.threshold}`);
  if (ev.value_at_alarm !== undefined) parts.push(`报警时 at alarm ${ev.value_at_alarm}`);
  if (ev.window) parts.push(`窗口 window ${ev.window}`);
  if (ev.snapshot) parts.push(Object.entries(ev.snapshot).map(([k, v]) => `${k}=${v}`).join(', '));
  return el('pre', { class: 'ev' }, parts.join('\n'));
}

function table(heads, rows, id) {
  if (rows.length === 0) return el('p', { class: 'muted', id }, '无 none');
  return el('table', { id }, el('thead', {}, el('tr', {}, heads.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows.map((row) => el('tr', {}, row.map((c) => el('td', {}, c))))));
}

// actions are the lifecycle buttons allowed in the order's status.
function actions(o) {
  const note = el('textarea', { id: 'note', maxlength: 1000, placeholder: '备注 / 处置结果 Note / result' });
  const msg = el('p', { id: 'action-msg' });
  const btn = (action, label, id) => el('button', { type: 'button', id, onclick: () => act(o.id, action, note.value, msg) }, label);
  const open = !['reviewed', 'false_alarm'].includes(o.status);
  const buttons = [
    o.status === 'open' ? btn('acknowledge', '受理 Acknowledge', 'btn-acknowledge') : null,
    o.status === 'assigned' ? btn('resolve', '已处置 Resolved (须填结果 result note)', 'btn-resolve') : null,
    o.status === 'resolved' ? btn('review', '已复核 Reviewed', 'btn-review') : null,
    open ? el('button', { type: 'button', class: 'secondary', id: 'btn-false-alarm', onclick: () => act(o.id, 'false_alarm', note.value, msg) }, '误报 False alarm') : null];
  if (!open) return el('div', { class: 'box' }, el('p', {}, '工单已关闭 The order is closed.'));
  return el('div', { class: 'box' }, el('label', { for: 'note' }, '备注 Note'), note, buttons, msg);
}

async function act(id, action, note, msg) {
  msg.className = ''; msg.textContent = '…';
  try {
    const r = await api('POST', `/api/orders/${encodeURIComponent(id)}/${action}`, { note });
    await viewOrder(id);
    const m = document.getElementById('action-msg');
    if (m) {
      m.className = 'ok';
      m.textContent = `已记录 recorded: ${STATUS_ZH[r.order.status] || r.order.status}` + (r.downlink ? ` · 回执 ack downlink: ${r.downlink}` : '');
    }
  } catch (e) { msg.className = 'err'; msg.textContent = e.message; }
}

// ---- gateways ------------------------------------------------------------

function viewGateways() {
  show(el('h1', {}, '网关 Gateways'), el('div', { id: 'gateways' }, el('p', { class: 'muted' }, '加载中… Loading…')));
  loadGateways();
}

async function loadGateways() {
  const box = document.getElementById('gateways');
  if (!box) return;
  let r;
  try { r = await api('GET', '/api/gateways'); } catch (e) { box.replaceChildren(el('p', { class: 'err' }, e.message)); return; }
  const rows = r.gateways.map((g) => [
    g.id, g.township,
    el('span', { class: g.state === 'online' ? 'online' : 'offline' }, g.state === 'online' ? '在线 online' : g.state === 'offline' ? '离线 offline' : '未知 unknown'),
    g.last_status && !g.last_status.startsWith('0001') ? `${when(g.last_status)} (${age(g.last_status)}前)` : '—',
    String(g.buffer_depth), g.version, String(g.events), String(g.dropped),
    g.open_gaps && g.open_gaps.length ? g.open_gaps.map((x) => `seq ${x.from}–${x.to} (缺 ${x.left})`).join('; ') : '无 none']);
  box.replaceChildren(table(['网关 Gateway', '乡镇 Township', '状态 State', '最近心跳 Last heartbeat', '缓存 Buffer', '版本 Version', '事件 Events', '丢弃 Dropped', '缺失 Open gaps'], rows, 'gateways-table'));
}

// ---- history -------------------------------------------------------------

const FILTERS = [['township', '乡镇 Township', 'text'], ['gateway', '网关 Gateway', 'text'], ['hazard', '隐患 Hazard', 'text'],
  ['from', '从 From', 'datetime-local'], ['to', '到 To', 'datetime-local']];

function viewHistory() {
  const form = el('form', { class: 'filters', id: 'history-form' },
    FILTERS.map(([n, label, type]) => el('div', {}, el('label', { for: `f-${n}` }, label), el('input', { id: `f-${n}`, name: n, type }))),
    el('div', {}, el('label', { for: 'f-level' }, '级别 Level'),
      el('select', { id: 'f-level', name: 'level' }, el('option', { value: '' }, '全部 all'), [1, 2, 3, 4].map((n) => el('option', { value: n }, LEVEL_ZH[n])))),
    el('div', {}, el('button', { type: 'submit' }, '查询 Search')),
    el('div', {}, el('a', { class: 'csv', id: 'csv', href: '/api/events.csv' }, '导出 CSV Export')));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); loadHistory(form); });
  show(el('h1', {}, '历史 History'), form, el('div', { id: 'history' }));
  loadHistory(form);
}

function historyQuery(form) {
  const q = new URLSearchParams();
  for (const [n] of FILTERS) {
    const v = form[n].value.trim();
    if (!v) continue;
    q.set(n, n === 'from' || n === 'to' ? new Date(v).toISOString() : v);
  }
  if (form.level.value) q.set('level', form.level.value);
  return q;
}

async function loadHistory(form) {
  const box = document.getElementById('history');
  const q = historyQuery(form);
  document.getElementById('csv').setAttribute('href', `/api/events.csv?${q}`);
  q.set('limit', '500');
  let r;
  try { r = await api('GET', `/api/events?${q}`); } catch (e) { box.replaceChildren(el('p', { class: 'err' }, e.message)); return; }
  box.replaceChildren(el('p', { class: 'muted' }, `${r.events.length} 条 events (最多 at most 500; CSV 最多 10 000)`),
    table(['接收 Received', '级别 Level', '隐患 Hazard', '事件 State', '网关 Gateway', '序号 Seq', '设备 Device', '工单号 Ticket'], r.events.map((e) =>
      [when(e.received_at), level(e.level), e.label_zh || e.hazard, STATE_ZH[e.state] || e.state, e.gateway, String(e.seq), e.device, e.ticket_id]), 'history-table'));
}

// ---- routing -------------------------------------------------------------

function route() {
  const h = location.hash || '#/orders';
  for (const n of ['orders', 'gateways', 'history']) {
    const a = document.getElementById(`nav-${n}`);
    if (a) a.className = h.startsWith(`#/${n}`) ? 'active' : '';
  }
  if (h === '#/login') { state.view = 'login'; return viewLogin(); }
  if (!state.user) { location.hash = '#/login'; return undefined; }
  const m = h.match(/^#\/order\/(\d+)$/);
  if (m) { state.view = 'order'; return viewOrder(m[1]); }
  if (h === '#/gateways') { state.view = 'gateways'; return viewGateways(); }
  if (h === '#/history') { state.view = 'history'; return viewHistory(); }
  state.view = 'orders';
  return viewOrders();
}

async function start() {
  document.getElementById('logout').addEventListener('click', async () => {
    try { await api('POST', '/api/logout'); } catch (e) { /* signed out anyway */ }
    signedOut();
  });
  window.addEventListener('hashchange', route);
  try {
    signedIn(await api('GET', '/api/session'));
  } catch (e) {
    if (location.hash !== '#/login') location.hash = '#/login';
    else route();
  }
}

document.addEventListener('DOMContentLoaded', start);
