//! Model implementations that execute on tract: TensorFlow SavedModels (through the
//! `tensorserve-savedmodel` importer) and ONNX files.
