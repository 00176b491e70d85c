"use strict";
// The day page: plays the day's kept frames, one monitor at a time. Its data is the JSON in
// #data (render.py): shots [seconds since midnight, monitor, path in the day folder, what its
// tick saw (app and title) or null, true when the frame cannot be decoded (it has no thumbnail:
// shown as unreadable, never requested), where it changed against its best match: [[x, y, w, h],
// ...] in the frame's own pixels from its top-left corner (outlined over it, key o)], lanes per
// monitor [start, end, state], highlights [seconds, monitor, path, novelty].
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const DAY = 86400;
  const LANE = 14, GAP = 4;
  const SPEEDS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30];
  const LOOKAHEAD = 3; // frames loaded ahead of the shown one, in the direction of travel
  const $ = (id) => document.getElementById(id);
  const frame = $("frame"), where = $("where"), seen = $("seen"), speedEl = $("speed"), playBtn = $("play");
  const canvas = $("lanes"), track = $("track"), cursor = $("cursor"), strip = $("strip");
  const empty = $("empty"), open = $("open"), help = $("help"), helpBtn = $("help-button");
  const unreadable = $("unreadable"), regions = $("regions");

  const byMon = new Map(D.monitors.map((m) => [m, []]));
  for (const s of D.shots) byMon.get(s[1]).push(s);
  const playable = D.monitors.filter((m) => byMon.get(m).length);
  let mon = playable.length ? playable[0] : D.monitors[0];
  let idx = -1; // the shown frame, an index into byMon.get(mon)
  let ready = true; // the shown frame has loaded and decoded (or failed): a held key waits for it
  let speed = SPEEDS.indexOf(5), playing = false, timer = 0, dir = 1;
  let outlines = true; // the changed regions outlined over the shown frame (key o)
  const ahead = new Map(); // url -> Image: the few frames loaded ahead

  const list = () => byMon.get(mon) || [];
  const pad = (n) => String(n).padStart(2, "0");
  function clock(t) {
    t = Math.floor(t);
    return pad(Math.floor(t / 3600)) + ":" + pad(Math.floor(t / 60) % 60) + ":" + pad(t % 60);
  }
  const url = (rel) => D.frames + rel;
  const thumb = (rel) => D.thumbs + rel.replace(/\.[^./]+$/, ".jpg");
  function atOrBefore(arr, t) { // the last index whose time is <= t, -1 if none
    let lo = 0, hi = arr.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (arr[mid][0] <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }
  const now = () => (idx >= 0 ? list()[idx][0] : 0);

  frame.addEventListener("load", () => {
    const want = frame.src;
    frame.decode().catch(() => {}).then(() => {
      if (frame.src === want) { ready = true; frame.dataset.ready = "1"; outline(); }
    });
  });
  frame.addEventListener("error", () => { ready = true; frame.dataset.ready = "error"; });

  function show(i) {
    const arr = list();
    empty.hidden = arr.length > 0;
    frame.hidden = arr.length === 0;
    if (!arr.length) { idx = -1; unreadable.hidden = true; update(); return; }
    i = Math.max(0, Math.min(arr.length - 1, i));
    if (i !== idx) dir = i > idx ? 1 : -1;
    const s = arr[i];
    idx = i;
    frame.hidden = s[4];
    unreadable.hidden = !s[4];
    if (frame.dataset.rel !== s[2]) {
      regions.replaceChildren(); // the last frame's outlines go with it; the new ones on load
      frame.dataset.rel = s[2];
      frame.dataset.monitor = String(mon);
      if (s[4]) { // a frame that cannot be decoded: said so, not loaded
        unreadable.textContent = `this frame cannot be read: ${s[2]}`;
        frame.removeAttribute("src");
        ready = true;
        frame.dataset.ready = "unreadable";
      } else {
        ready = false;
        frame.dataset.ready = "0";
        frame.src = url(s[2]);
      }
    }
    update();
    preload();
  }

  // the shown frame's changed regions, drawn over the image where object-fit put it, scaled from
  // the frame's pixels to the shown ones; none while the frame loads or when turned off
  function outline() {
    const s = idx >= 0 ? list()[idx] : null;
    regions.replaceChildren();
    regions.hidden = !outlines;
    if (!s || !outlines || s[4] || !s[5].length || frame.dataset.ready !== "1") return;
    const nw = frame.naturalWidth, nh = frame.naturalHeight;
    if (!nw || !nh) return;
    const scale = Math.min(frame.clientWidth / nw, frame.clientHeight / nh);
    const left = frame.offsetLeft + (frame.clientWidth - nw * scale) / 2;
    const top = frame.offsetTop + (frame.clientHeight - nh * scale) / 2;
    for (const [x, y, w, h] of s[5]) {
      const b = document.createElement("span");
      b.className = "region";
      b.style.left = (left + x * scale) + "px";
      b.style.top = (top + y * scale) + "px";
      b.style.width = (w * scale) + "px";
      b.style.height = (h * scale) + "px";
      regions.appendChild(b);
    }
  }
  function toggleOutlines() {
    outlines = !outlines;
    outline();
    update();
  }

  function update() {
    const arr = list();
    const s = idx >= 0 ? arr[idx] : null;
    const k = playable.indexOf(mon) + 1;
    where.textContent = s
      ? `${clock(s[0])} · monitor ${mon} (${k} of ${playable.length}) · frame ${idx + 1} of ${arr.length}` +
        (s[2].startsWith("similar/") ? " · similar" : "") +
        (s[5].length ? ` · ${s[5].length} changed region${s[5].length > 1 ? "s" : ""}` +
          (outlines ? " outlined" : "") : "")
      : `monitor ${mon}: no kept frame`;
    seen.textContent = s && s[3] ? s[3] : "";
    if (s) open.href = url(s[2]);
    cursor.style.left = (100 * now() / DAY) + "%";
    speedEl.textContent = SPEEDS[speed] + " fps";
    if (s) history.replaceState(null, "", `#t=${clock(s[0])}&m=${mon}`);
    fillStrip();
  }

  function preload() {
    const arr = list();
    for (let k = 1; k <= LOOKAHEAD; k++) {
      const j = idx + k * dir;
      if (j < 0 || j >= arr.length) break;
      if (arr[j][4]) continue; // unreadable: never loaded
      const u = url(arr[j][2]);
      if (!ahead.has(u)) {
        const im = new Image();
        im.src = u;
        ahead.set(u, im);
      }
    }
    while (ahead.size > 4 * LOOKAHEAD) ahead.delete(ahead.keys().next().value);
  }

  function step(d, held) {
    if (held && !ready) return; // never skip a frame the held key has not shown yet
    show(idx + d);
  }

  function jump(seconds, held) {
    if ((held && !ready) || idx < 0) return;
    const arr = list();
    let i = atOrBefore(arr, arr[idx][0] + seconds + 0.0005); // times are to the millisecond
    if (seconds > 0 && i <= idx) i = idx + 1; // nothing within reach: the next frame
    show(Math.max(i, 0));
  }

  function play(on) {
    playing = on;
    playBtn.textContent = on ? "❚❚ pause" : "▶ play";
    clearTimeout(timer);
    if (!on) return;
    if (idx >= list().length - 1) show(0);
    dir = 1;
    tick();
  }
  function tick() {
    timer = setTimeout(() => {
      if (!playing) return;
      if (ready) { // a slow image holds playback back rather than being skipped
        if (idx >= list().length - 1) { play(false); return; }
        show(idx + 1);
      }
      tick();
    }, 1000 / SPEEDS[speed]);
  }
  function faster(d) {
    speed = Math.max(0, Math.min(SPEEDS.length - 1, speed + d));
    speedEl.textContent = SPEEDS[speed] + " fps";
  }

  function goTo(m, rel) {
    mon = m;
    show(list().findIndex((s) => s[2] === rel));
  }
  function highlight(d) {
    const t = now();
    const hs = D.highlights;
    const h = d > 0
      ? hs.find((x) => x[0] > t + 0.0005)
      : [...hs].reverse().find((x) => x[0] < t - 0.0005);
    if (h && byMon.has(h[1])) goTo(h[1], h[2]);
  }
  function nextMonitor() {
    if (!playable.length) return;
    const t = now();
    mon = playable[(playable.indexOf(mon) + 1) % playable.length];
    show(Math.max(0, atOrBefore(list(), t)));
    drawLanes();
  }
  function otherDay(page, at) {
    if (page) location.href = `${page}#t=${at}&m=${mon}`;
  }
  function toggleHelp(on) {
    help.hidden = on === undefined ? !help.hidden : !on;
    helpBtn.setAttribute("aria-expanded", String(!help.hidden));
  }

  function fromHash() { // #t=HH:MM:SS&m=N: monitor N's kept frame at or just before that time
    const p = new URLSearchParams(location.hash.slice(1));
    const m = Number(p.get("m"));
    if (byMon.has(m) && byMon.get(m).length) mon = m;
    const t = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(p.get("t") || "");
    if (!t) return 0;
    const secs = 3600 * Number(t[1]) + 60 * Number(t[2]) + Number(t[3]);
    return Math.max(0, atOrBefore(list(), secs + 0.999)); // the frame's own second included
  }

  // the axis: hour labels, one lane per monitor, highlight marks, the cursor
  function drawLanes() {
    const ratio = window.devicePixelRatio || 1;
    const w = track.clientWidth, h = D.monitors.length * (LANE + GAP);
    canvas.width = Math.max(1, Math.round(w * ratio));
    canvas.height = Math.round(h * ratio);
    canvas.style.height = h + "px";
    const g = canvas.getContext("2d");
    g.scale(ratio, ratio);
    const css = getComputedStyle(document.documentElement);
    const colour = (st) => css.getPropertyValue("--" + st).trim() || "#888";
    D.monitors.forEach((m, k) => {
      const y = k * (LANE + GAP);
      g.fillStyle = colour("lane");
      g.fillRect(0, y, w, LANE);
      for (const [a, b, st] of D.lanes[String(m)] || []) {
        g.fillStyle = colour(st);
        g.fillRect(a / DAY * w, y, Math.max(1, (b - a) / DAY * w), LANE);
      }
      if (m === mon) { g.fillStyle = colour("accent"); g.fillRect(0, y + LANE, w, 2); }
    });
  }
  function buildAxis() {
    const hours = $("hours");
    for (let hr = 0; hr <= 24; hr += 2) {
      const s = document.createElement("span");
      s.textContent = pad(hr);
      s.style.left = (100 * hr / 24) + "%";
      hours.appendChild(s);
    }
    D.monitors.forEach((m, k) => {
      const s = document.createElement("span");
      s.className = "lane-label";
      s.textContent = String(m);
      s.title = "monitor " + m;
      s.style.top = (k * (LANE + GAP)) + "px";
      track.appendChild(s);
    });
    const marks = $("marks");
    for (const [t, m] of D.highlights) {
      const s = document.createElement("span");
      s.style.left = (100 * t / DAY) + "%";
      s.style.top = (D.monitors.indexOf(m) * (LANE + GAP) - 6) + "px";
      s.title = `highlight: ${clock(t)}, monitor ${m}`;
      marks.appendChild(s);
    }
    const present = new Set(Object.values(D.lanes).flat().map((r) => r[2]));
    const legend = $("legend");
    for (const st of D.states.filter((x) => present.has(x))) {
      const li = document.createElement("li");
      const i = document.createElement("i");
      i.style.background = `var(--${st})`;
      li.append(i, st);
      legend.appendChild(li);
    }
    if (D.highlights.length) {
      const li = document.createElement("li");
      li.textContent = `▼ highlight (${D.highlights.length})`;
      legend.appendChild(li);
    }
  }
  function scrub(e) {
    const r = canvas.getBoundingClientRect();
    const t = Math.max(0, Math.min(1, (e.clientX - r.left) / r.width)) * DAY;
    const lane = D.monitors[Math.floor((e.clientY - r.top) / (LANE + GAP))];
    if (lane !== undefined && lane !== mon && byMon.get(lane).length) { mon = lane; drawLanes(); }
    show(Math.max(0, atOrBefore(list(), t)));
  }
  let dragging = false;
  track.addEventListener("pointerdown", (e) => {
    dragging = true;
    track.setPointerCapture(e.pointerId);
    scrub(e);
  });
  track.addEventListener("pointermove", (e) => { if (dragging) scrub(e); });
  track.addEventListener("pointerup", () => { dragging = false; });
  track.addEventListener("pointercancel", () => { dragging = false; });

  // the thumbnail strip: a fixed number of slots around the shown frame, never the whole day
  let slots = [];
  function buildStrip() {
    const n = Math.max(3, Math.floor(strip.clientWidth / 126)) | 1;
    strip.replaceChildren();
    slots = [];
    for (let k = 0; k < n; k++) {
      const a = document.createElement("a");
      const img = document.createElement("img");
      img.loading = "lazy";
      img.decoding = "async";
      img.alt = "";
      const label = document.createElement("span");
      a.append(img, label);
      a.href = "#";
      a.addEventListener("click", (e) => {
        e.preventDefault();
        a.blur();
        show(Number(a.dataset.index));
      });
      strip.appendChild(a);
      slots.push({ a, img, label });
    }
    fillStrip();
  }
  function fillStrip() {
    const arr = list();
    const first = idx - (slots.length >> 1);
    slots.forEach(({ a, img, label }, k) => {
      const j = first + k;
      const s = arr[j];
      a.style.visibility = s ? "visible" : "hidden";
      a.classList.toggle("current", j === idx);
      if (!s) return;
      a.dataset.index = String(j);
      a.classList.toggle("unreadable", s[4]);
      a.title = s[4] ? "this frame cannot be read" : "";
      if (s[4]) { // no thumbnail to ask for: the CSS draws the slot as unreadable
        img.dataset.src = "";
        img.removeAttribute("src");
      } else {
        const src = thumb(s[2]);
        if (img.dataset.src !== src) { img.dataset.src = src; img.src = src; }
      }
      label.textContent = clock(s[0]);
    });
  }
  strip.addEventListener("wheel", (e) => { e.preventDefault(); step(Math.sign(e.deltaY || e.deltaX), true); }, { passive: false });

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const held = e.repeat;
    switch (e.key) {
      case "ArrowRight": if (e.shiftKey) jump(600, held); else step(1, held); break;
      case "ArrowLeft": if (e.shiftKey) jump(-600, held); else step(-1, held); break;
      case "PageDown": jump(3600, held); break;
      case "PageUp": jump(-3600, held); break;
      case "Home": show(0); break;
      case "End": show(list().length - 1); break;
      case " ": play(!playing); break;
      case "+": case "=": faster(1); break;
      case "-": case "_": faster(-1); break;
      case "h": highlight(1); break;
      case "H": highlight(-1); break;
      case "m": case "M": nextMonitor(); break;
      case "o": case "O": toggleOutlines(); break;
      case "[": otherDay(D.prev, "23:59:59"); break;
      case "]": otherDay(D.next, "00:00:00"); break;
      case "?": toggleHelp(); break;
      case "Escape": toggleHelp(false); break;
      default: return;
    }
    e.preventDefault();
  });
  // a focused button would take the next Space as a click of its own: give the keys back
  playBtn.addEventListener("click", () => { play(!playing); playBtn.blur(); });
  helpBtn.addEventListener("click", () => { toggleHelp(); helpBtn.blur(); });
  window.addEventListener("hashchange", () => { const i = fromHash(); idx = -1; show(i); drawLanes(); });
  window.addEventListener("resize", () => { drawLanes(); buildStrip(); outline(); });

  buildAxis();
  const start = fromHash();
  drawLanes();
  buildStrip();
  show(start);
}());
