"""Look at `sim report` output as a reader's browser shows it: headless Chromium screenshots.

    python benchmarks/report_screenshot.py RESULT_DIR [RESULT_DIR ...] [--out DIR] [--height PX]

Writes the report (`report.html` in --out) and `report.png`, a 1280-pixel-wide screenshot of it,
and says whether anything is drawn right of the page's text column (a table cut off at 1280 px).
Needs Chromium (Debian: `apt-get install chromium`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from PIL import Image

    from sim.analysis.report import screenshot
    from sim.cli import main as sim_main

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("result_dirs", nargs="+")
    p.add_argument("--out", default="results/report_screenshot")
    p.add_argument("--height", type=int, default=2000)
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    html = out / "report.html"
    if sim_main(["report", *args.result_dirs, "--out", str(html)]) != 0:
        return 1
    png = screenshot(html, out / "report.png", height=args.height)
    img = Image.open(png).convert("L")
    right = img.crop((1230, 0, img.width, img.height))
    overflow = right.getextrema()[0] < 250
    print(f"{png}: {img.width}x{img.height}; " + ("content right of the text column: something overflows"
                                                  if overflow else "nothing drawn beyond the text column"))
    return 1 if overflow else 0


if __name__ == "__main__":
    sys.exit(main())
