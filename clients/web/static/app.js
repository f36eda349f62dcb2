// clownix-web's page: the topology as SVG that follows clownix-web's one Watch, actions through
// /api/OP, consoles through /ws/console. No framework: the whole picture is redrawn (at most
// once per frame) from `net`, the page's copy of the network. See docs/web.md.
'use strict';

// The state colours and line styles of clownix-graph (clients/graph/dot_builder.cc).
const STATES = {
  VM_STATE_DEFINED: ['defined', '#ffffff', '#374151'],
  VM_STATE_BOOTING: ['booting', '#fde68a', '#a16207'],
  VM_STATE_RUNNING: ['running', '#bbf7d0', '#15803d'],
  VM_STATE_STOPPING: ['stopping', '#fed7aa', '#c2410c'],
  VM_STATE_STOPPED: ['stopped', '#d1d5db', '#4b5563'],
  VM_STATE_CRASHED: ['crashed', '#fca5a5', '#b91c1c'],
};
const UNKNOWN_STATE = ['unknown', '#ffffff', '#9ca3af'];
const LAN_FILL = '#dbeafe', LAN_BORDER = '#1d4ed8', TAP_FILL = '#ede9fe', TAP_BORDER = '#6d28d9';
const LINK_UP = '#1f2937', LINK_DOWN = '#9ca3af', LINK_IMPAIRED = '#c2410c';
const CODES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
  'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED',
  'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

// Geometry of the layout (see docs/web.md: slots, kept for the life of a name).
const COLS = 8, CELL_W = 170, CELL_H = 100, LAN_W = 180, TAP_W = 140;
const TAP_Y = 34, LAN_Y = 120, VM_Y0 = 230, X0 = 90;

const net = {vms: new Map(), lans: new Map(), taps: new Map(), links: new Map(), revision: 0,
  time_us: 0};
const stats = new Map();  // lan -> LanStats
const renders = [];
const received = [];  // for benchmarks: when each watch message arrived
let token = sessionStorage.getItem('clownix-token') || '';
let connected = false, selected = null, renderQueued = false;
const slots = loadSlots();

const $ = (id) => document.getElementById(id);
const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, parent, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function html(tag, attrs, parent, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'onclick') e.onclick = v; else e.setAttribute(k, v);
  }
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function endpointKey(ep) {
  return ep.nic ? `nic:${ep.nic.vm}/${ep.nic.index || 0}` : `tap:${ep.tap}`;
}
function endpointName(ep) {
  return ep.nic ? `${ep.nic.vm}/eth${ep.nic.index || 0}` : `tap:${ep.tap}`;
}

// ---- the network, as the watch describes it -----------------------------------------------

function applyResponse(resp) {
  if (resp.snapshot) {
    const t = resp.snapshot.topology || {};
    net.vms.clear(); net.lans.clear(); net.taps.clear(); net.links.clear();
    for (const vm of t.vms || []) net.vms.set(vm.name, vm);
    for (const lan of t.lans || []) net.lans.set(lan.name, lan);
    for (const tap of t.taps || []) net.taps.set(tap.name, tap);
    for (const link of t.links || []) net.links.set(endpointKey(link.endpoint), link);
    net.revision = Number(t.revision || 0);
  }
  for (const ev of resp.events || []) {
    for (const ch of ev.changes || []) applyChange(ch);
    net.revision = Number(ev.revision);
    net.time_us = Number(ev.time_us || 0);
  }
}

function applyChange(ch) {
  const del = ch.type === 'DELETED';
  const table = ch.vm ? net.vms : ch.lan ? net.lans : ch.tap ? net.taps : ch.link ? net.links : null;
  const obj = ch.vm || ch.lan || ch.tap || ch.link;
  if (!table) return;  // an object kind this page does not know
  const key = ch.link ? endpointKey(obj.endpoint) : obj.name;
  if (!del) { table.set(key, obj); return; }
  table.delete(key);
  if (ch.vm || ch.tap) {
    for (const [k, l] of net.links) {
      if ((ch.vm && l.endpoint.nic && l.endpoint.nic.vm === obj.name) ||
          (ch.tap && l.endpoint.tap === obj.name)) net.links.delete(k);
    }
  }
}

// ---- stable layout: every name keeps its slot ------------------------------------------------

