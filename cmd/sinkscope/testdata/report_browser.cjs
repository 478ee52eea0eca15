// Drives a sinkscope report in headless Chromium (playwright-core with the
// system browser) and prints what the page shows as one JSON object; the Go
// test that runs it makes the comparisons.
//
// Usage: node report_browser.cjs CONFIG.json
// CONFIG: {"chromium": path, "report": path, "shots": dir, "head": [layer, head],
//          "cells": bool (read every grid cell of every metric), "series": bool,
//          "noPattern": bool (skip reading the pattern cells), "switchTo": [layer, head] (time a head switch)}
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

async function main() {
  const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const userDir = fs.mkdtempSync(path.join(cfg.shots, 'profile-'));
  const browser = await chromium.launchPersistentContext(userDir, {
    executablePath: cfg.chromium,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--allow-file-access-from-files'],
  });
  const out = { errors: [], requests: [], shots: {} };
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => out.errors.push('pageerror: ' + e.message));
    page.on('console', (m) => { if (m.type() === 'error') out.errors.push('console: ' + m.text()); });
    page.on('request', (r) => out.requests.push(r.url().slice(0, 200)));
    const url = 'file://' + path.resolve(cfg.report);
    const t0 = Date.now();
    await page.goto(url, { waitUntil: 'load', timeout: 120000 });
    await page.waitForFunction(() => window.sinkscopeReport && window.sinkscopeReport.ready, null, { timeout: 120000 });
    out.openMs = Date.now() - t0;
    out.title = await page.title();
    out.quantisation = await page.textContent('#quant');
    out.layers = await page.evaluate(() => window.sinkscopeReport.data.layers);
    out.heads = await page.evaluate(() => window.sinkscopeReport.data.heads);

    // grid cells: every metric of the select, as the page shows them
    const readCells = () => page.$$eval('#grids .grid[data-domain] .cell', (cs) => cs.map((c) => ({
      grid: c.parentElement.dataset.domain, layer: +c.dataset.layer, head: +c.dataset.head, value: c.dataset.value, class: c.dataset.class })));
    out.metrics = await page.$$eval('#metric option', (os) => os.map((o) => o.value));
    out.cells = {};
    if (cfg.cells) {
      for (const m of out.metrics) {
        await page.selectOption('#metric', m);
        out.cells[m] = await readCells();
      }
    }
    await page.selectOption('#metric', 'first_attn');
    const [hl, hh] = cfg.head;
    const cellSel = `#grids .grid[data-domain="0"] .cell[data-layer="${hl}"][data-head="${hh}"]`;

    // editing the rule: a τ_dormant of 0 makes every head dormant under first_attn
    await page.fill('#tau-dormant', '0');
    out.classesAtTau0 = (await readCells()).filter((c) => c.grid === '0').map((c) => c.class);
    await page.fill('#tau-dormant', '0.8');

    // click a head, then hover it in the grid
    await page.click(cellSel);
    await page.hover(cellSel);
    out.gridTip = await page.textContent('#tip');
    out.shots.grid = path.join(cfg.shots, 'grid.png');
    await page.screenshot({ path: out.shots.grid, fullPage: false });
    out.selected = await page.$$eval('#grids .cell.sel', (cs) => cs.map((c) => c.parentElement.dataset.domain + ':' + c.dataset.layer + '.' + c.dataset.head));

    // the head view: every pattern cell of sample 0 as the page reads it
    out.headName = await page.textContent('#head-name');
    out.pattern = cfg.noPattern ? null : await page.evaluate(([l, h]) => {
      const api = window.sinkscopeReport, S = api.data.samples[0];
      if (!S) return null;
      const rows = [];
      for (let q = 0; q < S.t; q++) { const r = []; for (let k = 0; k <= q; k++) r.push(api.patternValue(0, l, h, q, k)); rows.push(r); }
      return { t: S.t, ids: S.ids, rows, stored: S.pattern_heads };
    }, [hl, hh]);
    // hover the pattern cell (last query, key 0) and read the tooltip
    const canvas = await page.$('#head-samples .sample[data-sample="0"] canvas.pattern');
    if (canvas && out.pattern) {
      await canvas.scrollIntoViewIfNeeded();
      const geo = await page.evaluate(() => { const S = window.sinkscopeReport.data.samples[0]; const P = Math.max(200, Math.min(640, S.t * 14)); return { t: S.t, cell: P / S.t }; });
      const q = geo.t - 1, k = 0;
      await canvas.hover({ position: { x: 86 + (k + 0.5) * geo.cell, y: 64 + (q + 0.5) * geo.cell } });
      out.patternTip = await page.textContent('#tip');
      out.patternTipAt = [q, k];
    }
    const hv = await page.$('#head-view');
    out.shots.head = path.join(cfg.shots, 'head.png');
    await hv.screenshot({ path: out.shots.head });

    // redraw timing of the head view, measured in the page
    out.redrawMs = await page.evaluate(() => {
      const ms = [];
      for (let i = 0; i < 5; i++) { const t = performance.now(); window.sinkscopeReport.redrawHead(); ms.push(performance.now() - t); }
      return ms;
    });

    // switching heads: a click on another head in the grid, timed in the page
    if (cfg.switchTo) {
      const [sl, sh] = cfg.switchTo;
      out.switchMs = await page.evaluate(([l, h]) => {
        const t = performance.now();
        document.querySelector(`#grids .grid[data-domain="0"] .cell[data-layer="${l}"][data-head="${h}"]`).click();
        return performance.now() - t;
      }, [sl, sh]);
      out.switchDrawMs = await page.evaluate(() => window.sinkscopeReport.lastHeadDrawMs);
      out.shots.switched = path.join(cfg.shots, 'head-switched.png');
      await hv.screenshot({ path: out.shots.switched });
    }

    // the token view: hover a position
    const tc = await page.$('#tok-canvas');
    if (tc) {
      await tc.scrollIntoViewIfNeeded();
      const box = await tc.boundingBox();
      await page.mouse.move(box.x + 150 + 6, box.y + 30);
      out.tokenTip = await page.textContent('#tip');
      out.shots.tokens = path.join(cfg.shots, 'tokens.png');
      await (await page.$('#token-view')).screenshot({ path: out.shots.tokens });
    }

    // the series view: drive the slider, read the grid at every step
    if (cfg.series) {
      const n = await page.evaluate(() => window.sinkscopeReport.data.steps.length);
      out.steps = [];
      for (let s = 0; s < n; s++) {
        await page.fill('#step', String(s));
        out.steps.push({ label: await page.textContent('#step-label'), cells: (await readCells()).filter((c) => c.grid === '0') });
      }
      await page.fill('#step', String(Math.floor((n - 1) / 2)));
      const strip = await page.$('#class-strip');
      await strip.scrollIntoViewIfNeeded();
      const sb = await strip.boundingBox();
      await page.mouse.move(sb.x + 60 + 5, sb.y + 14 + 2);
      out.seriesTip = await page.textContent('#tip');
      out.shots.series = path.join(cfg.shots, 'series.png');
      await (await page.$('#series-view')).screenshot({ path: out.shots.series });
      out.shots.seriesGrid = path.join(cfg.shots, 'series-grid.png');
      await (await page.$('#grid-view')).screenshot({ path: out.shots.seriesGrid });
    }
  } finally {
    await browser.close();
    fs.rmSync(userDir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
