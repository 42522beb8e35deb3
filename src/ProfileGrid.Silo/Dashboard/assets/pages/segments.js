// Segments: the current model and its quality, sizes and moves over time, the PCA map coloured by segment, and the
// curves k was chosen from (docs/segmentation.md).
import { get, tenantPath } from '../api.js';
import { colour, fmt } from '../view.js';
import { everyStep, failed, loadStats, resolution, seriesChart, withoutTenant } from './common.js';

// The map and the curves change only with the model: read them again only when its version changes.
const perModel = { key: null, map: null, curves: null };

export default {
  title: 'Segments',

  async load(context) {
    if (!context.tenant) return {};
    const t = context.tenant;
    const data = await loadStats(context, { segments: tenantPath(t, '/segments') });
    const version = data.segments.ok ? Number(data.segments.data.modelVersion) : 0;
    if (version > 0) {
      const key = `${t}\n${version}`;
      if (perModel.key !== key || !perModel.map?.ok || !perModel.curves?.ok) {
        const [map, curves] = await Promise.all([get(tenantPath(t, '/segments/map')), get(tenantPath(t, '/segments/curves'))]);
        Object.assign(perModel, { key, map, curves });
      }
      data.map = perModel.map;
      data.curves = perModel.curves;
    }
    return data;
  },

  render(view, data, context) {
    if (withoutTenant(view, context)) return;
    view.group('model');
    const model = view.panel('segment-model', 'Segmentation model', { wide: true });
    const table = view.panel('segment-table', 'Segments', { wide: true });
    view.group('charts');
    const charts = {
      sizes: view.panel('segment-sizes', `Segment sizes per ${resolution(context)}`),
      moves: view.panel('segment-moves', `Moves between segments per ${resolution(context)}`),
      map: view.panel('segment-map', 'Segment map (PCA, coloured by segment)', { tall: true }),
      elbow: view.panel('segment-elbow', 'Choice of k: inertia (elbow)'),
      silhouette: view.panel('segment-silhouette', 'Choice of k: silhouette'),
    };
    view.prune(new Set(['segment-model', 'segment-table', ...Object.values(charts).map(p => p.id)]));

    if (failed(data.segments, model, table, ...Object.values(charts))) return;
    const s = data.segments.data;
    const run = `POST ${tenantPath(context.tenant, '/segments:run')}`;
    if (Number(s.modelVersion) === 0) {
      model.message(`No segmentation model yet: ${run}` +
        (Number(s.usersWithFeatures) > 0 ? ` (${fmt.int(s.usersWithFeatures)} users have features to train on).` : ' once profiles have arrived.'));
      Object.values(charts).concat(table).forEach(c => c.message('Drawn once a model exists.'));
      return;
    }

    const stats = data.stats?.ok ? data.stats.data : null;
    model.figures([
      { key: 'segments.modelVersion', label: 'Model version', value: fmt.int(s.modelVersion), hint: `trained ${fmt.time(s.trainedAt)}` },
      { key: 'segments.algorithm', label: 'Algorithm', value: `${s.algorithm}, k = ${s.k}` },
      { key: 'segments.trainedOn', label: 'Trained on', value: fmt.int(s.trainedOn), hint: `of ${fmt.int(s.population)} users` },
      { key: 'segments.silhouette', label: 'Silhouette', value: fmt.num(s.silhouette, 3), hint: '-1..1, higher is better separated' },
      { key: 'segments.stability', label: 'Stability (bootstrap ARI)', value: fmt.num(s.stabilityAdjustedRandIndex, 3) },
      { key: 'segments.usersWithFeatures', label: 'Users with features', value: fmt.int(s.usersWithFeatures) },
      { key: 'segments.unassigned', label: 'Unassigned', value: fmt.int(s.unassigned) },
      { key: 'segments.movesLastHour', label: 'Moves in the last hour', value: stats ? fmt.int(stats.segments?.movesLastHour) : '–' },
      // A run as of a past instant (a history that ended years ago) measures recency and tenure to it: say so, or its
      // "last purchase 8 days ago" reads as this week's.
      ...(s.evaluatedAt ? [{ key: 'segments.evaluatedAt', label: 'As of', value: fmt.time(s.evaluatedAt), hint: 'recency and tenure measured to this instant' }] : []),
    ]);
    const warnings = s.warnings ?? [];
    model.text(warnings.length > 0 ? `What the run decided on its own: ${warnings.join(' ')}` : '', 'note');

    const labels = new Map(s.segments.map(x => [String(x.id), x.label]));
    table.table(
      [{ label: '' }, { label: 'Segment' }, { label: 'Users', numeric: true }, { label: 'Share', numeric: true }, { label: 'Stability', numeric: true }, { label: 'Description' }],
      s.segments.map(x => ({
        key: String(x.id),
        cells: [{ text: '■', className: `swatch c${Number(x.id) % 12}` }, `${x.id} ${x.label}`, fmt.int(x.size), fmt.pct(x.share), fmt.num(x.stability, 2), x.description],
      })));

    if (!failed(data.series, charts.sizes, charts.moves)) {
      const ids = [...new Set(data.series.data.points.flatMap(p => Object.keys(p.segmentSizes ?? {})))].sort((a, b) => Number(a) - Number(b));
      // A point without a report (null) keeps the sizes last reported: the segments did not empty in between. Before the
      // window's first report (no model yet, or none reported since the window began) it stays a gap: the sizes are not
      // known there, and 0 would draw every segment growing from nothing.
      let last = null;
      const steps = everyStep(data.series.data);
      const carried = { ...steps, points: steps.points.map(p => ({ ...p, segmentSizes: (last = p.segmentSizes ?? last) })) };
      // Ids carry over across retrains, names do not: a legend of today's names alone would put a segment's old name on
      // its history (probe53: a high-value group drawn as "dormant"), so the legend says which model named them.
      charts.sizes.text(`By segment id; names as model ${fmt.int(s.modelVersion)} (trained ${fmt.time(s.trainedAt)}) gives them. Ids carry over across retrains, names do not: before that, a segment may have been named otherwise.`, 'note');
      seriesChart(charts.sizes, carried,
        ids.map(id => ({ label: `${id} ${labels.get(id) ?? '(not in this model)'}`, value: p => p.segmentSizes ? (p.segmentSizes[id] ?? 0) : null, colour: colour(Number(id)) })),
        { stacked: true, empty: 'No sizes recorded yet.' });
      seriesChart(charts.moves, data.series.data, [{ key: 'segmentMoves', label: 'moves', colour: '#ea580c' }], { type: 'bar' });
    }

    drawMap(charts.map, data.map, labels);
    drawCurves(charts.elbow, charts.silhouette, data.curves);
  },
};

