#!/usr/bin/env python3
"""Draws the CSV of bench/soak.py into a small PNG: the router's RSS over time (top), its file
descriptors, threads and live sessions (bottom), with the warm-up and end windows shaded.

    python3 bench/soak_plot.py target/soak/soak.csv soak.png [--title T] [--warmup A:B] [--end A:B]

Needs matplotlib (`python3 -m venv .venv && .venv/bin/pip install matplotlib`); bench/soak.py
runs it with `--plot PNG --plot-python .venv/bin/python`.
"""

import argparse
import csv
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def span(text):
    if not text:
        return None
    a, b = (float(x) for x in text.split(":"))
    return (a, b) if b > a else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv")
    ap.add_argument("png")
    ap.add_argument("--title", default="wamp-router soak")
    ap.add_argument("--warmup", help="A:B seconds of the warm-up window (shaded) [default: the rows "
                    "soak.py tagged warm-up]")
    ap.add_argument("--end", help="A:B seconds of the end window (shaded) [default: the rows tagged end]")
    ap.add_argument("--band", help="KB:TOL: the warm-up RSS and the tolerance, dotted lines at KB and KB×(1+TOL) "
                    "[default: the median RSS of the warm-up rows, 0.10]")
    a = ap.parse_args()

    with open(a.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    num = lambda r, k: float(r[k]) if r.get(k) not in (None, "") else float("nan")
    t = [num(r, "t_s") / 60 for r in rows]
    load = [r for r in rows if r["phase"] == "load"]
    # The windows of the verdict, as bench/soak.py tagged the samples.
    for name, arg in (("warm-up", "warmup"), ("end", "end")):
        ts = [num(r, "t_s") for r in rows if r.get("window") == name]
        if ts and not getattr(a, arg):
            setattr(a, arg, f"{min(ts)}:{max(ts)}")
    if not a.band:
        warm = sorted(num(r, "rss_kb") for r in rows if r.get("window") == "warm-up" and r["rss_kb"])
        if warm:
            a.band = f"{statistics.median(warm)}:0.10"

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5.2), dpi=80, sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
    top.plot(t, [num(r, "rss_kb") / 1024 for r in rows], color="tab:blue", lw=1, label="RSS")
    top.set_ylabel("RSS (MiB)")
    top.set_ylim(0, max((num(r, "rss_kb") for r in rows), default=1024) / 1024 * 1.08)
    if a.band:
        kb, tol = (float(x) for x in a.band.split(":"))
        if kb > 0:
            top.axhline(kb / 1024, color="tab:blue", lw=0.6, ls=":")
            top.axhline(kb * (1 + tol) / 1024, color="tab:red", lw=0.6, ls=":")
            top.text(0.99, kb * (1 + tol) / 1024, f"warm-up RSS +{tol:.0%}: the limit ",
                     transform=top.get_yaxis_transform(), ha="right", va="bottom", fontsize=7, color="tab:red")
            top.set_ylim(0, max(top.get_ylim()[1], kb * (1 + tol) / 1024 * 1.08))
    for w, color, label in ((span(a.warmup), "tab:green", "warm-up"), (span(a.end), "tab:orange", "end")):
        if w:
            for ax in (top, bottom):
                ax.axvspan(w[0] / 60, w[1] / 60, color=color, alpha=0.12, lw=0)
            top.text((w[0] + w[1]) / 120, 0.02, label, transform=top.get_xaxis_transform(),
                     ha="center", fontsize=8, color=color)
    if load:
        for ax in (top, bottom):
            ax.axvline(num(load[0], "t_s") / 60, color="grey", lw=0.6, ls="--")
            ax.axvline(num(load[-1], "t_s") / 60, color="grey", lw=0.6, ls="--")
    top.set_title(a.title, fontsize=9)
    top.grid(alpha=0.3)

    bottom.plot(t, [num(r, "fds") for r in rows], color="tab:red", lw=0.8, label="file descriptors")
    bottom.plot(t, [num(r, "sessions") for r in rows], color="tab:purple", lw=0.8, label="sessions")
    bottom.set_ylabel("fds, sessions")
    bottom.set_ylim(bottom=0)
    right = bottom.twinx()
    right.plot(t, [num(r, "threads") for r in rows], color="tab:brown", lw=1, ls=":", label="threads")
    right.set_ylabel("threads")
    right.set_ylim(0, max(4, max((num(r, "threads") for r in rows), default=1) * 1.5))
    lines = [l for l in bottom.get_lines() + right.get_lines() if not l.get_label().startswith("_")]
    bottom.legend(lines, [l.get_label() for l in lines], fontsize=7, loc="upper right", ncol=3)
    bottom.set_xlabel("minutes since the router started")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(a.png, dpi=80, pil_kwargs={"optimize": True})


if __name__ == "__main__":
    main()
