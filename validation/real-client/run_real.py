#!/usr/bin/python3
"""Run real libtorrent swarms on loopback and record what the simulator is compared with.

One seed and N leechers, each its own libtorrent session on its own loopback address
(127.0.i+1.1, listening and connecting from it), all started together. Every peer's upload is rate-limited (the
seed's too) and the limits are made to apply to local peers: libtorrent puts loopback
and private addresses in its "local" peer class, which has no rate limit, so the
session's peer-class filter is replaced by one that puts every IPv4 address in the
global class (whose limits `upload_rate_limit` / `download_rate_limit` set). The
measured per-peer rates are recorded so that the limits can be checked.

Every other choking and request setting stays at libtorrent's default (recorded in
lt-settings.csv). Changed from the defaults, with the reason:
  - DHT, local peer discovery, UPnP, NAT-PMP off; each session listens on and connects
    from its own loopback address only (no traffic off loopback; peers are introduced
    with connect_peer, leecher i connects to the seed and to leechers 0..i-1, so every
    pair is connected as a tracker returning the whole swarm would do). Distinct
    addresses matter: with every peer on 127.0.0.1 (which needs
    allow_multiple_connections_per_ip) connections were dialled again and closed, and
    the rechokes this triggers held back the first piece of a 32-leecher swarm from
    about 17 s to 40 s;
  - peer exchange off (PEX, per torrent): with every pair connected from the start it
    adds nothing but pairs dialling each other at once, one connection of each pair
    then being closed as a duplicate (140 in the first 17 s of that swarm);
  - uTP off (TCP streams only, as the simulator models them; uTP costs more CPU);
  - protocol encryption off (out_enc_policy and in_enc_policy pe_disabled): by default
    every outgoing connection starts with an encrypted handshake, a Diffie-Hellman key
    exchange (two 768-bit modular exponentiations at each end). With all N(N+1)/2
    connections of a swarm on one host these took 3.3 CPU-seconds at the start of a
    32-leecher swarm (0.27 without); the seed sent its first payload at 4.3 s on an
    idle host (1.8 s without), and on a host loaded by other jobs it had sent 0.11 of
    its limit by 8.6 s. A host running one peer would spend about 0.1 s on them
    (3.3 s / 33 peers). The payload is plaintext either way (prefer_rc4 is off);
  - aio_threads 2 (fewer disk threads: 33 sessions share 2 cores; data is on tmpfs).

Needs Debian's python3-libtorrent (run with /usr/bin/python3):
    apt-get install -y python3-libtorrent

Usage (at raised priority on a shared host; swarms.csv records the niceness and load):
    nice -n -10 /usr/bin/python3 validation/real-client/run_real.py [--reps 3]
        [--only NAME,...] [--out validation/real-client] [--work /dev/shm/swarmsim-real]
Appends one row per leecher per repetition to runs.csv and one row per swarm to
swarms.csv in --out (rows of a setting and repetition already there are skipped, so an
interrupted grid can be resumed), and writes settings.csv (the grid) and
lt-settings.csv (every libtorrent setting used, from the seed's session).
"""

import argparse
import csv
import os
import resource
import shutil
import sys
import time

try:
    import libtorrent as lt
except ImportError:
    sys.stderr.write(
        "error: the Python module libtorrent is missing. Install Debian's package:\n"
        "    apt-get update && apt-get install -y python3-libtorrent\n"
        "and run this script with /usr/bin/python3 (the system Python it binds to).\n"
    )
    sys.exit(2)

KIB = 1024
MIB = 1024 * KIB
PIECE = 256 * KIB

# The grid: name, leechers N, file size F, leecher upload u (bytes/s); the seed uploads
# SEED_FACTOR * u; downloads are unlimited. Sizes and rates keep each swarm at 20-90 s.
SEED_FACTOR = 2
GRID = [
    ("s8m-u128k-n2", 2, 8 * MIB, 128 * KIB),
    ("s8m-u128k-n4", 4, 8 * MIB, 128 * KIB),
    ("s8m-u128k-n8", 8, 8 * MIB, 128 * KIB),
    ("s8m-u128k-n16", 16, 8 * MIB, 128 * KIB),
    ("s8m-u128k-n32", 32, 8 * MIB, 128 * KIB),
    ("s32m-u512k-n2", 2, 32 * MIB, 512 * KIB),
    ("s32m-u512k-n8", 8, 32 * MIB, 512 * KIB),
    ("s32m-u512k-n32", 32, 32 * MIB, 512 * KIB),
    ("s8m-u512k-n16", 16, 8 * MIB, 512 * KIB),
    ("s8m-u512k-n32", 32, 8 * MIB, 512 * KIB),
]

