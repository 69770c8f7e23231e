// The local console: polls GET /api/state for the recent webhook calls, the paper order books and the Telegram
// messages, sends test signals through the real webhook routes (POST /alor, POST /tinkoff) with the session's webhook
// secret, as the widget sends them or as a TradingView alert does, moves paper orders on
// (POST /api/paper/<broker>/orders/<id>: filled, partly filled, rejected), shows the paper positions and sets the last
// price a market order fills at (POST /api/paper/<broker>/last-price), sets the paper accounts' money and instruments'
// trading status (POST /api/paper/<broker>/account, …/trading), turns the local kill switch (POST /api/kill-switch),
// and runs "Check setup" (GET /api/preflight) per function, with the paper brokers' failure scenarios
// (POST /api/paper-scenario).
// Everything is rendered with textContent: payloads and messages are whatever callers and brokers sent, never markup.

const POLL_MS = 1000;
const EXAMPLES = {
  alor: { SPBX: { t: 'AAPL', p: '150.5', v: '1' }, MOEX: { t: 'SBER', p: '250.5', v: '1' } },
  tinkoff: { t: 'SBER', p: '250.5', v: '1', f: 'BBG004730N88' },
};
/**
 * TradingView alert messages with their placeholders filled in, as TradingView sends them (docs/tradingview.md#messages),
 * on a 1-hour chart: `id` is `{{interval}}-{{strategy.position_size}}-{{timenow}}` (strategies) or
 * `{{interval}}-{{timenow}}` (indicators), its time the moment the alert is chosen, so sending it again is TradingView
 * repeating the alert (one order), and choosing it again a new alert.
 */
const ALERTS = {
  strategy: '{"t":"MOEX:SBER","d":"buy","v":"1","p":"285.45","id":"60-1-{{timenow}}"}',
  'indicator-sell': '{"t":"MOEX_DLY:SBER","d":"sell","v":"1","p":"285.45","id":"60-{{timenow}}"}',
  'body-secret': '{"secret":"<webhook secret>","t":"MOEX:SBER","d":"buy","v":"1","p":"285.45","id":"60-1-{{timenow}}"}',
  'plain-text': 'buy SBER 1 285.45',
  position: '{"ver":2,"t":"MOEX:SBER","pos":"30","pu":"shares","o":"market","id":"60-30-{{timenow}}"}',
  sized: '{"ver":2,"t":"MOEX:SBER","d":"buy","v":"5","vt":"pct","o":"market","ts":"{{timenow}}","id":"60-{{timenow}}"}',
  close: '{"ver":2,"t":"MOEX:SBER","x":"close","id":"60-{{timenow}}-close"}',
};

/** TradingView's `{{timenow}}`: the time the alert fired, UTC, to the second (`2025-01-31T10:00:01Z`). */
function timenow() {
  return `${new Date().toISOString().slice(0, 19)}Z`;
}
/** Where a message takes the session's webhook secret: it is put in when the message is sent, never shown. */
const SECRET_PLACEHOLDER = '<webhook secret>';

/** @type {{ secret: string, brokers: Record<string, { mode: string, webhookUrl: string, brokerUrl: string, instruments: unknown }>, alorExchange: string, scenarios: Record<string, { available: string[], current: string | null } | null> } | undefined} */
let session;

const LANG = navigator.language.toLowerCase().startsWith('ru') ? 'ru' : 'en';
const BROKER_NAMES = { alor: 'Alor', tinkoff: 'T-Invest' };

const $ = (selector) => document.querySelector(selector);

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function row(cells) {
  const tr = document.createElement('tr');
  tr.append(...cells);
  return tr;
}

function emptyRow(columns, text) {
  const td = cell(text, 'empty');
  td.colSpan = columns;
  return row([td]);
}

function clock(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString([], { hour12: false });
}

function statusClass(status) {
  return `status-${String(status)[0]}`;
}

function renderEndpoints() {
  const list = $('#endpoints');
  list.replaceChildren();
  for (const [broker, setup] of Object.entries(session.brokers)) {
    const dt = document.createElement('dt');
    dt.textContent = broker === 'alor' ? 'Alor' : 'T-Invest';
    const dd = document.createElement('dd');
    const url = document.createElement('code');
    url.textContent = `POST ${setup.webhookUrl}`;
    const badge = document.createElement('span');
    badge.className = setup.mode === 'paper' ? 'badge' : 'badge real';
    badge.textContent = setup.mode === 'paper' ? 'paper broker' : `REAL broker: ${setup.brokerUrl}`;
    dd.append(url, ' ', badge);
    list.append(dt, dd);
  }
}

