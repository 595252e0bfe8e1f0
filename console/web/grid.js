// grid.js: a virtualized grid. Rows are kept in an array; only the rows in
// view (plus a margin) exist in the DOM, so appending 100,000 rows costs an
// array push per row and one small repaint per animation frame.

const ROW_HEIGHT = 26;
const OVERSCAN = 8;
const NUM_WIDTH = 72;
const COL_WIDTH = 170;

/** text renders a cell value: objects as JSON, null as an empty marker. */
export function cellText(v) {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export class VirtualGrid {
  /** @param {HTMLElement} parent */
  constructor(parent, label) {
    this.rows = [];
    this.columns = [];
    this.first = -1;
    this.last = -1;
    this.renderedCount = -1;
    this.pending = false;
    this.root = document.createElement('div');
    this.root.className = 'vgrid';
    this.root.tabIndex = 0;
    this.root.setAttribute('role', 'region');
    this.root.setAttribute('aria-label', label || 'Results');
    this.head = document.createElement('div');
    this.head.className = 'vhead';
    this.body = document.createElement('div');
    this.body.className = 'vbody';
    this.root.append(this.head, this.body);
    parent.append(this.root);
    this.root.addEventListener('scroll', () => this.schedule(), { passive: true });
    this.resize = new ResizeObserver(() => this.schedule());
    this.resize.observe(this.root);
  }

  /** clear drops every row and column. */
  clear() {
    this.rows = [];
    this.columns = [];
    this.head.replaceChildren();
    this.first = this.last = this.renderedCount = -1;
    this.root.scrollTop = 0;
    this.schedule();
  }

  /** setColumns fixes the column order (else the first row's keys). */
  setColumns(cols) {
    this.columns = cols.slice();
    this.renderHead();
  }

  /** append adds rows and repaints on the next frame. */
  append(rows) {
    if (!rows.length) return;
    if (!this.columns.length) this.setColumns(Object.keys(rows[0]));
    for (const r of rows) this.rows.push(r);
    this.schedule();
  }

  template() {
    return `${NUM_WIDTH}px repeat(${this.columns.length}, ${COL_WIDTH}px)`;
  }

  renderHead() {
    const cells = [cell('#', 'vc n')];
    for (const c of this.columns) cells.push(cell(c, 'vc'));
    this.head.replaceChildren(...cells);
    this.head.style.gridTemplateColumns = this.template();
    this.head.style.width = this.body.style.width = `${NUM_WIDTH + COL_WIDTH * this.columns.length}px`;
    this.first = this.last = -1;
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  render() {
    const n = this.rows.length;
    this.body.style.height = `${n * ROW_HEIGHT}px`;
    const top = Math.max(0, this.root.scrollTop - ROW_HEIGHT);
    const height = this.root.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(n, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    // Nothing visible changed: rows arriving below the window cost nothing.
    if (first === this.first && last === this.last && (this.renderedCount >= last || this.renderedCount === n)) return;
    this.first = first;
    this.last = last;
    this.renderedCount = n;
    const tpl = this.template();
    const out = [];
    for (let i = first; i < last; i++) {
      const row = document.createElement('div');
      row.className = 'vrow';
      row.style.top = `${i * ROW_HEIGHT}px`;
      row.style.gridTemplateColumns = tpl;
      row.append(cell(String(i + 1), 'vc n'));
      const r = this.rows[i];
      for (const c of this.columns) {
        const v = r[c];
        const el = cell(cellText(v), v === null || v === undefined ? 'vc null' : 'vc');
        row.append(el);
      }
      out.push(row);
    }
    this.body.replaceChildren(...out);
  }

  destroy() {
    this.resize.disconnect();
    this.root.remove();
  }
}

function cell(text, cls) {
  const d = document.createElement('div');
  d.className = cls;
  d.textContent = text;
  d.title = text.length > 20 ? text.slice(0, 500) : '';
  return d;
}
