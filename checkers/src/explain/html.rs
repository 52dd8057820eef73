//! A self-contained HTML page that draws a checked history as a timeline.
//!
//! One lane per process; each operation is a bar from its invocation to its completion (an
//! `info` or unfinished one runs to the end, dashed; a failed one is grey); the checker's
//! linearization points are dots on the bars; the operation that cannot be linearized is red
//! and the operations still in flight at that moment are outlined. Operations outside the
//! failing part are faded. Annotations from the caller (faults injected by the harness) are
//! drawn as labelled bands (partitions, pauses) and labelled vertical lines (crashes).
//!
//! The page needs no network: the data is embedded as JSON and a small inline script draws an
//! SVG from it, on an event-order axis (every event gets the same width, so bursts stay
//! readable) or, at the reader's choice, on a time axis. Hovering a bar shows the operation.
//! The script marks the page `data-rendered="true"` and fills `#summary` when it is done, which
//! the browser test reads.

use crate::explain::Explanation;
use crate::history::{History, Operation, Status};
use crate::lin::Report;
use serde_json::json;
use std::collections::BTreeSet;

/// Extra marks to draw: faults and other events, in the history's time unit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Annotations {
    pub intervals: Vec<Interval>,
    pub instants: Vec<Instant>,
}

/// A labelled time interval (a partition, a pause).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interval {
    pub label: String,
    pub start: u64,
    pub end: u64,
}

/// A labelled instant (a crash, a restart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instant {
    pub label: String,
    pub time: u64,
}

/// Renders the page for `history` as checked in `report`.
pub fn render(history: &History, report: &Report, annotations: &Annotations) -> String {
    let ops = history.operations().unwrap_or_default();
    let data = page_data(history, &ops, report, annotations);
    // Inside <script>, `<` is the only dangerous character; JSON may escape it anywhere.
    let data = data.to_string().replace('<', "\\u003c");
    let explanation = match &report.explanation {
        Some(e) => e.to_string(),
        None => format!("{}\n", report.verdict),
    };
    let title = format!(
        "faultline check: {} ({}, {} operations)",
        verdict_word(report),
        report.model,
        report.operations
    );
    TEMPLATE
        .replace("{{TITLE}}", &escape(&title))
        .replace("{{VERDICT_CLASS}}", verdict_word(report))
        .replace("{{EXPLANATION}}", &escape(&explanation))
        .replace("{{DATA}}", &data)
}

fn verdict_word(report: &Report) -> &'static str {
    match report.verdict {
        crate::Verdict::Ok => "ok",
        crate::Verdict::Violation(_) => "violation",
        crate::Verdict::Unknown(_) => "unknown",
    }
}

fn page_data(
    history: &History,
    ops: &[Operation],
    report: &Report,
    notes: &Annotations,
) -> serde_json::Value {
    let failing = report.explanation.as_ref().map(|e| e.failing.id);
    let in_flight: BTreeSet<usize> =
        report.explanation.iter().flat_map(|e| e.in_flight.iter().map(|o| o.id)).collect();
    let in_part = report.explanation.as_ref().map(part_members);
    let processes: BTreeSet<u64> = ops.iter().map(|o| o.process).collect();
    let ops_json: Vec<_> = ops
        .iter()
        .map(|o| {
            json!({
                "id": o.id, "p": o.process, "f": o.f, "in": o.input.to_string(),
                "out": o.output.as_ref().map(|v| v.to_string()),
                "st": match o.status { Status::Ok => "ok", Status::Fail => "fail", Status::Info => "info" },
                "s": o.invoke_index, "e": o.complete_index,
                "failing": failing == Some(o.id), "flight": in_flight.contains(&o.id),
                "part": in_part.as_ref().is_none_or(|p| p.contains(&o.id)),
            })
        })
        .collect();
    json!({
        "verdict": verdict_word(report),
        "events": history.events.iter().map(|e| e.time).collect::<Vec<_>>(),
        "processes": processes,
        "ops": ops_json,
        "points": report.linearization.iter().map(|p| json!({"op": p.op, "at": p.at})).collect::<Vec<_>>(),
        "intervals": notes.intervals.iter().map(|i| json!({"label": i.label, "start": i.start, "end": i.end})).collect::<Vec<_>>(),
        "instants": notes.instants.iter().map(|i| json!({"label": i.label, "time": i.time})).collect::<Vec<_>>(),
    })
}

