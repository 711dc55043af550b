// stripe-chat preview: draws the bodies the adapters return (POST /api/render) as each platform
// shows them. Every string from an event is set as text (textContent, attributes we choose);
// nothing from an event ever becomes markup, except Matrix's formatted_body, which is parsed
// inertly and rebuilt from a short list of tags.
'use strict';

const PLATFORMS = ['slack', 'teams', 'discord', 'matrix'];

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** `url` when it is http(s), else null: no javascript:, data: or relative links. */
function safeUrl(url) {
  try {
    const parsed = new URL(String(url));
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

function link(url, label) {
  const href = safeUrl(url);
  if (!href) return document.createTextNode(label);
  return el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, label);
}

/** Text with line breaks. */
function lines(text) {
  const out = [];
  String(text).split('\n').forEach((line, i) => {
    if (i > 0) out.push(el('br'));
    out.push(document.createTextNode(line));
  });
  return out;
}

const EMOJI = {
  warning: '⚠️', white_check_mark: '✅', x: '❌', rotating_light: '🚨', information_source: 'ℹ️',
  moneybag: '💰', money_with_wings: '💸', credit_card: '💳', hourglass: '⏳', bell: '🔔',
  large_green_circle: '🟢', red_circle: '🔴', large_yellow_circle: '🟡', scales: '⚖️',
  heavy_check_mark: '✔️', no_entry: '⛔', repeat: '🔁', calendar: '📅', email: '📧',
};

function emoji(text) {
  return String(text).replace(/:([a-z0-9_+-]+):/g, (all, name) => EMOJI[name] || all);
}

/** Slack's entities (&amp; &lt; &gt;) back to the characters they stand for, as text. */
function slackEntities(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Slack mrkdwn: <url|label>, *bold*, _italic_, ~strike~, `code`, line breaks. */
function mrkdwn(text) {
  const out = [];
  const pattern = /<([^<>|]+)(?:\|([^<>]*))?>|\*([^*\n]+)\*|(?<![A-Za-z0-9])_([^_\n]+)_(?![A-Za-z0-9])|~([^~\n]+)~|`([^`\n]+)`/g;
  let last = 0;
  let match;
  const source = String(text);
  while ((match = pattern.exec(source)) !== null) {
    if (match.index > last) out.push(...lines(slackEntities(emoji(source.slice(last, match.index)))));
    const [all, url, label, bold, italic, strike, code] = match;
    if (url !== undefined) {
      out.push(link(slackEntities(url), slackEntities(label !== undefined ? label : url)));
    } else if (bold !== undefined) {
      out.push(el('strong', {}, ...mrkdwn(bold)));
    } else if (italic !== undefined) {
      out.push(el('em', {}, ...mrkdwn(italic)));
    } else if (strike !== undefined) {
      out.push(el('s', {}, ...mrkdwn(strike)));
    } else if (code !== undefined) {
      out.push(el('code', {}, slackEntities(code)));
    } else {
      out.push(document.createTextNode(all));
    }
    last = match.index + all.length;
  }
  if (last < source.length) out.push(...lines(slackEntities(emoji(source.slice(last)))));
  return out;
}

// Markdown of Discord and Adaptive Cards: [label](url), **bold**, *italic* or _italic_, `code`.
function markdown(text) {
  const out = [];
  const pattern = /\[([^\]\n]+)\]\(([^()\s]+)\)|\*\*([^*\n]+)\*\*|__([^_\n]+)__|\*([^*\n]+)\*|(?<![A-Za-z0-9])_([^_\n]+)_(?![A-Za-z0-9])|`([^`\n]+)`|\\([\\`*_{}\[\]()#+\-.!|~>:<@])/g;
  let last = 0;
  let match;
  const source = String(text);
  while ((match = pattern.exec(source)) !== null) {
    if (match.index > last) out.push(...lines(source.slice(last, match.index)));
    const [all, label, url, bold, under, italic, italic2, code, escaped] = match;
    if (label !== undefined) out.push(link(url, label));
    else if (bold !== undefined) out.push(el('strong', {}, ...markdown(bold)));
    else if (under !== undefined) out.push(el('u', {}, ...markdown(under)));
    else if (italic !== undefined) out.push(el('em', {}, ...markdown(italic)));
    else if (italic2 !== undefined) out.push(el('em', {}, ...markdown(italic2)));
    else if (code !== undefined) out.push(el('code', {}, code));
    else if (escaped !== undefined) out.push(document.createTextNode(escaped));
    else out.push(document.createTextNode(all));
    last = match.index + all.length;
  }
  if (last < source.length) out.push(...lines(source.slice(last)));
  return out;
}

function slackText(object) {
  if (!object) return [];
  return object.type === 'mrkdwn' ? mrkdwn(object.text || '') : lines(emoji(object.text || ''));
}

function slackButton(element) {
  const style = element.style === 'primary' || element.style === 'danger' ? element.style : '';
  const label = emoji((element.text && element.text.text) || '');
  const confirm = element.confirm ? el('span', { class: 'sk-confirm' }, '(asks to confirm)') : null;
  const href = element.url ? safeUrl(element.url) : null;
  if (href) {
    return el('a', { class: `sk-button ${style}`, href, target: '_blank', rel: 'noopener noreferrer', 'data-button': label }, label, confirm);
  }
  return el('span', { class: `sk-button ${style}`, role: 'button', 'data-button': label }, label, confirm);
}

function drawSlack(body) {
  const view = [];
  for (const block of body.blocks || []) {
    switch (block.type) {
      case 'header':
        view.push(el('div', { class: 'sk-header', 'data-title': '' }, ...slackText(block.text)));
        break;
      case 'section': {
        if (block.text) view.push(el('div', { class: 'sk-section' }, ...slackText(block.text)));
        if (block.fields) view.push(el('div', { class: 'sk-fields' }, block.fields.map((f) => el('div', {}, ...slackText(f)))));
        if (block.accessory && block.accessory.type === 'button') view.push(el('div', { class: 'sk-actions' }, slackButton(block.accessory)));
        break;
      }
      case 'context':
        view.push(el('div', { class: 'sk-context' }, (block.elements || []).map((e) => el('span', {}, ...slackText(e), ' '))));
        break;
      case 'actions':
        view.push(el('div', { class: 'sk-actions' }, (block.elements || []).filter((e) => e.type === 'button').map(slackButton)));
        break;
      case 'divider':
        view.push(el('hr'));
        break;
      default:
        view.push(el('div', { class: 'failed' }, `(a ${block.type} block)`));
    }
  }
  return view;
}

/** Adaptive Cards' {{DATE(iso, SHORT)}} and {{TIME(iso)}}, as the viewer's client shows them. */
function acDates(text) {
  return String(text).replace(/\{\{(DATE|TIME)\(([^,)]+)(?:,\s*(SHORT|LONG|COMPACT))?\)\}\}/g, (all, kind, iso, style) => {
    const date = new Date(iso.trim());
    if (Number.isNaN(date.getTime())) return all;
    if (kind === 'TIME') return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const month = style === 'LONG' ? 'long' : style === 'SHORT' ? 'short' : 'numeric';
    return date.toLocaleDateString([], { year: 'numeric', month, day: 'numeric' });
  });
}

function acText(item) {
  const classes = ['ac-text'];
  if (item.size) classes.push(String(item.size).toLowerCase());
  if (item.weight) classes.push(String(item.weight).toLowerCase());
  if (item.isSubtle) classes.push('subtle');
  const attrs = { class: classes.join(' ') };
  if (item.size === 'Large' && item.weight === 'Bolder') attrs['data-title'] = '';
  return el('div', attrs, ...markdown(acDates(item.text || '')));
}

function acAction(action) {
  const title = action.title || '';
  if (action.type === 'Action.OpenUrl') {
    const href = safeUrl(action.url);
    if (href) return el('a', { class: 'ac-action', href, target: '_blank', rel: 'noopener noreferrer', 'data-button': title }, title);
  }
  return el('span', { class: 'ac-action', role: 'button', 'data-button': title }, title);
}

function acElements(items) {
  const out = [];
  for (const item of items || []) {
    switch (item.type) {
      case 'TextBlock':
        out.push(acText(item));
        break;
      case 'Container': {
        const style = ['good', 'warning', 'attention', 'accent', 'emphasis'].includes(item.style) ? item.style : '';
        out.push(el('div', { class: `ac-container ${style}` }, acElements(item.items)));
        break;
      }
      case 'FactSet':
        out.push(el('dl', { class: 'ac-facts' }, (item.facts || []).map((f) => [el('dt', {}, ...markdown(f.title || '')), el('dd', {}, ...markdown(f.value || ''))])));
        break;
      case 'ColumnSet':
        out.push(el('div', { class: 'ac-columns' }, (item.columns || []).map((c) => el('div', {}, acElements(c.items)))));
        break;
      case 'ActionSet':
        out.push(el('div', { class: 'ac-actions' }, (item.actions || []).map(acAction)));
        break;
      case 'Image':
        // No remote images: the page loads nothing but itself.
        out.push(el('div', { class: 'ac-text subtle' }, `[image: ${item.altText || 'image'}]`));
        break;
      default:
        out.push(el('div', { class: 'failed' }, `(an ${item.type} element)`));
    }
  }
  return out;
}

function drawTeams(body) {
  const card = body.attachments && body.attachments[0] && body.attachments[0].content;
  if (!card) return [el('p', { class: 'failed' }, 'no Adaptive Card in the body')];
  return [el('div', { class: 'ac-card' }, acElements(card.body), card.actions && card.actions.length ? el('div', { class: 'ac-actions' }, card.actions.map(acAction)) : null)];
}

function drawDiscord(body) {
  const out = [];
  if (body.content) out.push(el('div', { class: 'dc-content' }, ...markdown(body.content)));
  for (const embed of body.embeds || []) {
    const color = Number.isInteger(embed.color) ? `#${embed.color.toString(16).padStart(6, '0')}` : '#5865f2';
    const node = el('div', { class: 'dc-embed' });
    node.style.borderLeftColor = color;
    if (embed.author && embed.author.name) node.append(el('div', { class: 'dc-field-name' }, embed.author.name));
    if (embed.title) {
      // Discord reads markdown (and its backslash escapes) in titles too.
      const href = embed.url ? safeUrl(embed.url) : null;
      const title = markdown(embed.title);
      node.append(el('div', { class: 'dc-title', 'data-title': '' }, href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, title) : title));
    }
    if (embed.description) node.append(el('div', { class: 'dc-description' }, ...markdown(embed.description)));
    if (embed.fields && embed.fields.length) {
      node.append(el('div', { class: 'dc-fields' }, embed.fields.map((f) => el('div', { class: f.inline ? 'dc-field' : 'dc-field wide' }, el('div', { class: 'dc-field-name' }, ...markdown(f.name || '')), el('div', {}, ...markdown(f.value || ''))))));
    }
    const footer = [embed.footer && embed.footer.text, embed.timestamp && new Date(embed.timestamp).toLocaleString()].filter(Boolean).join(' • ');
    if (footer) node.append(el('div', { class: 'dc-footer' }, footer));
    out.push(node);
  }
  for (const row of body.components || []) {
    out.push(el('div', { class: 'dc-row' }, (row.components || []).filter((c) => c.type === 2).map((button) => {
      const label = button.label || '';
      const href = button.style === 5 ? safeUrl(button.url) : null;
      return href
        ? el('a', { class: 'dc-button', href, target: '_blank', rel: 'noopener noreferrer', 'data-button': label }, label, ' ↗')
        : el('span', { class: `dc-button s${Number(button.style) || 2}`, role: 'button', 'data-button': label }, label);
    })));
  }
  return out;
}

// What Matrix clients keep of formatted_body (a subset of the spec's list), and their attributes.
const MATRIX_TAGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'br', 'strong', 'b', 'em', 'i', 'u', 's', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'hr', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'span', 'sub', 'sup']);

