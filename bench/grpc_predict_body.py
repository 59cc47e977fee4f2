"""Writes half_plus_two's gRPC Predict request in gRPC's length-prefixed framing to argv[1]:
model_spec.name = "half_plus_two", inputs["x"] = DT_FLOAT [3] {1, 2, 5} -- the body h2load
sends in bench/serving.sh and bench/grpc_ab.sh (the same values as the REST benchmarks).
Encoded by hand so that the benchmarks need no protobuf package."""
import struct
import sys


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([b])
        out += bytes([b | 0x80])


def field(number, wire_type, payload):
    key = varint(number << 3 | wire_type)
    return key + (varint(len(payload)) + payload if wire_type == 2 else payload)


shape = field(2, 2, field(2, 2, field(1, 0, varint(3))))
tensor = field(1, 0, varint(1)) + shape + field(5, 2, struct.pack("<3f", 1.0, 2.0, 5.0))
message = field(1, 2, field(1, 2, b"half_plus_two")) + field(
    2, 2, field(1, 2, b"x") + field(2, 2, tensor)
)
with open(sys.argv[1], "wb") as out:
    out.write(b"\0" + struct.pack(">I", len(message)) + message)
