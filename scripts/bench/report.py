"""Turns the raw runs bench.sh collected into the table and bench/results.json.

    report.py RAW.jsonl OUT.json META.json

RAW holds one JSON object a line: {"scenario", "run", "data"} or {"scenario", "error"}.
Each table row is one figure of one scenario: the median over the runs (or as noted), the
BARS target it is held to, and pass/fail. Exits 1 when a scenario failed to run.
"""

import json
import statistics
import sys


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def per_run(key):
    """The figure `key` of each run's data, and their median."""
    def get(records):
        runs = [r["data"].get(key) for r in records]
        return med(runs), runs
    return get


def hook_stored(records):
    """Every 202 wrk counted is in the database: the newest change id is at least that count
    times the changes a request makes (changes_per_hook, 1 unless recorded). When the run also
    counted the stored changes and the deliveries the master logged as 202 (hook_github), the
    changes must be exactly changes_per_hook times those deliveries, which must cover wrk's 202s
    (wrk does not count answers still in flight when it stops)."""
    runs = []
    for r in records:
        d = r["data"]
        x = {"accepted_202": d.get("accepted_202"), "newest_change_id": d.get("newest_change_id")}
        for k in ("changes_per_hook", "changes_stored", "deliveries_202"):
            if d.get(k) is not None:
                x[k] = d[k]
        runs.append(x)

    def ok(x):
        per = x.get("changes_per_hook", 1)
        if x["accepted_202"] is None or x["newest_change_id"] is None:
            return False
        if x["newest_change_id"] < x["accepted_202"] * per:
            return False
        if "changes_stored" in x or "deliveries_202" in x:
            stored, logged = x.get("changes_stored"), x.get("deliveries_202")
            return (stored is not None and logged is not None and stored == logged * per
                    and logged >= x["accepted_202"])
        return True
    return (1 if runs and all(ok(x) for x in runs) else 0), runs


def log_figure(fn):
    def get(records):
        if not records:
            return None, []
        return fn(records[-1]["data"])
    return get


def log_ingest(d):
    runs = [r.get("ingest_mb_s") for r in d["runs"]]
    return med(runs), runs


def log_ingest_step(d):
    """Only shown when the step lasts long enough (2 s) for the API's whole seconds to mean much."""
    steps = [r.get("step_s") for r in d["runs"]]
    if (med(steps) or 0) < 2:
        return None, steps
    return med([r.get("ingest_step_mb_s") for r in d["runs"]]), steps


def log_ingest_rss(d):
    runs = [r.get("rss_peak_kb") for r in d["runs"]]
    runs = [round(v / 1024, 1) for v in runs if v]
    return (max(runs) if runs else None), [
        {"rss_before_mb": round(r["rss_before_kb"] / 1024, 1), "rss_peak_mb": round(r["rss_peak_kb"] / 1024, 1),
         "rss_after_mb": round(r["rss_after_kb"] / 1024, 1)} for r in d["runs"] if r.get("rss_after_kb")]


def log_stored(d):
    s = d.get("stored") or {}
    return s.get("ratio_pct"), [s]


def log_tail(d):
    return d.get("tail_median_ms"), d.get("tail_ms", [])


def log_raw(d):
    runs = [r["mb_s"] for r in d.get("raw", [])]
    return med(runs), runs


def log_raw_rss(d):
    runs = [r["rss_growth_mb"] for r in d.get("raw", [])]
    return (max(runs) if runs else None), runs


def fcp(key):
    """The median of one list of timings recorded by fcp.mjs."""
    def get(records):
        runs = records[-1]["data"].get(key, []) if records else []
        return med(runs), runs
    return get


def peak_rss(records):
    runs = [r["data"].get("vm_hwm_mb") for r in records]
    runs = [v for v in runs if v is not None]
    return (max(runs) if runs else None), runs