/** Matrix's HTML, parsed inertly, rebuilt from allowed tags; everything else kept as its text. */
function matrixHtml(html) {
  const parsed = new DOMParser().parseFromString(String(html), 'text/html');
  const rebuild = (node) => {
    if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.textContent);
    if (node.nodeType !== Node.ELEMENT_NODE) return null;
    const tag = node.tagName.toLowerCase();
    const children = Array.from(node.childNodes).map(rebuild).filter(Boolean);
    if (!MATRIX_TAGS.has(tag)) return el('span', {}, children);
    if (tag === 'a') {
      const href = safeUrl(node.getAttribute('href'));
      return href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, children) : el('span', {}, children);
    }
    const attrs = {};
    if (/^h[1-6]$/.test(tag)) attrs['data-title'] = '';
    return el(tag, attrs, children);
  };
  return Array.from(parsed.body.childNodes).map(rebuild).filter(Boolean);
}

function drawMatrix(body) {
  if (body.format === 'org.matrix.custom.html' && body.formatted_body) return matrixHtml(body.formatted_body);
  return lines(body.body || '');
}

const DRAW = { slack: drawSlack, teams: drawTeams, discord: drawDiscord, matrix: drawMatrix };

function status(text, isError) {
  const node = document.getElementById('status');
  node.textContent = text;
  node.classList.toggle('error', Boolean(isError));
}

