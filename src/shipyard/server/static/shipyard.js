// Shared client helpers. Plots use Plotly.js served by the Shipyard server itself.
"use strict";

const SHIPYARD_PLOT_CONFIG = {displaylogo: false, responsive: true};

// Draw a lineage graph {root, nodes:[{key,label,kind,depth,url}], edges:[{src,dst,relation}]}
// as a layered left-to-right graph: x = depth (upstream negative), y = order in layer.
function drawLineage(elementId, graph) {
  const layers = {};
  graph.nodes.forEach(n => { (layers[n.depth] = layers[n.depth] || []).push(n); });
  const pos = {};
  Object.keys(layers).forEach(d => {
    const layer = layers[d].sort((a, b) => a.kind.localeCompare(b.kind) || a.label.localeCompare(b.label));
    layer.forEach((n, i) => { pos[n.key] = [Number(d), i - (layer.length - 1) / 2]; });
  });
  const kinds = [...new Set(graph.nodes.map(n => n.kind))];
  const traces = kinds.map(kind => {
    const ns = graph.nodes.filter(n => n.kind === kind);
    return {
      type: "scatter", mode: "markers+text", name: kind,
      x: ns.map(n => pos[n.key][0]), y: ns.map(n => pos[n.key][1]),
      text: ns.map(n => n.label), textposition: "bottom center",
      customdata: ns.map(n => n.url || ("/lineage/" + n.key)),
      hovertext: ns.map(n => n.kind + ": " + n.label + (n.key === graph.root ? " (this)" : "")),
      hoverinfo: "text",
      marker: {size: ns.map(n => n.key === graph.root ? 22 : 16), line: {width: 1, color: "#333"}},
    };
  });
  const annotations = graph.edges.filter(e => pos[e.src] && pos[e.dst]).map(e => ({
    x: pos[e.dst][0], y: pos[e.dst][1], ax: pos[e.src][0], ay: pos[e.src][1],
    xref: "x", yref: "y", axref: "x", ayref: "y", showarrow: true, arrowhead: 2,
    arrowsize: 1.2, arrowwidth: 1.2, arrowcolor: "#8894a8", standoff: 10, startstandoff: 10,
    text: "", hovertext: e.relation,
  }));
  const layout = {
    annotations, showlegend: true, hovermode: "closest", height: 420,
    margin: {l: 20, r: 20, t: 20, b: 20},
    xaxis: {visible: false}, yaxis: {visible: false},
  };
  Plotly.newPlot(elementId, traces, layout, SHIPYARD_PLOT_CONFIG).then(el => {
    el.on("plotly_click", ev => { const u = ev.points[0].customdata; if (u) window.location = u; });
  });
}
