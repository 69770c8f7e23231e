import {
  ALOR_TEST_API_URL,
  ALOR_TEST_OAUTH_URL,
  BROKER_TOKEN_PAGES,
  type Broker,
  ENV,
  TINKOFF_SANDBOX_API_URL,
} from '../facts.ts';
import type { Check, CheckId, CheckParams, SettingsSource } from './checklist.ts';

/**
 * The preflight's words, Russian and English: one text per check, and for every ✗ one concrete fix. A fix names the
 * setting where the user keeps it: `.env` for a local run, `npm run secrets` or the CDK context for the deployed stack.
 */

export const LANGS = ['ru', 'en'] as const;
export type Lang = (typeof LANGS)[number];

/** Russian when the locale is Russian (`LC_ALL` wins over `LANG`, as in POSIX), English otherwise. */
export function langFromLocale(env: Readonly<Record<string, string | undefined>>): Lang {
  const locale = env.LC_ALL || env.LANG || '';
  return locale.toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

export interface CheckText {
  readonly text: string;
  readonly fix?: string;
}

type Words = Readonly<Record<Lang, string>>;
type Texts = (p: CheckParams, where: Where) => Readonly<Record<Lang, CheckText>>;

/** What a state read that failed was of, in Russian. */
const WHAT_RU: Readonly<Record<string, string>> = {
  positions: 'позиции',
  orders: 'заявки',
  'stop orders': 'стоп-заявки',
};

const BROKER_NAMES: Readonly<Record<Broker, string>> = { alor: 'Alor', tinkoff: 'T-Invest' };

/** A broker's two stored values, by the names a local run and the deployed stack give them. */
const STORED: Readonly<
  Record<Broker, Record<'credential' | 'account', { env: string; stored: string; words: Words }>>
> = {
  alor: {
    credential: {
      env: ENV.alorRefreshToken,
      stored: 'alor-refresh-token',
      words: { ru: 'refresh-токен', en: 'refresh token' },
    },
    account: { env: ENV.alorPortfolio, stored: 'alor-portfolio', words: { ru: 'портфель', en: 'portfolio' } },
  },
  tinkoff: {
    credential: { env: ENV.tinkoffToken, stored: 'tinkoff-token', words: { ru: 'токен', en: 'token' } },
    account: {
      env: ENV.tinkoffAccountId,
      stored: 'tinkoff-account-id',
      words: { ru: 'номер счёта', en: 'account id' },
    },
  },
};

/** How the user changes a setting, where it lives. */
class Where {
  constructor(readonly source: SettingsSource) {}

  /** A stored value: a line of `.env`, or `npm run secrets -- set`. */
  stored(broker: Broker, what: 'credential' | 'account', value = '…'): Words {
    const { env, stored } = STORED[broker][what];
    return this.source === 'deployed'
      ? { ru: `npm run secrets -- set ${stored}`, en: `npm run secrets -- set ${stored}` }
      : { ru: `${env}=${value} в файле .env`, en: `${env}=${value} in .env` };
  }

  /** A plain setting: an environment variable locally, a CDK context key (then a deploy) for the stack. */
  setting(env: string, contextKey: string, value: string): Words {
    return this.source === 'deployed'
      ? {
          ru: `"${contextKey}": "${value}" в cdk.json → "context", затем npm run deploy`,
          en: `"${contextKey}": "${value}" in cdk.json → "context", then npm run deploy`,
        }
      : { ru: `${env}=${value} в файле .env`, en: `${env}=${value} in .env` };
  }
}

const str = (p: CheckParams, name: string) => String(p[name] ?? '');
const brokerOf = (p: CheckParams): Broker => (p.broker === 'tinkoff' ? 'tinkoff' : 'alor');

const TEXTS: Readonly<Record<CheckId, Texts>> = {
  'not-configured': (p, where) => {
    const broker = brokerOf(p);
    const token = where.stored(broker, 'credential');
    const account = where.stored(broker, 'account');
    return {
      ru: {
        text: `${BROKER_NAMES[broker]} не настроен: не заданы ни токен, ни счёт`,
        fix: `${token.ru}; ${account.ru}`,
      },
      en: {
        text: `${BROKER_NAMES[broker]} is not configured: neither its token nor its account is set`,
        fix: `${token.en}; ${account.en}`,
      },
    };
  },
  'credential-missing': (p, where) => {
    const broker = brokerOf(p);
    const { words } = STORED[broker].credential;
    const fix = where.stored(broker, 'credential');
    return {
      ru: { text: `Не задан ${words.ru}: заявки получат ответ 404 «${str(p, 'answer')}»`, fix: fix.ru },
      en: { text: `The ${words.en} is not set: orders are answered 404 «${str(p, 'answer')}»`, fix: fix.en },
    };
  },
  'account-missing': (p, where) => {
    const broker = brokerOf(p);
    const { words } = STORED[broker].account;
    const fix = where.stored(broker, 'account');
    return {
      ru: { text: `Не задан ${words.ru}: заявки получат ответ 404 «${str(p, 'answer')}»`, fix: fix.ru },
      en: { text: `The ${words.en} is not set: orders are answered 404 «${str(p, 'answer')}»`, fix: fix.en },
    };
  },
  'store-unreadable': (p) => ({
    ru: {
      text: `Не удалось прочитать ${str(p, 'name')} (${str(p, 'error')})`,
      fix: 'проверьте учётные данные и регион AWS (AWS_PROFILE, AWS_REGION) и что стек развёрнут (npm run deploy)',
    },
    en: {
      text: `Could not read ${str(p, 'name')} (${str(p, 'error')})`,
      fix: 'check your AWS credentials and region (AWS_PROFILE, AWS_REGION) and that the stack is deployed (npm run deploy)',
    },
  }),
  'broker-timeout': (p) => ({
    ru: {
      text: `${BROKER_NAMES[brokerOf(p)]} не ответил за ${str(p, 'ms')} мс`,
      fix: `повторите позже; тот же срок (${ENV.brokerTimeoutMs}) ждёт брокера и заявка`,
    },
    en: {
      text: `${BROKER_NAMES[brokerOf(p)]} did not answer within ${str(p, 'ms')} ms`,
      fix: `try again later; an order waits for the broker the same time (${ENV.brokerTimeoutMs})`,
    },
  }),
  'broker-unreachable': (p) => ({
    ru: {
      text: `Не удалось связаться с ${BROKER_NAMES[brokerOf(p)]} (${str(p, 'detail')})`,
      fix: `проверьте сеть и адрес ${str(p, 'url')}`,
    },
    en: {
      text: `Could not reach ${BROKER_NAMES[brokerOf(p)]} (${str(p, 'detail')})`,
      fix: `check the network and the address ${str(p, 'url')}`,
    },
  }),

  'alor-hosts-production': (p) => ({
    ru: { text: `Адреса: боевой контур Alor (${str(p, 'hosts')}): заявки настоящие, на реальные деньги` },
    en: { text: `Hosts: Alor production (${str(p, 'hosts')}): orders are real, with real money` },
  }),
  'alor-hosts-test': (p) => ({
    ru: { text: `Адреса: тестовый контур Alor (${str(p, 'hosts')}): заявки не настоящие` },
    en: { text: `Hosts: Alor's test environment (${str(p, 'hosts')}): orders are not real` },
  }),
  'alor-hosts-other': (p) => ({
    ru: { text: `Адреса: ни боевой, ни тестовый контур Alor (${str(p, 'hosts')}), например бумажный брокер` },
    en: { text: `Hosts: neither Alor production nor its test environment (${str(p, 'hosts')}), e.g. a paper broker` },
  }),
  'alor-hosts-mixed': (p, where) => {
    const oauth = where.setting(ENV.alorOauthUrl, 'alorOauthUrl', ALOR_TEST_OAUTH_URL);
    const api = where.setting(ENV.alorApiUrl, 'alorApiUrl', ALOR_TEST_API_URL);
    return {
      ru: {
        text: `Адреса из разных контуров (${str(p, 'hosts')}): токен одного контура не работает в другом`,
        fix: `оба боевых (уберите оба адреса) или оба тестовых: ${oauth.ru}; ${api.ru}`,
      },
      en: {
        text: `Hosts of two environments (${str(p, 'hosts')}): a token of one does not work on the other`,
        fix: `both production (remove both URLs) or both test: ${oauth.en}; ${api.en}`,
      },
    };
  },
  'alor-refresh-accepted': (p) => {
    const user = str(p, 'user');
    return {
      ru: { text: user === '' ? 'Refresh-токен принят' : `Refresh-токен принят (пользователь ${user})` },
      en: { text: user === '' ? 'Refresh token accepted' : `Refresh token accepted (user ${user})` },
    };
  },
  'alor-refresh-rejected': (_p, where) => {
    const store = where.stored('alor', 'credential');
    return {
      ru: {
        text: 'Alor отклонил refresh-токен: он истёк, отозван или выписан для другого контура',
        fix: `выпишите новый на ${BROKER_TOKEN_PAGES.alor} (для тестовых адресов — токен тестового контура) и сохраните: ${store.ru}`,
      },
      en: {
        text: 'Alor refused the refresh token: it is expired, revoked or for the other environment',
        fix: `issue a new one at ${BROKER_TOKEN_PAGES.alor} (for the test hosts, a test environment token) and store it: ${store.en}`,
      },
    };
  },
  'alor-portfolio-in-token': (p) => ({
    ru: { text: `Портфель ${str(p, 'portfolio')} есть в токене` },
    en: { text: `Portfolio ${str(p, 'portfolio')} is one of the token's` },
  }),
  'alor-portfolio-not-in-token': (p, where) => {
    const fix = where.stored('alor', 'account', str(p, 'first'));
    return {
      ru: {
        text: `Портфеля ${str(p, 'portfolio')} нет в токене; в токене: ${str(p, 'portfolios')}`,
        fix: `укажите один из них: ${fix.ru}`,
      },
      en: {
        text: `Portfolio ${str(p, 'portfolio')} is not one of the token's; it carries: ${str(p, 'portfolios')}`,
        fix: `use one of them: ${fix.en}`,
      },
    };
  },
  'alor-portfolios-unlisted': () => ({
    ru: { text: 'Токен доступа не перечисляет своих портфелей: портфель проверен только на бирже' },
    en: { text: 'The access token does not list its portfolios: the portfolio is checked on the exchange only' },
  }),
  'alor-portfolio-on-exchange': (p) => ({
    ru: { text: `Портфель ${str(p, 'portfolio')} отвечает на бирже ${str(p, 'exchange')}` },
    en: { text: `Portfolio ${str(p, 'portfolio')} answers on ${str(p, 'exchange')}` },
  }),
  'alor-portfolio-not-on-exchange': (p, where) => {
    const other = str(p, 'exchange') === 'MOEX' ? 'SPBX' : 'MOEX';
    const exchange = where.setting(ENV.alorExchange, 'alorExchange', other);
    return {
      ru: {
        text: `Портфель ${str(p, 'portfolio')} не отвечает на бирже ${str(p, 'exchange')}`,
        fix: `укажите портфель фондового рынка (D…) или биржу портфеля: ${exchange.ru}`,
      },
      en: {
        text: `Portfolio ${str(p, 'portfolio')} does not answer on ${str(p, 'exchange')}`,
        fix: `use the stock market portfolio (D…), or the portfolio's exchange: ${exchange.en}`,
      },
    };
  },
  'alor-instrument-found': (p) => ({
    ru: {
      text: `${str(p, 'symbol')} на ${str(p, 'exchange')}: ${str(p, 'name')}, лот ${str(p, 'lot')} (v сигнала — в лотах)`,
    },
    en: {
      text: `${str(p, 'symbol')} on ${str(p, 'exchange')}: ${str(p, 'name')}, lot size ${str(p, 'lot')} (a signal's v is lots)`,
    },
  }),
  'alor-instrument-not-found': (p) => ({
    ru: {
      text: `На ${str(p, 'exchange')} нет инструмента ${str(p, 'symbol')}`,
      fix: 'проверьте тикер в виджете и биржу; первую точку вебхук отправляет пробелом (BRK.B → BRK B)',
    },
    en: {
      text: `${str(p, 'exchange')} has no instrument ${str(p, 'symbol')}`,
      fix: 'check the ticker in the widget and the exchange; the webhook sends the first dot as a space (BRK.B → BRK B)',
    },
  }),
  'alor-instrument-not-trading': (p) => ({
    ru: {
      text: `${str(p, 'symbol')} на ${str(p, 'exchange')}: сейчас торгов нет (${str(p, 'status')})`,
      fix: 'до открытия торгов заявки будут отклоняться',
    },
    en: {
      text: `${str(p, 'symbol')} on ${str(p, 'exchange')}: no trading now (${str(p, 'status')})`,
      fix: 'orders are refused until trading opens',
    },
  }),

  'tinkoff-host-production': (p) => ({
    ru: { text: `Адрес: боевой API T-Invest (${str(p, 'url')}): заявки настоящие, на реальные деньги` },
    en: { text: `Host: T-Invest production API (${str(p, 'url')}): orders are real, with real money` },
  }),
  'tinkoff-host-sandbox': (p) => ({
    ru: { text: `Адрес: песочница T-Invest (${str(p, 'url')}): заявки не настоящие` },
    en: { text: `Host: T-Invest sandbox (${str(p, 'url')}): orders are not real` },
  }),
  'tinkoff-host-other': (p) => ({
    ru: { text: `Адрес: ни боевой API, ни песочница T-Invest (${str(p, 'url')}), например бумажный брокер` },
    en: { text: `Host: neither T-Invest production nor its sandbox (${str(p, 'url')}), e.g. a paper broker` },
  }),
  'tinkoff-api-v1': (_p, where) => {
    const v2 = where.setting(ENV.tinkoffApi, 'tinkoffApi', 'v2');
    return {
      ru: {
        text: 'API v1: проверка знает только API v2, T-Invest не проверялся',
        fix: `v1 отключён в 2023 году: ${v2.ru}`,
      },
      en: {
        text: 'API v1: the preflight checks API v2 only, T-Invest was not checked',
        fix: `v1 was switched off in 2023: ${v2.en}`,
      },
    };
  },
  'tinkoff-token-accepted': (p) => ({
    ru: { text: `Токен принят; счетов, доступных токену: ${str(p, 'count')}` },
    en: { text: `Token accepted; accounts it reaches: ${str(p, 'count')}` },
  }),
  'tinkoff-token-rejected': (_p, where) => {
    const store = where.stored('tinkoff', 'credential');
    return {
      ru: {
        text: 'T-Invest отклонил токен: он истёк, отозван или введён с ошибкой',
        fix: `выпустите новый на ${BROKER_TOKEN_PAGES.tinkoff} (полный доступ, только к этому счёту) и сохраните: ${store.ru}`,
      },
      en: {
        text: 'T-Invest refused the token: it is expired, revoked or mistyped',
        fix: `issue a new one at ${BROKER_TOKEN_PAGES.tinkoff} (full access, to this account only) and store it: ${store.en}`,
      },
    };
  },
  'tinkoff-token-sandbox': (p, where) => {
    const store = where.stored('tinkoff', 'credential');
    const sandbox = where.setting(ENV.tinkoffApiUrl, 'tinkoffApiUrl', TINKOFF_SANDBOX_API_URL);
    return {
      ru: {
        text: `Это токен песочницы, а ${str(p, 'url')} — не песочница`,
        fix: `для настоящих заявок — боевой токен (${BROKER_TOKEN_PAGES.tinkoff}): ${store.ru}; для песочницы — ${sandbox.ru}`,
      },
      en: {
        text: `This is a sandbox token, and ${str(p, 'url')} is not the sandbox`,
        fix: `for real orders, a production token (${BROKER_TOKEN_PAGES.tinkoff}): ${store.en}; for the sandbox, ${sandbox.en}`,
      },
    };
  },
  'tinkoff-token-production': (p, where) => {
    const store = where.stored('tinkoff', 'credential');
    return {
      ru: {
        text: `Это боевой токен, а ${str(p, 'url')} — песочница`,
        fix: `для песочницы выпустите токен песочницы (${BROKER_TOKEN_PAGES.tinkoff}): ${store.ru}; для настоящих заявок уберите адрес песочницы`,
      },
      en: {
        text: `This is a production token, and ${str(p, 'url')} is the sandbox`,
        fix: `for the sandbox, issue a sandbox token (${BROKER_TOKEN_PAGES.tinkoff}): ${store.en}; for real orders, remove the sandbox URL`,
      },
    };
  },
  'tinkoff-account-open': (p) => ({
    ru: { text: `Счёт ${str(p, 'account')} (${str(p, 'name')}) открыт` },
    en: { text: `Account ${str(p, 'account')} (${str(p, 'name')}) is open` },
  }),
  'tinkoff-account-not-found': (p, where) => {
    const fix = where.stored('tinkoff', 'account', str(p, 'first'));
    return {
      ru: {
        text: `Счёта ${str(p, 'account')} нет среди счетов токена: ${str(p, 'accounts')}`,
        fix: `укажите один из них: ${fix.ru}`,
      },
      en: {
        text: `Account ${str(p, 'account')} is not one the token reaches: ${str(p, 'accounts')}`,
        fix: `use one of them: ${fix.en}`,
      },
    };
  },
  'tinkoff-account-closed': (p, where) => {
    const fix = where.stored('tinkoff', 'account');
    return {
      ru: {
        text: `Счёт ${str(p, 'account')} не открыт (${str(p, 'status')})`,
        fix: `укажите открытый счёт: ${fix.ru}`,
      },
      en: {
        text: `Account ${str(p, 'account')} is not open (${str(p, 'status')})`,
        fix: `use an open account: ${fix.en}`,
      },
    };
  },
  'tinkoff-access-full': (p) => ({
    ru: { text: `У токена полный доступ к счёту ${str(p, 'account')}: он может торговать` },
    en: { text: `The token has full access to account ${str(p, 'account')}: it can trade` },
  }),
  'tinkoff-access-read-only': (p, where) => {
    const store = where.stored('tinkoff', 'credential');
    return {
      ru: {
        text: `Этот токен не может торговать: к счёту ${str(p, 'account')} у него доступ только на чтение`,
        fix: `выпустите токен с полным доступом к этому счёту на ${BROKER_TOKEN_PAGES.tinkoff} и сохраните: ${store.ru}`,
      },
      en: {
        text: `This token cannot trade: it is read-only for account ${str(p, 'account')}`,
        fix: `issue a full-access token for this account at ${BROKER_TOKEN_PAGES.tinkoff} and store it: ${store.en}`,
      },
    };
  },
  'tinkoff-access-none': (p, where) => {
    const store = where.stored('tinkoff', 'credential');
    return {
      ru: {
        text: `У токена нет доступа к счёту ${str(p, 'account')}`,
        fix: `выпустите токен с полным доступом к этому счёту на ${BROKER_TOKEN_PAGES.tinkoff} и сохраните: ${store.ru}`,
      },
      en: {
        text: `The token has no access to account ${str(p, 'account')}`,
        fix: `issue a full-access token for this account at ${BROKER_TOKEN_PAGES.tinkoff} and store it: ${store.en}`,
      },
    };
  },
  'tinkoff-token-one-account': (p) => ({
    ru: { text: `Токен открывает только счёт ${str(p, 'account')}: минимум прав` },
    en: { text: `The token reaches account ${str(p, 'account')} only: least privilege` },
  }),
  'alor-state-readable': (p) => ({
    ru: {
      text: `Токен читает позиции, заявки и стоп-заявки портфеля ${str(p, 'portfolio')} на ${str(p, 'exchange')} (сигналы ver 2, защита sl/tp)`,
    },
    en: {
      text: `The token reads the positions, orders and stop orders of portfolio ${str(p, 'portfolio')} on ${str(p, 'exchange')} (ver 2 signals, sl/tp protection)`,
    },
  }),
  'alor-state-unreadable': (p) => ({
    ru: {
      text: `Токен не читает ${WHAT_RU[str(p, 'what')] ?? 'позиции'} портфеля ${str(p, 'portfolio')} на ${str(p, 'exchange')} (HTTP ${str(p, 'status')})`,
      fix: 'сигналы ver 2 с pos и x и защита sl/tp не исполнятся: выпустите токен с доступом к торговле этим портфелем',
    },
    en: {
      text: `The token cannot read the ${str(p, 'what')} of portfolio ${str(p, 'portfolio')} on ${str(p, 'exchange')} (HTTP ${str(p, 'status')})`,
      fix: 'ver 2 signals with pos and x, and sl/tp protection, would fail: issue a token with trading access to this portfolio',
    },
  }),
  'alor-portfolio-value': (p) => ({
    ru: {
      text: `Портфель ${str(p, 'portfolio')} на ${str(p, 'exchange')}: ${str(p, 'value')} ₽, за день ${str(p, 'result')} ₽ (от этого считают vt: pct и risk, и дневной лимит убытка)`,
    },
    en: {
      text: `Portfolio ${str(p, 'portfolio')} on ${str(p, 'exchange')}: ${str(p, 'value')} ₽, today ${str(p, 'result')} ₽ (what vt: pct and risk size from, and the daily loss limit reads)`,
    },
  }),
  'tinkoff-portfolio-value': (p) => ({
    ru: {
      text: `Счёт ${str(p, 'account')}: ${str(p, 'value')} ₽, за день ${str(p, 'result')} ₽ (от этого считают vt: pct и risk, и дневной лимит убытка)`,
    },
    en: {
      text: `Account ${str(p, 'account')}: ${str(p, 'value')} ₽, today ${str(p, 'result')} ₽ (what vt: pct and risk size from, and the daily loss limit reads)`,
    },
  }),
  'guards-in-force': (p) => ({
    ru: { text: `Защита заявок: ${str(p, 'ru')}` },
    en: { text: `Guards in force: ${str(p, 'en')}` },
  }),
  'guards-kill-switch-on': (_p, where) => ({
    ru: {
      text: 'Выключатель торговли включён: входы отклоняются (423), выходы проходят',
      fix: where.source === 'deployed' ? 'выключить: npm run kill -- off' : 'выключите его в консоли npm start',
    },
    en: {
      text: 'The kill switch is on: entries are refused (423), exits pass',
      fix: where.source === 'deployed' ? 'turn it off: npm run kill -- off' : 'turn it off in the npm start console',
    },
  }),
  'tinkoff-state-readable': (p) => ({
    ru: {
      text: `Токен читает позиции, активные заявки и стоп-заявки счёта ${str(p, 'account')} (сигналы ver 2, защита sl/tp)`,
    },
    en: {
      text: `The token reads the positions, active orders and stop orders of account ${str(p, 'account')} (ver 2 signals, sl/tp protection)`,
    },
  }),
  'tinkoff-state-unreadable': (p) => ({
    ru: {
      text: `Токен не читает ${WHAT_RU[str(p, 'what')] ?? 'позиции'} счёта ${str(p, 'account')} (${str(p, 'code')})`,
      fix: `сигналы ver 2 с pos и x и защита sl/tp не исполнятся: выпустите токен с доступом к счёту на ${BROKER_TOKEN_PAGES.tinkoff}`,
    },
    en: {
      text: `The token cannot read the ${str(p, 'what')} of account ${str(p, 'account')} (${str(p, 'code')})`,
      fix: `ver 2 signals with pos and x, and sl/tp protection, would fail: issue a token with access to the account at ${BROKER_TOKEN_PAGES.tinkoff}`,
    },
  }),
  'tinkoff-token-several-accounts': (p) => ({
    ru: {
      text: `Токен открывает счетов: ${str(p, 'count')}, а не только ${str(p, 'account')}`,
      fix: `надёжнее токен только для счёта ${str(p, 'account')}: T-Invest выпускает такие на ${BROKER_TOKEN_PAGES.tinkoff}`,
    },
    en: {
      text: `The token reaches ${str(p, 'count')} accounts, not only ${str(p, 'account')}`,
      fix: `a token limited to account ${str(p, 'account')} is safer: T-Invest issues them at ${BROKER_TOKEN_PAGES.tinkoff}`,
    },
  }),
  'tinkoff-instrument-tradable': (p) => ({
    ru: {
      text: `${str(p, 'id')} — ${str(p, 'ticker')} (${str(p, 'name')}), торгуется через API; лот ${str(p, 'lot')}: v=1 в сигнале — это ${str(p, 'lot')} шт.`,
    },
    en: {
      text: `${str(p, 'id')} is ${str(p, 'ticker')} (${str(p, 'name')}), tradable through the API; lot size ${str(p, 'lot')}: a signal's v=1 buys or sells ${str(p, 'lot')} of it`,
    },
  }),
  'tinkoff-instrument-not-found': (p) => ({
    ru: {
      text: `T-Invest не знает инструмента ${str(p, 'id')}`,
      fix: 'проверьте FIGI (поле f), которое отправляет виджет',
    },
    en: { text: `T-Invest knows no instrument ${str(p, 'id')}`, fix: 'check the FIGI (field f) the widget sends' },
  }),
  'tinkoff-instrument-not-api-tradable': (p) => ({
    ru: {
      text: `${str(p, 'ticker')} (${str(p, 'id')}) нельзя торговать через API`,
      fix: 'T-Invest отклоняет заявки API по этому инструменту: выберите другой',
    },
    en: {
      text: `${str(p, 'ticker')} (${str(p, 'id')}) cannot be traded through the API`,
      fix: 'T-Invest refuses API orders for this instrument: choose another one',
    },
  }),
  'tinkoff-instrument-side-unavailable': (p) => ({
    ru: { text: `${str(p, 'ticker')}: ${p.side === 'buy' ? 'покупка' : 'продажа'} сейчас недоступна` },
    en: { text: `${str(p, 'ticker')}: ${p.side === 'buy' ? 'buying' : 'selling'} is not available now` },
  }),
  'tinkoff-instrument-qualified-only': (p) => ({
    ru: {
      text: `${str(p, 'ticker')} — только для квалифицированных инвесторов, а у пользователя токена этого статуса нет`,
      fix: 'получите статус квалифицированного инвестора у брокера или выберите другой инструмент',
    },
    en: {
      text: `${str(p, 'ticker')} is for qualified investors only, and the token's user is not one`,
      fix: 'get qualified investor status at the broker, or choose another instrument',
    },
  }),
  'tinkoff-instrument-ticker-mismatch': (p) => ({
    ru: {
      text: `${str(p, 'id')} — это ${str(p, 'instrumentTicker')}, а не ${str(p, 'ticker')}: заявка уйдёт на ${str(p, 'instrumentTicker')}`,
      fix: 'инструмент заявки T-Invest задаёт поле f: проверьте FIGI, которое виджет шлёт с этим тикером',
    },
    en: {
      text: `${str(p, 'id')} is ${str(p, 'instrumentTicker')}, not ${str(p, 'ticker')}: the order goes to ${str(p, 'instrumentTicker')}`,
      fix: 'a T-Invest order names its instrument by the field f: check the FIGI the widget sends with this ticker',
    },
  }),
  'tinkoff-ticker-needs-figi': () => ({
    ru: {
      text: 'Для T-Invest одного --ticker мало: инструмент заявки задаёт FIGI (поле f); не проверялся',
      fix: 'добавьте --figi',
    },
    en: {
      text: 'For T-Invest --ticker alone is not enough: the FIGI (field f) names the instrument; not checked',
      fix: 'add --figi',
    },
  }),

  'stack-unreadable': (p) => ({
    ru: {
      text: `Не удалось прочитать стек ${str(p, 'stack')} (${str(p, 'error')}): функции не проверены`,
      fix: 'проверьте учётные данные и регион AWS (AWS_PROFILE, AWS_REGION)',
    },
    en: {
      text: `Could not read the stack ${str(p, 'stack')} (${str(p, 'error')}): the functions were not checked`,
      fix: 'check your AWS credentials and region (AWS_PROFILE, AWS_REGION)',
    },
  }),
  'stack-not-found': (p) => ({
    ru: {
      text: `Стек ${str(p, 'stack')} не найден: функции не проверены`,
      fix: 'разверните его (npm run deploy) или укажите его имя: -c stackName=…',
    },
    en: {
      text: `No stack ${str(p, 'stack')}: the functions were not checked`,
      fix: 'deploy it (npm run deploy), or name it: -c stackName=…',
    },
  }),
  'stack-outdated': (p) => ({
    ru: {
      text: `Стек ${str(p, 'stack')} развёрнут прежней версией: у него нет имени функции для самопроверки`,
      fix: 'разверните текущую версию: npm run deploy',
    },
    en: {
      text: `The stack ${str(p, 'stack')} was deployed by an earlier version: it names no function to self-test`,
      fix: 'deploy the current version: npm run deploy',
    },
  }),
  'function-check-answered': (p) => ({
    ru: { text: `Функция отвечает на check по своему адресу (${str(p, 'url')}): 200 OK` },
    en: { text: `The function answers a check at its URL (${str(p, 'url')}): 200 OK` },
  }),
  'function-check-refused': (p) => ({
    ru: {
      text: `Функция ответила на check по адресу ${str(p, 'url')}: ${str(p, 'answer')}`,
      fix:
        p.status === 401
          ? 'секрет вебхука в хранилище не принят функцией: npm run secrets -- get webhook-secret, затем npm run deploy'
          : 'посмотрите журнал функции: aws logs tail <AlorLogGroup или TinkoffLogGroup из вывода npm run deploy>',
    },
    en: {
      text: `The function answered a check at ${str(p, 'url')}: ${str(p, 'answer')}`,
      fix:
        p.status === 401
          ? 'the function does not accept the stored webhook secret: npm run secrets -- get webhook-secret, then npm run deploy'
          : "read the function's log: aws logs tail <AlorLogGroup or TinkoffLogGroup from npm run deploy's output>",
    },
  }),
  'function-check-unreachable': (p) => ({
    ru: {
      text: `Не удалось вызвать функцию по адресу ${str(p, 'url')} (${str(p, 'detail')})`,
      fix: 'проверьте сеть; если ALLOWED_SOURCE_IPS задан, этот компьютер может быть вне списка',
    },
    en: {
      text: `Could not call the function at ${str(p, 'url')} (${str(p, 'detail')})`,
      fix: 'check the network; with allowedSourceIps set, this machine may not be on the list',
    },
  }),
  'function-check-no-secret': (p) => ({
    ru: {
      text: `Секрет вебхука не задан или не прочитан: check по адресу ${str(p, 'url')} не отправлялся`,
      fix: 'npm run secrets -- rotate webhook-secret',
    },
    en: {
      text: `The webhook secret is not set or could not be read: no check was sent to ${str(p, 'url')}`,
      fix: 'npm run secrets -- rotate webhook-secret',
    },
  }),
  'function-self-test-failed': (p) => ({
    ru: {
      text: `Самопроверка функции ${str(p, 'function')} не выполнена (${str(p, 'detail')})`,
      fix: 'нужны права lambda:InvokeFunction на эту функцию; если они есть — журнал функции скажет, что случилось',
    },
    en: {
      text: `The self-test of ${str(p, 'function')} did not run (${str(p, 'detail')})`,
      fix: "it needs lambda:InvokeFunction on the function; if you have it, the function's log says what happened",
    },
  }),
  'function-store-extension-works': () => ({
    ru: { text: 'Функция читает хранилище через расширение Parameters and Secrets (с токеном сессии)' },
    en: { text: 'The function reads its store through the Parameters and Secrets extension (session token in place)' },
  }),
  'function-store-extension-fails': (p) => ({
    ru: {
      text: `Расширение Parameters and Secrets не читает хранилище (${str(p, 'detail')}): функция читает через AWS SDK, медленнее на холодном старте`,
      fix: 'проверьте слой расширения функции (CDK-контекст storeExtension) и разверните заново: npm run deploy',
    },
    en: {
      text: `The Parameters and Secrets extension does not read the store (${str(p, 'detail')}): the function falls back to the AWS SDK, slower on a cold start`,
      fix: "check the function's extension layer (CDK context storeExtension) and deploy again: npm run deploy",
    },
  }),
  'function-store-sdk-works': () => ({
    ru: { text: 'Функция читает хранилище и через AWS SDK среды выполнения (запасной путь)' },
    en: { text: "The function reads its store through the runtime's AWS SDK too (the fallback)" },
  }),
  'function-store-sdk-fails': (p) => ({
    ru: {
      text: `AWS SDK среды выполнения не читает хранилище (${str(p, 'detail')}): без расширения функция не прочтёт секреты`,
      fix: 'проверьте роль функции (секреты и параметры стека) и разверните заново: npm run deploy',
    },
    en: {
      text: `The runtime's AWS SDK does not read the store (${str(p, 'detail')}): without the extension the function reads no secret`,
      fix: "check the function's role (the stack's secrets and parameters) and deploy again: npm run deploy",
    },
  }),
  'function-store-unreadable': () => ({
    ru: {
      text: 'Функция не читает хранилище ни одним путём: каждый сигнал получит 500 или 504',
      fix: 'разверните стек заново (npm run deploy) и проверьте, что секреты и параметры есть (npm run secrets -- names)',
    },
    en: {
      text: 'The function reads its store neither way: every signal is answered 500 or 504',
      fix: 'deploy the stack again (npm run deploy) and check its secrets and parameters exist (npm run secrets -- names)',
    },
  }),
};

export function checkText(item: Check, lang: Lang, source: SettingsSource): CheckText {
  return TEXTS[item.id](item.params, new Where(source))[lang];
}
