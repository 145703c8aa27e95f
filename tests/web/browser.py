#!/usr/bin/env python3
"""browser.py - drives Debian's headless Chromium over the DevTools protocol
(--remote-debugging-pipe: JSON messages ending in NUL on fds 3 and 4) for the
web page's tests and benchmark. Standard library only.

    browser.py list URL BUILD                 the class of BUILD's row
    browser.py live URL --before TEXT --after TEXT [--lines N] [--screenshot PNG]
    browser.py resume URL --ready N           prints "ready" after N chunks, then
                                              waits for the end (the caller drops
                                              the stream meanwhile)
    browser.py render URL [--screenshot PNG]  what the log's markup became
    browser.py memory URL                     the page's memory once the log is in

URL carries the key (?token=...): the page keeps it in its cookie. Each command
prints one JSON object on its last line of stdout; exit 0 when it got what it
waited for, 1 when a wait ran out (the JSON says which), 2 on bad usage.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

CHROMIUM = os.environ.get("SLIPWAY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


class Timeout(Exception):
    pass


class Browser:
    """One headless Chromium with one page, spoken to over the pipe."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="sw-chromium-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        flags = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions",
            "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
            "--window-size=1280,900", "--remote-debugging-pipe",
            "--user-data-dir=" + self.profile, "about:blank",
        ]
        # the shell puts the pipes on fds 3 and 4, where Chromium looks for them
        script = 'exec "$0" "$@" 3<&%d 4>&%d' % (to_chrome_r, from_chrome_w)
        self.proc = subprocess.Popen(["sh", "-c", script, CHROMIUM] + flags,
                                     pass_fds=(to_chrome_r, from_chrome_w),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = [t for t in targets if t["type"] == "page"]
        target = page[0]["targetId"] if page else \
            self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Runtime.enable", session=True)
        self.call("Performance.enable", session=True)

    def send(self, method, params=None, session=False):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def read(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buf:
            import select
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("no answer from chromium")
            ready, _, _ = select.select([self.from_chrome], [], [], left)
            if ready:
                data = os.read(self.from_chrome, 1 << 20)
                if not data:
                    raise Timeout("chromium closed its pipe")
                self.buf += data
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=False, timeout=30):
        want = self.send(method, params, session)
        while True:
            msg = self.read(timeout)
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self.events.append(msg)

    def eval(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                      session=True)
        if "exceptionDetails" in r:
            raise RuntimeError("page: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def goto(self, url):
        self.call("Page.navigate", {"url": url}, session=True)

    def wait(self, expression, timeout, what):
        """Polls expression until it is truthy; its value, or Timeout naming what."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                v = self.eval(expression)
            except RuntimeError:
                v = None  # the page is still loading
            if v:
                return v
            if time.monotonic() > deadline:
                raise Timeout("waited %.0f s for %s" % (timeout, what))
            time.sleep(0.02)

    def screenshot(self, path, full=True):
        params = {"format": "png", "captureBeyondViewport": full}
        if full:
            size = self.call("Page.getLayoutMetrics", session=True)["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"],
                              "height": min(size["height"], 4000), "scale": 1}
        data = self.call("Page.captureScreenshot", params, session=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.send("Browser.close")
            self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_chrome)
        os.close(self.from_chrome)
        shutil.rmtree(self.profile, ignore_errors=True)


def percentile(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


LOADED = "window.slipway !== undefined"


def cmd_list(b, a):
    b.goto(a.url)
    cls = b.wait("(document.querySelector('tr[data-build=\"%s\"]') || {}).className" % a.build,
                 15, "the build's row")
    return {"class": cls}


def has_text(text):
    return "document.getElementById('log').textContent.includes(%s)" % json.dumps(text)


def cmd_live(b, a):
    opened = time.time() * 1000
    b.goto(a.url)
    b.wait(LOADED, 15, "the page's script")
    b.wait(has_text(a.before), 15, "a line printed before the page opened: %r" % a.before)
    before_seen = time.time() * 1000
    b.wait(has_text(a.after), a.timeout, "a line printed after the page opened: %r" % a.after)
    if a.lines:
        b.wait("window.slipway.ended", a.timeout, "the end of the build")
    seen = b.eval("({arrivals: window.slipway.arrivals, ids: window.slipway.ids,"
                  " lines: window.slipway.lines})")
    # lines printed after the page had its history: browser arrival - builder stamp
    live = [got - at for at, got in seen["arrivals"] if at > before_seen]
    after_at = b.eval("(() => { for (const el of document.querySelectorAll('.line')) {"
                      " if (el.textContent.includes(%s)) return Number(el.dataset.at); }"
                      " return 0; })()" % json.dumps(a.after))
    after_delay = None
    for at, got in seen["arrivals"]:
        if at == after_at:
            after_delay = got - at
            break
    if a.screenshot:
        b.screenshot(a.screenshot)
    duration = b.eval("document.getElementById('duration').textContent")
    builds = b.eval("window.slipway.builds || 0")
    return {"opened_ms": opened, "after_delay_ms": after_delay, "live_lines": len(live),
            "duration": duration, "build_events": builds,
            "p50_ms": percentile(live, 50), "p99_ms": percentile(live, 99),
            "max_ms": max(live) if live else None, "lines": seen["lines"]}


def cmd_resume(b, a):
    b.goto(a.url)
    b.wait(LOADED, 15, "the page's script")
    b.wait("window.slipway.chunks.length >= %d" % a.ready, a.timeout,
           "%d chunks before the drop" % a.ready)
    print("ready", flush=True)
    b.wait("window.slipway.opens >= 2", a.timeout, "the stream to open again")
    b.wait("window.slipway.ended", a.timeout, "the end of the build")
    return b.eval("({ids: window.slipway.ids, chunks: window.slipway.chunks,"
                  " opens: window.slipway.opens, errors: window.slipway.errors,"
                  " lines: window.slipway.lines, state: window.slipway.state})")


def cmd_render(b, a):
    b.goto(a.url)
    b.wait(LOADED, 15, "the page's script")
    b.wait("window.slipway.ended", a.timeout, "the end of the log")
    out = b.eval("""(() => {
      const log = document.getElementById('log');
      const q = (s) => Array.from(log.querySelectorAll(s));
      return {
        red: q('.ansi.fg-1').map(e => e.textContent),
        bold: q('.ansi.b').map(e => e.textContent),
        rgb: q('.ansi').filter(e => e.style.color).map(e => e.style.color),
        groups: q('details.group > summary').map(e => e.textContent),
        open: q('details.group').map(e => e.open),
        steps: q('details.step:not(.setup)').map(e => e.className + '|' + e.open + '|' +
                                      e.querySelector('.info').textContent),
        lines: q('.line .tx').map(e => e.textContent),
        escapes: log.textContent.includes('\\u001b'),
        state: document.getElementById('state').textContent,
        count: window.slipway.lines,
      };
    })()""")
    if a.screenshot:
        b.screenshot(a.screenshot)
    return out


def renderer_rss_mb(root):
    """The resident memory of the renderer processes under browser pid root, in MB."""
    parent, cmds = {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                parent[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmds[int(pid)] = f.read()
        except (OSError, IndexError, ValueError):
            continue

    def under(pid):
        while pid in parent and pid > 1:
            if pid == root:
                return True
            pid = parent[pid]
        return False

    total = 0
    for pid, cmd in cmds.items():
        if b"--type=renderer" not in cmd or not under(pid):
            continue
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024.0, 1)


def cmd_memory(b, a):
    start = time.monotonic()
    b.goto(a.url)
    b.wait(LOADED, 15, "the page's script")
    b.wait("window.slipway.ended", a.timeout, "the end of the log")
    loaded_s = time.monotonic() - start
    b.call("HeapProfiler.enable", session=True)
    b.call("HeapProfiler.collectGarbage", session=True)
    metrics = {m["name"]: m["value"]
               for m in b.call("Performance.getMetrics", session=True)["metrics"]}
    return {"loaded_s": round(loaded_s, 2),
            "js_heap_used_mb": round(metrics.get("JSHeapUsedSize", 0) / 1e6, 1),
            "js_heap_total_mb": round(metrics.get("JSHeapTotalSize", 0) / 1e6, 1),
            "dom_nodes": metrics.get("Nodes"),
            "renderer_rss_mb": renderer_rss_mb(b.proc.pid),
            "lines_shown": b.eval("document.querySelectorAll('.line').length"),
            "first_line": b.eval("window.slipway.lines - "
                                 "document.querySelectorAll('.line').length + 1")}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("list")
    s.add_argument("url")
    s.add_argument("build")
    s = sub.add_parser("live")
    s.add_argument("url")
    s.add_argument("--before", required=True)
    s.add_argument("--after", required=True)
    s.add_argument("--lines", type=int, default=0)
    s.add_argument("--screenshot")
    s = sub.add_parser("resume")
    s.add_argument("url")
    s.add_argument("--ready", type=int, default=3)
    s = sub.add_parser("render")
    s.add_argument("url")
    s.add_argument("--screenshot")
    s = sub.add_parser("memory")
    s.add_argument("url")
    for s in sub.choices.values():
        s.add_argument("--timeout", type=float, default=60)
    a = p.parse_args()
    b = Browser()
    try:
        out = globals()["cmd_" + a.cmd](b, a)
        status = 0
    except Timeout as e:
        out = {"timeout": str(e)}
        status = 1
    finally:
        b.close()
    print(json.dumps(out), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