fn part_members(e: &Explanation) -> BTreeSet<usize> {
    e.part_op_ids.iter().copied().collect()
}

/// Escapes text for HTML element content.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

const TEMPLATE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{TITLE}}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; }
h1.ok { color: #1a7f37; } h1.violation { color: #c62828; } h1.unknown { color: #9a6700; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; }
#timeline { overflow-x: auto; border: 1px solid #ddd; }
.lane-label { font: 12px monospace; fill: #444; }
.lane-line { stroke: #eee; }
.op { stroke: #3b6db3; stroke-width: 1; fill: #9cc3f5; }
.op.info { fill: #f5e39c; stroke: #b08a00; stroke-dasharray: 4 2; }
.op.fail { fill: #ddd; stroke: #aaa; }
.op.other-part { opacity: 0.25; }
.op.in-flight { stroke: #e07b00; stroke-width: 2.5; }
.op.failing { fill: #ef5350; stroke: #8e0000; stroke-width: 2.5; }
.lin-point { fill: #111; }
.band { fill: #ff9800; opacity: 0.15; }
.band-label, .instant-label { font: 11px sans-serif; fill: #a65d00; }
.instant { stroke: #d32f2f; stroke-width: 1.5; stroke-dasharray: 3 3; }
.legend span { display: inline-block; margin-right: 1.2em; }
</style>
</head>
<body>
<h1 class="{{VERDICT_CLASS}}">{{TITLE}}</h1>
<pre id="explanation">{{EXPLANATION}}</pre>
<p class="legend"><span>axis: <select id="axis"><option value="order">event order</option><option value="time">time</option></select></span>
<span>blue: ok</span><span>yellow, dashed: outcome unknown</span><span>grey: failed</span>
<span>red: cannot be linearized</span><span>orange outline: in flight then</span><span>dot: linearization point</span></p>
<p id="summary">(the timeline needs JavaScript)</p>
<div id="timeline"></div>
<script type="application/json" id="data">{{DATA}}</script>
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var LANE = 26, LEFT = 110, TOP = 30;
  var n = Math.max(data.events.length, 1);
  var lanes = data.processes;
  var laneOf = {};
  lanes.forEach(function (p, i) { laneOf[p] = i; });

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }
  // Fractional event index of a time: interpolated between the events around it.
  function indexOfTime(t) {
    var ev = data.events, lo = 0, hi = ev.length - 1;
    if (ev.length === 0 || t <= ev[0]) return 0;
    if (t >= ev[hi]) return hi;
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (ev[mid] <= t) lo = mid; else hi = mid; }
    var span = ev[hi] - ev[lo];
    return span > 0 ? lo + (t - ev[lo]) / span : lo;
  }
  function timeOfIndex(i) {
    var ev = data.events;
    if (ev.length === 0) return 0;
    var lo = Math.max(0, Math.min(ev.length - 1, Math.floor(i))), hi = Math.min(ev.length - 1, lo + 1);
    return ev[lo] + (ev[hi] - ev[lo]) * (i - lo);
  }

  function draw(mode) {
    var width = Math.max(900, Math.min(n * 16, 30000));
    var span = width - LEFT - 20;
    var t0 = data.events.length ? data.events[0] : 0;
    var t1 = data.events.length ? data.events[data.events.length - 1] : 1;
    var x = mode === "time"
      ? function (i) { return LEFT + (timeOfIndex(i) - t0) / Math.max(t1 - t0, 1) * span; }
      : function (i) { return LEFT + (i + 0.5) / n * span; };
    var height = TOP + lanes.length * LANE + 20;
    var holder = document.getElementById("timeline");
    holder.textContent = "";
    var svg = el("svg", { width: width, height: height, id: "timeline-svg" }, holder);
    data.intervals.forEach(function (b) {
      var a = x(indexOfTime(b.start)), z = x(indexOfTime(b.end));
      var g = el("g", { "class": "fault" }, svg);
      el("rect", { "class": "band", x: a, y: TOP - 12, width: Math.max(z - a, 2), height: height - TOP }, g);
      el("text", { "class": "band-label", x: a + 2, y: TOP - 16 }, g).textContent = b.label;
    });
    lanes.forEach(function (p, i) {
      var y = TOP + i * LANE;
      var g = el("g", { "class": "lane", "data-process": p }, svg);
      el("line", { "class": "lane-line", x1: LEFT, x2: width, y1: y + LANE / 2, y2: y + LANE / 2 }, g);
      el("text", { "class": "lane-label", x: 6, y: y + LANE / 2 + 4 }, g).textContent = "process " + p;
    });
    var failing = 0;
    data.ops.forEach(function (o) {
      var y = TOP + laneOf[o.p] * LANE + 5;
      var end = o.e === null ? n - 0.5 : o.e;
      var a = x(o.s), z = x(end);
      var cls = "op " + o.st + (o.part ? "" : " other-part") + (o.flight ? " in-flight" : "") +
        (o.failing ? " failing" : "");
      if (o.failing) failing++;
      var r = el("rect", { "class": cls, x: a, y: y, width: Math.max(z - a, 3), height: LANE - 10,
        rx: 3, "data-op": o.id }, svg);
      el("title", {}, r).textContent = "#" + o.id + " process " + o.p + ": " + o.f + " " + o.in +
        (o.out === null ? "" : " -> " + o.out) + " (" + o.st + ")";
    });
    var opById = {};
    data.ops.forEach(function (o) { opById[o.id] = o; });
    data.points.forEach(function (pt) {
      var o = opById[pt.op];
      if (!o) return;
      el("circle", { "class": "lin-point", cx: x(pt.at), cy: TOP + laneOf[o.p] * LANE + LANE / 2, r: 3.5,
        "data-op": pt.op }, svg);
    });
    data.instants.forEach(function (m) {
      var a = x(indexOfTime(m.time));
      var g = el("g", { "class": "mark" }, svg);
      el("line", { "class": "instant", x1: a, x2: a, y1: TOP - 12, y2: height }, g);
      el("text", { "class": "instant-label", x: a + 3, y: TOP - 2 }, g).textContent = m.label;
    });
    document.getElementById("summary").textContent = lanes.length + " lanes, " + data.ops.length +
      " operations, " + failing + " failing, " + data.points.length + " linearization points, " +
      data.intervals.length + " fault bands (" + (mode === "time" ? "time" : "event order") + " axis)";
    document.body.setAttribute("data-rendered", "true");
  }

  var axis = document.getElementById("axis");
  axis.addEventListener("change", function () { draw(axis.value); });
  draw("order");
})();
</script>
</body>
</html>
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Event, EventKind, Value};
    use crate::lin::{check_named, Options};

    fn violating() -> History {
        History {
            events: vec![
                Event::invoke(0, "write", 1.into(), 10),
                Event::complete(0, EventKind::Ok, "write", 1.into(), 20),
                Event::invoke(1, "read", Value::Nil, 30),
                Event::complete(1, EventKind::Ok, "read", "</script><b>".into(), 40),
            ],
        }
    }

    #[test]
    fn the_page_is_self_contained_and_embeds_the_data_safely() {
        let h = violating();
        let report = check_named("register", None, &h, &Options::default()).unwrap();
        let notes = Annotations {
            intervals: vec![Interval { label: "partition".into(), start: 15, end: 35 }],
            instants: vec![Instant { label: "crash n1".into(), time: 25 }],
        };
        let page = render(&h, &report, &notes);
        assert!(
            !page.contains("http://")
                || page.matches("http://").all(|_| page.contains("www.w3.org/2000/svg"))
        );
        assert!(!page.contains("src=") && !page.contains("href="), "no external resources");
        assert_eq!(page.matches("</script>").count(), 2, "the data cannot close the script element");
        assert!(page.contains(r#""failing":true"#));
        assert!(page.contains("partition") && page.contains("crash n1"));
        assert!(page.contains("class=\"violation\""));
    }
}
