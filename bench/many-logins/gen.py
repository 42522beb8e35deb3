#!/usr/bin/env python3
"""N visitors with 40 anonymous events each (h.jsonl), then one batch of N logins (l.jsonl)."""
import json, sys, uuid, random
N = int(sys.argv[1]); rnd = random.Random(N)
h, l = [], []
for i in range(N):
    a = f"v80-{i:03d}-{uuid.UUID(int=rnd.getrandbits(128)).hex[:6]}"
    for k in range(40):
        h.append({"eventId": f"h{i}-{k}", "type": "product_view", "anonymousId": a, "occurredAt": f"2026-1{rnd.randint(0,1)}-0{rnd.randint(1,9)}T1{rnd.randint(0,9)}:00:00Z",
                  "source": "web", "product": {"productId": f"p{k%20}", "category": "c"}})
    l.append({"eventId": f"login-{i}", "type": "page_view", "userId": f"lu-{i:03d}", "anonymousId": a, "occurredAt": "2026-12-06T09:00:00Z", "source": "web"})
open("h.jsonl", "w").writelines(json.dumps(e) + "\n" for e in h); open("l.jsonl", "w").writelines(json.dumps(e) + "\n" for e in l)