function showMeters(container, limits) {
  container.replaceChildren();
  for (const limit of limits || []) {
    const over = limit.used > limit.max;
    container.append(
      el('span', {}, limit.name),
      el('meter', { min: 0, max: limit.max, value: Math.min(limit.used, limit.max), high: Math.round(limit.max * 0.8), optimum: 0, title: `${limit.used} of ${limit.max}` }),
      el('span', { class: over ? 'over' : '' }, `${limit.used.toLocaleString()} / ${limit.max.toLocaleString()}`),
    );
  }
}

function show(answer) {
  for (const platform of PLATFORMS) {
    const pane = document.getElementById(`pane-${platform}`);
    const view = pane.querySelector('.view');
    const json = pane.querySelector('.json pre');
    const result = answer.platforms[platform];
    if (!result) {
      view.replaceChildren(el('p', { class: 'declined' }, 'No message: the transformer declines this event (noise control).'));
      json.textContent = '';
      showMeters(pane.querySelector('.meters'), []);
      continue;
    }
    if (result.error) {
      view.replaceChildren(el('p', { class: 'failed' }, `The renderer refused it: ${result.error}`));
      json.textContent = '';
      continue;
    }
    view.replaceChildren(...DRAW[platform](result.body));
    json.textContent = JSON.stringify(result.body, null, 2);
    showMeters(pane.querySelector('.meters'), result.limits);
  }
  const main = document.getElementById('panes');
  main.dataset.event = answer.event.id;
  main.dataset.type = answer.event.type;
}

