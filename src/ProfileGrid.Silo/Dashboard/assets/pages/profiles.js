// Profiles: how many, how fast they arrive, how complete and how fresh they are, where their events come from.
import { byValue, fmt } from '../view.js';
import { barChart, failed, hasProfiles, loadStats, noTenantText, resolution, seriesChart, withoutTenant } from './common.js';

export default {
  title: 'Profiles',

  async load(context) {
    if (!context.tenant) return {};
    return loadStats(context);
  },

  render(view, data, context) {
    if (withoutTenant(view, context)) return;
    view.group('figures');
    const figures = view.panel('profile-figures', 'Profiles', { wide: true });
    view.group('charts');
    const charts = {
      newProfiles: view.panel('new-profiles', `Profiles added per ${resolution(context)} (by when their first event was applied)`),
      updated: view.panel('profiles-updated', `Profiles updated per ${resolution(context)}`),
      completeness: view.panel('completeness', 'Completeness (share of profile fields known)'),
      staleness: view.panel('staleness', 'Staleness (time since the last event)'),
      eventsPerProfile: view.panel('events-per-profile', 'Events per profile'),
      sources: view.panel('events-by-source', 'Events by source'),
      types: view.panel('events-by-type', 'Events by type'),
    };
    view.prune(new Set(['profile-figures', ...Object.values(charts).map(p => p.id)]));

    if (failed(data.stats, figures, ...Object.values(charts))) return;
    const p = data.stats.data.profiles;
    if (!hasProfiles(data.stats.data)) {
      figures.message(noTenantText);
      Object.values(charts).forEach(c => c.message('Nothing to draw until the first profile.'));
      return;
    }

    figures.figures([
      { key: 'profiles.count', label: 'Profiles', value: fmt.int(p.count) },
      { key: 'profiles.newToday', label: 'New today (UTC)', value: fmt.int(p.newToday), hint: 'first event happened today' },
      { key: 'profiles.addedToday', label: 'Added today (UTC)', value: fmt.int(p.addedToday), hint: 'first applied today, imported histories included' },
      { key: 'profiles.dormantShare', label: 'Dormant', value: fmt.pct(p.dormantShare), hint: `no event for ${p.dormantAfterDays} days` },
      { key: 'profiles.updatesPerProfilePerDay', label: 'Updates per profile per day', value: fmt.num(p.updatesPerProfilePerDay, 2), hint: 'changes applied in the last 24 h, imports included' },
      { key: 'profiles.asOf', label: 'As of', value: fmt.time(data.stats.data.asOf) },
    ]);

    if (!failed(data.series, charts.newProfiles, charts.updated)) {
      seriesChart(charts.newProfiles, data.series.data, [{ key: 'newProfiles', label: 'profiles added' }]);
      seriesChart(charts.updated, data.series.data, [{ key: 'profilesUpdated', label: 'profiles updated', colour: '#0891b2' }]);
    }
    barChart(charts.completeness, (p.completeness ?? []).map(b => [`${Math.round(b.from * 100)}–${Math.round(b.to * 100)}%`, b.count]), 'profiles');
    barChart(charts.staleness, (p.staleness ?? []).map(b => [b.label, b.count]), 'profiles', { colours: '#d97706' });
    barChart(charts.eventsPerProfile, (p.eventsPerProfile ?? []).map(b => [b.label, b.count]), 'profiles', { colours: '#7c3aed' });
    barChart(charts.sources, byValue(p.eventsBySource), 'events', { horizontal: true, colours: '#16a34a' });
    barChart(charts.types, byValue(p.eventsByType), 'events', { horizontal: true, colours: '#db2777' });
  },
};