function loadSlots() {
  try {
    const s = JSON.parse(localStorage.getItem('clownix-web-slots'));
    if (s && s.vm && s.lan && s.tap) return s;
  } catch (e) { /* a damaged entry: start afresh */ }
  return {vm: {}, lan: {}, tap: {}};
}

// Gives each new name the slot it had before if that one is free, else the lowest free slot.
// New VMs are placed in the order of the first LAN they are on, so a chain reads left to right.
function assignSlots() {
  let changed = false;
  const assign = (kind, names) => {
    const used = new Set();
    for (const n of names) if (n in slots[kind]) used.add(slots[kind][n]);
    const live = new Set(names);
    const taken = new Set();
    for (const n of names) {
      if (n in slots[kind] && !taken.has(slots[kind][n])) { taken.add(slots[kind][n]); continue; }
      let s = 0;
      while (taken.has(s)) s++;
      slots[kind][n] = s; taken.add(s); changed = true;
    }
    // Forget names gone for good once there are many (keeps storage bounded).
    const all = Object.keys(slots[kind]);
    if (all.length > 4 * live.size + 64) {
      for (const n of all) if (!live.has(n)) delete slots[kind][n];
      changed = true;
    }
    void used;
  };
  assign('lan', [...net.lans.keys()].sort());
  assign('tap', [...net.taps.keys()].sort());
  const firstLan = (vm) => {
    let best = Infinity;
    for (const nic of vm.nics || []) {
      if (nic.lan && nic.lan in slots.lan) best = Math.min(best, slots.lan[nic.lan]);
    }
    return best;
  };
  const vms = [...net.vms.values()].sort((a, b) =>
      (firstLan(a) - firstLan(b)) || (a.number || 0) - (b.number || 0) || (a.name < b.name ? -1 : 1));
  assign('vm', vms.map((v) => v.name));
  if (changed) localStorage.setItem('clownix-web-slots', JSON.stringify(slots));
}

function vmPos(name) {
  const s = slots.vm[name] || 0;
  return [X0 + (s % COLS) * CELL_W, VM_Y0 + Math.floor(s / COLS) * CELL_H];
}
function lanPos(name) { return [X0 + (slots.lan[name] || 0) * LAN_W, LAN_Y]; }
function tapPos(name) { return [X0 + (slots.tap[name] || 0) * TAP_W, TAP_Y]; }

// ---- drawing -----------------------------------------------------------------------------------

function impaired(link) {
  const any = (i) => i && (i.delay_us || i.jitter_us || i.loss_percent || i.duplicate_percent ||
      i.corrupt_percent || i.reorder_percent || Number(i.rate_kbps || 0));
  return any(link.to_lan) || any(link.from_lan);
}

function impairmentText(i) {
  if (!i) return '';
  const parts = [];
  if (i.delay_us) parts.push(`${i.delay_us / 1000}ms`);
  if (i.jitter_us) parts.push(`±${i.jitter_us / 1000}ms`);
  if (i.loss_percent) parts.push(`loss ${i.loss_percent}%`);
  if (i.duplicate_percent) parts.push(`dup ${i.duplicate_percent}%`);
  if (i.corrupt_percent) parts.push(`corrupt ${i.corrupt_percent}%`);
  if (i.reorder_percent) parts.push(`reorder ${i.reorder_percent}%`);
  if (Number(i.rate_kbps || 0)) parts.push(`${i.rate_kbps}kbit/s`);
  return parts.join(' ');
}

function lanCounters(name) {
  const s = stats.get(name);
  if (!s) return '';
  let rx = 0, tx = 0, drops = 0;
  for (const p of s.ports || []) {
    rx += Number(p.rx_frames || 0); tx += Number(p.tx_frames || 0);
    drops += Number(p.drops_malformed || 0) + Number(p.drops_queue_full || 0) +
        Number(p.drops_impairment || 0);
  }
  return `in ${rx} · out ${tx} frames${drops ? ` · ${drops} dropped` : ''}`;
}