RUN_COLUMNS = [
    "setting", "rep", "leechers", "file_bytes", "piece_bytes", "leecher_upload_bytes_per_s",
    "seed_upload_bytes_per_s", "peer", "completion_s", "payload_uploaded_bytes",
    "payload_downloaded_bytes", "redundant_bytes", "failed_bytes", "swarm_end_s",
    "upload_use", "max_upload_rate_10s", "first_piece_s",
]
SWARM_COLUMNS = [
    "setting", "rep", "leechers", "file_bytes", "piece_bytes", "leecher_upload_bytes_per_s",
    "seed_upload_bytes_per_s", "mean_completion_s", "max_completion_s",
    "seed_payload_uploaded_bytes", "seed_copies", "seed_max_upload_rate_10s",
    "mean_leecher_upload_use", "leecher_payload_uploaded_bytes", "cpu_s", "cpu_per_wall",
    "started_utc", "all_connected_s", "seed_first_unchoke_s", "seed_first_upload_s",
    "seed_at_limit_s", "first_piece_min_s", "first_piece_mean_s", "nice", "loadavg_1m",
]
# The start-up timeline is sampled every STARTUP_STEP seconds for the first STARTUP_SPAN.
STARTUP_STEP = 0.25
STARTUP_SPAN = 30.0


def peer_ip(i):
    """Peer i's own loopback address, 127.0.(i+1).1: each peer has its own address (and
    its own /24, which BEP 6's allowed-fast set is derived from), as hosts do."""
    return "127.0.%d.1" % (i + 1)


def base_settings(ip, port, upload):
    """The session settings of one peer: libtorrent's defaults plus the changes listed
    in the module doc."""
    return {
        "listen_interfaces": "%s:%d" % (ip, port),
        "outgoing_interfaces": ip,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "out_enc_policy": int(lt.enc_policy.pe_disabled),
        "in_enc_policy": int(lt.enc_policy.pe_disabled),
        "aio_threads": 2,
        "upload_rate_limit": upload,
        "download_rate_limit": 0,
        "alert_mask": lt.alert.category_t.status_notification
        | lt.alert.category_t.error_notification
        | lt.alert.category_t.piece_progress_notification,
    }


LOCAL_UNLIMITED = False  # --local-unlimited: keep libtorrent's filter (to show its effect)
OVERRIDES = {}  # --lt-set NAME=VALUE: libtorrent settings changed for an ablation
# Peer exchange off: every pair is already connected, and with all peers starting within
# a millisecond PEX makes both ends of a pair dial each other, which closes one of the two
# connections as a duplicate (see the module doc).
NO_PEX = lt.torrent_flags.disable_pex


def make_session(ip, port, upload):
    settings = base_settings(ip, port, upload)
    settings.update(OVERRIDES)
    s = lt.session(settings)
    if LOCAL_UNLIMITED:
        return s
    # Every IPv4 address in the global peer class (limited), none in the local one.
    f = lt.ip_filter()
    f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
    s.set_peer_class_filter(f)
    return s


