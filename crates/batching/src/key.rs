//! Which requests may share a batch. Two requests are merged only when the model would see one
//! well-formed input either way: same signature, same input names, same dtypes, same dimensions
//! after the first, and the same output filter. Anything else waits in a batch of its own.

use std::collections::BTreeMap;

use tensorserve_core::{DType, Tensor};

/// What a request must share with the others in its batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BatchKey {
    /// The signature run.
    pub signature: String,
    /// Each input: alias, dtype and the dimensions after the batch dimension.
    pub inputs: Vec<(String, DType, Vec<usize>)>,
    /// The outputs asked for, as given.
    pub output_filter: Vec<String>,
}

impl BatchKey {
    /// The key and row count of a request, or `None` when it cannot be batched: no inputs, a
    /// scalar input, inputs whose dim 0 differ, or zero rows. Such requests run on their own,
    /// so the model answers them exactly as without batching.
    pub fn of(
        signature: &str,
        inputs: &BTreeMap<String, Tensor>,
        output_filter: &[String],
    ) -> Option<(BatchKey, usize)> {
        let mut rows = None;
        let mut described = Vec::with_capacity(inputs.len());
        for (alias, tensor) in inputs {
            let (&first, rest) = tensor.shape().split_first()?;
            if *rows.get_or_insert(first) != first {
                return None;
            }
            described.push((alias.clone(), tensor.dtype(), rest.to_vec()));
        }
        let rows = rows.filter(|&r| r > 0)?;
        Some((
            BatchKey {
                signature: signature.to_string(),
                inputs: described,
                output_filter: output_filter.to_vec(),
            },
            rows,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tensorserve_core::TensorData;

    fn inputs(entries: &[(&str, &[usize])]) -> BTreeMap<String, Tensor> {
        entries
            .iter()
            .map(|(name, shape)| {
                let n = shape.iter().product();
                (
                    name.to_string(),
                    Tensor::new(shape.to_vec(), TensorData::F32(vec![0.0; n])).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn same_trailing_dims_share_a_key_whatever_the_rows() {
        let (a, ra) = BatchKey::of("s", &inputs(&[("x", &[1, 3])]), &[]).unwrap();
        let (b, rb) = BatchKey::of("s", &inputs(&[("x", &[5, 3])]), &[]).unwrap();
        assert_eq!((a == b, ra, rb), (true, 1, 5));
        let (c, _) = BatchKey::of("s", &inputs(&[("x", &[1, 4])]), &[]).unwrap();
        assert_ne!(a, c);
        let (d, _) = BatchKey::of("s", &inputs(&[("x", &[1, 3])]), &["y".into()]).unwrap();
        assert_ne!(a, d);
        let (e, _) = BatchKey::of("t", &inputs(&[("x", &[1, 3])]), &[]).unwrap();
        assert_ne!(a, e);
    }

    #[test]
    fn unbatchable_requests_have_no_key() {
        assert!(BatchKey::of("s", &inputs(&[]), &[]).is_none());
        assert!(BatchKey::of("s", &inputs(&[("x", &[])]), &[]).is_none());
        assert!(BatchKey::of("s", &inputs(&[("x", &[0, 3])]), &[]).is_none());
        assert!(BatchKey::of("s", &inputs(&[("a", &[1, 3]), ("b", &[2, 3])]), &[]).is_none());
        assert!(BatchKey::of("s", &inputs(&[("a", &[2, 3]), ("b", &[2])]), &[]).is_some());
    }
}