function render() {
  renderQueued = false;
  assignSlots();
  const root = $('topology');
  const g = document.createDocumentFragment();
  let maxX = 600, maxY = VM_Y0 + CELL_H;
  const links = svg('g', {class: 'links'}, g);
  const nodes = svg('g', {class: 'nodes'}, g);

  for (const link of net.links.values()) {
    const ep = link.endpoint;
    const [lx, ly] = lanPos(link.lan);
    const [ex, ey] = ep.nic ? vmPos(ep.nic.vm) : tapPos(ep.tap);
    const up = !!link.up, imp = impaired(link);
    const colour = !up ? LINK_DOWN : imp ? LINK_IMPAIRED : LINK_UP;
    const y1 = ep.nic ? ey - 32 : ey + 14;
    const eg = svg('g', {class: 'link', 'data-endpoint': endpointName(ep), 'data-up': String(up),
      'data-impaired': String(!!imp)}, links);
    svg('line', {x1: ex, y1, x2: lx, y2: ly + (ep.nic ? 20 : -20), stroke: colour,
      'stroke-width': imp ? 2.4 : 1.6, 'stroke-dasharray': up ? '' : '6 4'}, eg);
    if (ep.nic) {
      svg('text', {x: ex + (lx - ex) * 0.25 + 4, y: y1 + (ly - y1) * 0.25, 'font-size': 10,
        fill: colour}, eg, `eth${ep.nic.index}`);
    }
    if (imp) {
      const t = impairmentText(link.to_lan) || impairmentText(link.from_lan);
      svg('text', {x: (ex + lx) / 2 + 4, y: (y1 + ly) / 2, 'font-size': 10, fill: LINK_IMPAIRED,
        class: 'impaired-label'}, eg, `⚠ ${t}`);
    }
  }

  for (const lan of net.lans.values()) {
    const [x, y] = lanPos(lan.name);
    maxX = Math.max(maxX, x + LAN_W);
    const n = svg('g', {class: 'node lan' + (selected === 'lan:' + lan.name ? ' selected' : ''),
      'data-name': lan.name, tabindex: 0}, nodes);
    svg('ellipse', {cx: x, cy: y, rx: 72, ry: 22, fill: LAN_FILL, stroke: LAN_BORDER,
      'stroke-width': 1.6, 'stroke-dasharray': lan.mode === 'LAN_MODE_HUB' ? '5 3' : ''}, n);
    svg('text', {x, y: y - 2, 'text-anchor': 'middle', 'font-weight': 'bold', 'font-size': 13,
      class: 'name'}, n, lan.name);
    svg('text', {x, y: y + 12, 'text-anchor': 'middle', 'font-size': 9, fill: '#4b5563',
      class: 'counters'}, n, lanCounters(lan.name));
  }

  for (const tap of net.taps.values()) {
    const [x, y] = tapPos(tap.name);
    maxX = Math.max(maxX, x + TAP_W);
    const n = svg('g', {class: 'node tap', 'data-name': tap.name}, nodes);
    svg('polygon', {points: `${x - 50},${y - 14} ${x + 40},${y - 14} ${x + 52},${y} ${x + 40},${y + 14} ${x - 50},${y + 14}`,
      fill: TAP_FILL, stroke: TAP_BORDER, 'stroke-width': 1.4}, n);
    svg('text', {x, y: y + 4, 'text-anchor': 'middle', 'font-size': 12, class: 'name'}, n, tap.name);
  }

  for (const vm of net.vms.values()) {
    const [x, y] = vmPos(vm.name);
    maxX = Math.max(maxX, x + CELL_W); maxY = Math.max(maxY, y + CELL_H);
    const [stateName, fill, border] = STATES[vm.state] || UNKNOWN_STATE;
    const n = svg('g', {class: 'node vm' + (selected === 'vm:' + vm.name ? ' selected' : ''),
      'data-name': vm.name, 'data-state': stateName, tabindex: 0}, nodes);
    svg('rect', {x: x - 70, y: y - 32, width: 140, height: 64, rx: 9, fill, stroke: border,
      'stroke-width': 1.6}, n);
    svg('text', {x, y: y - 14, 'text-anchor': 'middle', 'font-weight': 'bold', 'font-size': 13,
      class: 'name'}, n, vm.name);
    svg('text', {x, y: y + 2, 'text-anchor': 'middle', 'font-size': 10}, n,
        `#${vm.number} ${stateName}`);
    svg('text', {x, y: y + 15, 'text-anchor': 'middle', 'font-size': 9, fill: '#4b5563'}, n,
        [vm.admin_ip, `${vm.mem_mib} MiB`, vm.image].filter(Boolean).join(' · '));
    if (vm.state_reason) {
      svg('text', {x, y: y + 27, 'text-anchor': 'middle', 'font-size': 8, fill: border}, n,
          vm.state_reason.slice(0, 30));
    }
  }

  root.replaceChildren(g);
  root.setAttribute('width', maxX + 40);
  root.setAttribute('height', maxY + 20);
  document.body.dataset.revision = String(net.revision);
  document.body.dataset.vms = String(net.vms.size);
  // For benchmarks: when each revision was on screen (wall clock, ms) and when it was made.
  renders.push({revision: net.revision, time_us: net.time_us, vms: net.vms.size,
    at: performance.timeOrigin + performance.now()});
  if (renders.length > 2000) renders.splice(0, 1000);
  renderPanel();
  reattachConsoles();
}

