//! The tensorserve server: TF Serving compatible REST and gRPC front ends over the model engine.
