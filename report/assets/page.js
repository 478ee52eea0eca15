(function () {
'use strict';
const D = JSON.parse(document.getElementById('report-data').textContent);
const L = D.layers, H = D.heads, N = L * H;
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; };
const LEVELS = 255;

const state = {
  metric: 'first_attn', rule: D.rule, dormant: D.dormant, active: D.active,
  step: D.steps.length ? D.steps.length - 1 : -1,
  diffA: 0, diffB: 1, head: -1, chosen: [], tokSample: 0, tokLayer: 0, seriesDomain: 0,
};

// ---- numbers and classes -------------------------------------------------
const isNum = (x) => typeof x === 'number' && isFinite(x);
function fmt(x) {
  if (!isNum(x)) return 'NaN';
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(3);
  return String(Math.round(x * 1e4) / 1e4);
}
function metricInfo(name) { return D.metrics.find((m) => m.name === name); }
function domains() { return state.step >= 0 ? D.steps[state.step].domains : D.domains; }
function values(d, name) { return d.values[name] || null; }
function classOf(score) {
  const m = metricInfo(state.rule);
  if (!isNum(score) || !isNum(state.dormant) || !isNum(state.active)) return 'unknown';
  if (m.low) { if (score <= state.dormant) return 'dormant'; if (score > state.active) return 'active'; return 'mixed'; }
  if (score >= state.dormant) return 'dormant'; if (score < state.active) return 'active'; return 'mixed';
}
const LETTER = { dormant: 'D', mixed: 'M', active: 'A', unknown: '?' };
const CLASSCOL = { dormant: '#3b4cc0', mixed: '#c9a227', active: '#d1495b', unknown: '#bbb' };
function ruleText() {
  const m = metricInfo(state.rule);
  return m.low ? `dormant ≤ ${state.dormant}, active > ${state.active}` : `dormant ≥ ${state.dormant}, active < ${state.active}`;
}
function classes(d) {
  const v = values(d, state.rule);
  const out = new Array(N);
  for (let i = 0; i < N; i++) out[i] = classOf(v ? v[i] : NaN);
  return out;
}

// ---- colours ---------------------------------------------------------------
const SEQ = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function seq(t) {
  if (!isNum(t)) return [200, 200, 200];
  t = Math.min(1, Math.max(0, t)) * (SEQ.length - 1);
  const i = Math.min(SEQ.length - 2, Math.floor(t)), f = t - i;
  return SEQ[i].map((c, j) => Math.round(c + f * (SEQ[i + 1][j] - c)));
}
function div(t) { // t in [-1, 1]: blue, white, red
  if (!isNum(t)) return [200, 200, 200];
  t = Math.min(1, Math.max(-1, t));
  const a = Math.abs(t), c = t < 0 ? [59, 76, 192] : [180, 4, 38];
  return c.map((x) => Math.round(255 + a * (x - 255)));
}
const rgb = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;
const light = (c) => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] > 150;

// ---- tooltip ----------------------------------------------------------------
const tip = $('tip');
function showTip(ev, text) {
  tip.textContent = text; tip.hidden = false;
  const x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 6);
  const y = Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 6);
  tip.style.left = x + 'px'; tip.style.top = y + 'px';
}
function hideTip() { tip.hidden = true; }

// ---- controls ---------------------------------------------------------------
function setupControls() {
  $('title').textContent = D.title;
  const doms = D.domains.map((d) => d.name + (d.note ? ` (${d.note})` : '') + `: ${d.n_seqs} sequences` + (isNum(d.loss) ? `, loss ${fmt(d.loss)}` : ''));
  $('subtitle').textContent = `${D.arch || 'model'} · ${L} layers × ${H} heads · domains: ${doms.join('; ')}` + (D.steps.length ? ` · ${D.steps.length} checkpoints` : '');
  const ms = $('metric'), rs = $('rule');
  for (const m of D.metrics) {
    const o = el('option', null, m.name); o.value = m.name; o.title = m.desc; ms.appendChild(o);
    if (m.rule) { const r = el('option', null, m.name); r.value = m.name; rs.appendChild(r); }
  }
  ms.value = state.metric; rs.value = state.rule;
  $('tau-dormant').value = state.dormant; $('tau-active').value = state.active;
  ms.onchange = () => { state.metric = ms.value; renderGrids(); };
  rs.onchange = () => {
    state.rule = rs.value;
    const m = metricInfo(state.rule);
    if (isNum(m.dormant)) { state.dormant = m.dormant; state.active = m.active; $('tau-dormant').value = m.dormant; $('tau-active').value = m.active; }
    renderAll();
  };
  $('tau-dormant').oninput = () => { state.dormant = parseFloat($('tau-dormant').value); renderAll(); };
  $('tau-active').oninput = () => { state.active = parseFloat($('tau-active').value); renderAll(); };
  if (D.steps.length) {
    $('step-box').hidden = false; $('series-view').hidden = false;
    const s = $('step'); s.max = D.steps.length - 1; s.value = state.step;
    s.oninput = () => { setStep(parseInt(s.value, 10)); };
  }
  $('quant').textContent = D.quantisation;
}
function setStep(i) {
  state.step = i; $('step').value = i;
  $('step-label').textContent = `${D.steps[i].label} (${D.steps[i].revision})`;
  renderGrids(); renderSeries();
}