// Clicks on the picture's nodes, recognised by what they name rather than by element: every watch
// event redraws the picture, and a press and a release that straddle a redraw land on two
// different elements, so the browser would fire no click at all (a click lost while a VM boots).
function nodeUnder(target) {
  const n = target instanceof Element ? target.closest('#topology .node') : null;
  if (!n) return null;
  return n.classList.contains('vm') ? 'vm:' + n.dataset.name :
      n.classList.contains('lan') ? 'lan:' + n.dataset.name : null;
}
let pressedNode = null;
$('topology').addEventListener('pointerdown', (e) => {
  pressedNode = e.button === 0 ? nodeUnder(e.target) : null;
});
$('topology').addEventListener('pointerup', (e) => {
  const node = nodeUnder(e.target);
  const clicked = e.button === 0 && node !== null && node === pressedNode;
  pressedNode = null;
  if (clicked) activateNode(node);
});
// Nodes take the focus (tabindex): Enter acts as a click.
$('topology').addEventListener('keydown', (e) => {
  const node = e.key === 'Enter' ? nodeUnder(e.target) : null;
  if (node) activateNode(node);
});
function activateNode(node) {
  select(node);
  if (node.startsWith('vm:')) openConsole(node.slice(3));
}

// Counters change every second: their text is updated in place, the picture is not redrawn.
function updateCounters() {
  for (const lan of net.lans.keys()) {
    const t = document.querySelector(`svg .lan[data-name="${CSS.escape(lan)}"] text.counters`);
    if (t) t.textContent = lanCounters(lan);
  }
  if (selected && selected.startsWith('lan:')) renderPanel();
}

function scheduleRender() {
  if (!renderQueued) { renderQueued = true; requestAnimationFrame(render); }
}

function renderLegend() {
  const l = $('legend');
  const chips = Object.values(STATES).map(([name, fill, border]) =>
      `<span class="chip" style="background:${fill};border-color:${border}">${name}</span>`).join('');
  l.innerHTML = `${chips} · box: VM · <span style="color:${LAN_BORDER}">ellipse: LAN</span> ` +
      `(dashed: hub) · <span style="color:${TAP_BORDER}">arrow: host tap</span> · ` +
      `lines: ─ up · <span style="color:${LINK_DOWN}">- - down</span> · ` +
      `<span style="color:${LINK_IMPAIRED}">─ impaired ⚠</span>`;
}

// ---- the side panel --------------------------------------------------------------------------

function select(what) {
  if (selected !== what) $('panel-form').replaceChildren();
  selected = what;
  scheduleRender();
}

// The details of the selection, redrawn with the picture; a form the user fills in lives in
// #panel-form beside it, so that updates do not take it away.
function renderPanel() {
  const p = $('panel-body');
  p.replaceChildren();
  if (selected && selected.startsWith('vm:')) {
    const vm = net.vms.get(selected.slice(3));
    if (vm) return vmPanel(p, vm);
  }
  if (selected && selected.startsWith('lan:')) {
    const lan = net.lans.get(selected.slice(4));
    if (lan) return lanPanel(p, lan);
  }
  html('p', {class: 'hint'}, p, 'Click a VM for its console and actions, a LAN for its counters.');
  html('p', {class: 'hint'}, p,
      `${net.vms.size} VMs, ${net.lans.size} LANs, ${net.taps.size} taps at revision ${net.revision}.`);
}