function fillDatalists() {
  const tickers = new Set();
  const figis = new Set();
  const alor = session.brokers.alor.instruments;
  if (alor) for (const symbols of Object.values(alor)) for (const symbol of symbols) tickers.add(symbol);
  const tinkoff = session.brokers.tinkoff.instruments;
  if (tinkoff) {
    for (const instrument of tinkoff) {
      figis.add(instrument.figi);
      tickers.add(instrument.ticker);
    }
  }
  const options = (values) =>
    [...values].map((value) => {
      const option = document.createElement('option');
      option.value = value;
      return option;
    });
  $('#tickers').replaceChildren(...options(tickers));
  $('#figis').replaceChildren(...options(figis));
}

function applyExample(broker) {
  const form = $('#signal-form');
  const example = broker === 'alor' ? EXAMPLES.alor[session?.alorExchange ?? 'SPBX'] : EXAMPLES.tinkoff;
  for (const name of ['t', 'p', 'v', 'f']) form.elements[name].value = example[name] ?? '';
  form.querySelector('.figi').hidden = broker !== 'tinkoff';
}

/** Shows the fields of the way of sending chosen; the other's are disabled, so the browser neither checks nor sends them. */
function applySource(source) {
  const form = $('#signal-form');
  for (const [selector, shown] of [
    ['.widget-fields', source === 'widget'],
    ['.tradingview-fields', source === 'tradingview'],
  ]) {
    const fieldset = form.querySelector(selector);
    fieldset.hidden = !shown;
    fieldset.disabled = !shown;
  }
  if (source === 'tradingview' && form.elements.message.value === '') applyAlert(form.elements.template.value);
}

function applyAlert(template) {
  $('#signal-form').elements.message.value = (ALERTS[template] ?? '').replaceAll('{{timenow}}', timenow());
}

function renderCalls(calls) {
  const body = $('#call-rows');
  if (calls.length === 0)
    return body.replaceChildren(emptyRow(6, 'No calls yet: send a signal or use the curl lines.'));
  body.replaceChildren(
    ...calls.map((call) => {
      const headers = Object.entries(call.headers).map(([name, value]) => `${name}: ${value}`);
      const auth = call.auth.length > 0 ? `secret via ${call.auth.join(', ')}` : 'no secret presented';
      const request = cell(`${call.method} ${call.target}`, 'wrap');
      const details = document.createElement('div');
      details.className = 'muted details';
      details.textContent = [auth, ...headers].join('\n');
      request.append(details);
      const tr = row([
        cell(clock(call.time)),
        cell(call.broker),
        request,
        cell(call.body + (call.bodyEncoding === 'base64' ? '\n(delivered base64-encoded)' : ''), 'wrap'),
        cell(`${call.status} ${call.answer}`, `wrap ${statusClass(call.status)}`),
        cell(`${call.latencyMs} ms`),
      ]);
      tr.dataset.callId = String(call.id);
      return tr;
    }),
  );
}

/** The order book columns of each paper broker: the order's field names in the order of the table's header. */
const BOOK_COLUMNS = {
  alor: ['placedAt', 'orderNumber', 'portfolio', 'symbol', 'exchange', 'side', 'quantity', 'price', 'requestId'],
  tinkoff: ['placedAt', 'orderId', 'accountId', 'instrumentId', 'direction', 'lots', 'price', 'orderRequestId'],
};
/** Per broker: the order's id, its lots and its filled lots. */
const BOOK_FIELDS = {
  alor: { id: 'orderNumber', lots: 'quantity', filled: 'filledQuantity' },
  tinkoff: { id: 'orderId', lots: 'lots', filled: 'lotsExecuted' },
};
/** What the buttons of a working order do. */
const ORDER_ACTIONS = [
  ['fill', 'filled'],
  ['partly', 'partly-filled'],
  ['reject', 'rejected'],
  ['cancel', 'canceled'],
];