// ---- grid view ----------------------------------------------------------------
function cellSize(n) {
  const w = Math.max(600, document.documentElement.clientWidth - 60);
  return Math.max(6, Math.min(26, Math.floor((w / Math.min(n, 3) - 40) / H)));
}
function renderGrids() {
  $('rule-text').textContent = `${state.rule}: ${ruleText()}`;
  const doms = domains(), box = $('grids');
  box.textContent = '';
  const name = state.metric, info = metricInfo(name);
  let lo = Infinity, hi = -Infinity;
  for (const d of doms) for (const x of values(d, name) || []) if (isNum(x)) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
  const bounded = info.rule && ['first_attn', 'entropy', 'out_norm'].includes(name) || name === 'attn_mass_first' || name === 'prev_attn';
  if (bounded) { lo = 0; hi = 1; }
  const scale = (x) => (hi > lo ? (x - lo) / (hi - lo) : 0.5);
  const grids = doms.length >= 2 ? doms.length + 1 : doms.length;
  const cs = cellSize(grids);
  doms.forEach((d, j) => {
    const v = values(d, name), cl = classes(d);
    const counts = { dormant: 0, mixed: 0, active: 0, unknown: 0 };
    cl.forEach((c) => counts[c]++);
    box.appendChild(gridBox(`${d.name}`, `dormant ${counts.dormant}, mixed ${counts.mixed}, active ${counts.active}`, j, cs, (i) => {
      const x = v ? v[i] : NaN;
      return { value: x, color: seq(scale(x)), letter: LETTER[cl[i]], cls: cl[i], tip: headTip(d, i, cl[i]) };
    }));
  });
  if (doms.length >= 2) {
    const a = doms[state.diffA], b = doms[state.diffB];
    const va = values(a, name), vb = values(b, name), ca = classes(a), cb = classes(b);
    let m = 0;
    for (let i = 0; i < N; i++) { const x = va[i] - vb[i]; if (isNum(x)) m = Math.max(m, Math.abs(x)); }
    const g = gridBox(`${a.name} − ${b.name}`, 'difference; ± where the class differs', 'diff', cs, (i) => {
      const x = va[i] - vb[i];
      const sw = ca[i] !== cb[i];
      return { value: x, color: div(m > 0 ? x / m : 0), letter: sw ? '±' : '', cls: `${ca[i]}/${cb[i]}`,
        tip: `${a.name} − ${b.name} · head ${headName(i)}\n${name}: ${fmt(va[i])} − ${fmt(vb[i])} = ${fmt(x)}\nclass: ${ca[i]} on ${a.name}, ${cb[i]} on ${b.name}` };
    });
    const sel = el('div', 'row');
    for (const [key, label] of [['diffA', 'A'], ['diffB', 'B']]) {
      const s = el('select'); s.id = 'diff-' + label;
      doms.forEach((d, j) => { const o = el('option', null, d.name); o.value = j; s.appendChild(o); });
      s.value = state[key]; s.onchange = () => { state[key] = parseInt(s.value, 10); renderGrids(); };
      const lab = el('label', null, label + ' '); lab.appendChild(s); sel.appendChild(lab);
    }
    g.appendChild(sel);
    box.appendChild(g);
  }
  $('grid-note').textContent = `${name}: ${info.desc}` + (bounded ? ' (colour 0 → 1)' : ` (colour ${fmt(lo)} → ${fmt(hi)})`) + '; letters: class (D dormant, M mixed, A active); click a head for its patterns';
  renderLegend(lo, hi);
}
function headName(i) { return `${Math.floor(i / H)}.${i % H}`; }
function headTip(d, i, cls) {
  const lines = [`${d.name} · head ${headName(i)} (layer ${Math.floor(i / H)}, head ${i % H})`,
    `class: ${cls} (${state.rule} ${fmt((values(d, state.rule) || [])[i])}; ${ruleText()})`];
  for (const m of D.metrics) { const v = values(d, m.name); if (v) lines.push(`${m.name.padEnd(17)} ${fmt(v[i])}`); }
  return lines.join('\n');
}
function gridBox(title, sub, id, cs, cell) {
  const box = el('div', 'gridbox');
  box.appendChild(el('h3', null, title)).appendChild(el('small', null, ' ' + sub));
  const g = el('div', 'grid');
  g.dataset.domain = id;
  g.style.gridTemplateColumns = `22px repeat(${H}, ${cs}px)`;
  g.style.gridAutoRows = `${cs}px`;
  g.appendChild(el('div', 'lab', ''));
  for (let h = 0; h < H; h++) g.appendChild(el('div', 'lab top', h % (cs < 12 ? 4 : 1) === 0 ? String(h) : ''));
  for (let l = 0; l < L; l++) {
    g.appendChild(el('div', 'lab', String(l)));
    for (let h = 0; h < H; h++) {
      const i = l * H + h, c = cell(i);
      const e = el('div', 'cell' + (light(c.color) ? ' light' : '') + (i === state.head ? ' sel' : '') + (D.steps.length && state.chosen.includes(i) ? ' chosen' : ''), cs >= 12 ? c.letter : '');
      e.style.background = rgb(c.color);
      e.dataset.layer = l; e.dataset.head = h; e.dataset.value = String(c.value); e.dataset.class = c.cls;
      e.onmousemove = (ev) => showTip(ev, c.tip);
      e.onmouseleave = hideTip;
      e.onclick = () => selectHead(i);
      g.appendChild(e);
    }
  }
  g.appendChild(el('div'));
  box.appendChild(g);
  return box;
}
function renderLegend(lo, hi) {
  const c = el('canvas'); c.width = 160; c.height = 10;
  const x = c.getContext('2d');
  for (let i = 0; i < 160; i++) { x.fillStyle = rgb(seq(i / 159)); x.fillRect(i, 0, 1, 10); }
  const lg = $('legend'); lg.textContent = `${fmt(lo)} `; lg.appendChild(c);
  lg.appendChild(document.createTextNode(` ${fmt(hi)}   difference: blue < 0 < red`));
}

