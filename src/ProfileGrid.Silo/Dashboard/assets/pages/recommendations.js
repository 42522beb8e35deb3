// Recommendations: requests and latency over time, where the lists come from, how much of the catalog they reach, and
// the model behind them (docs/recommendations.md).
import { tenantPath } from '../api.js';
import { byValue, fmt } from '../view.js';
import { failed, loadStats, resolution, seriesChart, withoutTenant } from './common.js';

export default {
  title: 'Recommendations',

  async load(context) {
    if (!context.tenant) return {};
    const t = context.tenant;
    return loadStats(context, { recommender: tenantPath(t, '/recommender') });
  },

  render(view, data, context) {
    if (withoutTenant(view, context)) return;
    view.group('figures');
    const model = view.panel('recommender-model', 'Model', { wide: true });
    const serving = view.panel('recommendation-figures', 'Serving', { wide: true });
    view.group('charts');
    const charts = {
      requests: view.panel('recommendation-requests', `Requests per ${resolution(context)}`),
      latency: view.panel('recommendation-latency', 'Latency p95 (ms)'),
      sources: view.panel('recommendation-sources', 'Source mix (items served by source)'),
    };
    view.prune(new Set(['recommender-model', 'recommendation-figures', ...Object.values(charts).map(p => p.id)]));

    if (!failed(data.recommender, model)) {
      const r = data.recommender.data;
      if (Number(r.version) === 0) {
        model.message(`No recommender model yet: POST ${tenantPath(context.tenant, '/recommender:train')}` +
          (Number(r.usersWithInteractions) > 0 ? ` (${fmt.int(r.usersWithInteractions)} users have item history to learn from).` : ' once users have viewed or bought items.'));
      } else {
        model.figures([
          { key: 'recommender.version', label: 'Model version', value: fmt.int(r.version), hint: `trained ${fmt.time(r.trainedAt)}` },
          { key: 'recommender.algorithm', label: 'Candidates from', value: r.candidateAlgorithm || '–' },
          { key: 'recommender.users', label: 'Users', value: fmt.int(r.users) },
          { key: 'recommender.items', label: 'Items', value: fmt.int(r.items) },
          { key: 'recommender.interactions', label: 'Interactions', value: fmt.int(r.interactions) },
          { key: 'recommender.trainingSeconds', label: 'Training time', value: `${fmt.num(r.trainingSeconds, 2)} s` },
        ]);
      }
    }

    if (failed(data.stats, serving, ...Object.values(charts))) return;
    const rec = data.stats.data.recommendations;
    if (Number(rec.requests) === 0) {
      serving.message(`No recommendations served yet: GET ${tenantPath(context.tenant, '/users/{user}/recommendations')}`);
      Object.values(charts).forEach(c => c.message('Nothing to draw until the first request.'));
      return;
    }
    serving.figures([
      { key: 'recommendations.requests', label: 'Requests', value: fmt.int(rec.requests) },
      { key: 'recommendations.latencyP50', label: 'Latency p50', value: fmt.ms(rec.latencyMs?.p50) },
      { key: 'recommendations.latencyP95', label: 'Latency p95', value: fmt.ms(rec.latencyMs?.p95) },
      { key: 'recommendations.latencyP99', label: 'Latency p99', value: fmt.ms(rec.latencyMs?.p99) },
      { key: 'recommendations.coverage', label: 'Catalog coverage', value: fmt.pct(rec.coverage), hint: `${fmt.int(rec.itemsRecommended24h)} of ${fmt.int(rec.catalogSize)} items in 24 h` },
    ]);

    if (!failed(data.series, charts.requests, charts.latency)) {
      seriesChart(charts.requests, data.series.data, [{ key: 'recommendations', label: 'requests', colour: '#2563eb' }]);
      seriesChart(charts.latency, data.series.data, [{ key: 'recommendLatencyP95Ms', label: 'p95 (ms)', colour: '#dc2626', level: true }]);
    }
    const sources = byValue(rec.sources).filter(([, v]) => Number(v) > 0);
    if (sources.length === 0) {
      charts.sources.message('No sources counted yet.');
    } else {
      charts.sources.chart({
        type: 'doughnut',
        labels: sources.map(([k]) => k),
        datasets: [{ label: 'items', data: sources.map(([, v]) => Number(v)) }],
        options: { plugins: { legend: { display: true, position: 'right' } } },
      });
    }
  },
};
