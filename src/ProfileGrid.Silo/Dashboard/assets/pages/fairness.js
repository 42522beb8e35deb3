// Fairness: the audit's four-fifths flags per dimension and group, and how evenly the catalog is shown (docs/fairness.md).
import { getAll, tenantPath } from '../api.js';
import { fmt, sum } from '../view.js';
import { failed, withoutTenant } from './common.js';

const metrics = [['exposure_per_user', 'Exposure / user'], ['ctr', 'CTR'], ['conversion_rate', 'Conversion']];

export default {
  title: 'Fairness',

  async load(context) {
    if (!context.tenant) return {};
    return getAll({ fairness: tenantPath(context.tenant, '/fairness') });
  },

  render(view, data, context) {
    if (withoutTenant(view, context)) return;
    view.group('summary');
    const figures = view.panel('fairness-figures', 'Audit', { wide: true });
    const summary = view.panel('fairness-summary', 'What the audit found', { wide: true });
    const keep = new Set(['fairness-figures', 'fairness-summary']);
    if (failed(data.fairness, figures, summary)) {
      view.prune(keep);
      return;
    }
    const audit = data.fairness.data.audit;
    if (sum(audit.dimensions.map(d => d.impressions)) === 0) {
      figures.message(`No lists shown yet: the audit counts recommendation lists shown (GET ${tenantPath(context.tenant, '/users/{user}/recommendations')}) and their feedback events (docs/fairness.md).`);
      summary.message('Nothing to audit yet.');
      view.prune(keep);
      return;
    }
    const items = audit.items ?? {};
    figures.figures([
      { key: 'fairness.flags', label: 'Four-fifths flags', value: fmt.int(audit.flags), hint: `a group below ${fmt.pct(audit.threshold, 0)} of the best group's rate` },
      { key: 'fairness.significant', label: 'Of them significant', value: fmt.int(audit.dimensions.flatMap(d => d.groups).flatMap(g => g.four_fifths ?? []).filter(f => f.verdict === 'flagged' && f.significant).length), hint: `p < ${audit.alpha}` },
      { key: 'fairness.gini', label: 'Item exposure Gini', value: fmt.num(items.gini, 3), hint: '0 = every item shown as often' },
      { key: 'fairness.coverage', label: 'Catalog shown', value: fmt.pct(items.coverage), hint: `${fmt.int(items.distinct_items_shown)} of ${fmt.int(items.catalog_size)} items` },
      { key: 'fairness.longTail', label: 'Long-tail share', value: fmt.pct(items.long_tail_share) },
    ]);
    summary.text(data.fairness.data.summary ?? '');

    view.group('dimensions', 'Groups per dimension', 'A flagged cell is a rate below the threshold of the best-served group with enough users; small groups are never flagged.');
    for (const dimension of audit.dimensions) {
      const id = `fairness-${dimension.dimension}`;
      keep.add(id);
      const panel = view.panel(id, `${dimension.dimension} (${fmt.int(dimension.users)} users)`, { wide: dimension.groups.length > 6, half: dimension.groups.length <= 6 });
      if (dimension.groups.length === 0) {
        panel.message('No users with this attribute yet.');
        continue;
      }
      const groups = [...dimension.groups].sort((a, b) => Number(b.tally?.users ?? 0) - Number(a.tally?.users ?? 0));
      // Groups under the audit's minimum size are never judged (verdict too_small): their ratios are noise.
      const judged = groups.filter(g => (g.four_fifths ?? []).some(f => (f.metric === 'ctr' || f.metric === 'conversion_rate') && f.verdict !== 'too_small'));
      drawRatios(view, dimension, judged, audit.threshold, keep);
      panel.table(
        [{ label: 'Group' }, { label: 'Users', numeric: true }, ...metrics.map(([, label]) => ({ label, numeric: true }))],
        groups.map(g => ({
          key: g.group,
          cells: [g.group, fmt.int(g.tally?.users), ...metrics.map(([metric]) => cell(g, metric))],
        })));
    }
    view.prune(keep);
  },
};

function cell(group, metric) {
  const check = (group.four_fifths ?? []).find(f => f.metric === metric);
  const value = metric === 'exposure_per_user' ? group.exposure_per_user : metric === 'ctr' ? group.ctr : group.conversion_rate;
  const text = metric === 'exposure_per_user' ? fmt.num(value?.value, 2) : fmt.pct(value?.value);
  if (!check) return { text };
  const flagged = check.verdict === 'flagged';
  return {
    text: `${text}${flagged ? ' ⚑' : ''}`,
    className: flagged ? (check.significant ? 'flag significant' : 'flag') : undefined,
    title: check.reference_group === null || check.reference_group === undefined || check.ratio === null || check.ratio === undefined
      ? `${check.verdict}: no group has enough users to compare with`
      : `${fmt.pct(check.ratio, 0)} of ${check.reference_group}'s rate${check.p_value === null || check.p_value === undefined ? '' : `, p = ${fmt.num(check.p_value, 3)}`}; ${check.verdict}`,
  };
}

/** Each judged group's CTR and conversion as a share of the best group's, against the four-fifths line. */
function drawRatios(view, dimension, judged, threshold, keep) {
  const id = `ratios-${dimension.dimension}`;
  if (judged.length === 0) return;
  keep.add(id);
  const ratio = (g, metric) => {
    const check = (g.four_fifths ?? []).find(f => f.metric === metric && f.verdict !== 'too_small');
    return check ? Number(check.ratio) : null;
  };
  view.panel(id, `${dimension.dimension}: rate over the best group's (flagged below ${fmt.pct(threshold, 0)})`).chart({
    type: 'bar',
    labels: judged.map(g => g.group),
    datasets: [
      { label: 'CTR', data: judged.map(g => ratio(g, 'ctr')), colour: '#2563eb' },
      { label: 'conversion', data: judged.map(g => ratio(g, 'conversion_rate')), colour: '#d97706' },
      { type: 'line', label: `threshold ${fmt.pct(threshold, 0)}`, data: judged.map(() => Number(threshold)), colour: '#dc2626', borderDash: [6, 4], pointRadius: 0, borderWidth: 2, fill: false },
    ],
    options: { scales: { y: { beginAtZero: true, suggestedMax: 1 } }, plugins: { legend: { display: true } } },
  });
}