function vmPanel(p, vm) {
  const [stateName] = STATES[vm.state] || UNKNOWN_STATE;
  html('h2', {}, p, `VM ${vm.name}`);
  html('p', {}, p, `#${vm.number}, ${stateName}${vm.state_reason ? ` (${vm.state_reason})` : ''}, ` +
      `${vm.image}, ${vm.mem_mib} MiB, admin ${vm.admin_ip || 'none'}`);
  const bar = html('div', {}, p);
  const act = (label, op, body, cls) => html('button', {class: cls || '', onclick: () =>
      call(op, body)}, bar, label);
  act('start', 'vm/start', {vm: vm.name});
  act('halt', 'vm/halt', {vm: vm.name});
  act('reboot', 'vm/reboot', {vm: vm.name});
  html('button', {onclick: () => openConsole(vm.name)}, bar, 'console');
  html('button', {class: 'danger', onclick: () => {
    if (confirm(`delete VM ${vm.name}?`)) call('vm/delete', {name: vm.name});
  }}, bar, 'delete');
  const t = html('table', {}, p);
  html('tr', {}, t).innerHTML = '<th>NIC</th><th>LAN</th><th>link</th><th></th>';
  for (const nic of vm.nics || []) {
    // eth0 is the admin network's, except on a VM without it (a Kathara lab's eth0).
    if (!nic.index && vm.admin !== false) continue;
    const tr = html('tr', {}, t);
    html('td', {}, tr, `eth${nic.index}`);
    html('td', {}, tr, nic.lan || '—');
    html('td', {}, tr, nic.lan ? (nic.link_up ? 'up' : 'down') : '');
    const td = html('td', {}, tr);
    const ep = {nic: {vm: vm.name, index: nic.index}};
    if (nic.lan) {
      html('button', {onclick: () => call('disconnect', {endpoint: ep})}, td, 'disconnect');
      html('button', {onclick: () => impairForm($('panel-form'), ep)}, td, 'impair…');
      html('button', {onclick: () => captureForm($('panel-form'),
          `vm=${encodeURIComponent(vm.name)}&nic=${nic.index}`, `${vm.name}/eth${nic.index}`)}, td,
          'capture…');
    } else {
      const sel = html('select', {'aria-label': `LAN for eth${nic.index}`}, td);
      for (const name of [...net.lans.keys()].sort()) html('option', {value: name}, sel, name);
      html('button', {onclick: () => call('connect', {endpoint: ep, lan: sel.value})}, td, 'connect');
    }
  }
}

function impairForm(p, ep) {
  const link = net.links.get(endpointKey(ep)) || {};
  const cur = link.to_lan || {};
  p.replaceChildren();
  const f = html('fieldset', {class: 'impair'}, p);
  html('legend', {}, f, `impairments of ${endpointName(ep)} (both directions)`);
  const fields = [['delay_ms', 'delay (ms)', (cur.delay_us || 0) / 1000],
    ['jitter_ms', 'jitter (ms)', (cur.jitter_us || 0) / 1000],
    ['loss_percent', 'loss %', cur.loss_percent || 0],
    ['duplicate_percent', 'duplicate %', cur.duplicate_percent || 0],
    ['corrupt_percent', 'corrupt %', cur.corrupt_percent || 0],
    ['reorder_percent', 'reorder %', cur.reorder_percent || 0],
    ['rate_kbps', 'rate kbit/s (0: none)', Number(cur.rate_kbps || 0)]];
  const inputs = {};
  for (const [key, label, value] of fields) {
    const l = html('label', {}, f, label + ' ');
    inputs[key] = html('input', {type: 'number', min: 0, step: 'any', name: key, value}, l);
    html('br', {}, f);
  }
  html('button', {onclick: () => {
    const v = (k) => Number(inputs[k].value || 0);
    const imp = {delay_us: Math.round(v('delay_ms') * 1000), jitter_us: Math.round(v('jitter_ms') * 1000),
      loss_percent: v('loss_percent'), duplicate_percent: v('duplicate_percent'),
      corrupt_percent: v('corrupt_percent'), reorder_percent: v('reorder_percent'),
      rate_kbps: String(Math.round(v('rate_kbps')))};
    call('impair', {endpoint: ep, to_lan: imp, from_lan: imp}).then(() => f.remove());
  }}, f, 'set impairments');
  html('button', {onclick: () => f.remove()}, f, 'cancel');
}

