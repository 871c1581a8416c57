#!/usr/bin/env python3
"""The attacks of issue 16 against a running `evsnn serve`, on loopback
only, each with an honest `evsnn send` streaming a file over and over
meanwhile: prints, per attack, what the honest client got (runs, failures,
refusals), how long the attackers' connections were kept, and the server's
peak resident memory (VmHWM). Figures in docs/protocol.md come from it.

  bench/attack_serve.py EVSNN MODEL EVENTS [--idle N] [--slow N] [--churn N]

EVSNN is the evsnn binary, MODEL any model with a 2x34x34 input (or any
input the events' sensor fits), EVENTS the honest client's file."""
import os, resource, signal, socket, struct, subprocess, sys, threading, time

def serve(evsnn, model, extra, stderr=subprocess.DEVNULL):
    p = subprocess.Popen([evsnn, "serve", "--model", model, "--listen", "127.0.0.1:0"] + extra,
                         stdout=subprocess.PIPE, stderr=stderr, text=True)
    line = p.stdout.readline()
    return p, int(line.rsplit(":", 1)[1])

def hwm_kb(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmHWM:"):
            return int(l.split()[1])

class Honest(threading.Thread):
    """evsnn send in a loop until stopped: counts runs, exit 0, 'server full'."""
    def __init__(self, evsnn, events, port):
        super().__init__(daemon=True)
        self.cmd = [evsnn, "send", events, "--to", f"127.0.0.1:{port}", "--json", "--timeout", "10000"]
        self.runs = self.ok = self.full = 0
        self.stop = False
    def run(self):
        while not self.stop:
            r = subprocess.run(self.cmd, capture_output=True, text=True)
            self.runs += 1
            self.ok += r.returncode == 0
            self.full += "server full" in r.stderr

def hello_bytes():
    # HELLO of docs/protocol.md: magic, version 1, mode 0, reserved; then a
    # 32-byte event header of docs/event-format.md for a 34 x 34 DVS sensor.
    ev = b"EVSNNEVT" + struct.pack("<HBBIIIiI", 1, 0, 0, 34, 34, 2, -1, 0)
    payload = b"EVSNNPRO" + struct.pack("<HHI", 1, 0, 0) + ev
    return b"H" + struct.pack("<I", len(payload)) + payload

def closed(s):
    try:
        return s.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True

def attack(name, evsnn, model, events, extra, run, stderr=subprocess.DEVNULL):
    p, port = serve(evsnn, model, extra, stderr)
    h = Honest(evsnn, events, port)
    h.start()
    t0 = time.time()
    what = run(port)
    h.stop = True
    h.join()
    hwm = hwm_kb(p.pid)
    p.send_signal(signal.SIGTERM)
    t1 = time.time()
    try:
        rc = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill(); rc = "killed"
    print(f"{name}: {what}; honest: {h.ok}/{h.runs} served exactly, {h.full} refused 'server full'; "
          f"serve peak RSS {hwm / 1024:.1f} MB; stopped in {time.time() - t1:.2f} s (rc {rc}); "
          f"{time.time() - t0:.1f} s in all", flush=True)

def main():
    evsnn, model, events = sys.argv[1:4]
    n_idle, n_slow, n_churn = 10000, 520, 5000
    args = sys.argv[4:]
    for i in range(0, len(args), 2):
        if args[i] == "--idle": n_idle = int(args[i + 1])
        if args[i] == "--slow": n_slow = int(args[i + 1])
        if args[i] == "--churn": n_churn = int(args[i + 1])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n_idle + 1000), hard))

    def idle(port):
        socks, t0 = [], time.time()
        for _ in range(n_idle):
            s = socket.create_connection(("127.0.0.1", port)); s.setblocking(False); socks.append(s)
        left, t_all = len(socks), None
        while time.time() - t0 < 12:
            time.sleep(0.25)
            left = sum(not closed(s) for s in socks)
            if left == 0 and t_all is None: t_all = time.time() - t0
        for s in socks: s.close()
        return f"{n_idle} idle connections, all closed by the server {t_all:.1f} s after the first" if t_all \
            else f"{n_idle} idle connections, {left} still open after 12 s"

    def slow(port):
        hb, socks, t0 = hello_bytes(), [], time.time()
        for _ in range(n_slow):
            s = socket.create_connection(("127.0.0.1", port)); s.setblocking(False); socks.append(s)
        k, done = 0, {}
        while time.time() - t0 < 15 and len(done) < n_slow:
            for i, s in enumerate(socks):
                if i in done: continue
                if closed(s): done[i] = time.time() - t0; continue
                try: s.send(hb[k % len(hb):k % len(hb) + 1])
                except OSError: done[i] = time.time() - t0
            k += 1
            time.sleep(1.0)
        for s in socks: s.close()
        ts = sorted(done.values())
        return f"{n_slow} connections at 1 byte/s, {len(ts)} dropped, the last {ts[-1]:.1f} s after connecting" \
            if ts else f"{n_slow} connections at 1 byte/s, none dropped in 15 s"

    def churn(port):
        hb, t0 = hello_bytes(), time.time()
        for i in range(n_churn):
            s = socket.create_connection(("127.0.0.1", port))
            if i % 3 == 1: s.send(hb)
            if i % 3 == 2: s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        return f"{n_churn} connect/disconnect cycles in {time.time() - t0:.1f} s"

    def blocked(port):
        t0 = time.time()
        for _ in range(3000):
            socket.create_connection(("127.0.0.1", port)).close()
        time.sleep(1)
        return f"stderr a pipe nobody reads, 3000 connections in {time.time() - t0:.1f} s"

    attack("idle", evsnn, model, events, ["--max-conns", "256"], idle)
    attack("slow", evsnn, model, events, ["--max-conns", "256"], slow)
    attack("churn", evsnn, model, events, ["--max-conns", "256"], churn)
    r, w = os.pipe()
    attack("stderr", evsnn, model, events, [], blocked, stderr=w)
    os.close(r); os.close(w)

main()
