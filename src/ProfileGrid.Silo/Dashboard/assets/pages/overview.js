// The overview: the headline figures of every area, each linking to its page.
import { apiKey, get, tenantPath } from '../api.js';
import { fmt, sum } from '../view.js';
import { adminOff, failed, hasIngest, hasProfiles, loadStats, noTenantText, resolution, seriesChart } from './common.js';

export default {
  title: 'Overview',
  needsTenant: false,

  async load(context) {
    const t = context.tenant;
    if (t) {
      const [data, clusterAnswer] = await Promise.all([
        loadStats(context, {
          segments: tenantPath(t, '/segments'),
          recommender: tenantPath(t, '/recommender'),
          experiments: tenantPath(t, '/experiments'),
          fairness: tenantPath(t, '/fairness'),
        }),
        cluster(),
      ]);
      return { ...data, cluster: clusterAnswer };
    }
    return { cluster: await cluster() };
  },

  render(view, data, context) {
    view.group('headline');
    const keep = new Set(['profiles', 'ingest', 'segments', 'recommendations', 'experiments', 'fairness', 'cluster']);
    const panels = {
      profiles: view.panel('profiles', 'Profiles', { link: 'profiles' }),
      ingest: view.panel('ingest', 'Ingest', { link: 'ingest' }),
      segments: view.panel('segments', 'Segments', { link: 'segments' }),
      recommendations: view.panel('recommendations', 'Recommendations', { link: 'recommendations' }),
      experiments: view.panel('experiments', 'Experiments', { link: 'experiments' }),
      fairness: view.panel('fairness', 'Fairness', { link: 'fairness' }),
      cluster: view.panel('cluster', 'Cluster', { link: 'cluster' }),
    };
    view.group('activity');
    const activity = view.panel('activity', `Events accepted per ${resolution(context)}`, { wide: true, link: 'ingest' });
    keep.add('activity');
    view.prune(keep);

    if (!context.tenant) {
      // Without a tenant list (no key, a refused key, stats switched off) there may well be profiles: say why none shows.
      const text = context.tenantsError
        ? `The tenant list is unavailable (${context.tenantsError}); add ?tenant=<name> to the address.`
        : noTenantText;
      activity.message(text);
      for (const name of ['profiles', 'ingest', 'segments', 'recommendations', 'experiments', 'fairness']) {
        panels[name].message(text);
      }
    } else {
      drawStats(panels, data.stats);
      if (!failed(data.series, activity)) {
        seriesChart(activity, data.series.data, [
          { key: 'accepted', label: 'accepted', value: p => p.accepted ?? p.events ?? 0, colour: '#2563eb' },
          { key: 'rejected', label: 'rejected', colour: '#dc2626' },
        ], { empty: 'No events yet: send events to POST /v1/events:ingest or run ./run.sh' });
      }
      drawSegments(panels.segments, data.segments, context.tenant);
      drawRecommender(panels.recommendations, data.recommender, data.stats, context.tenant);
      drawExperiments(panels.experiments, data.experiments);
      drawFairness(panels.fairness, data.fairness);
    }

    if (!adminOff(data.cluster, panels.cluster)) {
      const c = data.cluster.data;
      panels.cluster.figures([
        { key: 'cluster.silos', label: 'Active silos', value: fmt.int(c.activeSilos) },
        { key: 'cluster.activations', label: 'Grain activations', value: fmt.int(sum(Object.values(c.activations ?? {}))) },
      ]);
    }
  },
};

// The admin cluster view refused for a key (403: not an operator key, or not the silo's own machine) or switched off (404)
// stays so while the page is open: asked once per key, not every refresh (a refused request is an error in the console).
const clusterRefusals = new Map();

async function cluster() {
  const key = apiKey() ?? '';
  const refused = clusterRefusals.get(key);
  if (refused) return refused;
  const answer = await get('/v1/admin/cluster');
  if (answer.status === 403 || answer.status === 404) clusterRefusals.set(key, answer);
  return answer;
}

