"""tests/qemu/cdp.py — headless Debian Chromium driven over the DevTools
protocol on a pipe (--remote-debugging-pipe: commands on the browser's fd 3,
replies and events on its fd 4, each message JSON ended by a NUL byte), so
a test needs nothing beyond the `chromium` package: no WebDriver, no
WebSocket library, no open debugging port.

    with Browser(width=1280, height=900) as b:
        b.navigate("http://127.0.0.1:8080/")
        b.wait_for("document.readyState === 'complete'", 30, "page load")
        print(b.eval("document.title"))
        b.screenshot("build/page.png")

Every wait is bounded and fails with what it waited for."""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--no-default-browser-check",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-extensions", "--mute-audio",
         "--disable-background-timer-throttling",
         "--disable-renderer-backgrounding",
         "--disable-backgrounding-occluded-windows",
         "--remote-debugging-pipe"]


class BrowserError(Exception):
    pass


class Browser:
    def __init__(self, width=1280, height=900, exe=None, log=None):
        self.width, self.height = width, height
        self.exe = exe or shutil.which("chromium")
        self.log_path = log
        self.proc, self.session, self.next_id = None, None, 0
        self.buf, self.events = b"", []

    # ---- process and pipe --------------------------------------------------
    def start(self):
        if not self.exe:
            raise BrowserError("chromium not installed (Debian package chromium)")
        self.profile = tempfile.mkdtemp(prefix="capos-cdp-")
        # our ends: we write commands to cmd_w, read replies from rep_r
        cmd_r, self.cmd_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        # the child's ends above 4, so that moving them to 3 and 4 and
        # closing the originals cannot close one just moved
        cmd_r, rep_w = (self._above4(fd) for fd in (cmd_r, rep_w))
        # the browser reads fd 3 and writes fd 4: a shell puts our pipe
        # ends there (Debian's /usr/bin/chromium is itself a script;
        # bash, since dash takes only one-digit descriptors)
        err = open(self.log_path or os.devnull, "w")
        argv = [self.exe, *FLAGS, f"--user-data-dir={self.profile}",
                f"--window-size={self.width},{self.height}", "about:blank"]
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", f'exec "$@" 3<&{cmd_r} 4>&{rep_w} {cmd_r}<&- {rep_w}>&-',
             "bash", *argv],
            stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT,
            pass_fds=(cmd_r, rep_w))
        err.close()
        os.close(cmd_r)
        os.close(rep_w)
        try:
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
        except BrowserError as e:
            tail = ""
            if self.log_path and os.path.exists(self.log_path):
                with open(self.log_path, errors="replace") as f:
                    tail = f.read()[-2000:]
            raise BrowserError(f"chromium did not start: {e}\n{tail}") from e
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")  # Runtime.exceptionThrown events
        self.send("Network.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=self.width,
                  height=self.height, deviceScaleFactor=1, mobile=False)
        return self

    @staticmethod
    def _above4(fd):
        hi = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
        os.close(fd)
        return hi

    def close(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.call("Browser.close", timeout=10)
            except (BrowserError, OSError):
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for fd in ("cmd_w", "rep_r"):
            if hasattr(self, fd):
                try:
                    os.close(getattr(self, fd))
                except OSError:
                    pass
                delattr(self, fd)
        if hasattr(self, "profile"):
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()

    def _read_msg(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([self.rep_r], [], [], min(left, 1.0))
            if r:
                chunk = os.read(self.rep_r, 1 << 20)
                if not chunk:
                    raise BrowserError(f"chromium closed the pipe (exit {self.proc.poll()})")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    # ---- protocol ------------------------------------------------------------
    def _send(self, method, session, params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def call(self, method, timeout=60, **params):
        """a browser-level command; its result"""
        return self._wait_reply(self._send(method, None, params), method, timeout)

    def send(self, method, timeout=60, **params):
        """a command to the page's session; its result"""
        return self._wait_reply(self._send(method, self.session, params), method, timeout)

    def _wait_reply(self, mid, method, timeout):
        deadline = time.time() + timeout
        while True:
            m = self._read_msg(deadline)
            if m is None:
                raise BrowserError(f"{method}: no reply within {timeout}s")
            if m.get("id") == mid:
                if "error" in m:
                    raise BrowserError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    # ---- conveniences -----------------------------------------------------------
    def navigate(self, url, timeout=60):
        r = self.send("Page.navigate", timeout=timeout, url=url)
        if r.get("errorText"):
            raise BrowserError(f"navigate {url}: {r['errorText']}")

    def eval(self, expr, timeout=60):
        """the value of a JavaScript expression (promises awaited)"""
        r = self.send("Runtime.evaluate", timeout=timeout, expression=expr,
                      returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise BrowserError(f"JS error in {expr[:80]!r}: "
                               f"{d.get('exception', {}).get('description', d.get('text'))}")
        return r["result"].get("value")

    def wait_for(self, expr, timeout, what):
        """poll a JavaScript expression until it is truthy; its value"""
        deadline, last = time.time() + timeout, None
        while time.time() < deadline:
            try:
                v = self.eval(expr, timeout=max(1, deadline - time.time()))
                if v:
                    return v
                last = v
            except BrowserError as e:
                last = str(e)
            time.sleep(0.25)
        raise BrowserError(f"timed out after {timeout}s waiting for {what} "
                           f"({expr!r} was {last!r})")

    def screenshot(self, path, clip=None, full=False):
        """PNG of the viewport, of clip {x,y,width,height} (CSS px, page
        coordinates), or of the whole page; returns the bytes"""
        args = {"format": "png"}
        if full:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}
        if clip:
            args["clip"] = dict(clip, scale=1)
            args["captureBeyondViewport"] = True
        data = base64.b64decode(self.send("Page.captureScreenshot", timeout=120, **args)["data"])
        with open(path, "wb") as f:
            f.write(data)
        return data

    def requests(self):
        """every URL the page asked for so far (Network.requestWillBeSent)"""
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]