function bookCell(order, field, isLast) {
  const value = order[field];
  if (field === 'placedAt') return cell(clock(value));
  return cell(value === undefined ? '' : String(value), isLast ? 'wrap' : undefined);
}

function stateCell(broker, order) {
  const fields = BOOK_FIELDS[broker];
  const filled = order[fields.filled] ?? 0;
  return cell(filled > 0 ? `${order.status} (${filled}/${order[fields.lots]})` : String(order.status ?? ''));
}

function actionsCell(broker, order) {
  const td = document.createElement('td');
  if (order.status !== 'working' && order.status !== 'partly-filled') return td;
  for (const [label, status] of ORDER_ACTIONS) {
    if (status === 'partly-filled' && order[BOOK_FIELDS[broker].lots] < 2) continue;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'small';
    button.textContent = label;
    button.dataset.testid = `${status}-${order[BOOK_FIELDS[broker].id]}`;
    button.addEventListener('click', () => changeOrderState(broker, order[BOOK_FIELDS[broker].id], status));
    td.append(button);
  }
  return td;
}

async function changeOrderState(broker, orderId, status) {
  const response = await fetch(`/api/paper/${broker}/orders/${encodeURIComponent(orderId)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status }),
  });
  if (!response.ok) $('#status').textContent = `order ${orderId}: ${(await response.json()).message}`;
  await refresh();
}

function renderBook(broker, orders) {
  const body = $(`#${broker}-orders`);
  const columns = BOOK_COLUMNS[broker];
  const width = columns.length + 2;
  if (orders === null) {
    return body.replaceChildren(emptyRow(width, 'Real broker: its orders are at the broker.'));
  }
  if (orders.length === 0) return body.replaceChildren(emptyRow(width, 'No orders yet.'));
  body.replaceChildren(
    ...[...orders]
      .reverse()
      .map((order) =>
        row([
          ...columns.map((field, index) => bookCell(order, field, index === columns.length - 1)),
          stateCell(broker, order),
          actionsCell(broker, order),
        ]),
      ),
  );
}

function renderMessages(messages) {
  const list = $('#message-list');
  if (messages.length === 0) {
    const item = document.createElement('li');
    item.className = 'empty';
    item.textContent = 'No messages yet.';
    return list.replaceChildren(item);
  }
  list.replaceChildren(
    ...messages.map((message) => {
      const item = document.createElement('li');
      item.className = message.delivered ? 'message' : 'message undelivered';
      const meta = document.createElement('div');
      meta.className = 'muted';
      meta.textContent = message.delivered
        ? clock(message.time)
        : `${clock(message.time)} · not delivered (${message.reason}): dead-letter queue`;
      const text = document.createElement('div');
      text.className = 'message-text';
      text.textContent = message.text;
      item.append(meta, text);
      return item;
    }),
  );
}

function renderBooks(books) {
  renderBook('alor', books.alor);
  renderBook('tinkoff', books.tinkoff);
}

/** Each paper account's positions (`GET /api/state` → `positions`), null for a broker that is real here. */
function renderPositions(positions) {
  for (const broker of ['alor', 'tinkoff']) {
    const body = $(`#${broker}-positions`);
    const held = positions?.[broker];
    if (held === null || held === undefined) {
      body.replaceChildren(emptyRow(2, 'Real broker: its positions are at the broker.'));
    } else if (held.length === 0) {
      body.replaceChildren(emptyRow(2, 'No positions yet.'));
    } else {
      body.replaceChildren(...held.map((position) => row([cell(position.instrument), cell(String(position.lots))])));
    }
  }
}

async function setLastPrice(event) {
  event.preventDefault();
  const data = new FormData(event.target);
  const broker = String(data.get('broker'));
  const response = await fetch(`/api/paper/${broker}/last-price`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instrument: String(data.get('instrument')).trim(), price: Number(data.get('price')) }),
  });
  $('#price-result').textContent = response.ok ? 'set' : (await response.json()).message;
}

let killSwitchOn = false;

