// A scale's trend as an accessible chart: the points, the person's own usual level, and the
// same in words for screen readers.
import { h, svg } from "./dom.js";
import { when } from "./words.js";

// `range`: the scale's lowest and highest score (WHO-5 and the CBI run from 0 to 100).
export function trendChart(title, hint, trend, range = [0, 100]) {
  const [low, high] = range;
  const points = trend.points || [];
  if (points.length === 0) {
    return h("figure", { className: "chart" }, h("figcaption", {}, title),
             h("p", { className: "empty" }, "No check-ins in this period."));
  }
  const width = 360, height = 160, left = 32, right = 8, top = 8, bottom = 22;
  const times = points.map((point) => Date.parse(point.time));
  const first = Math.min(...times), last = Math.max(...times);
  const x = (time) => left + (last === first ? 0.5 : (time - first) / (last - first)) *
                             (width - left - right);
  const y = (value) => top + (1 - (value - low) / (high - low)) * (height - top - bottom);
  const latest = points[points.length - 1];
  const description = `${title}: latest ${Math.round(latest.value)} of ${high} on ` +
                      `${when(latest.time)}, ${points.length} check-ins` +
                      (trend.baseline ? `, usual level ${Math.round(trend.baseline)}` : "") +
                      ` (${hint}).`;
  const chart = svg("svg", { class: "trend", viewBox: `0 0 ${width} ${height}`, role: "img",
                             "aria-label": description },
    svg("line", { class: "axis", x1: left, y1: y(low), x2: width - right, y2: y(low) }),
    svg("line", { class: "axis", x1: left, y1: y(high), x2: left, y2: y(low) }),
    [low, (low + high) / 2, high].map((value) => svg("text", { x: 4, y: y(value) + 4 },
                                                      String(value))),
    trend.baseline ? svg("line", { class: "baseline", x1: left, x2: width - right,
                                   y1: y(trend.baseline), y2: y(trend.baseline) }) : [],
    svg("polyline", { class: "line",
                      points: points.map((p) => `${x(Date.parse(p.time))},${y(p.value)}`)
                                    .join(" ") }),
    points.map((p) => svg("circle", { class: "point", r: 3, cx: x(Date.parse(p.time)),
                                      cy: y(p.value) })));
  return h("figure", { className: "chart" }, h("figcaption", {}, title), chart,
           h("p", { className: "muted" }, description));
}