// ---- binary blobs ------------------------------------------------------------
const blobCache = new Map();
function blob(s, name) {
  const key = s + '-' + name;
  if (blobCache.has(key)) return blobCache.get(key);
  const e = document.getElementById('blob-' + key);
  let out = new Uint8Array(0);
  if (e) {
    const text = e.textContent.trim();
    if (Uint8Array.fromBase64) out = Uint8Array.fromBase64(text);
    else { const bin = atob(text); out = new Uint8Array(bin.length); for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i); }
  }
  blobCache.set(key, out);
  return out;
}
function tokenStats(s) {
  const b = blob(s, 'tokens'), S = D.samples[s], n = L * S.t;
  const f = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  return { resid: f.subarray(0, n), recv: f.subarray(n, 2 * n), value: f.subarray(2 * n, 3 * n), maxabs: f.subarray(3 * n, 4 * n), massive: f.subarray(4 * n, 5 * n) };
}
// patternOf returns head i's lower triangle on sample s, or null when not stored.
function patternOf(s, i) {
  const S = D.samples[s], j = S.pattern_heads.indexOf(i);
  if (j < 0) return null;
  const tri = S.t * (S.t + 1) / 2;
  return blob(s, 'patterns').subarray(j * tri, (j + 1) * tri);
}
// patternValue is the shown value of cell (q, k) of head (l, h) on sample s.
function patternValue(s, l, h, q, k) {
  const p = patternOf(s, l * H + h);
  if (!p || k > q) return null;
  return p[q * (q + 1) / 2 + k] / LEVELS;
}
function valueNorms(s, i) {
  const S = D.samples[s], b = blob(s, 'value_norm'), sc = S.value_scale[i];
  const out = new Float64Array(S.t);
  for (let k = 0; k < S.t; k++) out[k] = b[i * S.t + k] / LEVELS * sc;
  return out;
}
const tokText = (S, k) => `${k} ${JSON.stringify(S.tokens[k] == null ? '' : S.tokens[k])}`;
const shortTok = (t) => { t = t == null ? '' : String(t).replace(/\s/g, '·'); return t.length > 8 ? t.slice(0, 7) + '…' : t; };

