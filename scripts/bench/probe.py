"""Small queries and bookkeeping for bench.sh.

    probe.py newest-change URL          id of the newest change (0 when there is none)
    probe.py mem PID                    {"rss_mb", "vm_hwm_mb"} of a process, as JSON
    probe.py cpu PID [SINCE]            CPU seconds (user + system) a process has used [- SINCE]
    probe.py cpu-total [SINCE]          CPU seconds the whole machine has used [- SINCE]
    probe.py merge JSON [KEY=VALUE ...] JSON with the pairs added (values as for record)
    probe.py get JSON PATH              a value inside JSON (PATH like statuses.202), "" if absent
    probe.py record RAW SCENARIO RUN JSON [KEY=VALUE ...]
                                        appends {"scenario","run","data"} to RAW; each VALUE is
                                        read as JSON when it parses, else kept as a string
    probe.py error RAW SCENARIO MESSAGE appends {"scenario","error"} to RAW
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Client, emit, fail, rss_kb  # noqa: E402


def value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def merge(data, pairs):
    for kv in pairs:
        k, _, v = kv.partition("=")
        data[k] = value(v)
    return data


def main():
    if len(sys.argv) < 2:
        fail(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "newest-change":
        data = Client(args[0]).get_json("/api/v1/changes?limit=1")
        print(data["changes"][0]["id"] if data["changes"] else 0)
    elif cmd == "mem":
        pid = int(args[0])
        rss, hwm = rss_kb(pid), rss_kb(pid, "VmHWM")
        if rss is None:
            fail(f"process {pid} is gone")
        emit({"rss_mb": round(rss / 1024, 1), "vm_hwm_mb": round(hwm / 1024, 1)})
    elif cmd == "cpu":
        # utime + stime of a process in seconds (fields 14 and 15 of /proc/PID/stat).
        with open(f"/proc/{int(args[0])}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        print(round(used - (float(args[1]) if len(args) > 1 else 0), 2))
    elif cmd == "cpu-total":
        # CPU seconds all processes used (user, nice, system, irq, softirq, steal) [- SINCE].
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        busy = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")
        print(round(busy - (float(args[0]) if args else 0), 2))
    elif cmd == "merge":
        emit(merge(json.loads(args[0]), args[1:]))
    elif cmd == "get":
        v = json.loads(args[0])
        for part in args[1].split("."):
            v = v.get(part) if isinstance(v, dict) else None
        print("" if v is None else (v if isinstance(v, str) else json.dumps(v)))
    elif cmd == "record":
        raw, scenario, run, data = args[:4]
        data = merge(json.loads(data) if data else {}, args[4:])
        with open(raw, "a") as f:
            f.write(json.dumps({"scenario": scenario, "run": value(run), "data": data}) + "\n")
    elif cmd == "error":
        raw, scenario, message = args[:3]
        with open(raw, "a") as f:
            f.write(json.dumps({"scenario": scenario, "error": message}) + "\n")
    else:
        fail(f"unknown command {cmd}\n{__doc__}")


if __name__ == "__main__":
    main()
