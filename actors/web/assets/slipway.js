// slipway.js - a build's page: its log, live, from /builds/<id>/events.
//
// The server sends the log as chunks of lines (event "log", id = the chunk's
// LOGS stream sequence). The browser's EventSource reconnects by itself with
// Last-Event-ID, and the server resumes after that id: no gap, no repeat.
// Lines are rendered here, old or live alike: ANSI colours, "\r" progress,
// steps ("step N/M name" lines of Slipway), and the groups people print:
// GitHub "::group::", GitLab "section_start/section_end", Buildkite
// "--- / +++ / ~~~ / ^^^ +++".
//
// window.slipway holds what the page saw (tests read it): ids, chunks,
// arrival times, reconnects.
"use strict";

(function () {
  const root = document.getElementById("log");
  if (!root) {
    return;
  }
  const build = root.dataset.build;
  const linkQuery = root.dataset.q || "";
  // ?tail=N in the page's address overrides web.tail_lines for this page
  const tail = new URLSearchParams(location.search).get("tail") || root.dataset.tail || "5000";
  const seen = { ids: [], chunks: [], arrivals: [], opens: 0, errors: 0, ended: false,
                 state: root.dataset.state, lines: 0 };
  window.slipway = seen;

  // --- ANSI -----------------------------------------------------------------

  const ESC = "\u001b";
  // CSI ... final byte; OSC ... BEL or ST; APC (Buildkite's timestamps) ... BEL or ST
  const escapes = /\u001b\[([0-9;?]*)([@-~])|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b_([^\u0007\u001b]*)(?:\u0007|\u001b\\)/g;

  function sgr(style, params) {
    const p = params === "" ? [0] : params.split(";").map((x) => parseInt(x || "0", 10));
    for (let i = 0; i < p.length; i++) {
      const n = p[i];
      if (n === 0) {
        style.fg = style.bg = null;
        style.bold = style.dim = style.italic = style.underline = false;
      } else if (n === 1) style.bold = true;
      else if (n === 2) style.dim = true;
      else if (n === 3) style.italic = true;
      else if (n === 4) style.underline = true;
      else if (n === 22) style.bold = style.dim = false;
      else if (n === 23) style.italic = false;
      else if (n === 24) style.underline = false;
      else if (n >= 30 && n <= 37) style.fg = "c" + (n - 30);
      else if (n >= 90 && n <= 97) style.fg = "c" + (n - 90 + 8);
      else if (n === 39) style.fg = null;
      else if (n >= 40 && n <= 47) style.bg = "c" + (n - 40);
      else if (n >= 100 && n <= 107) style.bg = "c" + (n - 100 + 8);
      else if (n === 49) style.bg = null;
      else if ((n === 38 || n === 48) && p[i + 1] === 5 && i + 2 < p.length) {
        const c = p[i + 2];
        const v = c < 16 ? "c" + c : "#" + xterm(c);
        if (n === 38) style.fg = v; else style.bg = v;
        i += 2;
      } else if ((n === 38 || n === 48) && p[i + 1] === 2 && i + 4 < p.length) {
        const v = "#" + [p[i + 2], p[i + 3], p[i + 4]]
          .map((x) => Math.max(0, Math.min(255, x)).toString(16).padStart(2, "0")).join("");
        if (n === 38) style.fg = v; else style.bg = v;
        i += 4;
      }
    }
  }

  function xterm(c) {
    if (c >= 232) {
      const g = 8 + (c - 232) * 10;
      return [g, g, g].map((x) => x.toString(16).padStart(2, "0")).join("");
    }
    c -= 16;
    const steps = [0, 95, 135, 175, 215, 255];
    return [Math.floor(c / 36), Math.floor(c / 6) % 6, c % 6]
      .map((x) => steps[x].toString(16).padStart(2, "0")).join("");
  }

  function span(style, text) {
    if (!style.fg && !style.bg && !style.bold && !style.dim && !style.italic &&
        !style.underline) {
      return document.createTextNode(text);
    }
    const s = document.createElement("span");
    const cls = ["ansi"];
    if (style.fg && style.fg[0] === "c") cls.push("fg-" + style.fg.slice(1));
    else if (style.fg) s.style.color = style.fg;
    if (style.bg && style.bg[0] === "c") cls.push("bg-" + style.bg.slice(1));
    else if (style.bg) s.style.backgroundColor = style.bg;
    if (style.bold) cls.push("b");
    if (style.dim) cls.push("d");
    if (style.italic) cls.push("i");
    if (style.underline) cls.push("u");
    s.className = cls.join(" ");
    s.textContent = text;
    return s;
  }

  // What a terminal shows of a line with "\r" in it: the last rewrite.
  function lastRewrite(text) {
    const t = text.replace(/\r+$/, "");
    const i = t.lastIndexOf("\r");
    return i < 0 ? t : t.slice(i + 1);
  }

  // Renders text into el; returns a Buildkite timestamp (ms) if the line had one.
  function renderAnsi(el, text) {
    const style = {};
    let at = null;
    let last = 0;
    const visible = lastRewrite(text);
    escapes.lastIndex = 0;
    let m;
    while ((m = escapes.exec(visible)) !== null) {
      if (m.index > last) el.appendChild(span(style, visible.slice(last, m.index)));
      if (m[2] === "m") sgr(style, m[1]);
      if (m[3] !== undefined) {
        const t = /(?:^|;)t=(\d+)/.exec(m[3]);
        if (t) at = parseInt(t[1], 10);
      }
      last = escapes.lastIndex;
    }
    if (last < visible.length) el.appendChild(span(style, visible.slice(last)));
    return at;
  }

  // --- structure: steps and groups -------------------------------------------

  let attempt = 0;
  let lineNo = 0;
  let section = null;  // the step's <details>
  let groups = [];     // open groups inside it: [{el, body, name}]
  let lastGroup = null; // Buildkite's "^^^ +++" re-opens it
  const steps = new Map(); // "attempt:index" -> section

  const earlierBox = document.createElement("div");
  earlierBox.className = "earlier";
  root.appendChild(earlierBox);

  function newSection(name, key, cls) {
    const d = document.createElement("details");
    d.className = "step " + (cls || "");
    d.open = true;
    const s = document.createElement("summary");
    const n = document.createElement("span");
    n.className = "name";
    n.textContent = name;
    const info = document.createElement("span");
    info.className = "info";
    s.append(n, info);
    const body = document.createElement("div");
    body.className = "lines";
    d.append(s, body);
    root.appendChild(d);
    section = d;
    groups = [];
    lastGroup = null;
    if (key) {
      steps.set(key, d);
      d.dataset.step = key;
    }
    return d;
  }

  function newStep(name, key, header) {
    const d = newSection(name, key, "");
    d.querySelector(".info").textContent = header;
    if (stepInfo.has(key)) showStep(d, stepInfo.get(key));
    return d;
  }

  function body() {
    if (!section) newSection("set-up", null, "setup");
    return groups.length ? groups[groups.length - 1].body : section.lastChild;
  }

  function openGroup(name, open, cls) {
    const d = document.createElement("details");
    const n = lineNo; // the marker's line keeps its number: #L anchors match log.txt
    d.className = "group " + (cls || "");
    d.open = open;
    const s = document.createElement("summary");
    s.id = "L" + n;
    renderAnsi(s, name);
    const b = document.createElement("div");
    b.className = "lines";
    d.append(s, b);
    body().appendChild(d);
    const g = { el: d, body: b, name: name };
    groups.push(g);
    return g;
  }

  function closeGroup(name) {
    if (name === undefined) {
      groups.pop();
      return;
    }
    for (let i = groups.length - 1; i >= 0; i--) {
      if (groups[i].name === name || groups[i].key === name) {
        groups.length = i;
        return;
      }
    }
  }

  const stepLine = /^step (\d+)\/(\d+) (.+)$/;
  const glStart = /^\u001b\[0Ksection_start:(\d+):([^\r\[\u001b]+)(?:\[([^\]]*)\])?\r\u001b\[0K(.*)$/;
  const glEnd = /^\u001b\[0Ksection_end:(\d+):([^\r\u001b]+)\r\u001b\[0K/;
  const bkGroup = /^(---|\+\+\+|~~~) (.*)$/;

  // Handles a line that opens or closes a step or group; true when it did
  // (the line itself then shows as the group's title, not as a line).
  function structure(stream, text) {
    let m;
    if (stream === 3 && (m = stepLine.exec(text)) !== null) {
      const key = attempt + ":" + (parseInt(m[1], 10) - 1);
      newStep(m[3], key, "step " + m[1] + "/" + m[2]);
      return false; // the header line stays in the step too
    }
    if (text.startsWith("::group::")) {
      const g = openGroup(text.slice(9), true, "gh");
      lastGroup = g;
      return true;
    }
    if (text.startsWith("::endgroup::")) {
      closeGroup();
      return true;
    }
    if ((m = glStart.exec(text)) !== null) {
      const collapsed = m[3] && /collapsed=true/.test(m[3]);
      const g = openGroup(m[4] || m[2], !collapsed, "gl");
      g.key = m[2];
      return true;
    }
    if ((m = glEnd.exec(text)) !== null) {
      closeGroup(m[2]);
      return true;
    }
    if (text === "^^^ +++") {
      if (lastGroup) lastGroup.el.open = true;
      return true;
    }
    if ((m = bkGroup.exec(text)) !== null) {
      // a Buildkite group lasts until the next one
      groups = groups.filter((g) => !g.bk);
      const g = openGroup(m[2], m[1] === "+++", m[1] === "~~~" ? "bk dim" : "bk");
      g.bk = true;
      lastGroup = g;
      return true;
    }
    return false;
  }

  function pad(n, w) {
    return String(n).padStart(w, "0");
  }

  function clock(ms) {
    const d = new Date(ms);
    return pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2) + ":" +
      pad(d.getUTCSeconds(), 2) + "." + pad(d.getUTCMilliseconds(), 3);
  }

  function lineElement(n, stream, atMs, text) {
    const div = document.createElement("div");
    div.className = "line" + (stream === 2 ? " err" : stream === 3 ? " sys" : "");
    div.id = "L" + n;
    div.dataset.at = atMs;
    const a = document.createElement("a");
    a.className = "ln";
    a.href = "#L" + n;
    a.textContent = n;
    const ts = document.createElement("span");
    ts.className = "ts";
    const tx = document.createElement("span");
    tx.className = "tx";
    const bk = renderAnsi(tx, text);
    ts.textContent = clock(bk || atMs);
    div.append(a, ts, tx);
    return div;
  }

  function addLine(stream, atMs, text) {
    lineNo++;
    if (structure(stream, text)) {
      return;
    }
    body().appendChild(lineElement(lineNo, stream, atMs, text));
  }

  function addChunk(c) {
    if (c.a !== attempt) {
      if (attempt !== 0 && c.a !== 4294967295) {
        newSection("attempt " + c.a, null, "attempt");
      }
      if (c.a !== 4294967295) attempt = c.a;
    }
    for (const l of c.l) addLine(l[0], l[1], l[2]);
  }

  // --- following the bottom ---------------------------------------------------

  let following = true;
  const followButton = document.getElementById("follow");

  function atBottom() {
    return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 48;
  }

  function stick() {
    if (following) window.scrollTo(0, document.documentElement.scrollHeight);
  }

  window.addEventListener("scroll", () => {
    following = atBottom();
    if (followButton) followButton.hidden = following || seen.ended;
  }, { passive: true });

  if (followButton) {
    followButton.addEventListener("click", () => {
      following = true;
      followButton.hidden = true;
      stick();
    });
  }

  // --- line anchors: #L12, #L12-L20 ---------------------------------------------

  let anchorFrom = null;

  function highlight() {
    for (const el of root.querySelectorAll(".hl")) el.classList.remove("hl");
    const m = /^#L(\d+)(?:-L?(\d+))?$/.exec(location.hash);
    if (!m) return false;
    const a = parseInt(m[1], 10);
    const b = m[2] ? parseInt(m[2], 10) : a;
    let first = null;
    for (let i = Math.min(a, b); i <= Math.max(a, b); i++) {
      const el = document.getElementById("L" + i);
      if (!el) continue;
      el.classList.add("hl");
      for (let p = el.parentElement; p && p !== root; p = p.parentElement) {
        if (p.tagName === "DETAILS") p.open = true;
      }
      if (!first) first = el;
    }
    if (first) {
      following = false;
      first.scrollIntoView({ block: "center" });
    }
    return first !== null;
  }

  root.addEventListener("click", (e) => {
    const a = e.target.closest("a.ln");
    if (!a) return;
    e.preventDefault();
    const n = parseInt(a.textContent, 10);
    const hash = e.shiftKey && anchorFrom !== null ?
      "#L" + Math.min(anchorFrom, n) + "-L" + Math.max(anchorFrom, n) : "#L" + n;
    if (!e.shiftKey) anchorFrom = n;
    history.replaceState(null, "", hash);
    highlight();
  });
  window.addEventListener("hashchange", highlight);

  // --- the header, steps, the end ------------------------------------------------

  const stateBadge = document.getElementById("state");

  function setText(id, text) {
    const el = document.getElementById(id);
    if (el && text !== undefined && text !== null) el.textContent = text;
  }

  function duration(ms) {
    if (ms < 1000) return ms + "ms";
    if (ms < 60000) return (ms / 1000).toFixed(1) + "s";
    if (ms < 3600000) return Math.floor(ms / 60000) + "m " + Math.floor(ms / 1000 % 60) + "s";
    return Math.floor(ms / 3600000) + "h " + Math.floor(ms / 60000 % 60) + "m";
  }

  let startedMs = 0;
  let finishedMs = 0;

  // a running build's duration goes on while the page is open
  setInterval(() => {
    if (startedMs && !finishedMs && !seen.ended) setText("duration", duration(Date.now() - startedMs));
  }, 1000);

  function onBuild(b) {
    seen.state = b.state;
    seen.builds = (seen.builds || 0) + 1;
    startedMs = b.started_ms || 0;
    finishedMs = b.finished_ms || 0;
    if (stateBadge) {
      stateBadge.className = "badge st-" + b.state;
      stateBadge.textContent = b.state;
    }
    setText("attempt", String(b.attempt));
    setText("builder", b.builder || "-");
    if (b.sha) {
      const el = document.getElementById("sha");
      if (el && !el.querySelector("a")) el.textContent = b.sha;
    }
    setText("reason", b.reason);
    if (b.started_ms) {
      setText("started", new Date(b.started_ms).toISOString().replace("T", " ").slice(0, 19));
      const end = b.finished_ms || Date.now();
      setText("duration", duration(end - b.started_ms));
    }
    document.title = document.title.replace(/: [a-z_]+$/, ": " + b.state);
  }

  // step events may come before the step's lines: kept, and shown once it has a section
  const stepInfo = new Map();

  function onStep(s) {
    const key = s.attempt + ":" + s.index;
    stepInfo.set(key, s);
    const d = steps.get(key);
    if (d) showStep(d, s);
  }

  function showStep(d, s) {
    d.classList.remove("running", "succeeded", "failed");
    d.classList.add(s.state);
    let info = s.state;
    if (s.duration_ms !== undefined) info += " in " + duration(s.duration_ms);
    if (s.exit_code !== undefined && s.exit_code !== 0) info += ", exit code " + s.exit_code;
    d.querySelector(".info").textContent = info;
  }

  // Once the build ended: the failing step open, the others folded.
  function settle() {
    const failed = root.querySelector("details.step.failed");
    if (!failed) return;
    for (const d of root.querySelectorAll("details.step")) {
      d.open = d === failed || d.classList.contains("attempt");
    }
    if (!highlight()) failed.scrollIntoView({ block: "start" });
  }

  // --- earlier lines ------------------------------------------------------------

  let firstShown = 0; // the number of the first line shown (0: from the start)

  function earlierLink(count) {
    earlierBox.textContent = "";
    if (firstShown <= 1) return;
    const a = document.createElement("button");
    a.type = "button";
    a.className = "more";
    a.textContent = (firstShown - 1) + " earlier lines not shown: load " +
      Math.min(firstShown - 1, count) + " more";
    a.addEventListener("click", () => loadEarlier(count));
    const raw = document.createElement("a");
    raw.href = "/builds/" + build + "/log.txt" + (linkQuery ? "?" + linkQuery : "");
    raw.textContent = "or the whole raw log";
    earlierBox.append(a, " ", raw);
  }

  function loadEarlier(count) {
    const q = "before=" + firstShown + "&count=" + count + (linkQuery ? "&" + linkQuery : "");
    fetch("/builds/" + build + "/lines?" + q, { credentials: "same-origin" })
      .then((r) => r.json())
      .then((j) => {
        const frag = document.createDocumentFragment();
        let n = j.from;
        for (const l of j.lines) frag.appendChild(lineElement(n++, l[0], l[1], l[2]));
        const box = document.createElement("div");
        box.className = "lines loaded";
        box.appendChild(frag);
        earlierBox.after(box);
        firstShown = j.from;
        earlierLink(count);
      });
  }

  // --- the stream ---------------------------------------------------------------

  const live = document.getElementById("live");
  let es = null;

  // chunks are put on the page once a frame: one layout and one scroll for
  // everything that came since the last, however fast lines come
  let pending = [];
  let flushing = false;

  function flush() {
    const now = Date.now();
    const batch = pending;
    pending = [];
    flushing = false;
    for (const c of batch) {
      for (const l of c.l) seen.arrivals.push([l[1], now]);
      addChunk(c);
    }
    seen.lines = lineNo;
    stick();
    if (endState !== null && pending.length === 0) finish();
  }

  let endState = null;

  function finish() {
    seen.ended = true;
    seen.state = endState;
    if (live) live.textContent = "";
    if (followButton) followButton.hidden = true;
    if (stateBadge) {
      stateBadge.className = "badge st-" + endState;
      stateBadge.textContent = endState;
    }
    settle();
  }

  function open() {
    const q = "tail=" + tail + (linkQuery ? "&" + linkQuery : "");
    es = new EventSource("/builds/" + build + "/events?" + q);
    es.addEventListener("open", () => {
      seen.opens++;
      if (live) live.textContent = seen.ended ? "" : "live";
    });
    es.addEventListener("error", () => {
      seen.errors++;
      if (live && !seen.ended) live.textContent = "reconnecting…";
    });
    es.addEventListener("build", (e) => onBuild(JSON.parse(e.data)));
    es.addEventListener("step", (e) => onStep(JSON.parse(e.data)));
    es.addEventListener("earlier", (e) => {
      const skipped = JSON.parse(e.data).lines;
      if (lineNo === 0) {
        lineNo = skipped;
        firstShown = skipped + 1;
        earlierLink(parseInt(tail, 10));
      }
    });
    es.addEventListener("log", (e) => {
      const c = JSON.parse(e.data);
      seen.ids.push(e.lastEventId === "" ? 0 : Number(e.lastEventId));
      seen.chunks.push(c.a + ":" + c.q);
      pending.push(c);
      if (!flushing) {
        flushing = true;
        requestAnimationFrame(flush);
      }
    });
    es.addEventListener("end", (e) => {
      endState = JSON.parse(e.data).state;
      es.close();
      if (!flushing) finish(); // else once the last lines are on the page
    });
  }

  // --- tools ---------------------------------------------------------------------

  const ts = document.getElementById("timestamps");
  if (ts) {
    ts.checked = localStorage.getItem("slipway.timestamps") === "1";
    root.classList.toggle("show-ts", ts.checked);
    ts.addEventListener("change", () => {
      root.classList.toggle("show-ts", ts.checked);
      localStorage.setItem("slipway.timestamps", ts.checked ? "1" : "0");
    });
  }

  for (const b of document.querySelectorAll("button.action")) {
    b.addEventListener("click", () => {
      const action = b.dataset.action;
      const out = document.getElementById("action-result");
      fetch("/builds/" + build + "/" + action, {
        method: "POST", credentials: "same-origin", headers: { "X-Slipway-Action": action },
      }).then((r) => r.json().then((j) => ({ ok: r.ok, j: j }))).then((r) => {
        if (action === "retry" && r.ok && r.j.build) {
          location.href = "/builds/" + r.j.build;
        } else if (out) {
          out.textContent = r.ok ? action + ": " + (r.j.state || "done") : (r.j.error || "refused");
        }
      });
    });
  }

  open();
  window.addEventListener("load", highlight);
})();