// ---- head view ---------------------------------------------------------------
function selectHead(i) {
  state.head = i;
  const c = state.chosen.indexOf(i);
  if (c < 0) { state.chosen.push(i); if (state.chosen.length > 6) state.chosen.shift(); }
  renderGrids(); renderHead(); renderSeries();
}
function renderHead() {
  const t0 = performance.now();
  const box = $('head-samples'); box.textContent = '';
  const i = state.head;
  if (i < 0) { $('head-name').textContent = '—'; return 0; }
  $('head-name').textContent = `${headName(i)} (layer ${Math.floor(i / H)}, head ${i % H})`;
  $('head-note').textContent = D.samples.length ? 'colour: √p (white 0, dark 1); red marks: key 0 and the top sinks; hover a cell for its value' :
    'no sample sequences in this report (it was made from saved rows without a model)';
  D.samples.forEach((S, s) => box.appendChild(headSample(S, s, i)));
  const ms = performance.now() - t0;
  api.lastHeadDrawMs = ms;
  return ms;
}
function headSample(S, s, i) {
  const wrap = el('div', 'sample'); wrap.dataset.sample = s;
  wrap.appendChild(el('h3', null, `${S.name} · ${S.t} tokens`));
  const T = S.t, pat = patternOf(s, i), vn = valueNorms(s, i);
  const sinks = [S.sinks[i][0], S.sinks[i][2]].filter((k) => isNum(k) && k >= 0);
  const P = Math.max(200, Math.min(640, T * 14)), cell = P / T;
  const ML = 86, MT = 64, VH = 60;
  const dpr = window.devicePixelRatio || 1;
  const c = el('canvas'); c.className = 'pattern';
  c.width = Math.round((ML + P) * dpr); c.height = Math.round((MT + P + VH + 16) * dpr);
  c.style.width = (ML + P) + 'px'; c.style.height = (MT + P + VH + 16) + 'px';
  const x = c.getContext('2d'); x.scale(dpr, dpr);
  x.font = '10px sans-serif'; x.fillStyle = '#333';
  // the pattern: one image pixel per cell, scaled up without smoothing; pooled
  // by max when a screen pixel covers several cells
  const px = Math.min(T, Math.round(P * dpr)), img = x.createImageData(px, px), d = img.data;
  const k0 = new Int32Array(px + 1);
  for (let a = 0; a <= px; a++) k0[a] = Math.floor(a * T / px);
  const shade = new Uint8ClampedArray(3 * (LEVELS + 1));
  for (let v = 0; v <= LEVELS; v++) {
    const t = Math.sqrt(v / LEVELS);
    shade[3 * v] = Math.round(255 - t * (255 - 8)); shade[3 * v + 1] = Math.round(255 - t * (255 - 48)); shade[3 * v + 2] = Math.round(255 - t * (255 - 107));
  }
  const masked = pat ? 238 : 248;
  for (let yy = 0; yy < px; yy++) {
    const q0 = k0[yy], q1 = Math.max(q0 + 1, k0[yy + 1]);
    for (let xx = 0; xx < px; xx++) {
      const ka = k0[xx], kb = Math.max(ka + 1, k0[xx + 1]);
      let m = -1;
      if (pat) {
        for (let q = q0; q < q1; q++) {
          const row = q * (q + 1) / 2, end = Math.min(kb, q + 1);
          for (let k = ka; k < end; k++) if (pat[row + k] > m) m = pat[row + k];
        }
      }
      const o = (yy * px + xx) * 4;
      if (m < 0) { d[o] = d[o + 1] = d[o + 2] = masked; } else { d[o] = shade[3 * m]; d[o + 1] = shade[3 * m + 1]; d[o + 2] = shade[3 * m + 2]; }
      d[o + 3] = 255;
    }
  }
  const off = document.createElement('canvas'); off.width = px; off.height = px;
  off.getContext('2d').putImageData(img, 0, 0);
  x.imageSmoothingEnabled = false;
  x.drawImage(off, ML, MT, P, P);
  if (!pat) {
    x.fillStyle = '#8a5300';
    x.fillText('pattern not stored for this head', ML + 10, MT + 20);
    x.fillText(`(stored: ${S.pattern_heads.length} heads; choose with --pattern-heads)`, ML + 10, MT + 34);
  }
  // axes: token labels
  const every = Math.max(1, Math.ceil(11 / cell));
  x.fillStyle = '#333'; x.textAlign = 'right'; x.textBaseline = 'middle';
  for (let q = 0; q < T; q += every) x.fillText(`${every > 1 ? q + ' ' : ''}${shortTok(S.tokens[q])}`, ML - 3, MT + (q + 0.5) * cell);
  x.save(); x.textAlign = 'left';
  for (let k = 0; k < T; k += every) {
    x.save(); x.translate(ML + (k + 0.5) * cell, MT - 3); x.rotate(-Math.PI / 3);
    x.fillText(`${every > 1 ? k + ' ' : ''}${shortTok(S.tokens[k])}`, 0, 0); x.restore();
  }
  x.restore();
  x.fillStyle = '#777'; x.textAlign = 'left'; x.fillText('key →', 2, 10); x.fillText('query ↓', 2, 22);
  // the sink columns
  x.strokeStyle = 'rgba(224,16,47,0.55)'; x.fillStyle = '#e0102f'; x.lineWidth = 1;
  for (const k of new Set([0, ...sinks])) {
    const cx = ML + k * cell;
    x.beginPath(); x.moveTo(cx - 0.5, MT); x.lineTo(cx - 0.5, MT + P); x.moveTo(cx + cell + 0.5, MT); x.lineTo(cx + cell + 0.5, MT + P); x.stroke();
    x.beginPath(); x.moveTo(cx + cell / 2, MT - 1); x.lineTo(cx + cell / 2 - 4, MT - 8); x.lineTo(cx + cell / 2 + 4, MT - 8); x.fill();
  }
  // value norms per key, aligned with the keys
  let vmax = 0; for (const v of vn) vmax = Math.max(vmax, v);
  const vy = MT + P + 12;
  x.fillStyle = '#555'; x.textAlign = 'right'; x.fillText('‖W_O v_k‖', ML - 3, vy + VH / 2);
  x.fillText(fmt(vmax), ML - 3, vy + 4);
  for (let k = 0; k < T; k++) {
    const hgt = vmax > 0 ? vn[k] / vmax * VH : 0;
    x.fillStyle = sinks.includes(k) || k === 0 ? '#e0102f' : '#4a6fa5';
    x.fillRect(ML + k * cell, vy + VH - hgt, Math.max(cell - (cell > 3 ? 1 : 0), 1), hgt);
  }
  c.onmousemove = (ev) => {
    const r = c.getBoundingClientRect(), mx = ev.clientX - r.left - ML, my = ev.clientY - r.top - MT;
    const k = Math.floor(mx / cell), q = Math.floor(my / cell);
    if (k < 0 || k >= T) { hideTip(); return; }
    if (q >= 0 && q < T) {
      const raw = pat && k <= q ? pat[q * (q + 1) / 2 + k] : null;
      showTip(ev, `head ${headName(i)} · ${S.name}\nquery ${tokText(S, q)}\nkey   ${tokText(S, k)}\n` +
        (k > q ? 'masked (key after query)' : raw == null ? 'pattern not stored' : `p = ${raw}/255 = ${(raw / LEVELS).toFixed(4)}`) +
        `\n‖W_O v_k‖ ≈ ${fmt(vn[k])}`);
    } else if (my > P + 12) {
      showTip(ev, `key ${tokText(S, k)}\n‖W_O v_k‖ ≈ ${fmt(vn[k])} (8 bits of ${fmt(S.value_scale[i])})`);
    } else hideTip();
  };
  c.onmouseleave = hideTip;
  wrap.appendChild(c);
  // the top sinks
  const tb = el('table', 'sinks');
  tb.innerHTML = '<tr><th>top sink</th><th>key</th><th>token</th><th>attention mass</th><th>‖W_O v_k‖</th></tr>';
  [0, 1].forEach((r) => {
    const k = S.sinks[i][2 * r];
    if (!isNum(k) || k < 0) return;
    const tr = el('tr');
    for (const t of [String(r + 1), String(k), JSON.stringify(S.tokens[k]), fmt(S.sinks[i][2 * r + 1]), fmt(vn[k])]) tr.appendChild(el('td', null, t));
    tb.appendChild(tr);
  });
  wrap.appendChild(tb);
  return wrap;
}

