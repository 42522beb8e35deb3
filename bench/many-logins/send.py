"""Sends the visitors' histories, then times one request of all their logins (bench/many-logins/run.sh)."""
import json, sys, time, urllib.request
L, W = sys.argv[1], sys.argv[2]
key = open(f"{W}/admin.key").read().strip()
def post(events):
    body = json.dumps({"tenant": "logins", "events": events}).encode()
    req = urllib.request.Request("http://127.0.0.1:29691/v1/events:ingest", data=body, headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    t0 = time.time()
    with urllib.request.urlopen(req, timeout=300) as r:
        return r.status, time.time() - t0, r.read()[:200]
h = [json.loads(l) for l in open(f"{W}/h.jsonl")]
for i in range(0, len(h), 1000):
    for attempt in range(30):
        try:
            post(h[i:i + 1000]); break
        except Exception as e:
            time.sleep(2)
time.sleep(20)
l = [json.loads(x) for x in open(f"{W}/l.jsonl")]
status, seconds, body = post(l)
print(f"{L}: 120 first logins in one request: {status} in {seconds:.2f} s {body[:120]}")
status, seconds, body = post(l)
print(f"{L}: the same request again: {status} in {seconds:.2f} s")
