// clownix-web in headless chromium against a real clownixd with real UML VMs (issue 13).
//
// One clownixd in a network namespace this test makes (held by a child process: gone with it),
// the demo network applied with the CLI, one clownix-web on a free loopback port, one browser.
// The steps run in order on that one system, each waiting for what the page shows with a
// deadline (Playwright's waits, or waitFor below), never for a fixed time. Screenshots and the
// capture the page downloads go to TEST_UNDECLARED_OUTPUTS_DIR.
'use strict';
const {test, before, after} = require('node:test');
const assert = require('node:assert');
const {spawn, spawnSync} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {chromium} = require('playwright-core');

const RUNFILES = path.join(process.env.TEST_SRCDIR || '.', 'clownix');
const CLOWNIXD = path.join(RUNFILES, 'server/clownixd');
const CLOWNIX = path.join(RUNFILES, 'clients/cli/clownix');
const CLOWNIX_WEB = path.join(RUNFILES, 'clients/web/clownix-web');
const DEMO = path.join(RUNFILES, 'examples/demo.json');
const OUTPUTS = process.env.TEST_UNDECLARED_OUTPUTS_DIR || os.tmpdir();
const IP_ADMIN = '10.0.255.254';

const workDir = fs.mkdtempSync('/tmp/cxweb-');
const address = `unix:${workDir}/clownixd.sock`;
let netns = null, clownixd = null, web = null, browser = null, page = null, url = '';

