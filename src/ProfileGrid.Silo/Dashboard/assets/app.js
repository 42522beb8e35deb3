// The dashboard's shell: navigation, the tenant selector (remembered in the URL), and the refresh loop that redraws
// the current page in place every few seconds (?refresh=<ms>, 3000 by default) without reloading it.
import { get, apiKey, setApiKey, keyProblem } from './api.js';
import { View } from './view.js';
import overview from './pages/overview.js';
import profiles from './pages/profiles.js';
import ingest from './pages/ingest.js';
import segments from './pages/segments.js';
import recommendations from './pages/recommendations.js';
import experiments from './pages/experiments.js';
import fairness from './pages/fairness.js';
import cluster from './pages/cluster.js';

const pages = { overview, profiles, ingest, segments, recommendations, experiments, fairness, cluster };

const params = new URLSearchParams(location.search);
const refreshMs = Math.min(60000, Math.max(250, Number(params.get('refresh')) || 3000));
const pageName = (location.pathname.match(/\/dashboard\/([a-z]+)\/?$/)?.[1]) ?? 'overview';
const page = pages[pageName] ?? overview;

const state = {
  tenant: params.get('tenant') || null,
  tenants: [],
  tenantsError: null,
  keyError: null,
  refreshes: 0,
  timer: null,
  running: false,
};

/** A dashboard link that keeps the tenant and the refresh interval. */
function linkTo(target) {
  const q = new URLSearchParams();
  if (state.tenant) q.set('tenant', state.tenant);
  if (params.has('refresh')) q.set('refresh', params.get('refresh'));
  const query = q.toString();
  return `/dashboard/${target === 'overview' ? '' : target}${query ? `?${query}` : ''}`;
}

const view = new View(document.getElementById('page'), linkTo);
const nav = document.getElementById('nav');
const select = document.getElementById('tenant');
const live = document.getElementById('live');
const banner = document.getElementById('banner');
const keyForm = document.getElementById('key-form');
const keyInput = document.getElementById('api-key');

function drawNav() {
  nav.replaceChildren(...Object.entries(pages).map(([name, p]) => {
    const a = document.createElement('a');
    a.href = linkTo(name);
    a.textContent = p.title;
    a.dataset.page = name;
    if (p === page) a.setAttribute('aria-current', 'page');
    return a;
  }));
}

function drawTenants() {
  const names = state.tenants.map(t => t.tenant);
  if (state.tenant && !names.includes(state.tenant)) names.unshift(state.tenant);
  const label = name => {
    const known = state.tenants.find(t => t.tenant === name);
    return known ? `${name} (${Number(known.profiles).toLocaleString('en-US')})` : name;
  };
  // Redrawn when a tenant or its profile count changes, so that the count in brackets stays current.
  const current = [...select.options].map(o => `${o.value}\u001f${o.textContent}`).join('\n');
  if (current !== names.map(name => `${name}\u001f${label(name)}`).join('\n')) {
    select.replaceChildren(...names.map(name => {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = label(name);
      return option;
    }));
  }
  if (names.length === 0) {
    select.replaceChildren(new Option(state.tenantsError ? 'tenant list unavailable' : 'no tenants yet', ''));
    select.disabled = true;
  } else {
    select.disabled = false;
    select.value = state.tenant ?? '';
  }
}

function showBanner(text) {
  banner.textContent = text ?? '';
  banner.hidden = !text;
}

async function loadTenants() {
  const answer = await get('/v1/tenants');
  if (answer.ok) {
    state.tenants = Array.isArray(answer.data.tenants) ? answer.data.tenants : [];
    state.tenantsError = null;
  } else {
    state.tenantsError = answer.error;
  }
  state.keyError = answer.ok ? null : keyProblem(answer);
  keyForm.classList.toggle('needed', state.keyError !== null);
  if (!state.tenant && state.tenants.length > 0) {
    // The busiest tenant first: it is the one a newcomer most likely wants to see.
    state.tenant = [...state.tenants].sort((a, b) => Number(b.profiles) - Number(a.profiles))[0].tenant;
    history.replaceState(null, '', linkTo(pageName));
    drawNav();
  }
  drawTenants();
}

async function refresh() {
  if (state.running) return;
  state.running = true;
  try {
    await loadTenants();
    const context = { tenant: state.tenant, tenants: state.tenants, tenantsError: state.tenantsError, params, linkTo };
    const data = await page.load(context);
    try {
      page.render(view, data, context);
      showBanner(state.keyError
        ?? (state.tenantsError && page.needsTenant !== false ? `The tenant list is unavailable: ${state.tenantsError}` : null));
    } catch (e) {
      // A bug in the page, not an API answer: say so on the page and in the console, where tests look.
      console.error('The dashboard could not draw the page:', e);
      showBanner(`The page could not be drawn: ${e.message}`);
    }
    state.refreshes++;
    document.body.dataset.refreshes = String(state.refreshes);
    live.textContent = `live · updated ${new Date().toISOString().slice(11, 19)} UTC · every ${refreshMs / 1000} s`;
    live.className = 'live ok';
  } finally {
    state.running = false;
  }
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(async () => {
    if (!document.hidden) await refresh();
    schedule();
  }, refreshMs);
}

select.addEventListener('change', async () => {
  state.tenant = select.value || null;
  history.pushState(null, '', linkTo(pageName));
  drawNav();
  view.destroy();
  await refresh();
  schedule();
});

window.addEventListener('popstate', async () => {
  state.tenant = new URLSearchParams(location.search).get('tenant');
  drawNav();
  view.destroy();
  await refresh();
});

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) refresh();
});

keyForm.addEventListener('submit', async event => {
  event.preventDefault();
  setApiKey(keyInput.value.trim());
  keyInput.value = '';
  keyInput.placeholder = apiKey() ? 'key set (this tab)' : 'pgk_…';
  view.destroy();
  await refresh();
  schedule();
});

document.getElementById('forget-key').addEventListener('click', async () => {
  setApiKey(null);
  keyInput.placeholder = 'pgk_…';
  view.destroy();
  await refresh();
});

if (apiKey()) keyInput.placeholder = 'key set (this tab)';
document.title = `${page.title} · ProfileGrid`;
drawNav();
refresh().then(schedule);