// ---- token view -------------------------------------------------------------
function setupTokens() {
  const ss = $('tok-sample'), ls = $('tok-layer');
  D.samples.forEach((S, s) => { const o = el('option', null, `${S.name} (${S.t} tokens)`); o.value = s; ss.appendChild(o); });
  for (let l = 0; l < L; l++) { const o = el('option', null, String(l)); o.value = l; ls.appendChild(o); }
  ss.onchange = () => { state.tokSample = parseInt(ss.value, 10); renderTokens(); };
  ls.onchange = () => { state.tokLayer = parseInt(ls.value, 10); renderTokens(); };
}
function renderTokens() {
  const box = $('tok-charts'); box.textContent = '';
  if (!D.samples.length) { box.textContent = 'no sample sequences in this report'; return; }
  const s = state.tokSample, l = state.tokLayer, S = D.samples[s], T = S.t, st = tokenStats(s);
  const ext = new Set(S.extreme[l]);
  $('tok-extreme').textContent = `extreme tokens at layer ${l} (red): ${S.extreme[l].length ? S.extreme[l].map((k) => tokText(S, k)).join(', ') : 'none'}`;
  const rows = [['resid_norm', '‖resid_post‖', st.resid], ['attn_received', 'attention received', st.recv],
    ['value_norm', 'mean ‖W_O v_k‖', st.value], ['massive_max', 'largest |x|', st.maxabs]];
  const W = Math.max(400, Math.min(1100, T * 18)), cw = W / T, ML = 150, CH = 64;
  const every = Math.max(1, Math.ceil(12 / cw));
  const dpr = window.devicePixelRatio || 1;
  const c = el('canvas'); c.id = 'tok-canvas';
  const HT = rows.length * (CH + 14) + 60;
  c.width = Math.round((ML + W + 10) * dpr); c.height = Math.round(HT * dpr);
  c.style.width = (ML + W + 10) + 'px'; c.style.height = HT + 'px';
  const x = c.getContext('2d'); x.scale(dpr, dpr); x.font = '10px sans-serif';
  rows.forEach(([, label, arr], r) => {
    const y0 = r * (CH + 14) + 4;
    let m = 0; for (let k = 0; k < T; k++) m = Math.max(m, arr[l * T + k]);
    x.fillStyle = '#333'; x.textAlign = 'right'; x.textBaseline = 'middle';
    x.fillText(label, ML - 6, y0 + CH / 2); x.fillStyle = '#888'; x.fillText(fmt(m), ML - 6, y0 + 6);
    x.strokeStyle = '#ddd'; x.beginPath(); x.moveTo(ML, y0 + CH + 0.5); x.lineTo(ML + W, y0 + CH + 0.5); x.stroke();
    for (let k = 0; k < T; k++) {
      const v = arr[l * T + k], hgt = m > 0 ? v / m * CH : 0;
      x.fillStyle = ext.has(k) ? '#e0102f' : '#4a6fa5';
      x.fillRect(ML + k * cw, y0 + CH - hgt, Math.max(cw - (cw > 3 ? 1 : 0), 1), hgt);
    }
  });
  const yl = rows.length * (CH + 14) + 6;
  x.fillStyle = '#333'; x.textAlign = 'left';
  for (let k = 0; k < T; k += every) {
    x.save(); x.translate(ML + (k + 0.5) * cw, yl); x.rotate(Math.PI / 3);
    x.fillStyle = ext.has(k) ? '#e0102f' : '#333';
    x.fillText(`${every > 1 ? k + ' ' : ''}${shortTok(S.tokens[k])}`, 0, 0); x.restore();
  }
  c.onmousemove = (ev) => {
    const r = c.getBoundingClientRect(), k = Math.floor((ev.clientX - r.left - ML) / cw);
    if (k < 0 || k >= T) { hideTip(); return; }
    const o = l * T + k;
    showTip(ev, `layer ${l} · position ${tokText(S, k)}${ext.has(k) ? ' · extreme' : ''}\nresid_norm    ${fmt(st.resid[o])}\nattn_received ${fmt(st.recv[o])}\n` +
      `value_norm    ${fmt(st.value[o])}\nmassive_max   ${fmt(st.maxabs[o])} (${st.massive[o]} massive coordinates)`);
  };
  c.onmouseleave = hideTip;
  box.appendChild(c);
  // every layer at once: residual norm per position (log colour)
  box.appendChild(el('h3', null, 'residual norm per layer and position (log colour; red outline: extreme)'));
  const hc = el('canvas'); hc.id = 'tok-layers';
  const RH = Math.max(6, Math.min(16, Math.floor(240 / L)));
  hc.width = Math.round((ML + W + 10) * dpr); hc.height = Math.round((L * RH + 4) * dpr);
  hc.style.width = (ML + W + 10) + 'px'; hc.style.height = (L * RH + 4) + 'px';
  const hx = hc.getContext('2d'); hx.scale(dpr, dpr); hx.font = '10px sans-serif';
  let lo = Infinity, hi = -Infinity;
  for (const v of st.resid) if (v > 0) { lo = Math.min(lo, Math.log(v)); hi = Math.max(hi, Math.log(v)); }
  for (let ll = 0; ll < L; ll++) {
    hx.fillStyle = '#333'; hx.textAlign = 'right'; hx.textBaseline = 'middle';
    hx.fillText(`layer ${ll}`, ML - 6, ll * RH + RH / 2);
    const e2 = new Set(S.extreme[ll]);
    for (let k = 0; k < T; k++) {
      const v = st.resid[ll * T + k];
      hx.fillStyle = rgb(seq(v > 0 && hi > lo ? (Math.log(v) - lo) / (hi - lo) : 0));
      hx.fillRect(ML + k * cw, ll * RH, Math.max(cw, 1), RH - 1);
      if (e2.has(k)) { hx.strokeStyle = '#e0102f'; hx.strokeRect(ML + k * cw + 0.5, ll * RH + 0.5, Math.max(cw - 1, 1), RH - 2); }
    }
  }
  hc.onmousemove = (ev) => {
    const r = hc.getBoundingClientRect(), k = Math.floor((ev.clientX - r.left - ML) / cw), ll = Math.floor((ev.clientY - r.top) / RH);
    if (k < 0 || k >= T || ll < 0 || ll >= L) { hideTip(); return; }
    showTip(ev, `layer ${ll} · position ${tokText(S, k)}\nresid_norm ${fmt(st.resid[ll * T + k])}`);
  };
  hc.onmouseleave = hideTip;
  box.appendChild(hc);
}

