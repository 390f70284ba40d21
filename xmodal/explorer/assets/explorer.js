/* xmodal latent-space explorer (the page is built by the package xmodal/explorer/).
 *
 * A scatter of one model's UMAP embedding, drawn as SVG by this file alone: no library, no
 * network. The data sits in <script type="application/json" class="xme-data"> inside the
 * explorer's <div>, and XmodalExplorer.mount(id) draws it.
 *
 *   menus   choose the model (one <select> per config key that varies) and the colouring;
 *   hover   the side panel shows the patch's thumbnails, soft label and predictions;
 *   click   the point's aligned partner(s) are ringed and joined by a line, its k nearest
 *           cross-sensor neighbours get dashed rings; a click on the background clears;
 *   drag    lasso or box selection (class histogram and sensor shares below), or pan;
 *   zoom    the + and - buttons, or Ctrl + wheel; "fit" shows all points again.
 */
(function () {
  "use strict";
  const VERSION = 1;  // several explorers on one page share this code (unless it changed)
  if (window.XmodalExplorer && window.XmodalExplorer.version === VERSION) return;

  const W = 560, H = 440, PAD = 16;  // plot size in SVG units, margin around the points
  const R = 4.5;                     // marker size
  // Marker shape of each sensor (index in data.sensors): SVG paths centred on 0,0.
  const SYMBOLS = [
    `M${R},0A${R},${R} 0 1,1 0,${-R}A${R},${R} 0 0,1 ${R},0Z`,       // circle
    `M0,${-1.35 * R}L${1.35 * R},0L0,${1.35 * R}L${-1.35 * R},0Z`,    // diamond
    `M0,${-1.3 * R}L${1.2 * R},${0.8 * R}L${-1.2 * R},${0.8 * R}Z`,   // triangle
    `M${-R},${-R}H${R}V${R}H${-R}Z`,                                   // square
  ];
  const GREY = "#bdbdbd";
  const COLOUR_BY = [
    ["sensor", "sensor"],
    ["dominant", "dominant class (soft label)"],
    ["right", "prediction right?"],
    ["hom", "homogeneity between sensors"],
  ];

  const esc = (s) => String(s).replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const share = (p) => (p / 100).toFixed(2);  // integer percent -> "0.40"
  const symbol = (s) => SYMBOLS[s % SYMBOLS.length];
  const swatch = (colour, s) => `<svg class="xme-sw" viewBox="-7 -7 14 14" width="12" height="12">` +
    `<path d="${symbol(s || 0)}" fill="${colour}"></path></svg>`;
  const ordinal = (n) => n + (n % 100 >= 11 && n % 100 <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] || "th");

  // Linear interpolation in a list of hex colours, v in [0, 1].
  function scaleColour(stops, v) {
    const t = Math.max(0, Math.min(1, v)) * (stops.length - 1), i = Math.min(Math.floor(t), stops.length - 2);
    const a = stops[i], b = stops[i + 1], f = t - i;
    const ch = (h, k) => parseInt(h.slice(1 + 2 * k, 3 + 2 * k), 16);
    const mix = [0, 1, 2].map((k) => Math.round(ch(a, k) + f * (ch(b, k) - ch(a, k))));
    return `rgb(${mix.join(",")})`;
  }

  // Is (x, y) inside the polygon pts (ray casting)?
  function inside(pts, x, y) {
    let hit = false;
    for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
      const a = pts[i], b = pts[j];
      if ((a.y > y) !== (b.y > y) && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) hit = !hit;
    }
    return hit;
  }

  class Explorer {
    constructor(root, data) {
      this.root = root;
      this.data = data;
      this.colourBy = "sensor";
      this.mode = "lasso";
      this.focus = -1;      // clicked point, -1 for none
      this.selected = [];   // indices of the lasso/box selection
      this.build();
      this.setModel(data.default || 0);
    }

    // ---- the page's skeleton, menus and event handlers -------------------------------
    build() {
      const d = this.data;
      const app = document.createElement("div");
      app.className = "xme-app";
      const menus = Object.entries(d.menu).map(([key, values]) =>
        `<label>${esc(key)} <select data-key="${esc(key)}">` +
        values.map((v) => `<option value="${esc(v)}">${esc(v)}</option>`).join("") + "</select></label>").join("");
      app.innerHTML = `
        <div class="xme-title">${esc(d.title)}</div>
        <div class="xme-controls">
          <span class="xme-menus">${menus}</span>
          <label>colour by <select class="xme-colour">${COLOUR_BY.map(([v, t]) =>
            `<option value="${v}">${t}</option>`).join("")}</select></label>
        </div>
        <div class="xme-model"></div>
        <div class="xme-main">
          <div class="xme-plot">
            <div class="xme-tools">drag to
              <button type="button" data-mode="lasso">lasso</button><button type="button" data-mode="box">box</button><button type="button" data-mode="pan">pan</button>
              <span class="xme-gap"></span>
              <button type="button" data-zoom="1.5" title="zoom in">+</button><button type="button" data-zoom="0.667" title="zoom out">&minus;</button><button type="button" class="xme-fit">fit</button>
            </div>
            <svg class="xme-svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="UMAP of the latent vectors">
              <rect class="xme-bg" x="0" y="0" width="${W}" height="${H}"></rect>
              <g class="xme-links"></g><g class="xme-pts"></g><g class="xme-rings"></g>
              <path class="xme-lasso" d=""></path>
            </svg>
            <div class="xme-legend"></div>
          </div>
          <div class="xme-side"><div class="xme-hover"></div></div>
        </div>
        <div class="xme-status"></div>
        <div class="xme-selection"></div>
        <ul class="xme-notes"></ul>`;
      this.root.appendChild(app);
      const $ = (sel) => app.querySelector(sel);
      this.el = {
        svg: $(".xme-svg"), pts: $(".xme-pts"), rings: $(".xme-rings"), links: $(".xme-links"),
        lasso: $(".xme-lasso"), legend: $(".xme-legend"), hover: $(".xme-hover"), model: $(".xme-model"),
        status: $(".xme-status"), selection: $(".xme-selection"), notes: $(".xme-notes"),
      };
      this.ns = this.el.svg.namespaceURI;  // create SVG elements in the namespace the parser chose
      this.selects = Array.from(app.querySelectorAll(".xme-menus select"));
      this.selects.forEach((s) => s.addEventListener("change", () => this.chooseModel(s.dataset.key, s.value)));
      $(".xme-colour").addEventListener("change", (e) => { this.colourBy = e.target.value; this.paint(); });
      this.modeButtons = Array.from(app.querySelectorAll("[data-mode]"));
      this.modeButtons.forEach((b) => b.addEventListener("click", () => this.setMode(b.dataset.mode)));
      app.querySelectorAll("[data-zoom]").forEach((b) =>
        b.addEventListener("click", () => this.zoom(parseFloat(b.dataset.zoom), W / 2, H / 2)));
      $(".xme-fit").addEventListener("click", () => { this.fit(); this.place(); });
      this.setMode("lasso");
      this.listen();
      const w = d.weight || {};
      const kb = (b) => `${Math.round((b || 0) / 1024)} kB`;
      this.el.notes.innerHTML = d.notes.map((n) => `<li>${esc(n)}</li>`).join("") +
        `<li>Page weight ${kb(w.total)}: thumbnails ${kb(w.thumbnails)}, data ${kb(w.data)}, ` +
        `script and style ${kb(w.code)}.</li>`;
    }

    listen() {
      const svg = this.el.svg;
      const index = (t) => (t && t.dataset && t.dataset.i !== undefined ? +t.dataset.i : -1);
      this.el.pts.addEventListener("mouseover", (e) => {
        const i = index(e.target);
        if (!this.drag && i >= 0) this.showPoint(i, "hover");
      });
      svg.addEventListener("mouseleave", () => { if (!this.drag) this.showPoint(this.focus, "clicked"); });
      svg.addEventListener("pointerdown", (e) => {
        if (e.button !== 0) return;
        const p = this.svgXY(e);
        this.drag = { x0: p.x, y0: p.y, pts: [p], moved: false, target: index(e.target), view: { ...this.view } };
        svg.setPointerCapture(e.pointerId);
        e.preventDefault();
      });
      svg.addEventListener("pointermove", (e) => {
        const d = this.drag;
        if (!d) return;
        const p = this.svgXY(e);
        if (!d.moved && Math.hypot(p.x - d.x0, p.y - d.y0) < 4) return;  // still a click
        d.moved = true;
        if (this.mode === "pan") {
          this.view.cx = d.view.cx - (p.x - d.x0) / this.view.s;
          this.view.cy = d.view.cy + (p.y - d.y0) / this.view.s;
          this.place();
          return;
        }
        d.pts = this.mode === "box"
          ? [{ x: d.x0, y: d.y0 }, { x: p.x, y: d.y0 }, p, { x: d.x0, y: p.y }]
          : d.pts.concat([p]);
        this.el.lasso.setAttribute("d", "M" + d.pts.map((q) => `${q.x.toFixed(1)},${q.y.toFixed(1)}`).join("L") + "Z");
      });
      const end = () => {
        const d = this.drag;
        this.drag = null;
        if (!d) return;
        this.el.lasso.setAttribute("d", "");
        if (!d.moved) {
          if (d.target >= 0) this.setFocus(d.target);
          else { this.setFocus(-1); this.select([]); }
        } else if (this.mode !== "pan") {
          const m = this.pts;
          this.select(m.x.map((_, i) => i).filter((i) => inside(d.pts, this.sx[i], this.sy[i])));
        }
      };
      svg.addEventListener("pointerup", end);
      svg.addEventListener("pointercancel", end);
      svg.addEventListener("wheel", (e) => {  // Ctrl + wheel zooms; a plain wheel scrolls the page
        if (!e.ctrlKey && !e.metaKey) return;
        e.preventDefault();
        const p = this.svgXY(e);
        this.zoom(Math.exp(-e.deltaY * 0.002), p.x, p.y);
      }, { passive: false });
    }

    svgXY(e) {
      const r = this.el.svg.getBoundingClientRect();
      return { x: ((e.clientX - r.left) * W) / r.width, y: ((e.clientY - r.top) * H) / r.height };
    }

    setMode(mode) {
      this.mode = mode;
      this.modeButtons.forEach((b) => b.classList.toggle("xme-on", b.dataset.mode === mode));
      this.el.svg.classList.toggle("xme-panning", mode === "pan");
    }

    // ---- the model ----------------------------------------------------------------------
    chooseModel(key, label) {
      // The model with this value of `key` that agrees with most of the other menus.
      const want = {};
      this.selects.forEach((s) => { want[s.dataset.key] = s.value; });
      want[key] = label;
      let best = -1, bestScore = -1;
      this.data.models.forEach((m, j) => {
        if (m.values[key] !== label) return;
        const score = Object.keys(want).filter((k) => m.values[k] === want[k]).length;
        if (score > bestScore) { best = j; bestScore = score; }
      });
      if (best < 0) return;
      const m = this.data.models[best];
      const differ = Object.keys(want).filter((k) => m.values[k] !== want[k]);
      this.setModel(best, differ.length
        ? `No run has ${Object.entries(want).map(([k, v]) => `${k} ${v}`).join(", ")}; ` +
          `showing ${differ.map((k) => `${k} ${m.values[k]}`).join(", ")}.` : "");
    }

    setModel(j, note) {
      this.modelIndex = j;
      this.m = this.data.models[j];
      this.pts = this.m.points;
      this.selects.forEach((s) => { s.value = this.m.values[s.dataset.key]; });
      const g = this.el.pts;
      while (g.firstChild) g.removeChild(g.firstChild);
      this.nodes = this.pts.x.map((_, i) => {
        const el = document.createElementNS(this.ns, "path");
        el.setAttribute("d", symbol(this.pts.sensor[i]));
        el.setAttribute("class", "xme-pt");
        el.dataset.i = i;
        g.appendChild(el);
        return el;
      });
      this.focus = -1;
      this.selected = [];
      this.describeModel(note || "");
      this.fit();
      this.place();
      this.paint();
      this.select([]);
      this.setFocus(-1);
    }

    describeModel(note) {
      const d = this.data, m = this.m, n = m.points.x.length;
      const names = m.sensors.map((s) => d.sensor_labels[s]);
      const f1 = m.sensors.map((s) => {
        const v = m.metrics[d.sensors[s]];
        return v && v.macro != null && v.weighted != null ? `${d.sensor_labels[s]} ${v.macro.toFixed(2)} / ${v.weighted.toFixed(2)}` : null;
      }).filter(Boolean);
      const hom = Object.entries(m.homogeneity).map(([pair, s]) =>
        `s(${pair.replace("|", ", ").toUpperCase()}) = ${s.toFixed(2)}`);
      const patches = new Set(m.points.patch).size;
      let html = (note ? `<div class="xme-warn">${esc(note)}</div>` : "") +
        `<b>${esc(m.title)}</b>: ${n} latent vectors of ${patches} test patches seen by ${names.join(", ")}. ` +
        (f1.length ? `Macro / weighted F1: ${f1.join("; ")}. ` : "") +
        (hom.length ? `Homogeneity (eq. 5): ${hom.join(", ")}. ` : "");
      if (!m.shared) {
        html += "<i>Separate models, one per sensor: their latent spaces are not shared, so distances " +
          "across sensors mean nothing (no neighbours are marked; the line only shows where each model " +
          "puts the patch).</i> ";
      } else if (m.pair_found !== null) {
        html += `The partner is the nearest other-sensor vector for ${Math.round(100 * m.pair_found)}% of the ` +
          `points (cosine; chance about ${Math.round(100 / Math.max(1, patches))}%). `;
      }
      html += `<span class="xme-runs">Run${m.runs.length > 1 ? "s" : ""}: ${m.runs.map((r) =>
        `<code>${esc(r)}</code>`).join(", ")}.</span>`;
      this.el.model.innerHTML = html;
    }

    // ---- geometry: data coordinates -> SVG ---------------------------------------------
    fit() {
      const xs = this.pts.x, ys = this.pts.y;
      const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
      const s = Math.min((W - 2 * PAD) / Math.max(x1 - x0, 1e-9), (H - 2 * PAD) / Math.max(y1 - y0, 1e-9));
      this.view = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, s: s };
    }

    zoom(f, px, py) {
      const v = this.view;
      const x = v.cx + (px - W / 2) / v.s, y = v.cy - (py - H / 2) / v.s;  // data point under (px, py)
      v.s *= f;
      v.cx = x - (px - W / 2) / v.s;
      v.cy = y + (py - H / 2) / v.s;
      this.place();
    }

    place() {
      const v = this.view;
      this.sx = this.pts.x.map((x) => W / 2 + (x - v.cx) * v.s);
      this.sy = this.pts.y.map((y) => H / 2 - (y - v.cy) * v.s);
      this.nodes.forEach((el, i) => el.setAttribute("transform", `translate(${this.sx[i].toFixed(1)},${this.sy[i].toFixed(1)})`));
      this.drawFocus();
    }

    // ---- colours and legend ------------------------------------------------------------
    colour(i) {
      const d = this.data, p = this.pts;
      switch (this.colourBy) {
        case "dominant": return d.class_colours[this.m.classes[p.dominant[i]]];
        case "right": return p.right[i] ? d.right_colours.right : d.right_colours.wrong;
        case "hom": return p.hom[i] === null ? GREY : scaleColour(d.scale, p.hom[i]);
        default: return d.sensor_colours[p.sensor[i]];
      }
    }

    paint() {
      this.nodes.forEach((el, i) => el.setAttribute("fill", this.colour(i)));
      this.legend();
    }

    legend() {
      const d = this.data, p = this.pts, m = this.m, n = p.x.length;
      const count = (f) => p.x.reduce((c, _, i) => c + (f(i) ? 1 : 0), 0);
      const item = (colour, text, s) => `<span class="xme-li">${swatch(colour, s)}${esc(text)}</span>`;
      const shapes = m.sensors.map((s) => item("#555", d.sensor_labels[s], s)).join("");
      let body = "";
      if (this.colourBy === "sensor") {
        body = m.sensors.map((s) => item(d.sensor_colours[s], `${d.sensor_labels[s]} (${count((i) => p.sensor[i] === s)})`, s)).join("");
      } else if (this.colourBy === "dominant") {
        body = m.classes.map((c, col) => [c, count((i) => p.dominant[i] === col)]).filter(([, k]) => k > 0)
          .map(([c, k]) => item(d.class_colours[c], `${d.classes[c]} (${k})`)).join("") + ` <span class="xme-li">shape: ${shapes}</span>`;
      } else if (this.colourBy === "right") {
        const k = count((i) => p.right[i]);
        body = item(d.right_colours.right, `right (${k})`) + item(d.right_colours.wrong, `wrong (${n - k})`) +
          ` <span class="xme-li">shape: ${shapes}</span>`;
      } else {
        const vals = p.hom.filter((h) => h !== null);
        const mean = vals.length ? (vals.reduce((a, b) => a + b, 0) / vals.length).toFixed(2) : "–";
        const ramp = d.scale.map((c, i) => `${c} ${Math.round((100 * i) / (d.scale.length - 1))}%`).join(",");
        body = `<span class="xme-li">0 <span class="xme-ramp" style="background:linear-gradient(to right,${ramp})"></span> 1` +
          ` (mean ${mean})</span>` + (vals.length < n ? item(GREY, `no other sensor (${n - vals.length})`) : "") +
          ` <span class="xme-li">shape: ${shapes}</span>`;
      }
      this.el.legend.innerHTML = body;
    }

    // ---- hover panel -------------------------------------------------------------------
    label(i) {  // soft label of point i (percent per class column); stored once per patch
      return this.pts.label ? this.pts.label[i] : this.data.patches.label[this.pts.patch[i]];
    }

    rowsOfPatch(i) {
      // sensor (global index) -> row of this patch in the model, for every sensor that saw it
      const p = this.pts, rows = {};
      rows[p.sensor[i]] = i;
      const others = this.m.sensors.filter((s) => s !== p.sensor[i]);
      others.forEach((s, b) => { if (p.partner[i][b] >= 0) rows[s] = p.partner[i][b]; });
      return rows;
    }

    showPoint(i, how) {
      const d = this.data, p = this.pts, m = this.m, box = this.el.hover;
      if (i < 0) {
        box.innerHTML = `<div class="xme-empty">Hover a point to see its patch; click it to see its partner and ` +
          `nearest neighbours from the other sensor${m.sensors.length > 2 ? "s" : ""}.</div>`;
        return;
      }
      const pid = d.patches.ids[p.patch[i]];
      const rows = this.rowsOfPatch(i);
      const views = [...new Set(m.sensors.map((s) => d.sensor_views[s]).filter(Boolean))];
      const thumbs = views.map((v) => {
        const src = d.patches.thumbs[v] ? d.patches.thumbs[v][p.patch[i]] : null;
        return `<figure class="xme-thumb">` + (src ? `<img src="${src}" alt="${esc(v)} image of ${esc(pid)}">`
          : `<div class="xme-noimg">no image</div>`) + `<figcaption>${esc(d.views[v])}</figcaption></figure>`;
      }).join("");
      // class rows worth showing: in the soft label, or predicted with at least 5 %
      const label = this.label(i);
      const cols = m.classes.map((_, c) => c).filter((c) => label[c] >= 1 ||
        m.sensors.some((s) => rows[s] !== undefined && p.prob[rows[s]][c] >= 5));
      cols.sort((a, b) => label[b] - label[a]);
      const bar = (v, colour, top) => `<td class="xme-cell${top ? " xme-top" : ""}"><span class="xme-barbg">` +
        `<span class="xme-barfill" style="width:${v}%;background:${colour}"></span></span>${share(v)}</td>`;
      const seen = m.sensors.filter((s) => rows[s] !== undefined);
      const table = `<table class="xme-bars"><tr><th>class</th><th>soft label</th>` +
        seen.map((s) => `<th>${esc(d.sensor_labels[s])}</th>`).join("") + "</tr>" +
        cols.map((c) => `<tr><td>${swatch(d.class_colours[m.classes[c]])}${esc(d.classes[m.classes[c]])}</td>` +
          bar(label[c], "#888", c === p.dominant[i]) +
          seen.map((s) => bar(p.prob[rows[s]][c], d.sensor_colours[s], c === p.predicted[rows[s]])).join("") +
          "</tr>").join("") + "</table>";
      const verdict = seen.map((s) => `${esc(d.sensor_labels[s])} ${p.right[rows[s]] ? "right" : "wrong"}`).join(", ");
      box.innerHTML =
        `<div class="xme-h-id">${esc(pid)}</div>` +
        `<div class="xme-h-sub">${how === "clicked" ? "clicked" : "hovered"}: the ${esc(d.sensor_labels[p.sensor[i]])} point</div>` +
        `<div class="xme-thumbs">${thumbs}</div>${table}` +
        `<div class="xme-h-foot">Bold: dominant class and each sensor's predicted class; line: the 0.3 threshold. ` +
        `Prediction ${verdict}` + (p.hom[i] !== null ? `; homogeneity ${p.hom[i].toFixed(2)}` : "") + ".</div>";
    }

    // ---- click: partner and neighbours -------------------------------------------------
    setFocus(i) {
      this.focus = i;
      const p = this.pts;
      const lit = new Set();
      if (i >= 0) {
        lit.add(i);
        p.partner[i].forEach((j) => { if (j >= 0) lit.add(j); });
        p.nn[i].forEach((j) => lit.add(j));
      }
      this.nodes.forEach((el, j) => el.classList.toggle("xme-lit", lit.has(j)));
      this.el.svg.classList.toggle("xme-focusing", i >= 0);
      this.drawFocus();
      this.showPoint(i, "clicked");
      this.describeFocus();
    }

    ring(i, r, cls) {
      const c = document.createElementNS(this.ns, "circle");
      c.setAttribute("cx", this.sx[i].toFixed(1));
      c.setAttribute("cy", this.sy[i].toFixed(1));
      c.setAttribute("r", r);
      c.setAttribute("class", cls);
      this.el.rings.appendChild(c);
    }

    drawFocus() {
      const { rings, links } = this.el, i = this.focus, p = this.pts;
      while (rings.firstChild) rings.removeChild(rings.firstChild);
      while (links.firstChild) links.removeChild(links.firstChild);
      if (i < 0 || !this.sx) return;
      p.nn[i].forEach((j) => this.ring(j, 8, "xme-ring-nn"));
      p.partner[i].forEach((j) => {
        if (j < 0) return;
        const l = document.createElementNS(this.ns, "line");
        l.setAttribute("x1", this.sx[i].toFixed(1));
        l.setAttribute("y1", this.sy[i].toFixed(1));
        l.setAttribute("x2", this.sx[j].toFixed(1));
        l.setAttribute("y2", this.sy[j].toFixed(1));
        l.setAttribute("class", "xme-link");
        links.appendChild(l);
        this.ring(j, 10, "xme-ring-partner");
      });
      this.ring(i, 10, "xme-ring-focus");
    }

    describeFocus() {
      const d = this.data, p = this.pts, m = this.m, i = this.focus, out = this.el.status;
      if (i < 0) {
        out.innerHTML = "";
        return;
      }
      const pid = esc(d.patches.ids[p.patch[i]]), me = esc(d.sensor_labels[p.sensor[i]]);
      const others = m.sensors.filter((s) => s !== p.sensor[i]);
      const parts = others.map((s, b) => {
        const j = p.partner[i][b], name = esc(d.sensor_labels[s]);
        const total = p.sensor.filter((t) => t === s).length;
        if (j < 0) return `${name} did not see this patch.`;
        let text = `Partner: <b class="xme-partner-id">${esc(d.patches.ids[p.patch[j]])}</b> seen by ${name} ` +
          "(ring, joined by a line)";
        if (m.shared && p.rank[i][b] > 0) text += `, the ${ordinal(p.rank[i][b])} nearest of the ${total} ${name} vectors`;
        return text + ".";
      });
      let nn = "";
      if (m.shared && p.nn[i].length) {
        const same = p.nn[i].filter((j) => p.dominant[j] === p.dominant[i]).length;
        nn = ` Dashed rings: its ${d.k} nearest vectors from ${others.map((s) => esc(d.sensor_labels[s])).join(", ")} ` +
          `(cosine, in the latent space); ${same} of ${p.nn[i].length} share its dominant class ` +
          `${esc(d.classes[m.classes[p.dominant[i]]])}.`;
      } else if (!m.shared) {
        nn = " No neighbours: the sensors' latent spaces are not shared in this model.";
      }
      out.innerHTML = `<b>${pid}</b> seen by ${me} (bold ring). ${parts.join(" ")}${nn}`;
    }

    // ---- lasso / box selection ---------------------------------------------------------
    select(idx) {
      this.selected = idx;
      const sel = new Set(idx);
      this.nodes.forEach((el, j) => el.classList.toggle("xme-sel", sel.has(j)));
      this.el.svg.classList.toggle("xme-selecting", idx.length > 0);
      const d = this.data, p = this.pts, m = this.m, out = this.el.selection;
      if (!idx.length) {
        out.innerHTML = `<div class="xme-empty">Drag a lasso or a box around points to see what they hold.</div>`;
        return;
      }
      const n = idx.length;
      const shares = m.sensors.map((s) => [s, idx.filter((i) => p.sensor[i] === s).length]);
      const bar = shares.map(([s, k]) => `<span class="xme-seg" style="width:${(100 * k) / n}%;background:${d.sensor_colours[s]}"` +
        ` title="${esc(d.sensor_labels[s])}"></span>`).join("");
      const hist = m.classes.map((c, col) => {
        const k = idx.filter((i) => p.dominant[i] === col).length;
        const mean = idx.reduce((a, i) => a + this.label(i)[col], 0) / n;
        return { c, k, mean };
      }).filter((h) => h.k > 0 || h.mean >= 0.5).sort((a, b) => b.k - a.k || b.mean - a.mean);
      const top = Math.max(...hist.map((h) => h.k), 1);
      out.innerHTML = `<div class="xme-sel-head"><b>Selected ${n} of ${p.x.length} points</b> (click the background to clear). ` +
        `Sensors: ${shares.map(([s, k]) => `${esc(d.sensor_labels[s])} ${k} (${Math.round((100 * k) / n)}%)`).join(", ")}</div>` +
        `<div class="xme-shares">${bar}</div>` +
        `<table class="xme-hist"><tr><th>dominant class</th><th></th><th>points</th><th>mean soft label</th></tr>` +
        hist.map((h) => `<tr class="xme-hist-row"><td>${swatch(d.class_colours[h.c])}${esc(d.classes[h.c])}</td>` +
          `<td class="xme-hbar"><span style="width:${(100 * h.k) / top}%;background:${d.class_colours[h.c]}"></span></td>` +
          `<td>${h.k} (${Math.round((100 * h.k) / n)}%)</td><td>${share(h.mean)}</td></tr>`).join("") + "</table>";
    }

    // ---- for tests and the curious: what the page shows now ----------------------------
    state() {
      const p = this.pts, ids = this.data.patches.ids;
      return {
        model: this.modelIndex, title: this.m.title, colourBy: this.colourBy, mode: this.mode,
        focus: this.focus, focusId: this.focus >= 0 ? ids[p.patch[this.focus]] : null,
        partners: this.focus >= 0 ? p.partner[this.focus].filter((j) => j >= 0) : [],
        neighbours: this.focus >= 0 ? p.nn[this.focus] : [], selected: this.selected.length,
        points: p.x.length,
      };
    }
  }

  // Draw the explorer <div id=id>; `script` (the calling <script>) finds it where ids do not.
  function mount(id, script) {
    const root = document.getElementById(id) || (script && script.closest(".xme"));
    if (!root || root.dataset.mounted) return null;
    root.dataset.mounted = "1";
    const nojs = root.querySelector(".xme-nojs");
    if (nojs) nojs.remove();
    const ex = new Explorer(root, JSON.parse(root.querySelector("script.xme-data").textContent));
    window.XmodalExplorer.instances[id] = ex;
    return ex;
  }

  window.XmodalExplorer = { version: VERSION, mount: mount, instances: {} };
})();
