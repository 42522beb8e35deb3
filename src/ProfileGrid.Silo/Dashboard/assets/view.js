// Panels, figures, tables and charts that are built once and updated in place on every refresh, so that a live page
// does not flicker and a chart keeps its Chart.js instance (tests read it with Chart.getChart(canvas)).

export const palette = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#ea580c', '#4f46e5', '#0d9488', '#9333ea'];

export const colour = i => palette[((i % palette.length) + palette.length) % palette.length];

// Numbers are formatted the same way everywhere (en-US grouping), so that the page reads the same on every machine
// and a test can compare the text with the API's figure.
export const fmt = {
  int: n => (n === null || n === undefined || Number.isNaN(Number(n)) ? '–' : Math.round(Number(n)).toLocaleString('en-US')),
  num: (n, digits = 2) => (n === null || n === undefined || !Number.isFinite(Number(n)) ? '–' : Number(n).toFixed(digits)),
  pct: (x, digits = 1) => (x === null || x === undefined || !Number.isFinite(Number(x)) ? '–' : `${(Number(x) * 100).toFixed(digits)}%`),
  ms: x => (x === null || x === undefined || !Number.isFinite(Number(x)) ? '–' : `${Number(x).toFixed(1)} ms`),
  /** An instant as "2026-12-02 10:00:00 UTC"; "" (never) as "never". */
  time: iso => {
    if (!iso) return 'never';
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso) : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  },
  /** A series point's time as a short axis label: "10:05" for minutes, "12-02 10h" for hours. */
  tick: (iso, resolution) => {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const s = d.toISOString();
    return resolution === 'hour' ? `${s.slice(5, 10)} ${s.slice(11, 13)}h` : s.slice(11, 16);
  },
};

export const sum = values => values.reduce((a, b) => a + Number(b || 0), 0);

/** An object's entries sorted by value, largest first: { web: 3, app: 5 } -> [['app', 5], ['web', 3]]. */
export const byValue = obj => Object.entries(obj ?? {}).sort((a, b) => Number(b[1]) - Number(a[1]));

function element(tag, attributes = {}, text) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) {
    if (v !== undefined && v !== null) el.setAttribute(k, v);
  }
  if (text !== undefined) el.textContent = text;
  return el;
}

export class View {
  constructor(root, linkTo) {
    this.root = root;
    this.linkTo = linkTo;
    this.panels = new Map();
    this.groups = new Map();
  }

  /** A titled row of panels; panels are appended to the latest group asked for. */
  group(id, title, note) {
    let group = this.groups.get(id);
    if (!group) {
      const section = element('section', { class: 'group', 'data-group': id });
      if (title) section.append(element('h2', {}, title));
      const noteEl = element('p', { class: 'note' });
      section.append(noteEl);
      const grid = element('div', { class: 'grid' });
      section.append(grid);
      this.root.append(section);
      group = { section, grid, noteEl };
      this.groups.set(id, group);
    }
    group.noteEl.textContent = note ?? '';
    group.noteEl.hidden = !note;
    this.currentGroup = group;
    return group;
  }

  panel(id, title, options = {}) {
    let panel = this.panels.get(id);
    if (!panel) {
      panel = new Panel(id, title, options, this.linkTo);
      (this.currentGroup ?? this.group('main')).grid.append(panel.el);
      this.panels.set(id, panel);
    }
    return panel;
  }

  /** Removes panels not drawn in this refresh (an experiment that was archived, a model that went away). */
  prune(keep) {
    for (const [id, panel] of this.panels) {
      if (!keep.has(id)) {
        panel.destroy();
        this.panels.delete(id);
      }
    }
  }

  destroy() {
    for (const panel of this.panels.values()) panel.destroy();
    this.panels.clear();
    this.groups.clear();
    this.root.replaceChildren();
  }
}

class Panel {
  constructor(id, title, options, linkTo) {
    this.id = id;
    this.el = element('article', { class: `card${options.wide ? ' wide' : ''}${options.half ? ' half' : ''}${options.tall ? ' tall' : ''}`, 'data-panel': id });
    const head = element('h3');
    if (options.link) {
      const a = element('a', { href: linkTo(options.link), 'data-link': options.link }, title);
      head.append(a);
    } else {
      head.textContent = title;
    }
    this.title = head;
    this.el.append(head);
    this.messageEl = element('p', { class: 'message', hidden: '' });
    this.el.append(this.messageEl);
    this.content = element('div', { class: 'content' });
    this.el.append(this.content);
  }

  /** Replaces the panel's content with a message: kind "empty" says what to do, "error" what went wrong. */
  message(text, kind = 'empty') {
    this.messageEl.textContent = text;
    this.messageEl.className = `message ${kind}`;
    this.messageEl.dataset.kind = kind;
    this.messageEl.hidden = false;
    this.content.hidden = true;
    return this;
  }

  show() {
    this.messageEl.hidden = true;
    this.content.hidden = false;
  }

  /** Figures: [{ key, label, value, hint }]; each value carries data-figure=key. */
  figures(list) {
    this.show();
    if (!this.figuresEl) {
      this.figuresEl = element('dl', { class: 'figures' });
      this.content.append(this.figuresEl);
    }
    const wanted = list.map(f => f.key).join('|');
    if (this.figuresEl.dataset.keys !== wanted) {
      this.figuresEl.replaceChildren();
      for (const f of list) {
        const wrap = element('div', { class: 'figure' });
        wrap.append(element('dt', {}, f.label));
        wrap.append(element('dd', { 'data-figure': f.key }));
        wrap.append(element('small', { class: 'hint' }));
        this.figuresEl.append(wrap);
      }
      this.figuresEl.dataset.keys = wanted;
    }
    list.forEach((f, i) => {
      const wrap = this.figuresEl.children[i];
      wrap.children[1].textContent = f.value;
      wrap.children[2].textContent = f.hint ?? '';
      wrap.children[2].hidden = !f.hint;
    });
    return this;
  }

