#!/usr/bin/env python3
"""Prints a REST predict body (`{"instances": [...]}`, one row) made from the first recorded case
of a test-corpus model: `bench/corpus_request.py MODEL` reads testdata/corpus/MODEL/expected.json
(the inputs TensorFlow was given when the fixture was made). Run from the repository root."""
import json
import sys


def nest(flat, shape):
    """The flat row-major list as nested lists of `shape`."""
    if len(shape) == 1:
        return flat
    step = len(flat) // shape[0]
    return [nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


case = json.load(open(f"testdata/corpus/{sys.argv[1]}/expected.json"))["cases"][0]
((_alias, tensor),) = case["inputs"].items()
print(json.dumps({"instances": nest(tensor["data"], tensor["shape"])}))
