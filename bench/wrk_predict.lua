-- wrk script for bench/serving.sh: POST a predict body (the file named by $BODY_FILE, or
-- half_plus_two's request), count non-2xx answers as errors, and print one machine-readable
-- line at the end: requests, errors, throughput and p50/p99 latency in microseconds.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local path = os.getenv("BODY_FILE")
if path and path ~= "" then
    local f = assert(io.open(path, "rb"))
    wrk.body = f:read("*a")
    f:close()
else
    wrk.body = '{"instances": [1.0, 2.0, 5.0]}'
end

done = function(summary, latency, requests)
    local e = summary.errors
    local errors = e.connect + e.read + e.write + e.status + e.timeout
    io.write(string.format("requests=%d errors=%d rps=%.0f p50_us=%d p99_us=%d\n",
        summary.requests, errors, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99)))
end
