-- wrk script for bench/load_vs_wrk.sh: POST the lab's predict request, as tensorserve-load does
-- by default, so both clients send the same bytes.
wrk.method = "POST"
wrk.body = '{"instances": [1.0, 2.0, 5.0]}'
wrk.headers["Content-Type"] = "application/json"