// A capture is a download: GET /api/capture streams Switch.Capture as a .pcapng file.
function captureForm(p, target, what) {
  p.replaceChildren();
  const f = html('fieldset', {class: 'capture'}, p);
  html('legend', {}, f, `capture ${what} (pcapng, for Wireshark or tshark)`);
  const filter = html('input', {name: 'filter', placeholder: 'filter: icmp, not arp, …', size: 24},
      html('label', {}, f, 'filter '));
  html('br', {}, f);
  const seconds = html('input', {name: 'seconds', type: 'number', min: 1, max: 3600, value: 10},
      html('label', {}, f, 'seconds '));
  html('br', {}, f);
  const state = html('p', {class: 'hint', role: 'status'}, f);
  html('button', {onclick: async () => {
    let url = `/api/capture?${target}&seconds=${Number(seconds.value || 10)}`;
    if (filter.value) url += `&filter=${encodeURIComponent(filter.value)}`;
    if (token) url += `&token=${encodeURIComponent(token)}`;
    // Fetched, not a plain download link, so that an error shows the server's message.
    try {
      const r = await fetch(url);
      if (!r.ok) {
        const j = await r.json();
        throw new Error(j.error ? `${j.error.code}: ${j.error.message}` : `HTTP ${r.status}`);
      }
      const name = (r.headers.get('Content-Disposition') || '').match(/filename="([^"]+)"/);
      const chunks = [];
      let bytes = 0;
      for (const reader = r.body.getReader(); ;) {
        const {done, value} = await reader.read();
        if (done) break;
        chunks.push(value);
        bytes += value.length;
        state.textContent = `capturing… ${bytes} bytes`;
      }
      state.textContent = `captured ${bytes} bytes`;
      const a = html('a', {href: URL.createObjectURL(new Blob(chunks)),
        download: name ? name[1] : 'capture.pcapng'});
      a.click();
      showError('');
    } catch (e) {
      state.textContent = '';
      showError(e.message);
    }
  }}, f, 'start capture');
  html('button', {onclick: () => f.remove()}, f, 'close');
}

function lanPanel(p, lan) {
  html('h2', {}, p, `LAN ${lan.name}`);
  html('p', {}, p, lan.mode === 'LAN_MODE_HUB' ? 'hub' : 'switch');
  html('button', {class: 'danger', onclick: () => call('lan/delete', {name: lan.name})}, p,
      'delete LAN');
  html('button', {onclick: () => captureForm($('panel-form'),
      `lan=${encodeURIComponent(lan.name)}`, `LAN ${lan.name}`)}, p, 'capture…');
  const s = stats.get(lan.name);
  const t = html('table', {}, p);
  html('tr', {}, t).innerHTML =
      '<th>port</th><th>up</th><th>in fr</th><th>out fr</th><th>in B</th><th>out B</th><th>drops</th>';
  for (const port of (s && s.ports) || []) {
    const tr = html('tr', {}, t);
    const drops = Number(port.drops_malformed || 0) + Number(port.drops_queue_full || 0) +
        Number(port.drops_impairment || 0);
    for (const v of [endpointName(port.endpoint || {}), port.up ? 'up' : 'down', port.rx_frames,
      port.tx_frames, port.rx_bytes, port.tx_bytes, drops]) html('td', {}, tr, String(v));
  }
}

// ---- actions -----------------------------------------------------------------------------------

function showError(text) {
  const e = $('error');
  e.textContent = text;
  e.hidden = !text;
}

async function api(op, body) {
  const headers = {'Content-Type': 'application/json'};
  if (token) headers.Authorization = 'Bearer ' + token;
  const r = await fetch('/api/' + op, {method: 'POST', headers, body: JSON.stringify(body)});
  const j = await r.json();
  if (!r.ok) {
    const err = new Error(j.error ? `${j.error.code}: ${j.error.message}` : `HTTP ${r.status}`);
    err.code = j.error && j.error.code;
    throw err;
  }
  return j;
}

async function call(op, body) {
  try {
    const r = await api(op, body);
    showError('');
    return r;
  } catch (e) {
    showError(e.message);
    if (e.code === 'UNAUTHENTICATED' || e.code === 'PERMISSION_DENIED') askToken(e.message);
    throw e;
  }
}

$('add-vm').onsubmit = (ev) => {
  ev.preventDefault();
  const f = ev.target;
  const vm = {name: f.name.value.trim(), nic_count: Number(f.nics.value || 1)};
  if (f.image.value.trim()) vm.image = f.image.value.trim();
  call('vm/create', {vm}).then(() => f.reset(), () => {});
};
$('add-lan').onsubmit = (ev) => {
  ev.preventDefault();
  const f = ev.target;
  call('lan/create', {lan: {name: f.name.value.trim(), mode: f.mode.value}}).then(() => f.reset(),
      () => {});
};

