// clownix-web with a clownixd that wants tokens (issue 13 with issue 10): the page asks for one,
// shows the topology only once clownixd accepts it, and acts with exactly its rights (a viewer's
// page cannot create a LAN; after the operator's token it can). clownixd runs --nobackends
// (no VMs: only the API's rules matter here) with --socket_group and a tokens file, so that calls
// on its socket need tokens even from its own user (docs/security.md).
'use strict';
const {test, before, after} = require('node:test');
const assert = require('node:assert');
const {spawn, spawnSync} = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {chromium} = require('playwright-core');

const RUNFILES = path.join(process.env.TEST_SRCDIR || '.', 'clownix');
const CLOWNIXD = path.join(RUNFILES, 'server/clownixd');
const CLOWNIX = path.join(RUNFILES, 'clients/cli/clownix');
const CLOWNIX_WEB = path.join(RUNFILES, 'clients/web/clownix-web');
const OUTPUTS = process.env.TEST_UNDECLARED_OUTPUTS_DIR || os.tmpdir();

const dir = fs.mkdtempSync('/tmp/cxwebtok-');
const workDir = path.join(dir, 'work');
const address = `unix:${workDir}/clownixd.sock`;
const tokens = {viewer: crypto.randomBytes(24).toString('hex'),
  operator: crypto.randomBytes(24).toString('hex')};
let clownixd = null, web = null, browser = null, page = null;

async function waitFor(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
function shown(selector, timeout) {
  return page.waitForFunction((s) => !!document.querySelector(s), selector, {timeout});
}

before(async () => {
  const tokensFile = path.join(dir, 'tokens');
  fs.writeFileSync(tokensFile, `viewer v-holder ${tokens.viewer}\noperator o-holder ${tokens.operator}\n`,
      {mode: 0o600});
  const log = path.join(dir, 'clownixd.log');
  const fd = fs.openSync(log, 'a');
  clownixd = spawn(CLOWNIXD, ['--work_dir', workDir, '--nobackends', '--socket_group',
    String(process.getegid()), '--tokens_file', tokensFile], {stdio: ['ignore', fd, fd]});
  await waitFor(() => clownixd.exitCode !== null || /serving on/.test(fs.readFileSync(log, 'utf8')),
      30000, 'clownixd to serve');
  assert.strictEqual(clownixd.exitCode, null, fs.readFileSync(log, 'utf8'));
  const r = spawnSync(CLOWNIX, ['--server', address, '--token', tokens.operator, 'lan', 'add',
    'lan-a'], {encoding: 'utf8'});
  assert.strictEqual(r.status, 0, r.stdout + r.stderr);

  web = spawn(CLOWNIX_WEB, ['--server', address, '--listen', '127.0.0.1:0'],
      {stdio: ['ignore', 'pipe', 'inherit']});
  let out = '';
  web.stdout.on('data', (d) => { out += d; });
  const url = await waitFor(() => (out.match(/serving (http:\/\/\S+)/) || [])[1], 10000,
      'clownix-web to print its address');
  browser = await chromium.launch({executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage']});
  page = await browser.newPage({viewport: {width: 1200, height: 800}});
  await page.goto(url);
});

after(async () => {
  if (browser) await browser.close();
  if (web && web.exitCode === null) web.kill('SIGTERM');
  if (clownixd && clownixd.exitCode === null) {
    const exited = new Promise((r) => clownixd.once('exit', r));
    clownixd.kill('SIGTERM');
    await exited;
  }
});

test('the page asks for a token and shows nothing before', async () => {
  await shown('#token-dialog[open]', 10000);
  assert.match(await page.locator('#token-reason').textContent(), /token|UNAUTHENTICATED|authoriz/i);
  assert.strictEqual(await page.locator('svg .lan').count(), 0);
  await page.screenshot({path: path.join(OUTPUTS, 'token-asked.png')});
});

test('a viewer token shows the topology but cannot change it', async () => {
  await page.fill('#token-input', tokens.viewer);
  await page.click('#token-dialog button');
  await shown('svg .lan[data-name="lan-a"]', 10000);
  await page.fill('#add-lan input[name=name]', 'lan-b');
  await page.click('#add-lan button');
  await page.waitForFunction(() => /PERMISSION_DENIED/.test(
      document.getElementById('error').textContent), null, {timeout: 10000});
  // Asked again: the page offers to use a stronger token.
  await shown('#token-dialog[open]', 5000);
});

test('with an operator token the same action works', async () => {
  await page.fill('#token-input', tokens.operator);
  await page.click('#token-dialog button');
  await page.click('#add-lan button');
  await shown('svg .lan[data-name="lan-b"]', 10000);
  await page.screenshot({path: path.join(OUTPUTS, 'token-operator.png')});
});
