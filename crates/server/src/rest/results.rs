//! Turning classify and regress signature outputs into per-example results, with TF Serving's
//! checks (`classifier.cc`, `regressor.cc`): the same validation whichever protocol asked.

use std::collections::BTreeMap;

use tensorserve_core::{Status, Tensor, TensorData};

/// One example's classes and scores.
pub type Classifications = Vec<Vec<(Vec<u8>, f32)>>;

fn shape_text(shape: &[usize]) -> String {
    format!(
        "[{}]",
        shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// Reads `classes` and/or `scores` outputs for `batch` examples.
pub fn classifications(
    outputs: &BTreeMap<String, Tensor>,
    batch: usize,
) -> Result<Classifications, Status> {
    let classes = outputs.get("classes");
    let scores = outputs.get("scores");
    if classes.is_none() && scores.is_none() {
        return Err(Status::invalid_argument(
            "Expected classification signature outputs to contain at least one of 'classes' or 'scores'.",
        ));
    }
    let check = |t: &Tensor, name: &str| -> Result<usize, Status> {
        match t.shape() {
            [b, k] if *b == batch => Ok(*k),
            shape => Err(Status::invalid_argument(format!(
                "Expected {name} Tensor shape: [batch_size num_classes] but got {}",
                shape_text(shape)
            ))),
        }
    };
    let num_classes = match (classes, scores) {
        (Some(c), Some(s)) => {
            let (kc, ks) = (check(c, "classes")?, check(s, "scores")?);
            if kc != ks {
                return Err(Status::invalid_argument(format!(
                    "Tensors class and score should match in shape, but had shapes: {} and {}",
                    shape_text(c.shape()),
                    shape_text(s.shape())
                )));
            }
            kc
        }
        (Some(c), None) => check(c, "classes")?,
        (None, Some(s)) => check(s, "scores")?,
        (None, None) => unreachable!("checked above"),
    };
    let labels = match classes.map(Tensor::data) {
        Some(TensorData::String(v)) => Some(v),
        Some(other) => {
            return Err(Status::invalid_argument(format!(
                "Expected classes Tensor of DT_STRING. Got: {}",
                other.dtype().tf_name()
            )));
        }
        None => None,
    };
    let values = match scores.map(Tensor::data) {
        Some(TensorData::F32(v)) => Some(v),
        Some(other) => {
            return Err(Status::invalid_argument(format!(
                "Expected scores Tensor of DT_FLOAT. Got: {}",
                other.dtype().tf_name()
            )));
        }
        None => None,
    };
    Ok((0..batch)
        .map(|i| {
            (0..num_classes)
                .map(|k| {
                    let at = i * num_classes + k;
                    (
                        labels.map(|l| l[at].clone()).unwrap_or_default(),
                        values.map(|s| s[at]).unwrap_or(0.0),
                    )
                })
                .collect()
        })
        .collect())
}

/// Reads the `outputs` output of a regression signature for `batch` examples.
pub fn regressions(outputs: &BTreeMap<String, Tensor>, batch: usize) -> Result<Vec<f32>, Status> {
    let t = outputs.get("outputs").ok_or_else(|| {
        Status::invalid_argument("No output Tensor named 'outputs' in the regression signature.")
    })?;
    match t.shape() {
        [b] | [b, 1] if *b == batch => {}
        shape => {
            return Err(Status::invalid_argument(format!(
                "Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got {}",
                shape_text(shape)
            )));
        }
    }
    match t.data() {
        TensorData::F32(v) => Ok(v.clone()),
        other => Err(Status::invalid_argument(format!(
            "Expected output Tensor of DT_FLOAT. Got: {}",
            other.dtype().tf_name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: Vec<usize>, data: TensorData) -> Tensor {
        Tensor::new(shape, data).unwrap()
    }

    #[test]
    fn scores_only_give_empty_labels() {
        let outputs = [(
            "scores".to_string(),
            t(vec![2, 1], TensorData::F32(vec![3.0, 0.5])),
        )]
        .into();
        let r = classifications(&outputs, 2).unwrap();
        assert_eq!(r, vec![vec![(vec![], 3.0)], vec![(vec![], 0.5)]]);
    }

    #[test]
    fn shape_mismatches_are_reported() {
        let outputs = [(
            "scores".to_string(),
            t(vec![3], TensorData::F32(vec![1.0; 3])),
        )]
        .into();
        assert!(
            classifications(&outputs, 3)
                .unwrap_err()
                .message()
                .contains("[batch_size num_classes]")
        );
        let outputs = [(
            "outputs".to_string(),
            t(vec![3, 2], TensorData::F32(vec![1.0; 6])),
        )]
        .into();
        assert!(regressions(&outputs, 3).is_err());
        let outputs = [(
            "outputs".to_string(),
            t(vec![3, 1], TensorData::F32(vec![1.0; 3])),
        )]
        .into();
        assert_eq!(regressions(&outputs, 3).unwrap(), vec![1.0; 3]);
    }
}