// Upload: dry-run plan, then apply and every item's result. The file is JSON or YAML, read by
// clownix-web as `clownix apply` reads it (by its name's extension); a file that does not parse
// shows the parser's message, "NAME:LINE:COLUMN: ...".
let applyText = '';
let applyName = '';
$('apply-file').onchange = async (ev) => {
  const file = ev.target.files[0];
  ev.target.value = '';
  if (!file) return;
  applyText = await file.text();
  applyName = file.name;
  $('plan-title').textContent = `plan for ${file.name}`;
  await showPlan(true);
};
$('plan-prune').onchange = () => showPlan(true);

async function showPlan(dryRun) {
  const d = $('plan-dialog');
  const body = $('plan-table').tBodies[0];
  try {
    const r = await call('apply', {file: applyText, name: applyName, dry_run: dryRun,
      prune: $('plan-prune').checked});
    body.replaceChildren();
    let failed = 0;
    for (const item of r.plan || []) {
      const tr = html('tr', {}, body);
      for (const v of [item.action, item.kind, item.name, item.detail]) html('td', {}, tr, v || '');
      const code = CODES[item.status_code] || String(item.status_code);
      if (item.status_code) failed++;
      html('td', {class: item.status_code ? 'err-cell' : 'ok-cell'}, tr,
          item.status_code ? `${code}: ${item.status_message}` : (dryRun ? 'would be OK' :
              `OK at revision ${item.revision}`));
    }
    $('plan-summary').textContent = dryRun ?
        `${(r.plan || []).length} items (dry run: nothing changed yet)` :
        `applied: ${(r.plan || []).length - failed} OK, ${failed} failed; revision ${r.revision}`;
    $('plan-apply').hidden = !dryRun || !(r.plan || []).length;
    if (!d.open) d.showModal();
  } catch (e) { /* shown by call() */ }
}
$('plan-dialog').addEventListener('close', () => {
  if ($('plan-dialog').returnValue === 'apply') {
    $('plan-dialog').returnValue = '';
    $('plan-title').textContent += ': results';
    showPlan(false);
  }
});

// ---- the token ---------------------------------------------------------------------------------

function askToken(reason) {
  const d = $('token-dialog');
  $('token-reason').textContent = reason;
  if (d.open) return;
  $('token-input').value = '';
  d.showModal();
}
$('token-dialog').addEventListener('close', () => {
  token = $('token-input').value.trim();
  sessionStorage.setItem('clownix-token', token);
  if (topo && topo.readyState === WebSocket.OPEN) topo.send(JSON.stringify({token}));
});

// ---- the topology stream -------------------------------------------------------------------

let topo = null;

function setStatus(ok, text) {
  connected = ok;
  const s = $('status');
  s.textContent = text;
  s.className = ok ? 'ok' : 'bad';
  document.body.dataset.connected = String(ok);
}

