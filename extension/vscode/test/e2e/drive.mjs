// Drives the real VS Code (code-server) in a headless Chromium through puppeteer-core, as a user
// would: opens the trace, runs "RCA: Find suspects for stack trace", reads the suspects' quick pick,
// opens the frame's source file and reads the code lens above the frame line and the Problems
// panel, clicks the lens, runs "RCA: Show suspect commit". Observes, never judges: the JSON it
// prints on stdout is checked by scripts/e2e_vscode.py.
//
// Configured by $RCA_E2E (JSON): url, modules (folder whose node_modules has puppeteer-core),
// chromium, trace, source (file names to open), line (the frame line), hash (short hash of the
// commit to show), shots ({suspects, lens, failure}: PNG paths), timeoutMs (per wait).
import { createRequire } from 'node:module';

const config = JSON.parse(process.env.RCA_E2E);
const puppeteer = createRequire(`${config.modules}/`)('puppeteer-core');
const started = Date.now();
const timings = {};
const out = { timings };
const timeout = config.timeoutMs ?? 240000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function mark(step) {
  timings[step] = (Date.now() - started) / 1000;
  process.stderr.write(`e2e: ${step} at ${timings[step].toFixed(1)} s\n`);
}

async function chord(page, ...keys) {
  for (const key of keys) await page.keyboard.down(key);
  for (const key of keys.reverse()) await page.keyboard.up(key);
}

/** Rows of the open quick input (quick open, command palette, a quick pick). */
function rows(page) {
  return page.$$eval('.quick-input-widget .monaco-list-row', (els) => els.map((e) => e.getAttribute('aria-label') || ''));
}

/** Waits for a row whose label contains `text` (or, with `start`, begins with it then ' ' or ','). */
function waitRow(page, text, start = false) {
  return page.waitForFunction((want, atStart) => [...document.querySelectorAll('.quick-input-widget .monaco-list-row')]
    .map((e) => e.getAttribute('aria-label') || '')
    .some((label) => (atStart ? /^([ ,]|$)/.test(label.slice(want.length)) && label.startsWith(want) : label.includes(want))),
  { timeout }, text, start);
}

/** Opens the quick input with `keys`, types `text`, and accepts the first row once one begins with `want`. */
async function quickInput(page, keys, text, want) {
  await page.waitForSelector('.quick-input-widget', { hidden: true, timeout });
  await chord(page, ...keys);
  await page.waitForSelector('.quick-input-widget input', { visible: true, timeout });
  await page.keyboard.type(text);
  await waitRow(page, want, true);
  await page.keyboard.press('Enter');
}

const command = (page, title) => quickInput(page, ['F1'], title, title);

/** Quick open (Ctrl+P) of a path in the workspace; its row is labelled "periods.py datespan, ...". */
async function openFile(page, path) {
  const name = path.split('/').pop();
  await quickInput(page, ['Control', 'p'], path, name);
  await page.waitForFunction((file) => document.querySelector('.tab.active')?.getAttribute('aria-label')?.startsWith(file),
    { timeout }, name);
}

/** The text of the visible editor whose lines contain `text` (the commit document). */
async function editorWith(page, text) {
  const handle = await page.waitForFunction((want) => [...document.querySelectorAll('.editor-instance .view-lines')]
    .map((e) => e.innerText.replace(/\u00a0/g, ' ')).find((t) => t.includes(want)), { timeout }, text);
  return handle.jsonValue();
}

/** Each code lens with the editor line right under it (the line number whose top meets its bottom). */
function lenses(page) {
  return page.evaluate(() => {
    const numbers = [...document.querySelectorAll('.editor-instance .margin-view-overlays .line-numbers')]
      .map((e) => ({ line: Number(e.textContent), top: e.getBoundingClientRect().top }));
    return [...document.querySelectorAll('.codelens-decoration')].map((e) => {
      const bottom = e.getBoundingClientRect().bottom;
      const below = numbers.filter((n) => n.top >= bottom - 2).sort((a, b) => a.top - b.top)[0];
      return { title: e.textContent, line: below ? below.line : null };
    });
  });
}

async function findSuspects(page) {
  await openFile(page, config.trace);
  mark('trace open');
  await command(page, 'RCA: Find suspects for stack trace');
  await waitRow(page, config.hash);
  mark('suspects shown');
  out.pickTitle = await page.$eval('.quick-input-widget .quick-input-title', (e) => e.textContent);
  out.suspects = await rows(page);
  await page.screenshot({ path: config.shots.suspects });
  await page.keyboard.press('Escape');
}

async function lensAndDiagnostic(page) {
  await openFile(page, config.source);
  await chord(page, 'Control', 'g');
  await page.waitForSelector('.quick-input-widget input', { visible: true, timeout });
  await page.keyboard.type(String(config.line));
  await page.keyboard.press('Enter');
  await page.waitForFunction((hash) => [...document.querySelectorAll('.codelens-decoration')]
    .some((e) => e.textContent.includes(hash)), { timeout }, config.hash);
  mark('lens shown');
  out.lenses = await lenses(page);
  await chord(page, 'Control', 'Shift', 'KeyM');
  await page.waitForFunction((hash) => [...document.querySelectorAll('.markers-panel .monaco-list-row')]
    .some((e) => (e.getAttribute('aria-label') || '').includes(hash)), { timeout }, config.hash);
  mark('problems shown');
  await sleep(1000); // the panel's layout settles
  out.problems = await page.$$eval('.markers-panel .monaco-list-row', (els) => els.map((e) => e.getAttribute('aria-label')));
  await page.screenshot({ path: config.shots.lens });
}

async function showCommits(page) {
  const lens = await page.evaluateHandle((hash) => [...document.querySelectorAll('.codelens-decoration a')]
    .find((e) => e.textContent.includes(hash)), config.hash);
  await lens.asElement().click();
  out.lensCommit = await editorWith(page, 'diff --git');
  mark('lens clicked: commit shown');
  await chord(page, 'Control', 'k');
  await chord(page, 'Control', 'w'); // close all editors
  await page.waitForFunction(() => !document.querySelector('.editor-instance .view-lines'), { timeout });
  await command(page, 'RCA: Show suspect commit');
  await page.waitForSelector('.quick-input-widget .quick-input-title', { visible: true, timeout });
  out.showTitle = await page.$eval('.quick-input-widget .quick-input-title', (e) => e.textContent);
  await page.keyboard.type(config.hash);
  await waitRow(page, config.hash);
  await page.keyboard.press('Enter');
  out.shown = await editorWith(page, 'diff --git');
  mark('show command: commit shown');
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: config.chromium, headless: true, defaultViewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], protocolTimeout: timeout,
  });
  const page = await browser.newPage();
  try {
    await page.goto(config.url, { waitUntil: 'domcontentloaded', timeout });
    await page.waitForSelector('.monaco-workbench .part.editor', { timeout });
    mark('workbench');
    await findSuspects(page);
    await lensAndDiagnostic(page);
    await showCommits(page);
  } catch (error) {
    out.error = `after '${Object.keys(timings).pop() ?? 'start'}': ${error.message}`;
    await page.screenshot({ path: config.shots.failure }).catch(() => {});
  } finally {
    await browser.close();
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main();
