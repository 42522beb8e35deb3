// Reads the public REST API. Never throws: every answer is { ok: true, data } or { ok: false, status, error }, so that a
// failed request becomes a message on its panel instead of a blank chart or an uncaught exception.

/** The path the dashboard is served under, e.g. "" or "/grid" behind a proxy that adds a prefix. */
const base = location.pathname.replace(/\/dashboard(\/.*)?$/, '');

export function tenantPath(tenant, rest = '') {
  return `/v1/tenants/${encodeURIComponent(tenant)}${rest}`;
}

export async function get(path) {
  let response;
  try {
    response = await fetch(base + path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
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
    return { ok: false, status: response.status, path, error: `GET ${path} answered ${response.status}${detail ? `: ${detail}` : ''}` };
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
