// The labeling view: one task at a time, keyboard first.
//   1-9 pick a class (toggle for multi-label; current region label for spans/boxes)
//   Enter submits, S skips, Z removes the last region.
"use strict";

function startLabeling(cfg) {
  const api = "/api/v1/labels/projects/" + encodeURIComponent(cfg.project);
  const el = id => document.getElementById(id);
  const st = {task: null, chosen: new Set(), regions: [], current: 0, started: 0, busy: false};

  function esc(s) { return String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c])); }

  function post(url, body) {
    return fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
      .then(r => r.json().then(j => { if (!r.ok) throw new Error(j.error ? j.error.message : r.statusText); return j; }));
  }

  function message(text, error) {
    const m = el("lv-message");
    m.textContent = text || "";
    m.className = error ? "notice error" : (text ? "notice" : "");
  }

  function renderClasses() {
    el("lv-classes").innerHTML = cfg.classes.map((c, i) => {
      const on = (cfg.kind === "classification" || cfg.kind === "multilabel") ? st.chosen.has(i) : st.current === i;
      return `<button type="button" class="lv-class${on ? " chosen" : ""}" data-i="${i}"><kbd>${i + 1}</kbd> ${esc(c)}</button>`;
    }).join("");
    el("lv-classes").querySelectorAll("button").forEach(b => b.onclick = () => pick(Number(b.dataset.i)));
  }

  function renderText() {
    const text = st.task.payload[cfg.textColumn] || "";
    if (cfg.kind !== "text_spans") { el("lv-text").textContent = text; return; }
    const spans = [...st.regions].sort((a, b) => a.start - b.start);
    let html = "", at = 0;
    spans.forEach(s => {
      if (s.start < at) return;
      html += esc(text.slice(at, s.start)) + `<mark title="${esc(s.label)}">${esc(text.slice(s.start, s.end))}<sup>${esc(s.label)}</sup></mark>`;
      at = s.end;
    });
    el("lv-text").innerHTML = html + esc(text.slice(at));
    el("lv-text").querySelectorAll("sup").forEach(s => s.setAttribute("aria-hidden", "true"));
  }

  function textOffset(node, offset) {
    // characters of the task text before (node, offset), ignoring the label superscripts
    let count = 0;
    const walker = document.createTreeWalker(el("lv-text"), NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const n = walker.currentNode;
      if (n.parentElement.tagName === "SUP") { if (n === node) return count; continue; }
      if (n === node) return count + offset;
      count += n.textContent.length;
    }
    return count;
  }

  function onSelect() {
    if (cfg.kind !== "text_spans") return;
    const sel = window.getSelection();
    if (!sel.rangeCount || sel.isCollapsed) return;
    const r = sel.getRangeAt(0);
    if (!el("lv-text").contains(r.startContainer)) return;
    let start = textOffset(r.startContainer, r.startOffset), end = textOffset(r.endContainer, r.endOffset);
    if (end < start) [start, end] = [end, start];
    if (end > start) st.regions.push({start, end, label: cfg.classes[st.current]});
    sel.removeAllRanges();
    renderText(); renderRegions();
  }

  function renderRegions() {
    if (cfg.kind === "bounding_boxes") drawBoxes();
    el("lv-regions").innerHTML = st.regions.map(r => r.start !== undefined
      ? `<li>${esc(r.label)}: [${r.start}, ${r.end})</li>`
      : `<li>${esc(r.label)}: x=${r.x.toFixed(3)} y=${r.y.toFixed(3)} w=${r.w.toFixed(3)} h=${r.h.toFixed(3)}</li>`).join("");
  }

  function drawBoxes(extra) {
    const c = el("lv-canvas"), img = el("lv-image");
    c.width = img.clientWidth; c.height = img.clientHeight;
    const g = c.getContext("2d");
    g.clearRect(0, 0, c.width, c.height);
    g.lineWidth = 2; g.font = "12px sans-serif";
    [...st.regions, ...(extra ? [extra] : [])].forEach(b => {
      g.strokeStyle = "#e4572e"; g.fillStyle = "#e4572e";
      g.strokeRect(b.x * c.width, b.y * c.height, b.w * c.width, b.h * c.height);
      g.fillText(b.label, b.x * c.width + 3, b.y * c.height + 13);
    });
  }

  function setupBoxes() {
    const c = el("lv-canvas");
    let start = null;
    const pos = e => { const r = c.getBoundingClientRect(); return [Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1), Math.min(Math.max((e.clientY - r.top) / r.height, 0), 1)]; };
    const box = (a, b) => ({x: Math.min(a[0], b[0]), y: Math.min(a[1], b[1]), w: Math.abs(a[0] - b[0]), h: Math.abs(a[1] - b[1]), label: cfg.classes[st.current]});
    c.onmousedown = e => { start = pos(e); };
    c.onmousemove = e => { if (start) drawBoxes(box(start, pos(e))); };
    c.onmouseup = e => { if (!start) return; const b = box(start, pos(e)); start = null; if (b.w > 0.005 && b.h > 0.005) st.regions.push(b); renderRegions(); };
  }

  function show(data) {
    const p = data.progress;
    el("lv-progress").textContent = `${p.n_complete} / ${p.n_tasks} tasks complete (${(100 * p.progress).toFixed(1)}%)` +
      (p.done_by_me !== null ? ` · you: ${p.done_by_me} done` : "");
    st.task = data.task;
    st.chosen = new Set(); st.regions = [];
    if (!st.task) {
      el("lv-task").hidden = true;
      el("lv-done").hidden = false;
      return;
    }
    el("lv-row").textContent = "task " + st.task.row;
    const pred = st.task.prediction;
    el("lv-suggestion").textContent = pred ? `Model suggests: ${pred.label} (${Number(pred.confidence).toFixed(2)})` : "";
    if (pred && cfg.kind === "classification" && cfg.classes.indexOf(pred.label) >= 0) st.chosen.add(cfg.classes.indexOf(pred.label));
    if (cfg.textColumn && st.task.payload[cfg.textColumn] !== undefined) renderText(); else el("lv-text").textContent = "";
    const fields = Object.entries(st.task.payload).filter(([k]) => k !== cfg.textColumn);
    el("lv-fields").innerHTML = fields.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("");
    if (cfg.imageColumn && st.task.media.indexOf(cfg.imageColumn) >= 0) {
      const img = el("lv-image");
      img.onload = () => renderRegions();
      img.src = `${api}/tasks/${st.task.row}/media?column=${encodeURIComponent(cfg.imageColumn)}`;
      el("lv-figure").hidden = false;
    }
    renderClasses(); renderRegions();
    st.started = performance.now();
  }

  function next() {
    return post(api + "/next", {annotator: cfg.annotator}).then(show).catch(e => message(e.message, true));
  }

  function pick(i) {
    if (i < 0 || i >= cfg.classes.length) return;
    if (cfg.kind === "classification") st.chosen = new Set([i]);
    else if (cfg.kind === "multilabel") { if (st.chosen.has(i)) st.chosen.delete(i); else st.chosen.add(i); }
    else st.current = i;
    renderClasses();
  }

  function answer() {
    if (cfg.kind === "classification") return st.chosen.size ? cfg.classes[[...st.chosen][0]] : null;
    if (cfg.kind === "multilabel") return [...st.chosen].sort().map(i => cfg.classes[i]);
    return st.regions.map(r => { const o = Object.assign({}, r); delete o.text; return o; });
  }

  function submit() {
    if (!st.task || st.busy) return;
    const label = answer();
    if (label === null) { message("Pick a class first (number keys).", true); return; }
    st.busy = true;
    post(`${api}/tasks/${st.task.row}/annotations`, {annotator: cfg.annotator, label, duration_ms: Math.round(performance.now() - st.started)})
      .then(() => { message(""); return next(); })
      .catch(e => message(e.message, true))
      .finally(() => { st.busy = false; });
  }

  function skip() {
    if (!st.task || st.busy) return;
    st.busy = true;
    post(`${api}/tasks/${st.task.row}/skip`, {annotator: cfg.annotator})
      .then(next).catch(e => message(e.message, true)).finally(() => { st.busy = false; });
  }

  document.addEventListener("keydown", e => {
    if (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA" || e.ctrlKey || e.metaKey || e.altKey) return;
    if (/^[1-9]$/.test(e.key)) { pick(Number(e.key) - 1); e.preventDefault(); }
    else if (e.key === "Enter") { submit(); e.preventDefault(); }
    else if (e.key === "s" || e.key === "S") { skip(); e.preventDefault(); }
    else if (e.key === "z" || e.key === "Z") { st.regions.pop(); if (cfg.kind === "text_spans") renderText(); renderRegions(); }
  });
  document.addEventListener("mouseup", onSelect);
  el("lv-submit").onclick = submit;
  el("lv-skip").onclick = skip;
  if (cfg.kind === "bounding_boxes") setupBoxes();
  next();
}

// Reviewer view: accept the majority or correct it with a class.
function reviewAction(project, row, reviewer, label) {
  const url = `/api/v1/labels/projects/${encodeURIComponent(project)}/tasks/${row}/review`;
  fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({reviewer, label})})
    .then(r => r.json().then(j => {
      const item = document.getElementById("review-" + row);
      if (!r.ok) { item.querySelector(".review-status").textContent = j.error.message; return; }
      item.querySelector(".review-status").textContent = `${j.status}: ${JSON.stringify(j.label)}`;
      item.classList.add("reviewed");
    }));
}