  /** A table: columns [{ label, key?, numeric? }], rows of cell texts (or { text, className }). */
  table(columns, rows, options = {}) {
    this.show();
    if (!this.tableEl) {
      this.tableEl = element('div', { class: 'table-wrap' });
      this.content.append(this.tableEl);
    }
    const table = element('table', { 'data-table': this.id });
    const head = element('tr');
    columns.forEach(c => head.append(element('th', { class: c.numeric ? 'num' : undefined, scope: 'col' }, c.label)));
    const thead = element('thead');
    thead.append(head);
    table.append(thead);
    const body = element('tbody');
    for (const row of rows) {
      const tr = element('tr', row.key ? { 'data-row': row.key } : {});
      row.cells.forEach((cell, i) => {
        const value = typeof cell === 'object' && cell !== null ? cell : { text: cell };
        const td = element('td', { class: [columns[i]?.numeric ? 'num' : '', value.className ?? ''].join(' ').trim() || undefined, title: value.title });
        td.textContent = value.text ?? '';
        tr.append(td);
      });
      body.append(tr);
    }
    table.append(body);
    if (options.caption) table.prepend(element('caption', {}, options.caption));
    this.tableEl.replaceChildren(table);
    return this;
  }

  text(content, className = 'prose') {
    this.show();
    if (!this.textEl) {
      this.textEl = element('div', { class: className });
      this.content.append(this.textEl);
    }
    this.textEl.textContent = content;
    return this;
  }

  /**
   * A chart: { type, labels, datasets: [{ label, data, colour?, ... }], options }. Created once, then updated in place.
   * Returns the Chart.js instance.
   */
  chart(spec) {
    this.show();
    const Chart = window.Chart;
    if (!Chart) {
      this.message('Chart.js did not load (assets/lib/chart.umd.min.js); rebuild the host after npm ci.', 'error');
      return null;
    }
    if (!this.canvas) {
      const box = element('div', { class: 'chart-box' });
      this.canvas = element('canvas', { 'data-chart': this.id, role: 'img', 'aria-label': this.title.textContent });
      box.append(this.canvas);
      this.content.append(box);
    }
    const datasets = spec.datasets.map((d, i) => styled(spec.type, d, i));
    if (this.chartInstance && this.chartInstance.config.type === spec.type) {
      const chart = this.chartInstance;
      chart.data.labels = spec.labels;
      if (chart.data.datasets.length === datasets.length) {
        datasets.forEach((d, i) => Object.assign(chart.data.datasets[i], d));
      } else {
        chart.data.datasets = datasets;
      }
      if (spec.options) mergeInto(chart.options, spec.options);
      chart.update('none');
      return chart;
    }
    this.chartInstance?.destroy();
    this.chartInstance = new Chart(this.canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets },
      options: mergeInto(defaults(spec.type, datasets.length), spec.options ?? {}),
    });
    return this.chartInstance;
  }

  destroy() {
    this.chartInstance?.destroy();
    this.el.remove();
  }
}

function styled(type, d, i) {
  const c = d.colour ?? colour(i);
  let base;
  if (type === 'line') {
    // A line of one or two points (a fresh tenant's first minute) draws nothing without its points: show them then.
    const fewPoints = (d.data?.length ?? 0) < 3;
    base = { borderColor: c, backgroundColor: fewPoints ? c : `${c}33`, borderWidth: 2, pointRadius: fewPoints ? 5 : 0, pointHitRadius: 6, tension: 0.2, fill: false };
  } else if (type === 'scatter') {
    base = { backgroundColor: `${c}b3`, borderColor: c, pointRadius: 2.5, pointHoverRadius: 4 };
  } else if (type === 'doughnut' || type === 'pie') {
    base = { backgroundColor: d.colours ?? d.data.map((_, j) => colour(j)) };
  } else {
    base = { backgroundColor: d.colours ?? c, borderColor: d.colours ?? c };
  }
  const out = { ...base, ...d };
  delete out.colour;
  delete out.colours;
  return out;
}

function defaults(type, datasetCount) {
  const round = type !== 'doughnut' && type !== 'pie';
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    normalized: true,
    interaction: { mode: type === 'scatter' ? 'nearest' : 'index', intersect: false },
    plugins: {
      legend: { display: datasetCount > 1 || !round, position: 'bottom', labels: { boxWidth: 12, font: { size: 11 } } },
      tooltip: { enabled: true },
    },
    scales: round ? {
      x: { ticks: { font: { size: 10 }, maxRotation: 0, autoSkip: true, maxTicksLimit: 10 }, grid: { display: false } },
      y: { beginAtZero: true, ticks: { font: { size: 10 } } },
    } : {},
  };
}

function mergeInto(target, source) {
  for (const [k, v] of Object.entries(source)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && typeof target[k] === 'object' && target[k] !== null && !Array.isArray(target[k])) {
      mergeInto(target[k], v);
    } else {
      target[k] = v;
    }
  }
  return target;
}