function drawMap(panel, map, labels) {
  if (failed(map, panel)) return;
  const points = map.data.points ?? [];
  if (points.length === 0) {
    panel.message('The model has no map points yet.');
    return;
  }
  const bySegment = new Map();
  for (const p of points) {
    const id = Number(p.segmentId);
    if (!bySegment.has(id)) bySegment.set(id, []);
    bySegment.get(id).push({ x: Number(p.x), y: Number(p.y) });
  }
  const ids = [...bySegment.keys()].sort((a, b) => a - b);
  const x = map.data.xAxis, y = map.data.yAxis;
  panel.chart({
    type: 'scatter',
    datasets: ids.map(id => ({ label: `${id} ${labels.get(String(id)) ?? ''}`.trim(), data: bySegment.get(id), colour: colour(id) })),
    options: {
      scales: {
        x: { title: { display: true, text: `PC1 (${fmt.pct(x?.explainedVarianceRatio, 0)} of variance)` } },
        y: { beginAtZero: false, title: { display: true, text: `PC2 (${fmt.pct(y?.explainedVarianceRatio, 0)} of variance)` } },
      },
    },
  });
}

function drawCurves(elbow, silhouette, curves) {
  if (failed(curves, elbow, silhouette)) return;
  const c = curves.data;
  const points = c.points ?? [];
  if (points.length <= 1) {
    // A fixed k has one point (its own inertia and silhouette): no curve to choose k from.
    const only = points[0];
    const fixed = only ? ` (k = ${only.k}${only.silhouette === undefined || only.silhouette === null ? '' : `, silhouette ${fmt.num(only.silhouette, 3)}`})` : '';
    elbow.message(`This model was trained with a fixed k${fixed}: no curves.`);
    silhouette.message(`This model was trained with a fixed k${fixed}: no curves.`);
    return;
  }
  const ks = points.map(p => `k = ${p.k}`);
  const marker = key => points.map(p => (Number(p.k) === Number(c[key]) ? 6 : 2));
  elbow.chart({
    type: 'line',
    labels: ks,
    datasets: [{ label: `inertia (elbow at k = ${c.elbowK})`, data: points.map(p => Number(p.inertia)), colour: '#2563eb', pointRadius: marker('elbowK') }],
    options: { scales: { y: { beginAtZero: false } } },
  });
  silhouette.chart({
    type: 'line',
    labels: ks,
    datasets: [{ label: `silhouette (best at k = ${c.silhouetteK}; chosen k = ${c.chosenK})`, data: points.map(p => Number(p.silhouette)), colour: '#16a34a', pointRadius: marker('silhouetteK') }],
    options: { scales: { y: { beginAtZero: false } } },
  });
}