# scenario, figure, how to get it, unit, comparison, target, BARS id, Buildbot 4.3's figure
# [, the scenario whose records hold it when not the row's own]
ROWS = [
    ("start_to_openapi", "exec → first 200", per_run("openapi_ms"), "ms", "<=", 100, "P11", 1320),
    ("start_to_openapi", "same, 3,000 builds (info)", per_run("openapi_ms"), "ms", None, None, "P11", None,
     "start_seeded"),
    ("idle_rss", "RSS 5 s after start", per_run("rss_mb"), "MB", "<=", 10, "P10", 95),
    ("hook_base", "POST /change_hook/base", per_run("rps"), "req/s", ">=", 5000, "P1", 131),
    ("hook_base", "p99", per_run("p99_ms"), "ms", "<=", 25, "P1", 144),
    ("hook_base", "every 202 stored", hook_stored, "", "ok", None, "P1", None),
    ("hook_github", "POST /change_hook/github (signed push)", per_run("rps"), "hooks/s", ">=", 5000, "P1", None),
    ("hook_github", "changes stored (3 a hook)", per_run("changes_per_s"), "changes/s", None, None, "P1", None),
    ("hook_github", "p99", per_run("p99_ms"), "ms", "<=", 25, "P1", None),
    ("hook_github", "every 202 stored", hook_stored, "", "ok", None, "P1", None),
    ("changes_list", "GET changes?limit=50", per_run("rps"), "req/s", ">=", 8000, "P3", 64),
    ("changes_list", "p99", per_run("p99_ms"), "ms", "<=", 10, "P3", 318),
    ("trivial_builds", "1000 forced, 3 echo steps", per_run("builds_per_s"), "builds/s", ">=", 175, "P7", 2.95),
    ("healthz", "GET /healthz (this server's ceiling here, info)", per_run("rps"), "req/s", None, None, "", None),
    ("builds_list", "GET builds?limit=50", per_run("rps"), "req/s", ">=", 8000, "P2", 150),
    ("builds_list", "p99", per_run("p99_ms"), "ms", "<=", 10, "P2", 160),
    ("builder_builds", "GET builds?builder=B&limit=20", per_run("rps"), "req/s", ">=", 10000, "P2b", None),
    ("builder_builds", "p99", per_run("p99_ms"), "ms", "<=", 10, "P2b", None),
    ("builders_list", "GET builders", per_run("rps"), "req/s", ">=", 10000, "P3", 393),
    ("builders_list", "p99", per_run("p99_ms"), "ms", "<=", 10, "P3", 89),
    ("waterfall_view", "GET views/waterfall p50", per_run("p50_ms"), "ms", "<=", 10, "P4", None),
    ("waterfall_view", "p99", per_run("p99_ms"), "ms", "<=", 30, "P4", None),
    ("waterfall_view", "throughput (info)", per_run("rps"), "req/s", None, None, "", None),
    ("badge_svg", "GET /badges/{b}.svg", per_run("rps"), "req/s", ">=", 20000, "P5", 309),
    ("badge_svg", "p99", per_run("p99_ms"), "ms", None, None, "P5", None),
    ("png_status", "GET /png?builder=", per_run("rps"), "req/s", ">=", 20000, "P5", None),
    ("png_status", "p99", per_run("p99_ms"), "ms", None, None, "P5", None),
    ("views_seed_100k", "cascade bench seed, 100k builds", per_run("seconds"), "s", None, None, "", None),
    ("view_waterfall_100k", "views/waterfall at 100k, p50", per_run("p50_ms"), "ms", "<=", 10, "P4", None),
    ("view_waterfall_100k", "p99", per_run("p99_ms"), "ms", "<=", 30, "P4", None),
    ("view_waterfall_100k", "throughput (info)", per_run("rps"), "req/s", None, None, "", None),
    ("view_waterfall_busy_100k", "same, 20 changes/s arriving, p50", per_run("p50_ms"), "ms", "<=", 10, "P4", None),
    ("view_waterfall_busy_100k", "p99", per_run("p99_ms"), "ms", "<=", 30, "P4", None),
    ("view_grid_100k", "views/grid at 100k, p50", per_run("p50_ms"), "ms", "<=", 10, "P4", None),
    ("view_grid_100k", "p99", per_run("p99_ms"), "ms", "<=", 30, "P4", None),
    ("view_grid_100k", "throughput (info)", per_run("rps"), "req/s", None, None, "", None),
    ("view_grid_busy_100k", "same, 20 changes/s arriving, p50", per_run("p50_ms"), "ms", "<=", 10, "P4", None),
    ("view_grid_busy_100k", "p99", per_run("p99_ms"), "ms", "<=", 30, "P4", None),
    ("view_console_100k", "views/console at 100k, p50", per_run("p50_ms"), "ms", "<=", 10, "P4", None),
    ("view_console_100k", "p99", per_run("p99_ms"), "ms", "<=", 30, "P4", None),
    ("view_console_100k", "throughput (info)", per_run("rps"), "req/s", None, None, "", None),
    ("view_console_busy_100k", "same, 20 changes/s arriving, p50", per_run("p50_ms"), "ms", "<=", 10, "P4", None),
    ("view_console_busy_100k", "p99", per_run("p99_ms"), "ms", "<=", 30, "P4", None),
    ("view_waterfall_cold_100k", "waterfall uncached, one viewer, p50 (info)", per_run("p50_ms"), "ms", None, None, "", None),
    ("view_waterfall_cold_100k", "p99 (info)", per_run("p99_ms"), "ms", None, None, "", None),
    ("views_seed_1m", "cascade bench seed, 1M builds", per_run("seconds"), "s", None, None, "", None),
    ("view_waterfall_1m", "views/waterfall at 1M, p50", per_run("p50_ms"), "ms", "<=", 10, "P4", None),
    ("view_waterfall_1m", "p99", per_run("p99_ms"), "ms", "<=", 30, "P4", None),
    ("view_waterfall_1m", "throughput (info)", per_run("rps"), "req/s", None, None, "", None),
    ("view_waterfall_busy_1m", "same, 20 changes/s arriving, p50", per_run("p50_ms"), "ms", "<=", 10, "P4", None),
    ("view_waterfall_busy_1m", "p99", per_run("p99_ms"), "ms", "<=", 30, "P4", None),
    ("view_grid_1m", "views/grid at 1M, p50", per_run("p50_ms"), "ms", "<=", 10, "P4", None),
    ("view_grid_1m", "p99", per_run("p99_ms"), "ms", "<=", 30, "P4", None),
    ("view_grid_1m", "throughput (info)", per_run("rps"), "req/s", None, None, "", None),
    ("view_grid_busy_1m", "same, 20 changes/s arriving, p50", per_run("p50_ms"), "ms", "<=", 10, "P4", None),
    ("view_grid_busy_1m", "p99", per_run("p99_ms"), "ms", "<=", 30, "P4", None),
    ("view_console_1m", "views/console at 1M, p50", per_run("p50_ms"), "ms", "<=", 10, "P4", None),
    ("view_console_1m", "p99", per_run("p99_ms"), "ms", "<=", 30, "P4", None),
    ("view_console_1m", "throughput (info)", per_run("rps"), "req/s", None, None, "", None),
    ("view_console_busy_1m", "same, 20 changes/s arriving, p50", per_run("p50_ms"), "ms", "<=", 10, "P4", None),
    ("view_console_busy_1m", "p99", per_run("p99_ms"), "ms", "<=", 30, "P4", None),
    ("view_waterfall_cold_1m", "waterfall uncached, one viewer, p50 (info)", per_run("p50_ms"), "ms", None, None, "", None),
    ("view_waterfall_cold_1m", "p99 (info)", per_run("p99_ms"), "ms", None, None, "", None),
    ("spa_size", "SPA JS + CSS, gzipped", per_run("gzip_kb"), "KB", "<=", 200, "P12", None),
    ("spa_fcp", "/waterfall first contentful paint, 100k", fcp("fcp_ms"), "ms", "<=", 500, "P12", None),
    ("spa_fcp", "/waterfall builds on screen (info)", fcp("shown_ms"), "ms", None, None, "", None),
    ("peak_rss", "max VmHWM under P1-P6 (hooks, lists, views, event streams)", peak_rss, "MB", "<=", 40, "P10", 103),
    ("log_tail", "ingestion (stamped)", log_figure(log_ingest), "MB/s", ">=", 100, "P8", None),
    ("log_tail", "ingestion (step times, if ≥ 2 s)", log_figure(log_ingest_step), "MB/s", None, None, "P8", None),
    ("log_tail", "RSS peak ingesting (info)", log_figure(log_ingest_rss), "MB", None, None, "", None),
    ("log_tail", "stored / raw", log_figure(log_stored), "%", "<=", 25, "P8", None),
    ("log_tail", "last 1000 lines", log_figure(log_tail), "ms", "<=", 20, "P9", None),
    ("log_tail", "raw streamed", log_figure(log_raw), "MB/s", ">=", 200, "P9", None),
    ("log_tail", "RSS growth streaming (max)", log_figure(log_raw_rss), "MB", "<=", 10, "P9", None),
    ("sse_fanout", "build finished → 1,000 event-stream clients, p99", per_run("p99_ms"), "ms", "<=", 50, "P6", None),
    ("sse_fanout", "same, p50 (info)", per_run("p50_ms"), "ms", None, None, "", None),
    ("sse_fanout", "first client → last client for one build, p99 (info)", per_run("spread_p99_ms"), "ms", None, None, "", None),
    ("sse_fanout", "builds every client received (of 20)", per_run("builds_seen_by_all"), "", None, None, "P6", None),
    ("sse_fanout", "master RSS with the clients connected (info)", per_run("rss_connected_mb"), "MB", None, None, "", None),
    ("reporters", "build finished → mail at the SMTP server, p99", per_run("mail_p99_ms"), "ms", "<=", 1000, "P13", None),
    ("reporters", "same, p50 (info)", per_run("mail_p50_ms"), "ms", None, None, "", None),
    ("reporters", "build finished → line in the IRC channel, p99", per_run("irc_p99_ms"), "ms", "<=", 1000, "P13", None),
    ("reporters", "same, p50 (info)", per_run("irc_p50_ms"), "ms", None, None, "", None),
    ("reporters", "build finished → POST at the HTTP push receiver, p99", per_run("http_p99_ms"), "ms", "<=", 1000, "P13", None),
    ("reporters", "same, p50 (info)", per_run("http_p50_ms"), "ms", None, None, "", None),
    ("multimaster", "build finished: A's event stream → B's, p50 (info)", per_run("p50_ms"), "ms", None, None, "", None),
    ("multimaster", "same, p99 (info)", per_run("p99_ms"), "ms", None, None, "", None),
    ("binary_size", "target/release/cascade", per_run("mb"), "MB", None, None, "", None),
]

