/* The script of hyporank's HTML pages (hyporank/html.h), compiled into the
 * library and allowed by the page's Content-Security-Policy by its hash.
 * It renders the table of every candidate from the page's JSON block
 * (#hr-data: {columns: [{key, label, type, title, filter}], rows: [[...]]})
 * a page of rows at a time, sorts it by any column and filters it by the
 * columns marked filter and by words. Data only ever reaches the page as
 * textContent, never as markup. */
(function () {
  'use strict';
  var block = document.getElementById('hr-data');
  var host = document.getElementById('candidates-table');
  if (!block || !host) return;
  var data = JSON.parse(block.textContent);
  var cols = data.columns, rows = data.rows, PAGE = 100;
  var sortCol = -1, sortDir = 1, shown = PAGE, filters = {}, words = '';
  var view = rows.slice();
  var sharesCol = -1; /* the column saying a row's shares are counted (to the texts) */
  cols.forEach(function (c, i) { if (c.key === 'shares') sharesCol = i; });

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  /* whole percents for the screen's estimates; counted shares to the texts,
   * as the page's own cards print them (hr_pipe_share_text) */
  function pct(v, counted) {
    if (v === null) return '';
    var p = 100 * v;
    return p.toFixed(!counted || p === 0 || p >= 9.95 ? 0 : (p >= 0.995 ? 1 : 2)) + '%';
  }
  function signed(v, d) { return v === null ? '' : (v >= 0 ? '+' : '\u2212') + Math.abs(v).toFixed(d); }
  function pval(v) {
    if (v === null) return '';
    if (v === 0) return '<1e-300';
    return v < 0.001 ? v.toExponential(1) : v.toPrecision(2);
  }
  /* cell v of column c in row r */
  function fmt(c, v, r) {
    var counted = sharesCol >= 0 && r && r[sharesCol] === 'counted', d = counted ? 3 : 2;
    switch (c.type) {
      case 'share': return pct(v, counted);
      case 'effect': return signed(v, d);
      case 'ci': return v === null ? '' : '[' + signed(v[0], d) + ', ' + signed(v[1], d) + ']';
      case 'p': return pval(v);
      case 'auroc': return v === null ? '' : v.toFixed(3);
      case 'bool': return v ? 'yes' : 'no';
      case 'int': return v === null ? '' : String(v);
      default: return v === null ? '' : String(v);
    }
  }
  function key(c, v) {
    if (v === null || v === undefined) return null;
    if (c.type === 'ci') return v[0];
    if (c.type === 'bool') return v ? 1 : 0;
    return v;
  }
  function cmp(a, b) {
    var c = cols[sortCol], x = key(c, a[sortCol]), y = key(c, b[sortCol]);
    if (x === null || y === null) return x === y ? a[0] - b[0] : (x === null ? 1 : -1);
    if (typeof x === 'string') {
      var s = x.localeCompare(y);
      return s ? sortDir * s : a[0] - b[0];
    }
    return x === y ? a[0] - b[0] : (x < y ? -sortDir : sortDir);
  }
  function apply() {
    var w = words.toLowerCase();
    view = rows.filter(function (r) {
      for (var k in filters) {
        if (filters[k] !== '' && fmt(cols[k], r[k], r) !== filters[k]) return false;
      }
      if (w) {
        for (var i = 0; i < cols.length; i++)
          if (cols[i].type === 'text' && r[i] !== null && String(r[i]).toLowerCase().indexOf(w) >= 0) return true;
        return false;
      }
      return true;
    });
    if (sortCol >= 0) view.sort(cmp);
    render();
  }

  var controls = el('div', 'controls');
  var count = el('span', 'muted');
  var table = el('table'), thead = el('thead'), tbody = el('tbody'), hr = el('tr');
  table.id = 'candidates';
  cols.forEach(function (c, i) {
    var th = el('th', c.type === 'text' ? 'text' : (c.type === 'cat' || c.type === 'bool' ? 'cat' : ''));
    th.setAttribute('data-key', c.key);
    if (c.title) th.title = c.title;
    var b = el('button', null, c.label);
    b.type = 'button';
    b.addEventListener('click', function () {
      sortDir = sortCol === i ? -sortDir : (c.type === 'text' || c.type === 'cat' || c.key === 'rank' ? 1 : -1);
      sortCol = i;
      thead.querySelectorAll('th').forEach(function (t) { t.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
      shown = PAGE;
      apply();
    });
    th.appendChild(b);
    hr.appendChild(th);
    if (c.filter) {
      var seen = {}, values = [];
      rows.forEach(function (r) { var f = fmt(c, r[i], r); if (!seen[f]) { seen[f] = 1; values.push(f); } });
      values.sort();
      var lab = el('label', null, c.label + ' ');
      var sel = el('select');
      sel.name = c.key;
      sel.appendChild(el('option', null, 'all')).value = '';
      values.forEach(function (v) { sel.appendChild(el('option', null, v)).value = v; });
      sel.addEventListener('change', function () { filters[i] = sel.value; shown = PAGE; apply(); });
      lab.appendChild(sel);
      controls.appendChild(lab);
    }
  });
  var search = el('input');
  search.type = 'search';
  search.placeholder = 'words in the hypothesis';
  search.setAttribute('aria-label', 'filter by words');
  search.addEventListener('input', function () { words = search.value; shown = PAGE; apply(); });
  controls.appendChild(search);
  controls.appendChild(count);
  thead.appendChild(hr);
  table.appendChild(thead);
  table.appendChild(tbody);
  var scroll = el('div', 'scroll');
  scroll.appendChild(table);
  var pager = el('div', 'pager');
  var more = el('button', 'more', '');
  more.type = 'button';
  more.addEventListener('click', function () { shown += PAGE; render(); });
  pager.appendChild(more);
  host.appendChild(controls);
  host.appendChild(scroll);
  host.appendChild(pager);

  function render() {
    var frag = document.createDocumentFragment();
    var n = Math.min(shown, view.length);
    for (var r = 0; r < n; r++) {
      var row = view[r], tr = el('tr', row[data.finding_col] ? 'finding' : '');
      for (var i = 0; i < cols.length; i++) {
        var c = cols[i], td = el('td', c.type === 'text' ? 'text' : (c.type === 'cat' || c.type === 'bool' ? 'cat' : ''));
        var v = row[i], k = key(c, v);
        if (typeof k === 'number') td.setAttribute('data-v', String(k));
        if (c.key === 'rank' && document.getElementById('r-' + v)) {
          var a = el('a', null, fmt(c, v, row));
          a.href = '#r-' + v;
          td.appendChild(a);
        } else {
          td.textContent = fmt(c, v, row);
        }
        if (c.type === 'text') td.dir = 'auto';
        tr.appendChild(td);
      }
      frag.appendChild(tr);
    }
    tbody.textContent = '';
    tbody.appendChild(frag);
    count.textContent = view.length + ' of ' + rows.length + ' candidates';
    more.hidden = n >= view.length;
    more.textContent = 'show ' + Math.min(PAGE, view.length - n) + ' more (' + (view.length - n) + ' left)';
  }
  document.documentElement.setAttribute('data-table', 'ready');
  apply();
})();
