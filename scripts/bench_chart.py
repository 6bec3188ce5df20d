#!/usr/bin/env python3
"""bench_chart.py - the speed chart of intfa-bench as an SVG: TOPS against N, one panel per
head_dim and mask, one line per kernel (ours from intfa-bench's CSV, PyTorch SDPA's from
bench_sdpa.py's CSV). No plotting library: the SVG is written by hand.

usage: bench_chart.py --csv bench.csv [--sdpa-csv sdpa.csv] --out chart.svg [--title TEXT]
"""
import argparse
import csv
import math
import sys
from xml.sax.saxutils import escape

# kernel -> (legend, colour, dashed); the order is the legend's
SERIES = {
    "int8": ("intfa INT8 attention", "#d62728", False),
    "int8+quant": ("intfa drop-in (quantize + INT8)", "#ff7f0e", True),
    "fp16": ("intfa FP16 baseline", "#1f77b4", False),
    "sdpa-flash": ("PyTorch SDPA flash (FP16)", "#2ca02c", False),
    "sdpa-cudnn": ("PyTorch SDPA cuDNN (FP16)", "#9467bd", False),
}
PANEL_W, PANEL_H, MARGIN_L, MARGIN_T, GAP = 440, 280, 70, 60, 60


def read(path, kernels):
    """{(head_dim, causal): {kernel: [(N, TOPS)]}} of the rows whose kernel is in kernels."""
    out = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r["kernel"] not in kernels or not r["tops"]:
                continue
            key = (int(r["head_dim"]), int(r["causal"]))
            out.setdefault(key, {}).setdefault(r["kernel"], []).append((int(r["seq"]), float(r["tops"])))
    return out


def merge(a, b):
    for key, series in b.items():
        for k, pts in series.items():
            a.setdefault(key, {}).setdefault(k, []).extend(pts)
    return a


def nice_max(v):
    """A round axis maximum above v: 1, 2 or 5 times a power of ten, in steps of a fifth."""
    if v <= 0:
        return 1.0
    p = 10 ** math.floor(math.log10(v))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * p >= v:
            return m * p
    return 10 * p


def label_n(n):
    return "%dk" % (n // 1024) if n % 1024 == 0 else str(n)


def panel(svg, x0, y0, title, series, ymax):
    seqs = sorted({n for pts in series.values() for n, _ in pts})
    lo, hi = math.log2(seqs[0]), math.log2(seqs[-1])
    def px(n):
        return x0 + (PANEL_W * 0.5 if hi == lo else (math.log2(n) - lo) / (hi - lo) * PANEL_W)
    def py(t):
        return y0 + PANEL_H - t / ymax * PANEL_H
    svg.append('<text x="%.1f" y="%.1f" class="title">%s</text>' % (x0 + PANEL_W / 2, y0 - 12, escape(title)))
    svg.append('<rect x="%d" y="%d" width="%d" height="%d" class="frame"/>' % (x0, y0, PANEL_W, PANEL_H))
    for i in range(6):
        t = ymax * i / 5
        svg.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="grid"/>' % (x0, py(t), x0 + PANEL_W, py(t)))
        svg.append('<text x="%d" y="%.1f" class="ytick">%g</text>' % (x0 - 6, py(t) + 4, round(t, 3)))
    for n in seqs:
        svg.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" class="grid"/>' % (px(n), y0, px(n), y0 + PANEL_H))
        svg.append('<text x="%.1f" y="%d" class="xtick">%s</text>' % (px(n), y0 + PANEL_H + 16, label_n(n)))
    svg.append('<text x="%.1f" y="%d" class="axis">sequence length N (batch = 16k / N)</text>' %
               (x0 + PANEL_W / 2, y0 + PANEL_H + 34))
    svg.append('<text transform="translate(%d,%.1f) rotate(-90)" class="axis">TOPS / TFLOPS</text>' %
               (x0 - 48, y0 + PANEL_H / 2))
    for kernel, (_, colour, dashed) in SERIES.items():
        pts = sorted(series.get(kernel, []))
        if not pts:
            continue
        path = " ".join("%.1f,%.1f" % (px(n), py(t)) for n, t in pts)
        svg.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>' %
                   (path, colour, ' stroke-dasharray="6,4"' if dashed else ""))
        for n, t in pts:
            svg.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s N=%d: %.1f</title></circle>' %
                       (px(n), py(t), colour, escape(kernel), n, t))


def render(data, title):
    keys = sorted(data)
    cols = 2 if len(keys) > 1 else 1
    rows = (len(keys) + cols - 1) // cols
    width = MARGIN_L + cols * PANEL_W + (cols - 1) * GAP + 30
    height = MARGIN_T + rows * (PANEL_H + GAP + 20) + 60
    ymax = nice_max(max(t for s in data.values() for pts in s.values() for _, t in pts))
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="12">' % (width, height, width, height),
           '<style>.title{font-size:14px;font-weight:bold;text-anchor:middle}'
           '.frame{fill:none;stroke:#444}.grid{stroke:#ddd}.ytick{text-anchor:end}'
           '.xtick{text-anchor:middle}.axis{text-anchor:middle;fill:#444}</style>',
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>' % (MARGIN_L, escape(title))]
    for i, (hd, causal) in enumerate(keys):
        x0 = MARGIN_L + (i % cols) * (PANEL_W + GAP)
        y0 = MARGIN_T + 10 + (i // cols) * (PANEL_H + GAP + 20)
        panel(svg, x0, y0, "head_dim %d, %s" % (hd, "causal" if causal else "non-causal"), data[(hd, causal)], ymax)
    present = [k for k in SERIES if any(k in s for s in data.values())]
    x, y = MARGIN_L, height - 38
    for k in present:
        name, colour, dashed = SERIES[k]
        if x + 40 + 6.5 * len(name) > width:  # next legend row
            x, y = MARGIN_L, y + 20
        svg.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2"%s/>' %
                   (x, y - 4, x + 24, y - 4, colour, ' stroke-dasharray="6,4"' if dashed else ""))
        svg.append('<text x="%.1f" y="%d">%s</text>' % (x + 30, y, escape(name)))
        x += 40 + 6.5 * len(name)
    svg.append("</svg>")
    return "\n".join(svg) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", required=True, help="intfa-bench --csv output")
    ap.add_argument("--sdpa-csv", help="bench_sdpa.py --csv output")
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="INT8 attention (intfa) vs FP16 attention")
    args = ap.parse_args()
    data = read(args.csv, {"int8", "int8+quant", "fp16"})
    if args.sdpa_csv:
        data = merge(data, read(args.sdpa_csv, {"sdpa-flash", "sdpa-cudnn"}))
    if not data:
        print("bench_chart.py: no timed attention rows in the input", file=sys.stderr)
        return 1
    with open(args.out, "w") as f:
        f.write(render(data, args.title))
    print("bench_chart.py: wrote %s (%d panels)" % (args.out, len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
