# Sourced by bench/serving.sh and bench/grpc_ab.sh (which define $tmp and $GRPC_PORT and have
# written half_plus_two's request to $tmp/grpc_body.bin with bench/grpc_predict_body.py).
#
# h2load_run CONNECTIONS SECONDS [STREAMS]: gRPC Predict of that request with h2load, STREAMS
# calls in flight per connection (default 1; a gRPC channel multiplexes its concurrent calls on
# one connection); prints the same line as bench/wrk_predict.lua
# (requests= errors= rps= p50_us= p99_us=) from h2load's per-request log. h2load sees only
# HTTP statuses, not gRPC ones: the callers check the answers some other way first.
h2load_run() {
    local threads=2 out rps
    [ "$1" -eq 1 ] && threads=1
    rm -f "$tmp/h2load.log"
    out=$(h2load -c "$1" -m "${3:-1}" -t "$threads" -D "$2" \
        -H 'content-type: application/grpc' -H 'te: trailers' -d "$tmp/grpc_body.bin" \
        --log-file="$tmp/h2load.log" \
        "http://127.0.0.1:$GRPC_PORT/tensorflow.serving.PredictionService/Predict")
    rps=$(awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($i ~ /^req\/s/) print $(i - 1) }' <<<"$out" | tr -d ,)
    sort -n -k3,3 "$tmp/h2load.log" | awk -v rps="$rps" '
        { n++; if ($2 != 200) bad++; lat[n] = $3 }
        END {
            printf "requests=%d errors=%d rps=%.0f p50_us=%d p99_us=%d\n", n, bad + 0, rps,
                lat[int(n * 0.5) + 1], lat[int(n * 0.99) + 1]
        }'
}