function connectTopology() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/topology`);
  topo = ws;
  ws.onopen = () => ws.send(JSON.stringify({token}));
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === 'watch') {
      applyResponse(m.response);
      received.push({revision: net.revision, time_us: net.time_us,
        at: performance.timeOrigin + performance.now()});
      if (received.length > 2000) received.splice(0, 1000);
      if (connected) setStatus(true, `connected · revision ${net.revision}`);
      scheduleRender();
    } else if (m.type === 'status') {
      if (m.connected) setStatus(true, `connected · revision ${Math.max(net.revision, Number(m.revision))}`);
      else setStatus(false, `${m.message} · showing revision ${net.revision}`);
    } else if (m.type === 'stats') {
      stats.clear();
      for (const s of m.lans || []) stats.set(s.lan, s);
      updateCounters();
    } else if (m.type === 'auth') {
      if (m.code === 'UNAUTHENTICATED' || m.code === 'PERMISSION_DENIED') {
        askToken(m.message);
      } else {
        // clownixd down (UNAVAILABLE) or failing while the page opens: ask again in a second.
        setStatus(false, `reconnecting: ${m.message}`);
        setTimeout(() => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({token})), 1000);
      }
    } else if (m.type === 'end') {
      showError(`${m.code}: ${m.message}`);
    }
  };
  ws.onclose = () => {
    setStatus(false, 'reconnecting to clownix-web…');
    setTimeout(connectTopology, 1000);
  };
}

// ---- consoles ------------------------------------------------------------------------------------

const consoles = new Map();  // vm -> {tab, div, term, fit, ws, detached, retry}
let activeConsole = null;

function openConsole(vm) {
  $('consoles').hidden = false;
  let c = consoles.get(vm);
  if (!c) {
    const tab = html('button', {role: 'tab', 'data-vm': vm}, $('tabs'), vm);
    const close = html('span', {title: 'close', 'aria-label': `close ${vm}`}, tab, ' ×');
    const div = html('div', {class: 'terminal', 'data-vm': vm}, $('terminals'));
    const term = new Terminal({fontSize: 13, scrollback: 5000, cursorBlink: true, convertEol: true});
    const fit = new FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(div);
    c = {tab, div, term, fit, ws: null, detached: false, retry: 0};
    consoles.set(vm, c);
    term.onData((d) => {
      if (c.ws && c.ws.readyState === WebSocket.OPEN) c.ws.send(new TextEncoder().encode(d));
    });
    // The fit addon sizes the terminal to its box (window resizes, tab switches); the VM's
    // console follows (what `stty size` prints there).
    term.onResize(({rows, cols}) => {
      if (c.ws && c.ws.readyState === WebSocket.OPEN) {
        c.ws.send(JSON.stringify({rows, columns: cols}));
      }
    });
    tab.onclick = () => activate(vm);
    close.onclick = (ev) => { ev.stopPropagation(); closeConsole(vm); };
    attach(vm, c);
  }
  activate(vm);
}

function attach(vm, c) {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/console`);
  ws.binaryType = 'arraybuffer';
  c.ws = ws;
  c.detached = false;
  c.tab.classList.remove('detached');
  ws.onopen = () => {
    ws.send(JSON.stringify({vm, token, rows: c.term.rows, columns: c.term.cols}));
    ws.send(new TextEncoder().encode('\r'));  // a fresh prompt
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data === 'string') {
      const m = JSON.parse(ev.data);
      if (m.type === 'end') c.term.write(`\r\n\x1b[33m[console of ${vm} ended: ${m.code}: ${m.message}; ` +
          `it reattaches when ${vm} runs]\x1b[0m\r\n`);
      return;
    }
    c.retry = 0;
    c.term.write(new Uint8Array(ev.data));
  };
  ws.onclose = () => {
    if (c.ws !== ws) return;
    c.detached = true;
    c.tab.classList.add('detached');
    c.retry = Math.min((c.retry || 0) + 1, 5);
    // Retries with a growing pause (1 s .. 5 s) while the VM runs; reattachConsoles() also
    // retries as soon as the watch says it runs again.
    c.timer = setTimeout(() => { c.timer = null; reattach(vm); }, c.retry * 1000);
  };
}

function reattach(vm) {
  const c = consoles.get(vm);
  const v = net.vms.get(vm);
  if (!c || !c.detached || !v || v.state !== 'VM_STATE_RUNNING') return;
  if (c.timer) { clearTimeout(c.timer); c.timer = null; }
  attach(vm, c);
}

function reattachConsoles() {
  for (const [vm, c] of consoles) {
    const v = net.vms.get(vm);
    if (!v) continue;
    if (c.lastState !== v.state) {
      c.lastState = v.state;
      if (c.detached && v.state === 'VM_STATE_RUNNING') reattach(vm);
    }
  }
}

function activate(vm) {
  activeConsole = vm;
  for (const [name, c] of consoles) {
    const on = name === vm;
    c.tab.setAttribute('aria-selected', String(on));
    c.div.hidden = !on;
  }
  const c = consoles.get(vm);
  if (c) { c.fit.fit(); c.term.focus(); }
}

function closeConsole(vm) {
  const c = consoles.get(vm);
  if (!c) return;
  consoles.delete(vm);
  if (c.timer) clearTimeout(c.timer);
  const ws = c.ws;
  c.ws = null;
  if (ws) ws.close();
  c.term.dispose();
  c.tab.remove(); c.div.remove();
  if (activeConsole === vm) {
    const next = consoles.keys().next();
    if (!next.done) activate(next.value); else $('consoles').hidden = true;
  }
}

function fitActive() {
  const c = activeConsole && consoles.get(activeConsole);
  if (c) c.fit.fit();
}
window.addEventListener('resize', fitActive);
new ResizeObserver(fitActive).observe($('terminals'));

// For tests and benchmarks: what the page shows, without parsing pixels.
window.clownixWeb = {net, stats, consoles, renders, received, get connected() { return connected; }};

renderLegend();
render();
connectTopology();
