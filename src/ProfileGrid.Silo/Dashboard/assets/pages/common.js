// What the pages share: the empty states that say what to do, reading the stats, and series charts.
import { getAll, tenantPath } from '../api.js';
import { fmt } from '../view.js';

/** The stats of a tenant nothing was recorded for yet: every figure zero, every distribution empty. */
const noStats = tenant => ({
  tenant, asOf: '', collectedUntil: '',
  profiles: { count: 0, newToday: 0, addedToday: 0, dormantShare: 0, dormantAfterDays: 0, completeness: [], staleness: [], eventsPerProfile: [], eventsBySource: {}, eventsByType: {}, updatesPerProfilePerDay: 0 },
  ingest: { accepted: 0, rejected: {}, duplicates: 0, backlog: [], lagMs: {} },
  segments: { modelVersion: 0, sizes: {}, movesLastHour: 0 },
  recommendations: { requests: 0, latencyMs: {}, sources: {}, coverage: 0, itemsRecommended24h: 0, catalogSize: 0 },
});

/**
 * The tenant's stats and series (with any other reads in <paramref name="more"/>). A tenant the tenant list does not
 * name has recorded nothing yet: it is not asked (the API would answer 404), and its figures are zero.
 */
export async function loadStats(context, more = {}, withSeries = true) {
  const t = context.tenant;
  const listed = context.tenantsError || context.tenants.some(x => x.tenant === t);
  const answers = await getAll({
    ...more,
    stats: listed && tenantPath(t, '/stats'),
    series: listed && withSeries && tenantPath(t, `/stats/series?resolution=${resolution(context)}`),
  });
  if (!answers.stats || answers.stats.status === 404) answers.stats = { ok: true, data: noStats(t) };
  if (withSeries && (!answers.series || answers.series.status === 404)) answers.series = { ok: true, data: { resolution: resolution(context), points: [] } };
  return answers;
}

export const noTenantText = 'No profiles yet: send events to POST /v1/events:ingest or run ./run.sh';

/** Shows the "no tenant" state on a page that needs one; true when there is nothing else to draw. */
export function withoutTenant(view, context) {
  if (context.tenant) return false;
  view.group('empty');
  view.panel('no-tenant', 'Nothing to show yet').message(context.tenantsError
    ? `The tenant list is unavailable (${context.tenantsError}); add ?tenant=<name> to the address.`
    : noTenantText);
  view.prune(new Set(['no-tenant']));
  return true;
}

/** The series resolution of this page: ?resolution=hour, minute otherwise. */
export const resolution = context => (context.params.get('resolution') === 'hour' ? 'hour' : 'minute');

/** Whether the tenant has seen anything at all, judged from its stats. */
export const hasProfiles = stats => Number(stats?.profiles?.count ?? 0) > 0 || Number(stats?.ingest?.accepted ?? 0) > 0;

/**
 * Whether the gateway answered the tenant anything at all: accepted, refused or repeated. A tenant whose every event was
 * refused (a clock in the future, a source the grid does not know) has no profile, and its rejections are what it needs to see.
 */
export const hasIngest = stats =>
  hasProfiles(stats) || Object.values(stats?.ingest?.rejected ?? {}).some(n => Number(n) > 0) || Number(stats?.ingest?.duplicates ?? 0) > 0;

/** A line chart of series fields: fields [{ key, label, colour? }], points from /stats/series. */
export function seriesChart(panel, series, fields, options = {}) {
  const points = everyStep(series)?.points ?? [];
  if (points.length === 0) {
    panel.message(options.empty ?? 'No points yet: figures arrive within seconds of the first events.');
    return null;
  }
  // A count missing from a point is 0 (nothing happened); a level (a latency percentile) missing is not known: a gap.
  const read = f => p => (f.value ? f.value(p) : p[f.key] ?? (f.level ? null : 0));
  return panel.chart({
    type: options.type ?? 'line',
    labels: points.map(p => fmt.tick(p.t, series.resolution)),
    datasets: fields.map(f => ({ label: f.label, data: points.map(p => gapOrNumber(read(f)(p))), colour: f.colour, stack: options.stacked ? 's' : undefined, fill: options.stacked ? true : false })),
    options: options.stacked ? { scales: { y: { stacked: true } } } : undefined,
  });
}

/**
 * The series with a point for every minute (or hour) from its first to its last: the API returns only the points that
 * hold data, and a category axis of those alone would draw 08:13 and 08:40 side by side with a slope across the idle
 * minutes. A filled point has only its time: its counts read as 0, its levels as gaps.
 */
export function everyStep(series) {
  const points = series?.points ?? [];
  if (points.length < 2) return series;
  const step = series.resolution === 'hour' ? 3_600_000 : 60_000;
  const first = Date.parse(points[0].t);
  const last = Date.parse(points[points.length - 1].t);
  if (!(last > first) || (last - first) / step > 5_000) return series;
  const byTime = new Map(points.map(p => [Date.parse(p.t), p]));
  const filled = [];
  for (let t = first; t <= last; t += step) {
    filled.push(byTime.get(t) ?? { t: new Date(t).toISOString() });
  }
  return { ...series, points: filled };
}

// A value a field gives as null is not known at that point (a gap in the line), not zero.
const gapOrNumber = v => (v === null ? null : Number(v));

/** A bar chart of { label: count } pairs, in the given order. */
export function barChart(panel, entries, label, options = {}) {
  if (entries.length === 0 || entries.every(([, v]) => Number(v) === 0)) {
    panel.message(options.empty ?? 'Nothing counted yet.');
    return null;
  }
  return panel.chart({
    type: 'bar',
    labels: entries.map(([k]) => k),
    datasets: [{ label, data: entries.map(([, v]) => Number(v)), colours: options.colours }],
    options: options.horizontal
      ? { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { y: { ticks: { autoSkip: entries.length > 24 } }, ...(options.log ? { x: { type: 'logarithmic', beginAtZero: false, min: 0.5 } } : {}) } }
      : { plugins: { legend: { display: false } }, scales: { x: { ticks: { autoSkip: entries.length > 16, maxRotation: 45 } } } },
  });
}

/** Shows an API error on the panels that depend on the answer; true when the answer failed. */
export function failed(answer, ...panels) {
  if (answer?.ok) return false;
  for (const panel of panels) panel.message(answer?.error ?? 'Not read.', 'error');
  return true;
}

/**
 * The admin endpoints may be switched off (ProfileGrid:Admin:Enabled) or closed to browsers on other machines
 * (ProfileGrid:Admin:AllowRemote); say which, and how to open them, rather than fail.
 */
export function adminOff(answer, ...panels) {
  if (!answer.ok && (answer.status === 404 || answer.status === 403 || answer.status === 401)) {
    const text = answer.status === 404
      ? `The admin endpoints are switched off on this silo (${answer.path} answered 404): start it with ProfileGrid:Admin:Enabled=true to see the cluster.`
      : answer.status === 401 ? answer.error
      : /operator key/.test(answer.error)
        ? `The cluster view needs an operator key (admin scope on every tenant); this key is not one (${answer.path} answered 403).`
        : `The admin endpoints answer only on the silo's own machine (${answer.path} answered ${answer.status}): open the dashboard there, or set ProfileGrid:Admin:AllowRemote=true behind a network boundary that admits operators alone.`;
    panels.forEach(p => p.message(text));
    return true;
  }
  return failed(answer, ...panels);
}
