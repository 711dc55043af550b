// `stripe-chat preview` in a real browser: Debian's chromium driven by playwright-core loads the
// page from the real binary, picks every bundled sample and checks what each platform's pane
// shows against the bodies the adapters return (title, amount, buttons), renders the hostile
// corpus event and checks it shows as text, and writes a screenshot per platform for the docs.
//
// Run by .ci/run: `npm ci && node --test` in this folder, with STRIPE_CHAT_BIN pointing at the
// binary (default: ../../target/debug/stripe-chat) and CHROMIUM at the browser.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
const bin = process.env.STRIPE_CHAT_BIN || path.join(targetDir, 'debug', 'stripe-chat');
const executablePath = process.env.CHROMIUM
  || ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => existsSync(p));
const shots = path.join(root, 'docs', 'preview');
const PLATFORMS = ['slack', 'teams', 'discord', 'matrix'];

let server;
let base;
let browser;
let page;
const dialogs = [];
const pageErrors = [];

before(async () => {
  assert.ok(existsSync(bin), `build the binary first: ${bin}`);
  assert.ok(executablePath, 'chromium is not installed (apt-get install chromium)');
  server = spawn(bin, ['preview', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  base = await new Promise((resolve, reject) => {
    let seen = '';
    server.stdout.on('data', (chunk) => {
      seen += chunk;
      const match = seen.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (match) resolve(match[0]);
    });
    server.on('exit', (code) => reject(new Error(`preview exited with ${code}: ${seen}`)));
    setTimeout(() => reject(new Error(`no address from preview: ${seen}`)), 15000);
  });
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1700, height: 1100 } });
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-rendered]', { state: 'attached' });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill('SIGINT');
});

async function api(pathname, body) {
  const response = await fetch(`${base}${pathname}`, body === undefined ? {} : {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, pathname);
  return response.json();
}

/** Picks sample `name` and waits for the panes to show a new event. */
async function pick(name) {
  const before = await page.$eval('#panes', (main) => main.dataset.event || '');
  await page.selectOption('#sample', name);
  await page.waitForFunction((previous) => {
    const main = document.getElementById('panes');
    return main.dataset.event && main.dataset.event !== previous;
  }, before);
}

function buttonsOf(platform, body) {
  switch (platform) {
    case 'slack':
      return (body.blocks || []).flatMap((b) => [...(b.elements || []), ...(b.accessory ? [b.accessory] : [])])
        .filter((e) => e.type === 'button').map((e) => e.text.text);
    case 'teams':
      return body.attachments[0].content.actions.map((a) => a.title);
    case 'discord':
      return (body.components || []).flatMap((row) => row.components).filter((c) => c.type === 2).map((c) => c.label);
    default:
      return [];
  }
}

test('the page has no script but its own and keeps its Content-Security-Policy', async () => {
  const response = await fetch(`${base}/`);
  assert.match(response.headers.get('content-security-policy'), /script-src 'self'/);
  const scripts = await page.$$eval('script', (nodes) => nodes.map((n) => n.getAttribute('src')));
  assert.deepEqual(scripts, ['/preview.js']);
});

test('every bundled sample shows its title, amount and buttons in each platform pane', async () => {
  const samples = (await api('/api/samples')).filter((s) => !s.hostile);
  assert.ok(samples.length >= 10, 'the bundled samples are offered');
  for (const sample of samples) {
    await pick(sample.name);
    const event = await page.$eval('#event-json', (area) => JSON.parse(area.value));
    const expected = await api('/api/render', { event, level: 'public' });
    for (const platform of PLATFORMS) {
      const pane = page.locator(`#pane-${platform}`);
      const text = await pane.locator('.view').innerText();
      const result = expected.platforms[platform];
      if (!result) {
        assert.match(text, /No message/, `${sample.name} ${platform}`);
        continue;
      }
      const title = await pane.locator('.view [data-title]').first().innerText();
      const start = expected.title.slice(0, 24).trim();
      assert.ok(title.includes(start), `${sample.name} ${platform}: title ${JSON.stringify(title)} should show ${JSON.stringify(start)}`);
      const amount = expected.title.match(/\d[\d,]*(\.\d+)? [A-Z]{3}/);
      if (amount) assert.ok(text.includes(amount[0]), `${sample.name} ${platform}: ${amount[0]} in ${text}`);
      const buttons = await pane.locator('.view [data-button]').evaluateAll((nodes) => nodes.map((n) => n.dataset.button));
      assert.deepEqual(buttons, buttonsOf(platform, result.body).map((label) => label.replace(/:[a-z_]+: ?/g, (m) => m)), `${sample.name} ${platform} buttons`);
      assert.ok(!text.includes('[object '), `${sample.name} ${platform}: every element drawn`);
      assert.ok(!text.includes('{{'), `${sample.name} ${platform}: no template left`);
      const json = await pane.locator('.json pre').textContent();
      assert.deepEqual(JSON.parse(json), result.body, `${sample.name} ${platform}: the JSON is the adapter's body`);
      assert.ok(await pane.locator('.meters meter').count() >= 1, `${sample.name} ${platform}: limits`);
    }
  }
  assert.deepEqual(dialogs, []);
  assert.deepEqual(pageErrors, []);
});

test('the hostile event renders as text in every pane, never as markup', async () => {
  await pick('hostile: markup injection');
  for (const platform of PLATFORMS) {
    const view = page.locator(`#pane-${platform} .view`);
    // The adapters may defuse markup with invisible characters (Teams: a zero-width space after
    // '<'): what a reader sees is the text.
    const text = (await view.innerText()).replace(/[\u200b\u2060\ufeff]/g, '');
    assert.ok(text.includes('<script>alert(1)</script>'), `${platform}: the markup shows as text: ${text}`);
    const planted = await view.locator('script, img, iframe, object, embed, style, form').count();
    assert.equal(planted, 0, `${platform}: no element from the event`);
    const links = await view.locator('a').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('href')));
    for (const href of links) assert.match(href, /^https?:\/\//, `${platform}: only http(s) links`);
  }
  assert.deepEqual(dialogs, [], 'no script from the event ran');
  assert.deepEqual(pageErrors, []);
});

