"""Byte-for-byte comparison of two tensorserve REST servers (e.g. before/after a change).

Usage: python3 bench/compare_rest_bytes.py OLD_REST_PORT NEW_REST_PORT
Both serve half_plus_two; sends ~130 raw HTTP/1.x requests (every method on every /v1 route
shape, malformed paths, CORS origins, bad bodies, chunked and HTTP/1.0) and prints any response
that differs once the Date header is removed (responses that differ only in the order of their
header lines are counted, not printed). Exits 1 on a difference. Metrics responses differ
by nature (latency histograms).
"""
# Sends raw HTTP requests to two servers and compares the responses byte for byte (Date removed).
import socket, sys, re
a, b = int(sys.argv[1]), int(sys.argv[2])
reqs = []
def req(method, path, body=None, headers=()):
    h = [f"{method} {path} HTTP/1.1", "Host: x", "Connection: close"] + list(headers)
    if body is not None:
        h.append("Content-Type: application/json")
        h.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(h) + "\r\n\r\n" + (body or "")).encode()
good = '{"instances": [1.0, 2.0, 5.0]}'
for m in ["POST", "GET", "HEAD", "PUT", "DELETE", "OPTIONS"]:
    for p in ["/v1/models/half_plus_two:predict", "/v1/models/half_plus_two", "/v1/models/half_plus_two/metadata",
              "/v1/models/half_plus_two/versions/123", "/v1/models/half_plus_two/labels/x:predict", "/V1/MODELS/half_plus_two:predict",
              "/v1/models/nope:predict", "/v1/models", "/v1/", "/v1/foo", "/v1/models/half_plus_two:PREDICT",
              "/v1/models/half_plus_two:predict?x=1", "/v1/models/half_plus_two:classify", "/v2/health/live",
              "/v2/health/ready", "/", "/monitoring/prometheus/metrics", "/v1/models/m/versions/99999999999999999999",
              "/v1/models/a%20b:predict", "/v1"]:
        reqs.append(req(m, p, good if m in ("POST", "PUT") else None))
        reqs.append(req(m, p, good, ["Origin: http://a.b"]))
for body in ['{"instances": [1.0, 2.0, 5.0]}', '{"inputs": [1.5, 1e-7, 3e38]}', '{"instances": [1, 2]}', '{', '',
             '{"instances": "x"}', '{"instances": [1.0], "signature_name": "nope"}', '{"instances": [NaN, Infinity, -0.0]}',
             '{"instances": [1.0, 2.0]', '{"inputs": {"x": [1.0]}}', '{"instances": [[1.0]]}']:
    reqs.append(req("POST", "/v1/models/half_plus_two:predict", body))
    reqs.append(req("POST", "/v1/models/half_plus_two:predict", body, ["Origin: https://q"]))
reqs.append(b"POST /v1/models/half_plus_two:predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"ins\r\n19\r\ntances\": [1.0, 2.0, 5.0]}\r\n0\r\n\r\n")
reqs.append(b"POST /v1/models/half_plus_two:predict HTTP/1.0\r\nContent-Length: 30\r\n\r\n" + good.encode())
reqs.append(b"GET /v1/models/half_plus_two HTTP/1.0\r\n\r\n")
def send(port, r):
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(r)
    out = b""
    s.settimeout(5)
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d: break
        out += d
    s.close()
    return re.sub(rb"(?im)^date: [^\r\n]*\r\n", b"", out)
def unordered(response):
    # Header order carries no meaning between different field names (RFC 9110 §5.3), so it is
    # counted apart: e.g. hyper writes its own `connection: close` before a content-length it
    # computes, but after one the application set.
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    return lines[0], sorted(lines[1:]), body
bad = reordered = 0
for r in reqs:
    x, y = send(a, r), send(b, r)
    if x == y:
        continue
    if unordered(x) == unordered(y):
        reordered += 1
        continue
    bad += 1
    print("DIFF for", r[:80], "\n  old:", x[:400], "\n  new:", y[:400])
print(f"{len(reqs)} requests, {bad} differ, {reordered} more differ only in header order")
sys.exit(1 if bad else 0)
