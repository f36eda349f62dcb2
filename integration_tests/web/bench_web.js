// clownix-web's benchmark (docs/web.md): the first full render of a 100-VM network, and the delay
// from a topology change (its server time) to its render in each of 20 open pages.
// clownixd runs with --nobackends (the topology without VMs or switch: the page's side is what is
// measured). Run from the repository after building:
//   bazel build //server:clownixd //clients/cli:clownix //clients/web:clownix-web
//   NODE_PATH=/var/cache/clownix/web/node_modules node integration_tests/web/bench_web.js [RUNS]
'use strict';
const {spawn, spawnSync} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {chromium} = require('playwright-core');

const BIN = process.env.BAZEL_BIN || 'bazel-bin';
const RUNS = Number(process.argv[2] || 5);
const PAGES = 20, CHANGES = 20, VMS = 100, LANS = 10;
const workDir = fs.mkdtempSync('/tmp/cxbench-');
const address = `unix:${workDir}/clownixd.sock`;

function must(...args) {
  const r = spawnSync(path.join(BIN, 'clients/cli/clownix'), ['--server', address, ...args],
      {encoding: 'utf8'});
  if (r.status !== 0) throw new Error(`clownix ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}
async function waitFor(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

(async () => {
  const clownixd = spawn(path.join(BIN, 'server/clownixd'),
      ['--work_dir', workDir, '--nobackends'], {stdio: 'ignore'});
  await waitFor(() => spawnSync(path.join(BIN, 'clients/cli/clownix'),
      ['--server', address, 'topo']).status === 0, 30000, 'clownixd');
  const lab = {lans: [], vms: [], links: []};
  for (let i = 0; i < LANS; i++) lab.lans.push({name: `lan${i}`});
  for (let i = 0; i < VMS; i++) {
    lab.vms.push({name: `vm${i}`, nic_count: 2});
    lab.links.push({endpoint: {nic: {vm: `vm${i}`, index: 1}}, lan: `lan${i % LANS}`});
  }
  fs.writeFileSync(path.join(workDir, 'lab.json'), JSON.stringify(lab));
  must('apply', path.join(workDir, 'lab.json'));
  const web = spawn(path.join(BIN, 'clients/web/clownix-web'),
      ['--server', address, '--listen', '127.0.0.1:0'], {stdio: ['ignore', 'pipe', 'inherit']});
  let out = '';
  web.stdout.on('data', (d) => { out += d; });
  const url = await waitFor(() => (out.match(/serving (http:\/\/\S+)/) || [])[1], 10000, 'web');
  const browser = await chromium.launch({executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage']});

  console.log(`host: ${os.cpus().length} cores, load before: ${load()}`);
  const first = [];
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext({viewport: {width: 1400, height: 900}});
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction((n) => window.clownixWeb &&
        window.clownixWeb.renders.some((r) => r.vms === n), VMS, {timeout: 30000});
    first.push(await page.evaluate((n) => window.clownixWeb.renders.find((r) => r.vms === n).at -
        performance.timeOrigin, VMS));
    await context.close();
  }
  console.log(`first full render, ${VMS} VMs, ${LANS} LANs: ` +
      `${first.map((x) => x.toFixed(0)).join(', ')} ms (p50 ${pct(first, 50).toFixed(0)} ms); ` +
      `load ${load()}`);

  for (const n of [1, PAGES]) {
    const pages = [];
    for (let i = 0; i < n; i++) {
      const context = await browser.newContext({viewport: {width: 1400, height: 900}});
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForFunction((v) => window.clownixWeb.renders.some((r) => r.vms === v), VMS,
          {timeout: 60000, polling: 100});
      pages.push(page);
    }
    const delays = [], arrivals = [];
    for (let run = 0; run < RUNS; run++) {
      const revisions = [];
      for (let c = 0; c < CHANGES; c++) {
        // One change at a time, each waited for on every page before the next.
        const line = must('lan', 'add', `b${n}x${run}x${c}`);
        const revision = Number(line.match(/revision (\d+)/)[1]);
        revisions.push(revision);
        await Promise.all(pages.map((p) => p.waitForFunction((r) =>
          window.clownixWeb.renders.some((x) => x.revision >= r), revision,
          {timeout: 60000, polling: 50})));
      }
      for (const p of pages) {
        const got = await p.evaluate((revs) => revs.map((r) => {
          const x = window.clownixWeb.renders.find((y) => y.revision === r);
          return x ? x.at - x.time_us / 1000 : null;
        }), revisions);
        for (const d of got) if (d !== null) delays.push(d);
        const came = await p.evaluate((revs) => revs.map((r) => {
          const x = window.clownixWeb.received.find((y) => y.revision === r);
          return x ? x.at - x.time_us / 1000 : null;
        }), revisions);
        for (const d of came) if (d !== null) arrivals.push(d);
      }
    }
    console.log(`change -> render, ${n} page(s), ${delays.length} samples over ${RUNS} runs: ` +
        `p50 ${pct(delays, 50).toFixed(1)} ms, p99 ${pct(delays, 99).toFixed(1)} ms, ` +
        `max ${Math.max(...delays).toFixed(1)} ms; in the page's WebSocket: ` +
        `p50 ${pct(arrivals, 50).toFixed(1)} ms, p99 ${pct(arrivals, 99).toFixed(1)} ms; ` +
        `load ${load()}`);
    for (const p of pages) await p.context().close();
  }
  await browser.close();
  web.kill('SIGTERM');
  clownixd.kill('SIGTERM');
})().catch((e) => { console.error(e); process.exit(1); });
