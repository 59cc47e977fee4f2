"""Median per-inference latency of onnxruntime (1 and 2 threads) on the corpus ONNX models,
printed as JSON lines with the same inputs as crates/runtime/examples/bench_models.rs."""
import json
import sys
import time

import numpy as np
import onnxruntime as ort

ROOT = sys.argv[1]
SHAPES = {"mlp": [8], "cnn": [12, 12, 1]}


def make_input(shape):
    n = int(np.prod(shape))
    data = np.array([((i * 7919) % 1000) / 1000.0 - 0.5 for i in range(n)], dtype=np.float32)
    return data.reshape(shape)


for model, features in SHAPES.items():
    for threads in (1, 2):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        session = ort.InferenceSession(f"{ROOT}/testdata/corpus/{model}/onnx/1/model.onnx", opts)
        name = session.get_inputs()[0].name
        for batch in (1, 32):
            feed = {name: make_input([batch] + features)}
            for _ in range(20):
                session.run(None, feed)
            samples = []
            start = time.perf_counter()
            while len(samples) < 2000 and (time.perf_counter() - start < 2 or len(samples) < 30):
                t = time.perf_counter()
                session.run(None, feed)
                samples.append(time.perf_counter() - t)
            samples.sort()
            us = samples[len(samples) // 2] * 1e6
            print(json.dumps({"what": "infer", "engine": f"onnxruntime-{threads}t", "model": model, "batch": batch, "us": round(us, 2)}))
