"""Screenshot of the annotation app's recording view (docs/annotate.png).

    python scripts/screenshot_annotate.py AUDIO LABELS OUT.png [--classes a,b]

Starts the real app on a loopback port over AUDIO/LABELS (a copy of LABELS is used, so
nothing is written to it), opens it in headless Chromium, waits for the first recording of
the queue, selects its first box and saves a screenshot.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    ap.add_argument("audio", type=Path)
    ap.add_argument("labels", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--classes", default=None)
    args = ap.parse_args()

    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from sedal.benchmark.practice.annotate import AnnotationSession
    from sedal.benchmark.practice.serve import bind
    from sedal.benchmark.practice.webapp import create_app

    with tempfile.TemporaryDirectory() as tmp:
        labels = Path(tmp) / "labels"
        shutil.copytree(args.labels, labels)
        session = AnnotationSession(args.audio, labels, classes=args.classes.split(",")
                                    if args.classes else None)
        sock = bind("127.0.0.1", 0)
        app = create_app(session, "screenshot", out=Path(tmp) / "out")
        srv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True).start()
        while not srv.started:
            time.sleep(0.05)
        opts = webdriver.ChromeOptions()
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,760",
                  "--hide-scrollbars"):
            opts.add_argument(a)
        opts.binary_location = shutil.which("chromium") or shutil.which("google-chrome")
        d = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
        try:
            d.get(f"http://127.0.0.1:{sock.getsockname()[1]}/?token=screenshot")
            t0 = time.time()
            while not d.execute_script("return window.sedal.ready === true"):
                if time.time() - t0 > 60:
                    raise SystemExit("the page did not load")
                time.sleep(0.2)
            time.sleep(1.0)
            d.execute_script("const r = window.sedal.regions.getRegions();"
                             "if (r.length) { r[0].element.style.outline = '2px solid #000'; }")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            d.save_screenshot(str(args.out))
        finally:
            d.quit()
            srv.should_exit = True
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