function drawStats(panels, stats) {
  if (failed(stats, panels.profiles, panels.ingest)) return;
  const s = stats.data;
  if (!hasIngest(s)) {
    panels.profiles.message(noTenantText);
    panels.ingest.message('No events yet: send events to POST /v1/events:ingest or run ./run.sh');
    return;
  }
  if (!hasProfiles(s)) {
    panels.profiles.message(noTenantText);
  } else {
    drawProfileFigures(panels.profiles, s);
  }
  panels.ingest.figures([
    { key: 'ingest.accepted', label: 'Accepted', value: fmt.int(s.ingest.accepted) },
    { key: 'ingest.rejected', label: 'Rejected', value: fmt.int(sum(Object.values(s.ingest.rejected ?? {}))) },
    { key: 'ingest.duplicates', label: 'Duplicates', value: fmt.int(s.ingest.duplicates) },
    { key: 'ingest.lagP95', label: 'Lag p95', value: fmt.ms(s.ingest.lagMs?.p95) },
  ]);
}

function drawProfileFigures(panel, s) {
  panel.figures([
    { key: 'profiles.count', label: 'Profiles', value: fmt.int(s.profiles.count) },
    { key: 'profiles.newToday', label: 'New today', value: fmt.int(s.profiles.newToday), hint: 'first event happened today (UTC)' },
    { key: 'profiles.dormantShare', label: 'Dormant', value: fmt.pct(s.profiles.dormantShare), hint: `no event for ${s.profiles.dormantAfterDays} days` },
  ]);
}

function drawSegments(panel, segments, tenant) {
  if (failed(segments, panel)) return;
  const s = segments.data;
  if (Number(s.modelVersion) === 0) {
    panel.message(`No segmentation model yet: POST ${tenantPath(tenant, '/segments:run')}`);
    return;
  }
  panel.figures([
    { key: 'segments.count', label: 'Segments', value: fmt.int(s.segments.length) },
    { key: 'segments.modelVersion', label: 'Model version', value: fmt.int(s.modelVersion) },
    { key: 'segments.silhouette', label: 'Silhouette', value: fmt.num(s.silhouette, 3) },
  ]);
}

function drawRecommender(panel, recommender, stats, tenant) {
  if (failed(recommender, panel)) return;
  const r = recommender.data;
  if (Number(r.version) === 0) {
    panel.message(`No recommender model yet: POST ${tenantPath(tenant, '/recommender:train')}`);
    return;
  }
  const figures = [{ key: 'recommender.version', label: 'Model version', value: fmt.int(r.version) }];
  if (stats?.ok) {
    const rec = stats.data.recommendations;
    figures.push(
      { key: 'recommendations.requests', label: 'Requests', value: fmt.int(rec.requests) },
      { key: 'recommendations.latencyP95', label: 'Latency p95', value: fmt.ms(rec.latencyMs?.p95) },
      { key: 'recommendations.coverage', label: 'Coverage', value: fmt.pct(rec.coverage) });
  }
  panel.figures(figures);
}

function drawExperiments(panel, experiments) {
  if (failed(experiments, panel)) return;
  const list = experiments.data.experiments ?? [];
  if (list.length === 0) {
    panel.message('No experiments yet: POST /v1/tenants/{tenant}/experiments, then :start (docs/experiments.md)');
    return;
  }
  panel.figures([
    { key: 'experiments.running', label: 'Running', value: fmt.int(list.filter(e => e.status === 'running').length) },
    { key: 'experiments.total', label: 'Experiments', value: fmt.int(list.length) },
  ]);
}

function drawFairness(panel, fairness) {
  if (failed(fairness, panel)) return;
  const audit = fairness.data.audit;
  if (sum(audit.dimensions.map(d => d.impressions)) === 0) {
    panel.message('No lists shown yet: the audit needs recommendations served and their feedback (docs/fairness.md).');
    return;
  }
  panel.figures([
    { key: 'fairness.flags', label: 'Four-fifths flags', value: fmt.int(audit.flags) },
    { key: 'fairness.coverage', label: 'Catalog shown', value: fmt.pct(audit.items?.coverage) },
  ]);
}