# The scenarios BARS.md holds to PostgreSQL too (P1-P4, P6): bench.sh runs each again as NAME_pg,
# and the table repeats their rows, marked, after the SQLite ones.
PG_SCENARIOS = ("hook_base", "hook_github", "changes_list", "builds_list", "builder_builds", "builders_list",
                "views_seed_100k", "view_waterfall_100k", "view_waterfall_busy_100k", "view_grid_100k",
                "view_grid_busy_100k", "view_console_100k", "view_console_busy_100k", "view_waterfall_cold_100k",
                "views_seed_1m", "view_waterfall_1m", "view_waterfall_busy_1m", "view_grid_1m", "view_grid_busy_1m",
                "view_console_1m", "view_console_busy_1m", "view_waterfall_cold_1m", "sse_fanout")
ROWS += [(f"{scenario}_pg", f"PostgreSQL: {figure}", *rest)
         for scenario, figure, *rest in ROWS if scenario in PG_SCENARIOS]

LOWER_IS_BETTER = {"<="}
# CPU seconds other processes may take during one wrk run before the report calls it noisy.
NOISE_CPU_S = 1.0


def fmt(v, unit=""):
    if v is None:
        return "—"
    if isinstance(v, float):
        if abs(v) >= 1000:
            s = f"{v:,.0f}"
        elif abs(v) >= 100:
            s = f"{v:.0f}"
        elif abs(v) >= 10:
            s = f"{v:.1f}"
        else:
            s = f"{v:.2f}"
    else:
        s = f"{v:,}" if isinstance(v, int) else str(v)
    return f"{s} {unit}".strip()


