// Ingest: what was accepted, refused and repeated over time, why events were refused, what is acknowledged but not yet
// written, and how long an event takes from the gateway to its profile.
import { byValue, fmt, sum } from '../view.js';
import { barChart, failed, hasIngest, loadStats, resolution, seriesChart, withoutTenant } from './common.js';

export default {
  title: 'Ingest',

  async load(context) {
    if (!context.tenant) return {};
    return loadStats(context);
  },

  render(view, data, context) {
    if (withoutTenant(view, context)) return;
    view.group('figures');
    const figures = view.panel('ingest-figures', 'Ingest', { wide: true });
    view.group('charts');
    const charts = {
      volume: view.panel('ingest-volume', `Events per ${resolution(context)}`, { wide: true }),
      reasons: view.panel('rejected-by-reason', 'Rejected by reason'),
      backlog: view.panel('backlog', 'Backlog per log partition (acknowledged, not yet written)'),
      lag: view.panel('lag', 'End-to-end lag p95 (gateway to profile)'),
    };
    view.prune(new Set(['ingest-figures', ...Object.values(charts).map(p => p.id)]));

    if (failed(data.stats, figures, ...Object.values(charts))) return;
    const i = data.stats.data.ingest;
    if (!hasIngest(data.stats.data)) {
      figures.message('No events yet: send events to POST /v1/events:ingest or run ./run.sh');
      Object.values(charts).forEach(c => c.message('Nothing to draw until the first event.'));
      return;
    }

    const backlog = i.backlog ?? [];
    figures.figures([
      { key: 'ingest.accepted', label: 'Accepted', value: fmt.int(i.accepted) },
      { key: 'ingest.rejected', label: 'Rejected', value: fmt.int(sum(Object.values(i.rejected ?? {}))) },
      { key: 'ingest.duplicates', label: 'Duplicates', value: fmt.int(i.duplicates) },
      { key: 'ingest.unwritten', label: 'Unwritten', value: fmt.int(sum(backlog.map(b => b.unwritten))), hint: 'acknowledged, profile not yet written' },
      { key: 'ingest.lagP50', label: 'Lag p50', value: fmt.ms(i.lagMs?.p50) },
      { key: 'ingest.lagP95', label: 'Lag p95', value: fmt.ms(i.lagMs?.p95) },
      { key: 'ingest.lagP99', label: 'Lag p99', value: fmt.ms(i.lagMs?.p99) },
    ]);

    if (!failed(data.series, charts.volume, charts.lag)) {
      seriesChart(charts.volume, data.series.data, [
        { key: 'accepted', label: 'accepted', value: p => p.accepted ?? p.events ?? 0, colour: '#2563eb' },
        { key: 'events', label: 'applied to profiles', colour: '#16a34a' },
        { key: 'rejected', label: 'rejected', colour: '#dc2626' },
        { key: 'duplicates', label: 'duplicates', colour: '#d97706' },
      ]);
      seriesChart(charts.lag, data.series.data, [{ key: 'lagP95Ms', label: 'lag p95 (ms)', colour: '#7c3aed', level: true }]);
    }

    barChart(charts.reasons, byValue(i.rejected), 'events', { horizontal: true, colours: '#dc2626', empty: 'No event rejected.' });
    if (backlog.length === 0) {
      charts.backlog.message('No log partitions report yet.');
    } else {
      charts.backlog.chart({
        type: 'bar',
        labels: backlog.map(b => `p${b.partition}`),
        datasets: [
          { label: 'records awaiting dispatch', data: backlog.map(b => Number(b.awaitingDispatch)), stack: 'b', colour: '#d97706' },
          { label: 'unwritten', data: backlog.map(b => Number(b.unwritten)), stack: 'b', colour: '#2563eb' },
        ],
        options: { scales: { x: { stacked: true }, y: { stacked: true, suggestedMax: 1 } } },
      });
    }
  },
};
