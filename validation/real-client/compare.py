#!/usr/bin/env python3
"""Run swarmsim on every setting of the real-client grid and compare it with the real swarms.

For each setting of settings.csv (written by run_real.py) and each simulator
configuration below, this writes a scenario (same N, F, piece size, rates; libtorrent's
defaults expressed in swarmsim's fields), runs it with several seeds, and compares with
the real measurements in swarms.csv and runs.csv:

    mean and max completion time, seed copies (seed's uploaded bytes / F) and the
    leechers' upload use (bytes uploaded / (upload limit x time until the last leecher
    completes)), real and simulated, and their ratio sim / real.

Writes comparison.csv (every setting x configuration) and comparison.md (a markdown table
per configuration) into --out. Standard library only; any Python 3.8+.

Usage:
    python3 validation/real-client/compare.py [--bin target/release/swarmsim]
        [--data validation/real-client] [--out validation/real-client] [--seeds 5]
        [--config closest,...]
"""

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# libtorrent 2.0.8's defaults in today's swarmsim fields (docs/CLIENT-RULES.md has the
# sources): unchoke_slots_limit = 8 counts the optimistic slot (max(1, 8 / 5) = 1), so 7
# regular + 1 optimistic; unchoke_interval 15 s; optimistic_unchoke_interval 30 s; the
# leecher ranks peers by the bytes they sent it since the last rechoke (a 15 s window);
# seed_choking_algorithm round_robin; initial_picker_threshold 4 random pieces;
# close_redundant_connections on; end-game on. Loopback: no latency.
BASE = {
    "max_peers": 200,
    "max_connections": 200,
    "picker": '"rarest-first"',
    "random_first": 4,
    "endgame": "true",
    "choker": '"tit-for-tat"',
    "seed_choker": '"round-robin"',
    "unchoke_slots": 7,
    "rate_window": '"15 s"',
    "rechoke_interval": '"15 s"',
    "optimistic_interval": '"30 s"',
    "requests_in_flight": 1,
    "close_redundant": "true",
}
# The libtorrent-2.0 preset (docs/PRESETS.md) sets the rest; the table sizes only
# make room for every peer of the grid.
PRESET_BASE = {
    "max_peers": 200,
    "max_connections": 200,
    "preset": '"libtorrent-2.0"',
}
CONFIGS = {
    # The closest today's fields get, one whole-piece request per connection.
    "closest": {},
    # As the issue first described it: 8 regular slots plus one optimistic.
    "slots8": {"unchoke_slots": 8},
    # Three whole-piece requests in flight per connection (served in parallel).
    "rif3": {"requests_in_flight": 3},
    # The libtorrent-2.0 preset with its block request pipeline.
    "preset": {"_base": PRESET_BASE},
    # The preset with whole-chunk requests (the model without the pipeline).
    "preset-chunks": {"_base": PRESET_BASE, "requests": '"whole-chunk"'},
    # The preset without one of its start-up and rate-limit rules (ablations).
    "preset-no-fast": {"_base": PRESET_BASE, "allowed_fast": 0},
    "preset-no-overhead": {"_base": PRESET_BASE, "rate_limit_overhead": "false"},
    "preset-no-whole": {"_base": PRESET_BASE, "whole_pieces_threshold": '"0 s"'},
    # The preset with libtorrent's averaged download rate behind the queue.
    "preset-ewma": {"_base": PRESET_BASE, "request_rate": '"ewma-5s"'},
    # The preset with libtorrent's triggers for an idle connection to ask again.
    "preset-idle": {"_base": PRESET_BASE, "idle_retry": '"every-5s"'},
    # The preset with libtorrent's whole-piece picks: below the depth, adjacent runs.
    "preset-runs": {"_base": PRESET_BASE, "whole_pieces_rule": '"adjacent-runs"'},
    # The preset with all three of libtorrent's request rules it leaves out.
    "preset-lt-requests": {"_base": PRESET_BASE, "whole_pieces_rule": '"adjacent-runs"',
                           "request_rate": '"ewma-5s"', "idle_retry": '"every-5s"'},
    # The real start-up, which swarmsim does not model, given as an input: the leechers
    # arrive when the real seed sent its first payload (the setting's mean
    # seed_first_upload_s in swarms.csv); the preset, and with libtorrent's whole-piece
    # picks.
    "preset-start": {"_base": PRESET_BASE, "_start": True},
    "preset-runs-start": {"_base": PRESET_BASE, "_start": True,
                          "whole_pieces_rule": '"adjacent-runs"'},
}


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def scenario(name, n, size, piece, up, seed_up, fields, start=None):
    lines = [
        'name = "%s"' % name,
        "seed = 1",
        "",
        "[file]",
        'size = "%d B"' % size,
        'chunk = "%d B"' % piece,
        "",
        "[server]",
        'upload = "%d B/s"' % seed_up,
        "",
        "[[peers]]",
        "count = %d" % n,
        'upload = "%d B/s"' % up,
        'download = "unlimited"',
    ]
    if start is not None:
        lines.append('arrival = { process = "times", times = [%s] }'
                     % ", ".join(['"%.3f s"' % start] * n))
    lines += [
        "",
        "[protocol]",
        'kind = "bittorrent"',
    ]
    lines += ["%s = %s" % (k, v) for k, v in fields.items()]
    lines += ["", "[network]", 'model = "max-min"', ""]
    return "\n".join(lines)