// Microsoft's own Adaptive Cards renderer (npm adaptivecards, MIT), used here only: on a page of
// its own (the preview's CSP would rightly refuse its script), it renders the same card, and our
// Teams pane must show the same texts, facts and actions.
test('the Teams pane shows what Microsoft\'s Adaptive Cards renderer shows for the same card', async () => {
  const reference = await browser.newPage();
  await reference.setContent('<!doctype html><div id="card"></div>');
  await reference.addScriptTag({ path: path.join(here, 'node_modules', 'adaptivecards', 'dist', 'adaptivecards.min.js') });
  const samples = (await api('/api/samples')).filter((s) => !s.hostile);
  let compared = 0;
  for (const sample of samples) {
    await pick(sample.name);
    const event = await page.$eval('#event-json', (area) => JSON.parse(area.value));
    const expected = await api('/api/render', { event, level: 'public' });
    if (!expected.platforms.teams) continue;
    const card = expected.platforms.teams.body.attachments[0].content;
    const theirs = await reference.evaluate((json) => {
      const adaptive = new AdaptiveCards.AdaptiveCard();
      adaptive.parse(json);
      const rendered = adaptive.render();
      document.getElementById('card').replaceChildren(rendered);
      return {
        text: rendered.innerText,
        actions: Array.from(rendered.querySelectorAll('button')).map((b) => b.getAttribute('aria-label') || b.innerText.trim()),
      };
    }, card);
    const ours = {
      text: await page.locator('#pane-teams .view').innerText(),
      actions: await page.locator('#pane-teams .view [data-button]').evaluateAll((nodes) => nodes.map((n) => n.dataset.button)),
    };
    assert.equal(theirs.actions.length, (card.actions || []).length, `${sample.name}: Microsoft's renderer draws every action`);
    assert.deepEqual(ours.actions, theirs.actions, `${sample.name}: the same actions`);
    // Every plain text of the card (no markdown or date function, which each renders its own way)
    // shows in both.
    const texts = [];
    const walk = (items) => {
      for (const item of items || []) {
        if (item.type === 'TextBlock') texts.push(item.text);
        if (item.type === 'FactSet') for (const fact of item.facts) texts.push(fact.title, fact.value);
        walk(item.items);
      }
    };
    walk(card.body);
    const squash = (text) => text.replace(/\s+/g, ' ').trim();
    for (const text of texts.filter((t) => !/[*_[\]`{}\\]/.test(t))) {
      const line = squash(text);
      assert.ok(squash(theirs.text).includes(line), `${sample.name}: Microsoft's renderer shows ${JSON.stringify(line)}`);
      assert.ok(squash(ours.text).includes(line), `${sample.name}: the Teams pane shows ${JSON.stringify(line)}`);
    }
    compared += 1;
  }
  assert.ok(compared >= 10, `cards compared: ${compared}`);
  await reference.close();
});

test('a screenshot of each platform for the docs', async () => {
  await pick('invoice.payment_failed');
  mkdirSync(shots, { recursive: true });
  for (const platform of PLATFORMS) {
    await page.locator(`#pane-${platform}`).screenshot({ path: path.join(shots, `${platform}.png`) });
  }
  await page.locator('#panes').screenshot({ path: path.join(shots, 'all.png') });
});