/** The local kill switch and each paper account's money (`GET /api/state` → `killSwitch`, `accounts`). */
function renderGuards(state) {
  killSwitchOn = state.killSwitch === true;
  $('#kill-switch-state').textContent = killSwitchOn ? 'ON: entries refused' : 'off';
  $('#kill-switch').textContent = killSwitchOn ? 'Turn off' : 'Turn on';
  const rows = ['alor', 'tinkoff'].map((broker) => {
    const money = state.accounts?.[broker];
    const name = broker === 'alor' ? 'Alor' : 'T-Invest';
    return money === null || money === undefined
      ? row([cell(name), cell('real broker'), cell(''), cell('')])
      : row([
          cell(name),
          cell(String(money.portfolioValue)),
          cell(String(money.dailyResult)),
          cell(String(money.cash)),
        ]);
  });
  $('#accounts').replaceChildren(...rows);
}

async function postJson(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  $('#guards-result').textContent = response.ok ? 'set' : (await response.json()).message;
  await refresh();
}

function turnKillSwitch() {
  return postJson('/api/kill-switch', { on: !killSwitchOn });
}

function setAccount(event) {
  event.preventDefault();
  const data = new FormData(event.target);
  const change = Object.fromEntries(
    ['portfolioValue', 'dailyResult', 'cash']
      .map((name) => [name, String(data.get(name)).trim()])
      .filter(([, value]) => value !== '')
      .map(([name, value]) => [name, Number(value)]),
  );
  return postJson(`/api/paper/${String(data.get('broker'))}/account`, change);
}

function setTrading(event) {
  event.preventDefault();
  const data = new FormData(event.target);
  return postJson(`/api/paper/${String(data.get('broker'))}/trading`, {
    instrument: String(data.get('instrument')).trim(),
    trading: data.get('trading') === 'true',
  });
}

async function refresh() {
  try {
    const response = await fetch('/api/state', { cache: 'no-store' });
    if (!response.ok) throw new Error(String(response.status));
    const state = await response.json();
    renderCalls(state.calls);
    renderBooks(state.books);
    renderPositions(state.positions);
    renderGuards(state);
    renderMessages(state.messages ?? []);
    $('#status').textContent = `updated ${new Date().toLocaleTimeString([], { hour12: false })}`;
  } catch {
    $('#status').textContent = 'the dev server is not answering (is npm start running?)';
  }
}

/** Numbers where the field holds one, the text as typed otherwise (so invalid input can be tried too). */
function numeric(value) {
  return /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
}

/** The widget's signal: the form's fields as JSON, the secret in the header. */
function widgetRequest(broker, data) {
  const signal = {
    t: String(data.get('t')),
    p: numeric(String(data.get('p'))),
    v: numeric(String(data.get('v'))),
    d: String(data.get('d')),
  };
  if (broker === 'tinkoff') signal.f = String(data.get('f'));
  const id = String(data.get('id') ?? '').trim();
  if (id !== '') signal.id = id;
  return {
    url: `/${broker}`,
    headers: { 'content-type': 'application/json', 'x-webhook-secret': session.secret },
    body: JSON.stringify(signal),
  };
}

function isJson(text) {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A TradingView alert: the message as it is, `application/json` when it parses as JSON and `text/plain` otherwise, the
 * secret in the message where it has the placeholder, else in the URL (TradingView sends no header of its own).
 */
function tradingViewRequest(broker, data) {
  const message = String(data.get('message') ?? '');
  const body = message.split(SECRET_PLACEHOLDER).join(session.secret);
  const secretInMessage = body !== message;
  return {
    url: secretInMessage ? `/${broker}` : `/${broker}?secret=${encodeURIComponent(session.secret)}`,
    headers: { 'content-type': isJson(body) ? 'application/json' : 'text/plain; charset=utf-8' },
    body,
  };
}

async function sendSignal(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const data = new FormData(form);
  const broker = String(data.get('broker'));
  const request = data.get('source') === 'tradingview' ? tradingViewRequest(broker, data) : widgetRequest(broker, data);

  const button = form.querySelector('button');
  const result = $('#send-result');
  button.disabled = true;
  result.className = 'result';
  result.textContent = `sending to /${broker}…`;
  const startedAt = performance.now();
  try {
    const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body });
    const text = await response.text();
    const ms = Math.round(performance.now() - startedAt);
    result.className = `result ${statusClass(response.status)}`;
    result.textContent = `${broker}: ${response.status} ${text} (${ms} ms)`;
  } catch {
    result.className = 'result status-5';
    result.textContent = `${broker}: the dev server is not answering`;
  } finally {
    button.disabled = false;
  }
  await refresh();
}

