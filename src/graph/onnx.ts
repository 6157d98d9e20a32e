/**
 * The ONNX protobuf classes. onnx-proto is a CommonJS module whose `module.exports` holds the
 * `onnx` namespace, so under ES modules it arrives as the default export; the alias keeps both
 * its values (onnx.ModelProto) and its types (onnx.ITensorProto) under one name.
 */
import onnxProto from "onnx-proto";

export import onnx = onnxProto.onnx;