async function waitFor(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function cli(...args) {
  return spawnSync(CLOWNIX, ['--server', address, ...args], {encoding: 'utf8', timeout: 120000});
}
function must(...args) {
  const r = cli(...args);
  if (r.status !== 0) throw new Error(`clownix ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  return r.stdout;
}
function topology() { return JSON.parse(must('topo', '--json')); }
function logTail(file) {
  try { return fs.readFileSync(file, 'utf8').slice(-3000); } catch (e) { return String(e); }
}

async function startClownixd() {
  const log = fs.openSync(path.join(workDir, 'clownixd.log'), 'a');
  clownixd = spawn('nsenter', ['-t', String(netns.pid), '-n', CLOWNIXD, '--work_dir', workDir,
    '--ip_admin', IP_ADMIN, '--admin_tap', `cnw${process.pid % 100000}`, '--num_tap', '1'],
  {stdio: ['ignore', log, log]});
  const proc = clownixd;
  await waitFor(() => proc.exitCode !== null || cli('topo').status === 0, 60000, 'clownixd to serve');
  assert.strictEqual(proc.exitCode, null, `clownixd exited: ${logTail(path.join(workDir, 'clownixd.log'))}`);
}

async function stopClownixd(signal) {
  const proc = clownixd;
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  await exited;
}

// Waits until `selector` matches (a predicate on the DOM: the picture is redrawn on changes, so an
// element may be replaced while Playwright looks at it).
function shown(selector, timeout) {
  return page.waitForFunction((s) => !!document.querySelector(s), selector, {timeout});
}

async function shot(name) {
  await page.screenshot({path: path.join(OUTPUTS, `${name}.png`)});
}

// The text of the terminal of `vm`, lines joined.
function terminalText(vm) {
  return page.evaluate((vm) => {
    const c = window.clownixWeb.consoles.get(vm);
    if (!c) return '';
    const b = c.term.buffer.active;
    const lines = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
    return lines.join('\n');
  }, vm);
}

// Waits until the terminal of `vm` matches `re`; a timeout says what the terminal ended with.
async function waitForTerminal(vm, re, timeoutMs, what) {
  try {
    return await waitFor(async () => (await terminalText(vm)).match(re), timeoutMs, what);
  } catch (e) {
    throw new Error(`${e.message}; the terminal of ${vm} ends with:\n` +
        (await terminalText(vm)).trimEnd().slice(-600));
  }
}

// The shortest round trip of `count` pings from vm1 to the router on lan1, milliseconds (the
// minimum: the first ping also waits for ARP, and a busy host delays some).
function pingMin(count) {
  const out = must('exec', 'vm1', '--', `ping -c ${count} -W 5 192.168.1.254`);
  const m = out.match(/= ([\d.]+)\/[\d.]+\//);
  assert.ok(m, `no round-trip line in: ${out}`);
  return Number(m[1]);
}

before(async () => {
  netns = spawn('unshare', ['-n', 'sleep', '3600'], {stdio: 'ignore'});
  await waitFor(() => {
    try {
      return fs.readlinkSync(`/proc/${netns.pid}/ns/net`) !== fs.readlinkSync('/proc/self/ns/net');
    } catch (e) { return false; }
  }, 10000, 'the network namespace');
  await startClownixd();
  must('apply', DEMO);

  web = spawn(CLOWNIX_WEB, ['--server', address, '--listen', '127.0.0.1:0'],
      {stdio: ['ignore', 'pipe', 'pipe']});
  let out = '';
  web.stdout.on('data', (d) => { out += d; });
  web.stderr.on('data', (d) => { process.stderr.write(`clownix-web: ${d}`); });
  url = await waitFor(() => (out.match(/serving (http:\/\/\S+)/) || [])[1], 10000,
      'clownix-web to print its address');

  browser = await chromium.launch({executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage']});
  page = await browser.newPage({viewport: {width: 1400, height: 900}});
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
});

after(async () => {
  if (browser) await browser.close();
  if (web && web.exitCode === null) web.kill('SIGTERM');
  await stopClownixd('SIGTERM');
  if (netns) netns.kill('SIGKILL');
  // The work dir is under /tmp (a unix socket path must be short); its log goes with the outputs.
  try {
    fs.copyFileSync(path.join(workDir, 'clownixd.log'), path.join(OUTPUTS, 'clownixd.log'));
  } catch (e) { /* no log (clownixd never started): nothing to keep */ }
  fs.rmSync(workDir, {recursive: true, force: true});
});

test('the demo appears, every name as text', async () => {
  await page.goto(url);
  for (const name of ['vm1', 'router', 'vm2', 'lan1', 'lan2']) {
    await page.locator('svg text.name', {hasText: new RegExp(`^${name}$`)}).waitFor({timeout: 10000});
  }
  await shown('body[data-connected=true]', 10000);
  await shown('svg .vm[data-state=running][data-name=vm1]', 120000);
  await shown('svg .vm[data-state=running][data-name=router]', 120000);
  await shot('demo');
});

test('a VM created with the CLI appears within a second', async () => {
  must('vm', 'add', 'vm4', '--nics', '2');
  const created = Date.now();
  await shown('svg .vm[data-name=vm4]', 1000);
  const text = await page.locator('svg .vm[data-name=vm4] text.name').textContent();
  assert.strictEqual(text, 'vm4');
  process.stderr.write(`vm4 shown ${Date.now() - created} ms after the CLI returned\n`);
});

test('clicking vm1 opens a terminal where uname -n prints vm1, also when the picture is redrawn mid-click', async () => {
  // Pressed, then a watch event redraws the picture (a new LAN), then released: still a click.
  await page.locator('svg .vm[data-name=vm1] rect').hover();  // the mouse on vm1, still
  await page.mouse.down();
  const pressedAt = await page.evaluateHandle(() => document.querySelector('svg .vm[data-name=vm1]'));
  must('lan', 'add', 'lan8');
  await shown('svg .lan[data-name=lan8]', 10000);
  assert.ok(await page.evaluate((old) => !old.isConnected, pressedAt), 'the picture was redrawn');
  await page.mouse.up();
  await page.waitForSelector('#terminals .terminal[data-vm=vm1] .xterm', {timeout: 10000});
  // The console shows a prompt once attached (the page sends a return on attaching).
  await waitForTerminal('vm1', /#\s*$/m, 30000, 'a shell prompt');
  await page.locator('#terminals .terminal[data-vm=vm1] .xterm').click();
  await page.keyboard.type('uname -n');
  await page.keyboard.press('Enter');
  await waitForTerminal('vm1', /^vm1\s*$/m, 15000, '"vm1" on a line of its own');
  await shot('console');
});

test('the console follows the page\'s size: stty size in the guest changes with the viewport', async () => {
  const termSize = () => page.evaluate(() => {
    const t = window.clownixWeb.consoles.get('vm1').term;
    return `${t.rows} ${t.cols}`;
  });
  // What `stty size` prints in vm1's console, asked with a fresh marker each time.
  let asked = 0;
  const guestSize = async () => {
    const mark = `Z${++asked}Z`;
    await page.locator('#terminals .terminal[data-vm=vm1] .xterm').click();
    await page.keyboard.type(`echo ${mark}$(stty size)${mark}`);
    await page.keyboard.press('Enter');
    const re = new RegExp(`^${mark}(\\d+ \\d+)${mark}\\s*$`, 'm');
    const m = await waitForTerminal('vm1', re, 15000, `vm1 to answer stty size (${mark})`);
    return m[1];
  };
  await page.click('svg .vm[data-name=vm1]');
  const before = await termSize();
  assert.strictEqual(await guestSize(), before);
  await page.setViewportSize({width: 1000, height: 640});
  const after = await waitFor(async () => {
    const now = await termSize();
    return now !== before && now;
  }, 10000, 'the terminal to fit the smaller page');
  assert.strictEqual(await guestSize(), after, `the page's terminal is ${after} (was ${before})`);
  process.stderr.write(`console size ${before} -> ${after}, stty size in vm1 follows\n`);
  await shot('console-resized');
  await page.setViewportSize({width: 1400, height: 900});
  await waitFor(async () => (await termSize()) === before, 10000, 'the terminal to fit again');
});

test('a console survives its VM\'s reboot', async () => {
  const vmState = () => page.evaluate(() => {
    const v = window.clownixWeb.net.vms.get('vm2');
    return v ? v.state : '';
  });
  const answers = async () => ((await terminalText('vm2')).match(/^vm2\s*$/gm) || []).length;
  await page.click('svg .vm[data-name=vm2]');
  await waitForTerminal('vm2', /#\s*$/m, 30000, 'vm2\'s prompt');
  await page.locator('#panel button', {hasText: /^reboot$/}).click();
  await waitFor(async () => (await vmState()) !== 'VM_STATE_RUNNING', 30000, 'vm2 to reboot');
  try {
    await waitFor(async () => (await vmState()) === 'VM_STATE_RUNNING', 120000, 'vm2 to run again');
  } catch (e) {
    // What clownixd says of vm2 and the end of its log: a stuck reboot is otherwise a bare timeout.
    const show = cli('vm', 'show', 'vm2');
    throw new Error(`${e.message}; the page says ${await vmState()}; clownix vm show vm2:\n` +
        `${show.stdout}${show.stderr}\nclownixd.log ends with:\n` +
        logTail(path.join(workDir, 'clownixd.log')));
  }
  // Typed until answered: keys typed while the tab reattaches are lost, like on a serial line.
  const before = await answers();
  await waitFor(async () => {
    await page.locator('#terminals .terminal[data-vm=vm2] .xterm').click();
    await page.keyboard.type('uname -n');
    await page.keyboard.press('Enter');
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      if ((await answers()) > before) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }, 60000, 'vm2 to answer on its console after the reboot');
  await shot('rebooted');
});

test('an impairment set in the form changes the ping time in the VM', async () => {
  must('exec', 'vm1', '--', 'ip addr add 192.168.1.1/24 dev eth1; ip link set eth1 up');
  must('exec', 'router', '--', 'ip addr add 192.168.1.254/24 dev eth1; ip link set eth1 up');
  const before = pingMin(5);
  assert.ok(before < 50, `before: ${before} ms`);
  await page.click('svg .vm[data-name=vm1]');
  await page.locator('#panel button', {hasText: 'impair…'}).click();
  await page.fill('#panel input[name=delay_ms]', '60');
  await page.locator('#panel button', {hasText: 'set impairments'}).click();
  await shown('svg .link[data-endpoint="vm1/eth1"][data-impaired=true]', 5000);
  const link = topology().links.find((l) => l.endpoint.nic && l.endpoint.nic.vm === 'vm1');
  const toLan = link.to_lan || link.toLan;  // proto or JSON field names
  assert.strictEqual(toLan.delay_us || toLan.delayUs, 60000);
  const after = pingMin(5);
  // 60 ms each way: no round trip is shorter than 120 ms.
  assert.ok(after >= 115, `ping ${before} ms before, ${after} ms after`);
  process.stderr.write(`ping vm1 -> router: ${before} ms before, ${after} ms after the form\n`);
  await shot('impaired');
});

test('the capture button downloads a pcapng that tshark reads, with the ping running meanwhile', async () => {
  // vm1 pings the router on lan1 (addresses from the impairment step) while the page captures.
  const ping = spawn(CLOWNIX, ['--server', address, 'exec', 'vm1', '--timeout', '60s', '--',
    'ping -c 25 -i 0.3 -W 5 192.168.1.254'], {stdio: 'ignore'});
  const pinged = new Promise((r) => ping.once('exit', r));
  await page.click('svg .lan[data-name=lan1]');
  await page.locator('#panel button', {hasText: 'capture…'}).click();
  await page.fill('#panel-form input[name=seconds]', '3');
  const download = page.waitForEvent('download', {timeout: 60000});
  await page.locator('#panel-form button', {hasText: 'start capture'}).click();
  const file = path.join(OUTPUTS, 'lan1-capture.pcapng');
  await (await download).saveAs(file);
  await shot('captured');
  const tshark = spawnSync('tshark', ['-r', file, '-Y', 'icmp', '-T', 'fields', '-e', 'ip.src',
    '-e', 'ip.dst', '-e', 'icmp.type'], {encoding: 'utf8', timeout: 60000});
  assert.strictEqual(tshark.status, 0, `tshark: ${tshark.stderr}`);
  const frames = tshark.stdout.split('\n').filter((l) => l);
  const requests = frames.filter((l) => l === '192.168.1.1\t192.168.1.254\t8').length;
  const replies = frames.filter((l) => l === '192.168.1.254\t192.168.1.1\t0').length;
  process.stderr.write(`capture: ${frames.length} ICMP frames, ${requests} requests, ` +
      `${replies} replies\n`);
  assert.ok(requests >= 3 && replies >= 3, `ICMP in the capture:\n${tshark.stdout}`);
  assert.strictEqual(await pinged, 0, 'the ping ran to its end');
});

test('applying an uploaded file shows the plan, then creates what it says', async () => {
  const file = path.join(workDir, 'lab3.json');
  fs.writeFileSync(file, JSON.stringify({
    lans: [{name: 'lan3'}],
    vms: [{name: 'vm5', nic_count: 2}],
    links: [{endpoint: {nic: {vm: 'vm5', index: 1}}, lan: 'lan3'}],
  }));
  await page.setInputFiles('#apply-file', file);
  await shown('#plan-dialog[open]', 10000);
  const plan = await page.locator('#plan-table tbody').innerText();
  for (const want of [/CREATE\s+lan\s+lan3/, /CREATE\s+vm\s+vm5/, /CONNECT\s+link\s+vm5\/eth1/]) {
    assert.match(plan, want);
  }
  assert.strictEqual(topology().lans.some((l) => l.name === 'lan3'), false, 'a dry run changes nothing');
  await shot('plan');
  await page.click('#plan-apply');
  await page.waitForFunction(() => /applied: 3 OK, 0 failed/.test(
      document.getElementById('plan-summary').textContent), null, {timeout: 60000});
  await shot('applied');
  await page.click('#plan-dialog button[value=close]');
  const t = topology();
  assert.ok(t.lans.some((l) => l.name === 'lan3'));
  assert.ok(t.vms.some((v) => v.name === 'vm5'));
  assert.ok(t.links.some((l) => l.endpoint.nic && l.endpoint.nic.vm === 'vm5' && l.lan === 'lan3'));
  await shown('svg .vm[data-name=vm5]', 5000);
  await shown('svg .lan[data-name=lan3]', 5000);
});

test('an uploaded YAML file creates what it says; one that does not parse shows file:line', async () => {
  const bad = path.join(workDir, 'broken.yaml');
  fs.writeFileSync(bad, 'lans:\n  - name: lan6\nvms:\n  - {name: vm6, nic_count: two}\n');
  await page.setInputFiles('#apply-file', bad);
  await page.waitForFunction(() => /INVALID_ARGUMENT: broken\.yaml:4:\d+: vms\[0\]\.nic_count/.test(
      document.getElementById('error').textContent), null, {timeout: 10000});
  await shot('yaml-error');

  const file = path.join(workDir, 'lab6.yml');
  fs.writeFileSync(file, [
    '# lan6 with vm6 on it, in YAML',
    'lans:',
    '  - name: lan6',
    'vms:',
    '  - name: vm6',
    '    nic_count: 2',
    '    labels: {role: yaml}',
    'links:',
    '  - endpoint: {nic: {vm: vm6, index: 1}}',
    '    lan: lan6',
    ''].join('\n'));
  await page.setInputFiles('#apply-file', file);
  await shown('#plan-dialog[open]', 10000);
  assert.match(await page.locator('#plan-title').textContent(), /lab6\.yml/);
  const plan = await page.locator('#plan-table tbody').innerText();
  for (const want of [/CREATE\s+lan\s+lan6/, /CREATE\s+vm\s+vm6/, /CONNECT\s+link\s+vm6\/eth1/]) {
    assert.match(plan, want);
  }
  await page.click('#plan-apply');
  await page.waitForFunction(() => /applied: 3 OK, 0 failed/.test(
      document.getElementById('plan-summary').textContent), null, {timeout: 60000});
  await shot('yaml-applied');
  await page.click('#plan-dialog button[value=close]');
  const t = topology();
  const vm6 = t.vms.find((v) => v.name === 'vm6');
  assert.ok(vm6, 'vm6 exists');
  assert.strictEqual(vm6.nic_count || vm6.nicCount, 2);
  assert.strictEqual(vm6.labels.role, 'yaml');
  assert.ok(t.links.some((l) => l.endpoint.nic && l.endpoint.nic.vm === 'vm6' && l.lan === 'lan6'));
  await shown('svg .vm[data-name=vm6]', 5000);
  await shown('svg .lan[data-name=lan6]', 5000);
});

test('errors show the server\'s message', async () => {
  await page.fill('#add-lan input[name=name]', 'lan1');
  await page.click('#add-lan button');
  await page.waitForFunction(() => /ALREADY_EXISTS: lan "lan1" already exists/.test(
      document.getElementById('error').textContent), null, {timeout: 10000});
});

test('killing and restarting clownixd shows the reconnect, then the page catches up', async () => {
  await stopClownixd('SIGKILL');
  await shown('body[data-connected=false]', 10000);
  assert.match(await page.locator('#status').textContent(), /reconnecting/);
  await shot('reconnecting');
  // A page opened while clownixd is down says so, and catches up when it is back.
  const late = await browser.newPage({viewport: {width: 1400, height: 900}});
  late.on('pageerror', (e) => process.stderr.write(`late page error: ${e.message}\n`));
  await late.goto(url);
  await late.waitForFunction(() => document.body.dataset.connected === 'false' &&
      /reconnecting/.test(document.getElementById('status').textContent), null, {timeout: 10000});
  await late.screenshot({path: path.join(OUTPUTS, 'opened-while-down.png')});
  await startClownixd();
  await shown('body[data-connected=true]', 15000);
  must('lan', 'add', 'lan9');
  // Deadlines, not delays: generous, for runs under ThreadSanitizer (a clownixd that has just
  // readopted its VMs there takes seconds to answer the page's resumed watch).
  await shown('svg .lan[data-name=lan9]', 30000);
  // At least the CLI's revision: VMs still booting after the restart move it on, and the page
  // draws once per batch of events, so it may never show that exact revision.
  const revision = Number(topology().revision);
  await page.waitForFunction((r) => Number(document.body.dataset.revision) >= r, revision,
      {timeout: 30000});
  await shot('caught-up');
  // The late page: the same things, and at least that revision (VMs still booting after the
  // restart move clownixd's revision on meanwhile).
  for (const selector of ['body[data-connected=true]', 'svg .lan[data-name=lan9]',
    'svg .vm[data-name=vm1]', 'svg .vm[data-name=vm6]']) {
    try {
      await late.waitForFunction((s) => !!document.querySelector(s), selector, {timeout: 30000});
    } catch (e) {
      await late.screenshot({path: path.join(OUTPUTS, 'opened-while-down-stuck.png')});
      const status = await late.locator('#status').textContent();
      throw new Error(`the page opened while clownixd was down: no ${selector} (status: ${status})`);
    }
  }
  await late.waitForFunction((r) => Number(document.body.dataset.revision) >= r, revision,
      {timeout: 30000});
  await late.screenshot({path: path.join(OUTPUTS, 'opened-while-down-caught-up.png')});
  await late.close();
});
