"""Runs an exported model.onnx with onnxruntime for Python, nothing of ours, as someone deploying it
would. Used by test/export-reference.test.ts:

  onnx_logits.py MODEL.onnx FRAMES.f32 N OUT.json

FRAMES.f32: raw little-endian float32 [N, C, H, W], C, H, W read from the graph's input. Writes
{"inputs": [[name, shape]], "outputs": [[name, shape]], "logits": [...], "metadata": {key: value}}
(a symbolic dimension as its name; metadata: the model's custom metadata_props).
"""
import json
import sys

import numpy as np
import onnxruntime


def main(model, frames_file, n, out):
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    frames = np.fromfile(frames_file, dtype="<f4").reshape([int(n), *inp.shape[1:]])
    (logits,) = session.run(None, {inp.name: frames})
    with open(out, "w") as f:
        json.dump({
            "inputs": [[i.name, list(i.shape)] for i in session.get_inputs()],
            "outputs": [[o.name, list(o.shape)] for o in session.get_outputs()],
            "logits": logits.astype(float).ravel().tolist(),
            "metadata": dict(session.get_modelmeta().custom_metadata_map),
        }, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