async function render(event) {
  const level = document.getElementById('level').value;
  status('rendering…');
  const response = await fetch('/api/render', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ event, level }),
  });
  const answer = await response.json();
  if (!response.ok) {
    status(answer.error || `HTTP ${response.status}`, true);
    return;
  }
  show(answer);
  const title = answer.title ? ` — ${answer.title}` : '';
  status(`${answer.event.type} ${answer.event.id}${title} (redaction: ${level})${answer.declined ? ': no message (declined)' : ''}`);
  document.body.dataset.rendered = `${answer.event.id}:${level}`;
}

let current = null;

async function loadSample(name) {
  const response = await fetch(`/api/samples/${encodeURIComponent(name)}`);
  if (!response.ok) {
    status(`cannot load ${name}`, true);
    return;
  }
  current = await response.json();
  document.getElementById('event-json').value = JSON.stringify(current, null, 2);
  await render(current);
}

function renderPasted() {
  const text = document.getElementById('event-json').value;
  let event;
  try {
    event = JSON.parse(text);
  } catch (e) {
    status(`not JSON: ${e.message}`, true);
    return;
  }
  current = event;
  render(event);
}

function cell(text) {
  return el('td', {}, text === null || text === undefined ? '' : String(text));
}

async function loadService() {
  const response = await fetch('/api/service');
  if (!response.ok) return;
  const service = await response.json();
  if (!service.configured) return;
  const section = document.getElementById('service');
  section.hidden = false;
  const destinations = (service.destinations || []).map((d) => `${d.name} (${d.platform})`).join(', ');
  const counts = service.counts ? Object.entries(service.counts).map(([k, v]) => `${k} ${v}`).join(', ') : 'the store is not there yet';
  document.getElementById('service-summary').textContent = `store ${service.store}; destinations: ${destinations}; jobs: ${counts}`;
  const none = (what) => [el('tr', {}, el('td', { colspan: 7 }, what))];
  const recent = (service.recent || []).map((j) => el('tr', {}, cell(j.event_id), cell(j.event_type), cell(j.destination), cell(j.state), cell(j.attempts), cell(j.last_error), cell(j.updated_at)));
  document.querySelector('#recent tbody').replaceChildren(...(recent.length ? recent : none('no delivery yet')));
  document.getElementById('service-mode').textContent = service.retry_allowed
    ? '(dead letters can be retried: --allow-retry; each retry is audited)'
    : '(read-only)';
  const dead = (service.dead_letters || []).map((j) => {
    const row = el('tr', {}, cell(j.job_id), cell(j.event_id), cell(j.event_type), cell(j.destination), cell(j.attempts), cell(j.last_error), cell(j.updated_at));
    if (service.retry_allowed) {
      const button = el('button', { type: 'button', class: 'retry' }, 'Retry');
      button.addEventListener('click', () => retryDeadLetter(j.job_id, button));
      row.append(el('td', {}, button));
    }
    return row;
  });
  document.querySelector('#dead tbody').replaceChildren(...(dead.length ? dead : none('none: every delivery was made or is still being tried')));
}

