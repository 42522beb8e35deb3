// Experiments: per-variant results with their intervals and a funnel per variant (docs/experiments.md and
// docs/experiments-statistics.md for what each figure means).
import { get, tenantPath } from '../api.js';
import { colour, fmt } from '../view.js';
import { failed, withoutTenant } from './common.js';

const MaxShown = 6;

export default {
  title: 'Experiments',

  async load(context) {
    if (!context.tenant) return {};
    const t = context.tenant;
    const list = await get(tenantPath(t, '/experiments'));
    if (!list.ok) return { list };
    const shown = shownExperiments(list.data.experiments ?? []);
    const results = await Promise.all(shown.map(e => e.status === 'draft'
      ? Promise.resolve(null)
      : get(tenantPath(t, `/experiments/${encodeURIComponent(e.id)}/results`))));
    return { list, shown, results };
  },

  render(view, data, context) {
    if (withoutTenant(view, context)) return;
    view.group('list');
    const overview = view.panel('experiment-list', 'Experiments', { wide: true });
    const keep = new Set(['experiment-list']);
    if (failed(data.list, overview)) {
      view.prune(keep);
      return;
    }
    const all = data.list.data.experiments ?? [];
    if (all.length === 0) {
      overview.message(`No experiments yet: POST ${tenantPath(context.tenant, '/experiments')} with the variants, then POST .../experiments/{id}:start (docs/experiments.md).`);
      view.prune(keep);
      return;
    }
    overview.table(
      [{ label: 'Experiment' }, { label: 'Slot' }, { label: 'Status' }, { label: 'Variants' }, { label: 'Started' }],
      all.map(e => ({ key: e.id, cells: [e.name ? `${e.id} (${e.name})` : e.id, e.slot, e.status, (e.variants ?? []).map(v => v.key + (v.control ? ' (control)' : '')).join(', '), fmt.time(e.startedAt)] })),
      { caption: all.length > MaxShown ? `Results below for ${MaxShown} experiments that are not archived: the running ones first, then the stopped, then drafts, newest first in each.` : undefined });

    data.shown.forEach((experiment, index) => {
      const id = experiment.id;
      view.group(`experiment-${id}`, `${id}: ${experiment.status}`, experiment.name || undefined);
      const table = view.panel(`results-${id}`, 'Results per variant', { wide: true });
      const intervals = view.panel(`intervals-${id}`, 'Lift against the control, with 95% intervals', { half: true });
      const funnel = view.panel(`funnel-${id}`, 'Funnel: impressions → clicks → conversions');
      [table, intervals, funnel].forEach(p => keep.add(p.id));
      const answer = data.results[index];
      if (answer === null) {
        [table, intervals, funnel].forEach(p => p.message(`Draft: POST ${tenantPath(context.tenant, `/experiments/${id}:start`)} to start it.`));
        return;
      }
      if (failed(answer, table, intervals, funnel)) return;
      drawResults(table, intervals, funnel, answer.data, experiment.warnings ?? []);
    });
    view.prune(keep);
  },
};

// Running experiments first, then stopped ones (they have results), then drafts (nothing to show yet); newest first
// within each, so a row of new drafts never pushes a running experiment's results off the page.
const statusOrder = { running: 0, stopped: 1, draft: 2 };

function shownExperiments(all) {
  return all
    .filter(e => e.status !== 'archived')
    .sort((a, b) => (statusOrder[a.status] ?? 3) - (statusOrder[b.status] ?? 3) || String(b.createdAt).localeCompare(String(a.createdAt)))
    .slice(0, MaxShown);
}

function drawResults(table, intervals, funnel, r, warnings) {
  const variants = r.variants ?? [];
  if (variants.every(v => Number(v.users) === 0)) {
    // An experiment that can assign nobody is not one waiting for traffic (probe63): its warning says why.
    const text = warnings.length > 0
      ? `Nobody can be assigned: ${warnings.join(' ')}`
      : 'No users exposed yet: lists served on the experiment\'s slot, and their feedback, fill this in.';
    [table, intervals, funnel].forEach(p => p.message(text));
    return;
  }
  table.table(
    [{ label: 'Variant' }, { label: 'Users', numeric: true }, { label: 'Share', numeric: true }, { label: 'Impressions', numeric: true }, { label: 'Clicks', numeric: true },
      { label: 'CTR', numeric: true }, { label: 'Converters', numeric: true }, { label: 'Conversion', numeric: true }, { label: 'Revenue / user', numeric: true }],
    variants.map(v => ({
      key: v.key,
      cells: [v.control ? `${v.key} (control)` : v.key, fmt.int(v.users), fmt.pct(v.observedShare), fmt.int(v.impressions), fmt.int(v.clicks),
        fmt.pct(v.ctr), fmt.int(v.converters), fmt.pct(v.conversionRate), fmt.num(v.revenuePerUser, 2)],
    })),
    { caption: verdict(r) });

  const rows = [];
  for (const c of r.comparisons ?? []) {
    for (const [name, m] of [['conversion', c.conversion], ['CTR', c.ctr], ['revenue / user', c.revenuePerUser]]) {
      if (!m || !m.interval || !Number(m.control)) continue;
      const control = Number(m.control);
      rows.push({ label: `${c.variant}: ${name}`, low: m.interval.lower / control, high: m.interval.upper / control, lift: Number(m.relativeLift), significant: Boolean(m.significant) });
    }
  }
  if (rows.length === 0) {
    intervals.message('No comparison yet: it needs a control and another variant with exposed users.');
  } else {
    intervals.chart({
      type: 'bar',
      labels: rows.map(x => `${x.label}: ${x.lift >= 0 ? '+' : ''}${fmt.num(x.lift * 100, 1)}%`),
      datasets: [
        { label: '95% interval of the lift (green: excludes zero, blue: could be noise)', data: rows.map(x => [x.low * 100, x.high * 100]), colours: rows.map(x => (x.significant ? '#16a34a' : '#60a5fa')), barPercentage: 0.5 },
      ],
      options: {
        indexAxis: 'y',
        scales: { x: { beginAtZero: true, title: { display: true, text: 'lift over the control (%)' } }, y: { beginAtZero: false } },
        plugins: { legend: { display: true } },
      },
    });
  }

  funnel.chart({
    type: 'bar',
    labels: ['impressions', 'clicks', 'conversions'],
    datasets: variants.map((v, i) => ({ label: v.key, data: [Number(v.impressions), Number(v.clicks), Number(v.purchases)], colour: colour(i) })),
    // Log scale, so conversions show beside impressions; its floor sits below 1 (by default it is the smallest value,
    // which drew that bar with no height: a control with 2 conversions looked like one with none).
    options: { scales: { y: { type: 'logarithmic', min: 0.5 } }, plugins: { legend: { display: true } } },
  });
}

function verdict(r) {
  const parts = (r.comparisons ?? []).map(c => c.verdict).filter(Boolean);
  if (r.sampleRatio?.mismatch) parts.unshift(`Sample ratio mismatch (p = ${fmt.num(r.sampleRatio.pValue, 4)}): the split is not what was configured; do not trust the lift.`);
  return parts.join(' ');
}
