// Reads the public REST API. Never throws: every answer is { ok: true, data } or { ok: false, status, error }, so that a
// failed request becomes a message on its panel instead of a blank chart or an uncaught exception.

/** The path the dashboard is served under, e.g. "" or "/grid" behind a proxy that adds a prefix. */
const base = location.pathname.replace(/\/dashboard(\/.*)?$/, '');

const keyName = 'profilegrid.apiKey';

/** The API key the user entered, kept for this tab only (sessionStorage), sent on every API call; null if none. */
export function apiKey() {
  try {
    return sessionStorage.getItem(keyName) || null;
  } catch {
    return null;
  }
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(keyName, key);
  else sessionStorage.removeItem(keyName);
}

/** Why the grid refused a call for its key, in words for the page: a missing key, a refused key, or a key without the right. */
export function keyProblem(answer) {
  if (answer.status === 401) {
    return apiKey()
      ? 'The API key was refused (unknown, malformed or revoked): enter another key above.'
      : 'An API key is needed: enter it above (./run.sh prints one; it is kept in .profilegrid/admin.key).';
  }
  if (answer.status === 403) {
    return `This API key may not read this: ${answer.error}`;
  }
  return null;
}

export function tenantPath(tenant, rest = '') {
  return `/v1/tenants/${encodeURIComponent(tenant)}${rest}`;
}

export async function get(path) {
  let response;
  try {
    const headers = { Accept: 'application/json' };
    const key = apiKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    response = await fetch(base + path, { headers, cache: 'no-store' });
  } catch (e) {
    return { ok: false, status: 0, path, error: `The grid did not answer GET ${path} (${e.message}). Is the silo running?` };
  }

  let body = null;
  const text = await response.text().catch(() => '');
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }

  if (!response.ok) {
    const detail = body?.message ?? body?.error ?? body?.detail ?? body?.title ?? (text.length > 0 && text.length < 300 ? text : response.statusText);
    const answer = { ok: false, status: response.status, path, error: `GET ${path} answered ${response.status}${detail ? `: ${detail}` : ''}` };
    if (response.status === 401) answer.error = `${keyProblem(answer)} (GET ${path} answered 401)`;
    return answer;
  }

  if (body === null) {
    return { ok: false, status: response.status, path, error: `GET ${path} answered something other than JSON.` };
  }

  return { ok: true, status: response.status, path, data: body };
}

/** Several reads at once; the result has the same keys, each an answer as from get(). */
export async function getAll(paths) {
  const keys = Object.keys(paths).filter(k => paths[k]);
  const answers = await Promise.all(keys.map(k => get(paths[k])));
  return Object.fromEntries(keys.map((k, i) => [k, answers[i]]));
}