function renderChecklist(target, result) {
  const title = document.createElement('p');
  title.textContent = result.checklist.title;
  const list = document.createElement('ul');
  list.className = 'checklist';
  for (const item of result.checklist.checks) {
    const li = document.createElement('li');
    li.className = `check-${item.status}`;
    li.dataset.checkId = item.id;
    const symbol = document.createElement('span');
    symbol.className = 'symbol';
    symbol.textContent = `${item.symbol} `;
    li.append(symbol, item.text);
    if (item.fix) {
      const fix = document.createElement('span');
      fix.className = 'fix';
      fix.textContent = item.fix;
      li.append(fix);
    }
    list.append(li);
  }
  target.replaceChildren(title, list);
}

async function checkSetup(broker, button, target) {
  const form = $('#signal-form');
  // The console checks what ver 2 signals read too: the positions and the active orders.
  const query = new URLSearchParams({ broker, lang: LANG, positions: '1' });
  // The form's instrument is the one a signal to its broker would name.
  if (form.elements.broker.value === broker) {
    const ticker = form.elements.t.value.trim();
    const figi = form.elements.f.value.trim();
    if (ticker !== '') query.set('ticker', ticker);
    if (broker === 'tinkoff' && figi !== '') query.set('figi', figi);
  }
  button.disabled = true;
  target.textContent = 'checking…';
  try {
    const response = await fetch(`/api/preflight?${query}`, { cache: 'no-store' });
    if (!response.ok) throw new Error(String(response.status));
    renderChecklist(target, await response.json());
  } catch {
    target.textContent = 'the dev server is not answering';
  } finally {
    button.disabled = false;
  }
}

async function switchScenario(broker, scenario) {
  const response = await fetch('/api/paper-scenario', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ broker, scenario: scenario === '' ? null : scenario }),
  });
  if (response.ok) session.scenarios = await response.json();
}

function renderSetupChecks() {
  const blocks = Object.keys(session.brokers).map((broker) => {
    const block = document.createElement('div');
    block.className = 'setup-check';
    const controls = document.createElement('div');
    controls.className = 'controls';
    const name = document.createElement('strong');
    name.textContent = BROKER_NAMES[broker] ?? broker;
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Check setup';
    button.dataset.testid = `check-${broker}`;
    const result = document.createElement('div');
    result.dataset.testid = `checklist-${broker}`;
    button.addEventListener('click', () => checkSetup(broker, button, result));
    controls.append(name, button);
    const scenarios = session.scenarios?.[broker];
    if (scenarios) {
      const select = document.createElement('select');
      select.dataset.testid = `scenario-${broker}`;
      select.setAttribute('aria-label', `${BROKER_NAMES[broker]} paper scenario`);
      for (const value of ['', ...scenarios.available]) {
        const option = document.createElement('option');
        option.value = value;
        option.textContent = value === '' ? 'paper broker: all well' : `paper broker: ${value}`;
        option.selected = value === (scenarios.current ?? '');
        select.append(option);
      }
      select.addEventListener('change', () => switchScenario(broker, select.value));
      controls.append(select);
    }
    block.append(controls, result);
    return block;
  });
  $('#setup-checks').replaceChildren(...blocks);
}

async function start() {
  const response = await fetch('/api/session', { cache: 'no-store' });
  session = await response.json();
  renderEndpoints();
  renderSetupChecks();
  fillDatalists();
  const form = $('#signal-form');
  form.elements.broker.addEventListener('change', () => applyExample(form.elements.broker.value));
  form.elements.source.addEventListener('change', () => applySource(form.elements.source.value));
  form.elements.template.addEventListener('change', () => applyAlert(form.elements.template.value));
  form.addEventListener('submit', sendSignal);
  $('#price-form').addEventListener('submit', setLastPrice);
  $('#kill-switch').addEventListener('click', turnKillSwitch);
  $('#account-form').addEventListener('submit', setAccount);
  $('#trading-form').addEventListener('submit', setTrading);
  applyExample(form.elements.broker.value);
  applySource(form.elements.source.value);
  await refresh();
  setInterval(refresh, POLL_MS);
}

start().catch(() => {
  $('#status').textContent = 'the dev server is not answering (is npm start running?)';
});
