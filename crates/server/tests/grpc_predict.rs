//! gRPC Predict on the bundled `models/half_plus_two`, through the generated tonic client
//! against the real server on 127.0.0.1 with an ephemeral port.

mod common;

use common::grpc::*;
use tensorserve_proto::tensorflow::serving::model_spec::VersionChoice;
use tensorserve_proto::tensorflow::serving::{ModelSpec, PredictRequest};
use tensorserve_proto::tensorflow::{DataType, TensorProto};
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_typed_and_tensor_content() {
    let s = start(&[]).await;
    let mut c = s.predict_client().await;

    let r = c
        .predict(predict("half_plus_two", floats(&[1.0, 2.0, 5.0], &[3])))
        .await
        .unwrap()
        .into_inner();
    let y = &r.outputs["y"];
    assert_eq!(y.dtype, DataType::DtFloat as i32);
    assert_eq!(y.tensor_shape, shape(&[3]));
    assert_eq!(y.float_val, vec![2.5, 3.0, 4.5]);
    assert!(y.tensor_content.is_empty());
    assert_eq!(
        r.model_spec,
        Some(ModelSpec {
            name: "half_plus_two".into(),
            signature_name: "serving_default".into(),
            version_choice: Some(VersionChoice::Version(123)),
        })
    );

    // tensor_content input, a [2,1] shape, version and explicit signature.
    let mut x = TensorProto {
        dtype: DataType::DtFloat as i32,
        tensor_shape: shape(&[2, 1]),
        ..Default::default()
    };
    x.tensor_content = [1.0f32, 3.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut req = predict("half_plus_two", x);
    req.model_spec = Some(ModelSpec {
        name: "half_plus_two".into(),
        signature_name: "serving_default".into(),
        version_choice: Some(VersionChoice::Version(123)),
    });
    let r = c.predict(req).await.unwrap().into_inner();
    assert_eq!(r.outputs["y"].tensor_shape, shape(&[2, 1]));
    assert_eq!(output_values(&r.outputs["y"]), vec![2.5, 3.5]);

    // Last-value broadcast of typed fields, as TensorFlow's FromProto does.
    let r = c
        .predict(predict("half_plus_two", floats(&[4.0], &[3])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.outputs["y"].float_val, vec![4.0, 4.0, 4.0]);

    // output_filter naming the one output.
    let mut req = predict("half_plus_two", floats(&[0.0], &[1]));
    req.output_filter = vec!["y".into()];
    let r = c.predict(req).await.unwrap().into_inner();
    assert_eq!(r.outputs["y"].float_val, vec![2.0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_outputs_as_tensor_content_when_asked() {
    // The TF Serving suite's channel arguments are accepted.
    let s = start(&[
        "--enable_serialization_as_tensor_content=true",
        "--grpc_channel_arguments=grpc.max_connection_age_ms=2000,grpc.lb_policy_name=grpclb,grpc.so_reuseaddr=1",
    ])
    .await;
    let mut c = s.predict_client().await;
    let r = c
        .predict(predict("half_plus_two", floats(&[1.0, 2.0], &[2])))
        .await
        .unwrap()
        .into_inner();
    let y = &r.outputs["y"];
    assert!(y.float_val.is_empty());
    assert_eq!(y.tensor_content.len(), 8);
    assert_eq!(output_values(y), vec![2.5, 3.0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_errors() {
    let s = start(&[]).await;
    let mut c = s.predict_client().await;
    let err = |r: Result<tonic::Response<_>, tonic::Status>| -> tonic::Status {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e,
        }
    };

    let e = err(c.predict(predict("x", floats(&[1.0], &[1]))).await);
    assert_eq!(e.code(), Code::NotFound);
    assert_eq!(e.message(), "Servable not found for request: Latest(x)");

    let mut req = predict("half_plus_two", floats(&[1.0], &[1]));
    req.model_spec.as_mut().unwrap().version_choice = Some(VersionChoice::Version(7));
    let e = err(c.predict(req).await);
    assert_eq!(e.code(), Code::NotFound);
    assert_eq!(
        e.message(),
        "Servable not found for request: Specific(half_plus_two, 7)"
    );

    let mut req = predict("half_plus_two", floats(&[1.0], &[1]));
    req.model_spec.as_mut().unwrap().version_choice =
        Some(VersionChoice::VersionLabel("stable".into()));
    let e = err(c.predict(req).await);
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.message(), "Unrecognized servable version label: stable");

    let e = err(c.predict(predict("", floats(&[1.0], &[1]))).await);
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.message(), "ModelSpec has no name specified.");

    // Bad dtype.
    let x = TensorProto {
        dtype: DataType::DtInt32 as i32,
        tensor_shape: shape(&[1]),
        int_val: vec![1],
        ..Default::default()
    };
    let e = err(c.predict(predict("half_plus_two", x)).await);
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");

    // Missing input.
    let req = PredictRequest {
        model_spec: spec("half_plus_two"),
        ..Default::default()
    };
    let e = err(c.predict(req).await);
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        e.message(),
        "input size does not match signature: 0!=1 len({}) != len({x}). Sent extra: {}. Missing but required: {x}."
    );

    // Wrong alias.
    let req = PredictRequest {
        model_spec: spec("half_plus_two"),
        inputs: [("z".to_string(), floats(&[1.0], &[1]))].into(),
        ..Default::default()
    };
    let e = err(c.predict(req).await);
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message()
            .starts_with("input tensor alias not found in signature: z.")
    );

    // Unknown signature.
    let mut req = predict("half_plus_two", floats(&[1.0], &[1]));
    req.model_spec.as_mut().unwrap().signature_name = "nope".into();
    let e = err(c.predict(req).await);
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(e.message(), "Serving signature key \"nope\" not found.");

    // Output filter.
    let mut req = predict("half_plus_two", floats(&[1.0], &[1]));
    req.output_filter = vec!["q".into()];
    let e = err(c.predict(req).await);
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        e.message(),
        "output tensor alias not found in signature: q Outputs expected to be in the set {y}."
    );
    let mut req = predict("half_plus_two", floats(&[1.0], &[1]));
    req.output_filter = vec!["y".into(), "y".into()];
    let e = err(c.predict(req).await);
    assert_eq!(e.message(), "duplicate output tensor alias: y");

    // Invalid dtype number.
    let x = TensorProto {
        dtype: 0,
        ..Default::default()
    };
    let e = err(c.predict(predict("half_plus_two", x)).await);
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
}