def main():
    raw_path, out_path, meta_path = sys.argv[1:4]
    records = {}
    errors = []
    with open(raw_path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if "error" in r:
                errors.append(r)
            else:
                records.setdefault(r["scenario"], []).append(r)
    with open(meta_path) as f:
        meta = json.load(f)
    failed = {e["scenario"] for e in errors}

    # The same figures of the previous run, to print the change; and /healthz's throughput
    # in this run, the ceiling each req/s figure is also shown against (absolute figures move
    # by tens of percent from run to run on these machines; ratios within one run much less).
    previous = {}
    try:
        with open(out_path) as f:
            previous = {(r["scenario"], r["figure"]): r.get("value") for r in json.load(f).get("rows", [])}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    ceiling = per_run("rps")(records["healthz"])[0] if records.get("healthz") else None

    rows = []
    for scenario, figure, get, unit, op, target, bars, buildbot, *source in ROWS:
        recs = records.get(source[0] if source else scenario, [])
        value, runs = get(recs) if recs else (None, [])
        if scenario in failed and value is None:
            verdict = "ERROR"
        elif not recs:
            verdict = "skipped"
        elif value is None:
            verdict = "n/a" if op is None else "ERROR"
        elif op is None:
            verdict = "info"
        elif op == "ok":
            verdict = "pass" if value else "FAIL"
        elif op == "<=":
            verdict = "pass" if value <= target else "FAIL"
        else:
            verdict = "pass" if value >= target else "FAIL"
        vs = None
        if buildbot and value:
            vs = round(buildbot / value, 1) if op in LOWER_IS_BETTER else round(value / buildbot, 1)
        if op == "ok":
            shown = "yes" if value else "NO"
            detail = runs[len(runs) // 2] if runs else {}
            if detail:
                per = detail.get("changes_per_hook", 1)
                shown += f" ({detail['accepted_202']:,}{f' × {per}' if per != 1 else ''} → id {detail['newest_change_id']:,}"
                if "changes_stored" in detail:
                    shown += f"; {detail['changes_stored']:,} stored, {detail.get('deliveries_202', 0):,} logged 202"
                shown += ")"
            value_out = bool(value)
        else:
            shown = fmt(value, unit)
            value_out = value
        target_s = "" if op in (None, "ok") else f"{'≤' if op == '<=' else '≥'} {fmt(float(target) if isinstance(target, float) else target, unit)}"
        if op == "ok":
            target_s = "all 202s in db"
        cpu_us = None
        if unit in ("req/s", "hooks/s") and recs:
            cpu_us = med([r["data"]["master_cpu_s"] * 1e6 / r["data"]["requests"] for r in recs
                          if r["data"].get("master_cpu_s") is not None and r["data"].get("requests")])
        of_ceiling = None
        if unit == "req/s" and ceiling and isinstance(value_out, (int, float)) and scenario != "healthz":
            of_ceiling = round(value_out / ceiling, 3)
        before = previous.get((scenario, figure))
        change = None
        if isinstance(before, (int, float)) and not isinstance(before, bool) and before and \
                isinstance(value_out, (int, float)) and not isinstance(value_out, bool):
            change = round((value_out - before) / before * 100)
        rows.append({
            "scenario": scenario, "figure": figure, "value": value_out, "shown": shown, "unit": unit,
            "target": target_s, "bars": bars, "result": verdict, "buildbot_4_3": buildbot,
            "vs_buildbot": vs, "master_cpu_us_per_request": round(cpu_us) if cpu_us else None,
            "of_healthz": of_ceiling, "change_pct": change, "previous": before, "runs": runs,
        })

    headers = ("scenario", "figure", "median", "target", "BARS", "result", "of /healthz", "vs previous",
               "vs Buildbot 4.3", "master CPU/req")
    table = [headers] + [
        (r["scenario"], r["figure"], r["shown"], r["target"], r["bars"], r["result"],
         f"{r['of_healthz']:.0%}" if r["of_healthz"] is not None else "",
         f"{r['change_pct']:+d} %" if r["change_pct"] is not None else "",
         f"{r['vs_buildbot']}×" if r["vs_buildbot"] else "",
         f"{r['master_cpu_us_per_request']} µs" if r["master_cpu_us_per_request"] else "")
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(headers))]
    line = "  ".join("-" * w for w in widths)
    print()
    for i, row in enumerate(table):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            print(line)
    passed = sum(r["result"] == "pass" for r in rows)
    judged = sum(r["result"] in ("pass", "FAIL", "ERROR") for r in rows)
    print(f"\n{passed}/{judged} targets met; medians of {meta.get('settings', {}).get('runs', '?')} runs "
          f"(see the notes in scripts/bench.sh for what differs from BARS.md's setups).")
    # Noise: CPU other processes than the master and wrk took during the wrk runs.
    noisy = []
    for scenario, recs in records.items():
        others = [r["data"].get("other_cpu_s") for r in recs if r["data"].get("other_cpu_s") is not None]
        if others and max(others) > NOISE_CPU_S:
            noisy.append(f"{scenario} (up to {max(others):.1f} CPU-s)")
    if noisy:
        print(f"warning: other processes used CPU during some wrk runs, so those figures are low: "
              f"{', '.join(noisy)}; see other_cpu_s in the raw runs.")
    for e in errors:
        print(f"ERROR in {e['scenario']}: {e['error']}")

    out = dict(meta)
    out["rows"] = rows
    out["raw"] = {k: [{"run": r.get("run"), **r["data"]} for r in v] for k, v in records.items()}
    out["errors"] = errors
    with open(out_path, "w") as f:
        json.dump(out, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"Wrote {out_path}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