// ---- series view ---------------------------------------------------------------
function setupSeries() {
  if (!D.steps.length) return;
  const ds = $('series-domain');
  D.steps[0].domains.forEach((d, j) => { const o = el('option', null, d.name); o.value = j; ds.appendChild(o); });
  ds.onchange = () => { state.seriesDomain = parseInt(ds.value, 10); renderSeries(); };
  // default chosen heads: those whose class changes over the steps
  const j = 0;
  for (let i = 0; i < N && state.chosen.length < 4; i++) {
    const seen = new Set(D.steps.map((st) => classOf((values(st.domains[j], state.rule) || [])[i])));
    if (seen.size > 1) state.chosen.push(i);
  }
  if (!state.chosen.length) state.chosen.push(0);
}
const LINECOL = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf'];
function renderSeries() {
  if (!D.steps.length) return;
  const j = state.seriesDomain, n = D.steps.length;
  $('series-note').textContent = `${n} checkpoints; the slider above moves the grid; click heads in the grid to add them here`;
  $('series-heads').textContent = 'heads: ' + state.chosen.map(headName).join(', ');
  const box = $('series-charts'); box.textContent = '';
  for (const [metric, label] of [['first_attn', 'first_attn'], ['value_norm_first', '‖W_O v₀‖ (value_norm_first)']]) {
    const W = 520, HT = 170, ML = 50, MB = 34, dpr = window.devicePixelRatio || 1;
    const c = el('canvas'); c.className = 'series'; c.dataset.metric = metric;
    c.width = Math.round((W + ML + 130) * dpr); c.height = Math.round((HT + MB) * dpr);
    c.style.width = (W + ML + 130) + 'px'; c.style.height = (HT + MB) + 'px';
    const x = c.getContext('2d'); x.scale(dpr, dpr); x.font = '10px sans-serif';
    let lo = Infinity, hi = -Infinity;
    for (const st of D.steps) { const v = values(st.domains[j], metric); if (!v) continue; for (const i of state.chosen) if (isNum(v[i])) { lo = Math.min(lo, v[i]); hi = Math.max(hi, v[i]); } }
    if (metric === 'first_attn') { lo = 0; hi = 1; }
    if (!(hi > lo)) { lo = isNum(lo) ? lo - 0.5 : 0; hi = lo + 1; }
    const px = (s) => ML + (n > 1 ? s / (n - 1) : 0.5) * W, py = (v) => 8 + (1 - (v - lo) / (hi - lo)) * (HT - 16);
    x.strokeStyle = '#ccc'; x.strokeRect(ML, 4, W, HT - 4);
    x.fillStyle = '#333'; x.textAlign = 'right'; x.textBaseline = 'middle';
    x.fillText(fmt(hi), ML - 4, 8); x.fillText(fmt(lo), ML - 4, HT - 8);
    x.textAlign = 'center';
    D.steps.forEach((st, s) => x.fillText(st.label, px(s), HT + 10));
    x.fillText(label, ML + W / 2, HT + 25);
    x.strokeStyle = '#ff2d95'; x.setLineDash([4, 3]); x.beginPath(); x.moveTo(px(state.step), 4); x.lineTo(px(state.step), HT); x.stroke(); x.setLineDash([]);
    state.chosen.forEach((i, ci) => {
      x.strokeStyle = x.fillStyle = LINECOL[ci % LINECOL.length]; x.lineWidth = 1.8; x.beginPath();
      D.steps.forEach((st, s) => { const v = (values(st.domains[j], metric) || [])[i]; if (isNum(v)) { if (s === 0) x.moveTo(px(s), py(v)); else x.lineTo(px(s), py(v)); } });
      x.stroke();
      D.steps.forEach((st, s) => { const v = (values(st.domains[j], metric) || [])[i]; if (isNum(v)) { x.beginPath(); x.arc(px(s), py(v), 2.5, 0, 7); x.fill(); } });
      x.textAlign = 'left'; x.fillText(`head ${headName(i)}`, ML + W + 8, 14 + ci * 14);
    });
    c.onmousemove = (ev) => {
      const r = c.getBoundingClientRect(), s = Math.round((ev.clientX - r.left - ML) / W * (n - 1));
      if (s < 0 || s >= n) { hideTip(); return; }
      const st = D.steps[s], v = values(st.domains[j], metric) || [];
      showTip(ev, `${st.label} (${st.revision}) · ${st.domains[j].name}\n` + state.chosen.map((i) => `head ${headName(i)}  ${metric} ${fmt(v[i])}`).join('\n'));
    };
    c.onmouseleave = hideTip;
    box.appendChild(c);
  }
  // class strip: rows = heads, columns = steps
  const c = $('class-strip'), RW = Math.max(24, Math.min(60, Math.floor(600 / n))), RH = Math.max(2, Math.min(10, Math.floor(480 / N)));
  const ML = 60, dpr = window.devicePixelRatio || 1;
  c.width = Math.round((ML + n * RW + 170) * dpr); c.height = Math.round((N * RH + 30) * dpr);
  c.style.width = (ML + n * RW + 170) + 'px'; c.style.height = (N * RH + 30) + 'px';
  const x = c.getContext('2d'); x.setTransform(dpr, 0, 0, dpr, 0, 0); x.font = '10px sans-serif';
  x.clearRect(0, 0, c.width, c.height);
  const cls = D.steps.map((st) => classes(st.domains[j]));
  for (let s = 0; s < n; s++) for (let i = 0; i < N; i++) { x.fillStyle = CLASSCOL[cls[s][i]]; x.fillRect(ML + s * RW, 14 + i * RH, RW - 1, RH > 3 ? RH - 1 : RH); }
  x.fillStyle = '#333'; x.textAlign = 'center';
  D.steps.forEach((st, s) => x.fillText(st.label, ML + s * RW + RW / 2, 9));
  x.textAlign = 'right'; x.textBaseline = 'middle';
  for (let l = 0; l < L; l++) if (H * RH >= 10) x.fillText(`layer ${l}`, ML - 4, 14 + (l * H + H / 2) * RH);
  x.strokeStyle = '#ff2d95'; x.lineWidth = 2; x.strokeRect(ML + state.step * RW, 13, RW - 1, N * RH + 1);
  for (const i of state.chosen) { x.fillStyle = '#ffb000'; x.fillRect(ML + n * RW + 2, 14 + i * RH, 6, Math.max(RH, 2)); }
  x.textAlign = 'left';
  [['dormant', 'D'], ['mixed', 'M'], ['active', 'A'], ['unknown', '?']].forEach(([k], r) => { x.fillStyle = CLASSCOL[k]; x.fillRect(ML + n * RW + 20, 20 + r * 14, 10, 10); x.fillStyle = '#333'; x.fillText(k, ML + n * RW + 34, 25 + r * 14); });
  c.onmousemove = (ev) => {
    const r = c.getBoundingClientRect(), s = Math.floor((ev.clientX - r.left - ML) / RW), i = Math.floor((ev.clientY - r.top - 14) / RH);
    if (s < 0 || s >= n || i < 0 || i >= N) { hideTip(); return; }
    showTip(ev, `head ${headName(i)} · ${D.steps[s].label} · ${D.steps[s].domains[j].name}\nclass ${cls[s][i]} (${state.rule} ${fmt((values(D.steps[s].domains[j], state.rule) || [])[i])})`);
  };
  c.onmouseleave = hideTip;
  c.onclick = (ev) => {
    const r = c.getBoundingClientRect(), s = Math.floor((ev.clientX - r.left - ML) / RW);
    if (s >= 0 && s < n) setStep(s);
  };
}

function renderAll() { renderGrids(); renderHead(); renderSeries(); }

// the api the page's test drives, and a console user may use
const api = {
  data: D, state, patternValue, valueNorms, selectHead, setStep, lastHeadDrawMs: 0,
  redrawHead: () => renderHead(),
  ready: false,
};
window.sinkscopeReport = api;

setupControls();
setupTokens();
setupSeries();
// open on the first head whose pattern is stored
if (D.samples.length && D.samples[0].pattern_heads.length) state.head = D.samples[0].pattern_heads[0];
else state.head = 0;
if (!state.chosen.includes(state.head) && !D.steps.length) state.chosen.push(state.head);
if (D.steps.length) setStep(state.step);
renderAll();
renderTokens();
api.ready = true;
})();