def sim_setting(binary, work, s, cfg, seeds, start):
    """Per seed: (mean completion, max completion, seed copies, leecher upload use);
    `start` is the leechers' arrival (seconds) where the configuration asks for it."""
    extra = dict(CONFIGS[cfg])
    if not extra.pop("_start", False):
        start = None
    elif start is None:
        raise RuntimeError("%s: no seed_first_upload_s in swarms.csv" % s["setting"])
    fields = dict(extra.pop("_base", BASE))
    fields.update(extra)
    n, size, piece = int(s["leechers"]), int(s["file_bytes"]), int(s["piece_bytes"])
    up, seed_up = int(s["leecher_upload_bytes_per_s"]), int(s["seed_upload_bytes_per_s"])
    name = "real-%s-%s" % (s["setting"], cfg)
    path = os.path.join(work, name + ".toml")
    with open(path, "w") as fh:
        fh.write(scenario(name, n, size, piece, up, seed_up, fields, start))
    out = []
    bound = None
    for seed in range(1, seeds + 1):
        od = os.path.join(work, "%s-%d" % (name, seed))
        subprocess.run([binary, "run", path, "--seed", str(seed), "--out", od, "--force"],
                       check=True, stdout=subprocess.DEVNULL)
        peers = read_csv(os.path.join(od, "peers.csv"))
        done = [float(p["completion_s"]) for p in peers]
        if len(done) != n:
            raise RuntimeError("%s seed %d: %d of %d peers" % (name, seed, len(done), n))
        end = max(done)
        server = sum(float(p["bytes_from_server"]) for p in peers)
        use = statistics.mean(float(p["bytes_uploaded"]) / (up * end) for p in peers)
        out.append((statistics.mean(done), end, server / size, use))
        bound = float(read_csv(os.path.join(od, "summary.csv"))[0]["d_p2p_bound_s"])
    return out, bound


def real_setting(swarms, runs, name):
    sw = [r for r in swarms if r["setting"] == name]
    out = []
    for r in sw:
        rows = [x for x in runs if x["setting"] == name and x["rep"] == r["rep"]]
        use = statistics.mean(float(x["upload_use"]) for x in rows)
        out.append((float(r["mean_completion_s"]), float(r["max_completion_s"]),
                    float(r["seed_copies"]), use))
    return out


def real_start(swarms, name):
    """The setting's mean time to the seed's first payload, seconds (swarms.csv)."""
    xs = [float(r["seed_first_upload_s"]) for r in swarms
          if r["setting"] == name and r.get("seed_first_upload_s")]
    return statistics.mean(xs) if xs else None


def agg(vals, k):
    xs = [v[k] for v in vals]
    return statistics.mean(xs), min(xs), max(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "swarmsim"))
    ap.add_argument("--data", default=HERE)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--config", default=",".join(CONFIGS))
    a = ap.parse_args()
    cfgs = a.config.split(",")
    for c in cfgs:
        if c not in CONFIGS:
            sys.stderr.write("error: --config: unknown configuration %r (known: %s)\n"
                             % (c, ", ".join(CONFIGS)))
            sys.exit(2)
    if not os.path.exists(a.bin):
        sys.stderr.write("error: %s not found; run `cargo build --release` first\n" % a.bin)
        sys.exit(2)
    os.makedirs(a.out, exist_ok=True)
    settings = read_csv(os.path.join(a.data, "settings.csv"))
    swarms = read_csv(os.path.join(a.data, "swarms.csv"))
    runs = read_csv(os.path.join(a.data, "runs.csv"))
    metrics = ["mean_completion_s", "max_completion_s", "seed_copies", "upload_use"]
    header = ["setting", "config", "leechers", "file_bytes", "leecher_upload_bytes_per_s",
              "reps", "seeds", "d_p2p_s"]
    for m in metrics:
        header += ["real_" + m, "real_" + m + "_min", "real_" + m + "_max", "sim_" + m,
                   "sim_" + m + "_min", "sim_" + m + "_max", "ratio_" + m]
    rows = []
    with tempfile.TemporaryDirectory(prefix="swarmsim-real-") as work:
        for cfg in cfgs:
            for s in settings:
                real = real_setting(swarms, runs, s["setting"])
                if not real:
                    continue
                start = real_start(swarms, s["setting"])
                sim, bound = sim_setting(a.bin, work, s, cfg, a.seeds, start)
                row = [s["setting"], cfg, s["leechers"], s["file_bytes"],
                       s["leecher_upload_bytes_per_s"], len(real), a.seeds, "%.4g" % bound]
                for k in range(4):
                    rm, rlo, rhi = agg(real, k)
                    sm, slo, shi = agg(sim, k)
                    row += ["%.4g" % x for x in (rm, rlo, rhi, sm, slo, shi)]
                    row.append("%.3f" % (sm / rm))
                rows.append(row)
                d = dict(zip(header, row))
                print(d["setting"], cfg, "mean ratio", d["ratio_mean_completion_s"], flush=True)
    with open(os.path.join(a.out, "comparison.csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    with open(os.path.join(a.out, "comparison.md"), "w") as fh:
        for cfg in cfgs:
            fh.write("### swarmsim configuration `%s`\n\n" % cfg)
            fh.write("| setting | N | D_p2p s | real mean s | sim mean s | ratio | real max s | "
                     "sim max s | ratio | real seed copies | sim | real upload use | sim |\n")
            fh.write("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
            for r in rows:
                if r[1] != cfg:
                    continue
                d = dict(zip(header, r))

                def rng(m):
                    return "%s (%s-%s)" % (d["real_" + m], d["real_" + m + "_min"],
                                           d["real_" + m + "_max"])

                fh.write("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" % (
                    d["setting"], d["leechers"], d["d_p2p_s"], rng("mean_completion_s"),
                    d["sim_mean_completion_s"], d["ratio_mean_completion_s"],
                    rng("max_completion_s"), d["sim_max_completion_s"],
                    d["ratio_max_completion_s"], rng("seed_copies"), d["sim_seed_copies"],
                    rng("upload_use"), d["sim_upload_use"]))
            fh.write("\n")


if __name__ == "__main__":
    main()
