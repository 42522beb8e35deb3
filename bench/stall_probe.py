"""Sleeps 1 ms in a loop and prints how late each wake-up was: a probe of stalls that every process on the machine
sees, outside .NET. Usage: python3 bench/stall_probe.py [wake-ups, default 12000]"""
import sys
import time

count = int(sys.argv[1]) if len(sys.argv) > 1 else 12000
overshoots, late = [], []
start = time.time()
for _ in range(count):
    before = time.perf_counter_ns()
    time.sleep(0.001)
    overshoot_ms = (time.perf_counter_ns() - before) / 1e6 - 1.0
    overshoots.append(overshoot_ms)
    if overshoot_ms > 5:
        late.append((round(time.time() - start, 3), round(overshoot_ms, 1)))
overshoots.sort()


def at(p):
    return overshoots[min(len(overshoots) - 1, int(p * len(overshoots)))]


print(f"{count} wake-ups, overshoot ms: p50 {at(.5):.3f}, p90 {at(.9):.3f}, p99 {at(.99):.3f}, "
      f"p99.9 {at(.999):.3f}, max {overshoots[-1]:.3f}")
print("over 5 ms (seconds from start, ms late):", late)
