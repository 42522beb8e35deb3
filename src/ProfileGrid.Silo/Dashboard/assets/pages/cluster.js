// The cluster: silos, activations by grain type and the ingest log's backlog (the admin endpoints).
import { getAll } from '../api.js';
import { byValue, fmt, sum } from '../view.js';
import { adminOff, barChart } from './common.js';

export default {
  title: 'Cluster',
  needsTenant: false,

  async load() {
    return getAll({ cluster: '/v1/admin/cluster', ingest: '/v1/admin/ingest' });
  },

  render(view, data) {
    view.group('cluster');
    const silos = view.panel('cluster-figures', 'Silos', { wide: true });
    const activations = view.panel('activations', 'Activations by grain type (log scale)', { wide: true, tall: true });
    view.group('ingest', 'Ingest log');
    const ingest = view.panel('ingest-status', 'Ingest', { wide: true });
    const partitions = view.panel('partition-backlog', 'Backlog per log partition', { wide: true });
    view.prune(new Set(['cluster-figures', 'activations', 'ingest-status', 'partition-backlog']));

    if (!adminOff(data.cluster, silos, activations)) {
      const c = data.cluster.data;
      silos.figures([
        { key: 'cluster.silos', label: 'Active silos', value: fmt.int(c.activeSilos), hint: (c.silos ?? []).join(', ') },
        { key: 'cluster.activations', label: 'Grain activations', value: fmt.int(sum(Object.values(c.activations ?? {}))) },
        { key: 'cluster.profiles', label: 'Profile grains active', value: fmt.int(c.activations?.UserProfileGrain ?? 0) },
      ]);
      barChart(activations, byValue(c.activations), 'activations', { horizontal: true, log: true, empty: 'No activations reported.' });
    }

    if (!adminOff(data.ingest, ingest, partitions)) {
      const i = data.ingest.data;
      const parts = i.partitions ?? [];
      ingest.figures([
        { key: 'admin.path', label: 'Ingest path', value: `${i.path}${i.durableLog ? ' (durable)' : ' (memory: not durable)'}` },
        { key: 'admin.unwritten', label: 'Profiles with unwritten state', value: fmt.int(i.profilesWithUnwrittenState) },
        { key: 'admin.awaiting', label: 'Records awaiting dispatch', value: fmt.int(sum(parts.map(p => p.recordsAwaitingDispatch))) },
        { key: 'admin.setAside', label: 'Profiles set aside', value: fmt.int(i.profilesSetAside), hint: 'state that could not be written; see GET /v1/admin/ingest' },
        { key: 'admin.allWritten', label: 'All written', value: i.allWritten ? 'yes' : 'not yet' },
      ]);
      if (parts.length === 0) {
        partitions.message('No log partitions (the stream ingest path has none).');
      } else {
        partitions.chart({
          type: 'bar',
          labels: parts.map(p => `p${p.partition}`),
          datasets: [
            // Not nextPosition - checkpoint: those are byte positions in the log (with its segment in the high bits), not
            // records, and drew a backlog of 170,000 "records" where there were ten.
            { label: 'records awaiting dispatch', data: parts.map(p => Number(p.recordsAwaitingDispatch)), colour: '#d97706' },
            { label: 'profiles with unwritten state', data: parts.map(p => Number(p.profilesWithUnwrittenState)), colour: '#dc2626' },
          ],
          options: { scales: { y: { suggestedMax: 1 } } },
        });
      }
    }
  },
};