/** Puts the dead letter `job` back in the queue (as `dlq retry` does), then reloads the lists. */
async function retryDeadLetter(job, button) {
  button.disabled = true;
  const response = await fetch(`/api/dead-letters/${encodeURIComponent(job)}/retry`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    button.replaceWith(document.createTextNode(answer.error || `refused (${response.status})`));
    return;
  }
  await loadService();
}

async function start() {
  const select = document.getElementById('sample');
  const samples = await (await fetch('/api/samples')).json();
  for (const sample of samples) {
    select.append(el('option', { value: sample.name }, sample.hostile ? sample.name : sample.type));
  }
  select.addEventListener('change', () => loadSample(select.value));
  document.getElementById('level').addEventListener('change', () => current && render(current));
  document.getElementById('render-pasted').addEventListener('click', renderPasted);
  const area = document.getElementById('event-json');
  area.addEventListener('dragover', (e) => e.preventDefault());
  area.addEventListener('drop', async (e) => {
    e.preventDefault();
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) {
      area.value = await file.text();
      renderPasted();
    }
  });
  const first = samples.find((s) => s.name === 'invoice.payment_failed') || samples[0];
  if (first) {
    select.value = first.name;
    await loadSample(first.name);
  }
  loadService();
}

document.addEventListener('DOMContentLoaded', () => {
  start().catch((e) => status(`the preview failed: ${e.message}`, true));
});