def make_torrent(work, size):
    """A file of random bytes and its torrent (piece size PIECE), cached per size."""
    d = os.path.join(work, "src-%d" % size)
    path = os.path.join(d, "payload.bin")
    tpath = os.path.join(d, "payload.torrent")
    if not os.path.exists(tpath):
        os.makedirs(d, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(os.urandom(size))
        fs = lt.file_storage()
        lt.add_files(fs, path)
        ct = lt.create_torrent(fs, PIECE)
        lt.set_piece_hashes(ct, d)
        with open(tpath, "wb") as fh:
            fh.write(lt.bencode(ct.generate()))
    return d, lt.torrent_info(tpath)


def run_swarm(work, name, rep, n, size, up, port0):
    src, ti = make_torrent(work, size)
    seed_up = SEED_FACTOR * up
    sessions, handles = [], []
    for i in range(n + 1):
        s = make_session(peer_ip(i), port0 + i, seed_up if i == 0 else up)
        p = lt.add_torrent_params()
        p.ti = lt.torrent_info(ti)
        if i == 0:
            p.save_path = src
            p.flags = lt.torrent_flags.seed_mode | lt.torrent_flags.paused | NO_PEX
        else:
            d = os.path.join(work, "run", "peer%d" % i)
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            p.save_path = d
            p.flags = lt.torrent_flags.paused | NO_PEX
        h = s.add_torrent(p)
        sessions.append(s)
        handles.append(h)
    time.sleep(1.0)  # let every session bind its port
    load1 = os.getloadavg()[0]
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for h in handles:
        h.resume()
    for i in range(1, n + 1):
        for j in range(i):
            handles[i].connect_peer((peer_ip(j), port0 + j))
    done, first_piece = {}, {}
    hist = [[] for _ in range(n + 1)]  # (t, total_payload_upload) once a second
    next_sample = 0.0
    # Start-up timeline, sampled every STARTUP_STEP s for the first STARTUP_SPAN s: when
    # every pair is connected, when the seed has unchoked its first leechers, when it
    # first sent payload, and the end of its first 1-s window at >= 0.8 x its limit.
    connected_at = unchoked_at = seed_first_at = seed_limit_at = None
    seed_prev = [(0.0, 0)]  # the seed's (t, payload sent) over the last second
    next_probe = 0.0
    while len(done) < n:
        time.sleep(0.05)
        now = time.monotonic() - t0
        for i in range(1, n + 1):
            for a in sessions[i].pop_alerts():
                if isinstance(a, lt.piece_finished_alert) and i not in first_piece:
                    first_piece[i] = now
                if isinstance(a, lt.torrent_finished_alert) and i not in done:
                    done[i] = now
        if now >= next_sample:
            for i, h in enumerate(handles):
                hist[i].append((now, h.status().total_payload_upload))
            next_sample += 1.0
        if now >= next_probe and now < STARTUP_SPAN:
            next_probe += STARTUP_STEP
            if connected_at is None and all(h.status().num_peers == n for h in handles):
                connected_at = now
            if unchoked_at is None and any(
                    not (p.flags & lt.peer_info.choked) for p in handles[0].get_peer_info()):
                unchoked_at = now
            sent = handles[0].status().total_payload_upload
            if seed_first_at is None and sent > 0:
                seed_first_at = now
            seed_prev.append((now, sent))
            while len(seed_prev) > 1 and now - seed_prev[1][0] >= 1.0:
                seed_prev.pop(0)
            t_a, sent_a = seed_prev[0]
            if seed_limit_at is None and now - t_a >= 1.0 and (
                    sent - sent_a) / (now - t_a) >= 0.8 * seed_up:
                seed_limit_at = now
        if now > 900:
            raise RuntimeError("%s rep %d: swarm not complete after 900 s" % (name, rep))
    end = max(done.values())
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    st = [h.status() for h in handles]
    for i, h in enumerate(handles):
        hist[i].append((time.monotonic() - t0, st[i].total_payload_upload))

    def max_rate(hs):
        best = 0.0
        for a in range(len(hs)):
            for b in range(a + 1, len(hs)):
                if hs[b][0] - hs[a][0] >= 10.0:
                    best = max(best, (hs[b][1] - hs[a][1]) / (hs[b][0] - hs[a][0]))
                    break
        return best

    common = [name, rep, n, size, PIECE, up, seed_up]
    rows = []
    for i in range(1, n + 1):
        rows.append(common + [
            i, "%.3f" % done[i], st[i].total_payload_upload, st[i].total_payload_download,
            st[i].total_redundant_bytes, st[i].total_failed_bytes, "%.3f" % end,
            "%.4f" % (st[i].total_payload_upload / (up * end)), "%.0f" % max_rate(hist[i]),
            "%.3f" % first_piece[i],
        ])
    seed_bytes = st[0].total_payload_upload
    leech_up = sum(s.total_payload_upload for s in st[1:])
    swarm = common + [
        "%.3f" % (sum(done.values()) / n), "%.3f" % end, seed_bytes,
        "%.4f" % (seed_bytes / size), "%.0f" % max_rate(hist[0]),
        "%.4f" % (leech_up / (n * up * end)), leech_up, "%.2f" % cpu, "%.3f" % (cpu / end),
        started, opt(connected_at), opt(unchoked_at), opt(seed_first_at), opt(seed_limit_at),
        "%.3f" % min(first_piece.values()), "%.3f" % (sum(first_piece.values()) / n),
        os.getpriority(os.PRIO_PROCESS, 0), "%.2f" % load1,
    ]
    for s, h in zip(sessions, handles):
        s.remove_torrent(h)
    settings = sessions[0].get_settings()
    del handles, sessions
    return rows, swarm, settings


def opt(t):
    """A start-up time, or empty if it was not reached within STARTUP_SPAN."""
    return "" if t is None else "%.3f" % t


def append(path, header, rows):
    new = not os.path.exists(path)
    with open(path, "a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(header)
        w.writerows(rows)
        fh.flush()
        os.fsync(fh.fileno())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated setting names")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--work", default="/dev/shm/swarmsim-real")
    ap.add_argument("--port", type=int, default=46000)
    ap.add_argument("--local-unlimited", action="store_true",
                    help="keep libtorrent's default peer-class filter, under which loopback "
                    "peers are not rate-limited (only to show that the fix is needed)")
    ap.add_argument("--lt-set", action="append", default=[], metavar="NAME=VALUE",
                    help="change one libtorrent setting in every session (an ablation; "
                    "lt-settings.csv records it); repeatable")
    a = ap.parse_args()
    global LOCAL_UNLIMITED
    LOCAL_UNLIMITED = a.local_unlimited
    known = lt.default_settings()
    for kv in a.lt_set:
        k, _, v = kv.partition("=")
        if k not in known or not v:
            sys.stderr.write("error: --lt-set %r: not NAME=VALUE with a libtorrent setting "
                             "name\n" % kv)
            sys.exit(2)
        old = known[k]
        try:
            OVERRIDES[k] = (v.lower() in ("1", "true")) if isinstance(old, bool) else type(old)(v)
        except ValueError:
            sys.stderr.write("error: --lt-set %r: %r is not a %s\n" % (kv, v, type(old).__name__))
            sys.exit(2)
    grid = [g for g in GRID if not a.only or g[0] in a.only.split(",")]
    if not grid:
        sys.stderr.write("error: --only %r names no setting of the grid\n" % a.only)
        sys.exit(2)
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(a.work, exist_ok=True)
    with open(os.path.join(a.out, "settings.csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["setting", "leechers", "file_bytes", "piece_bytes",
                    "leecher_upload_bytes_per_s", "seed_upload_bytes_per_s",
                    "download_bytes_per_s"])
        for name, n, size, up in GRID:
            w.writerow([name, n, size, PIECE, up, SEED_FACTOR * up, 0])
    swarms_csv = os.path.join(a.out, "swarms.csv")
    have = set()
    if os.path.exists(swarms_csv):
        with open(swarms_csv) as fh:
            have = {(r["setting"], int(r["rep"])) for r in csv.DictReader(fh)}
    port = a.port
    for rep in range(a.reps):
        for name, n, size, up in grid:
            if (name, rep) in have:
                continue
            try:
                rows, swarm, settings = run_swarm(a.work, name, rep, n, size, up, port)
            except RuntimeError as e:
                print("error: %s" % e, file=sys.stderr, flush=True)
                continue
            port = a.port + (port - a.port + 100) % 1000  # fresh ports: no TIME_WAIT clash
            append(os.path.join(a.out, "runs.csv"), RUN_COLUMNS, rows)
            append(swarms_csv, SWARM_COLUMNS, [swarm])
            with open(os.path.join(a.out, "lt-settings.csv"), "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["setting", "value"])
                for k in sorted(settings):
                    if k not in ("listen_interfaces", "outgoing_interfaces",
                                 "upload_rate_limit", "peer_fingerprint",
                                 "user_agent", "handshake_client_version"):
                        w.writerow([k, settings[k]])
            print("%s rep %d: mean %s s, max %s s, seed copies %s, leecher use %s, cpu/wall %s"
                  % (name, rep, swarm[7], swarm[8], swarm[10], swarm[12], swarm[15]),
                  flush=True)
    shutil.rmtree(os.path.join(a.work, "run"), ignore_errors=True)


if __name__ == "__main__":
    main()
