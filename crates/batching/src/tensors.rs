//! Row operations on dense row-major tensors: concatenating requests along dim 0, padding a batch
//! to an allowed size, and cutting a batch's outputs back into each request's rows.
//!
//! Row-major storage makes each of these a copy of contiguous element ranges, so the values a
//! model sees in a batch are exactly the values each request sent.

use std::collections::BTreeMap;

use tensorserve_core::{Status, Tensor, TensorData};

/// Elements in one row (the product of the dimensions after the first).
fn row_len(shape: &[usize]) -> usize {
    shape.iter().skip(1).product()
}

/// Concatenates `parts` (same dtype, same dims after the first) along dim 0, then repeats the
/// first row until the result has `padded_rows` rows. Padding repeats a real row rather than
/// writing zeros so that the model only ever sees values a client sent.
pub fn concat_rows(parts: &[&Tensor], padded_rows: usize) -> Result<Tensor, Status> {
    let first = parts
        .first()
        .ok_or_else(|| Status::internal("concatenating no tensors"))?;
    let inner = &first.shape()[1..];
    let per_row = row_len(first.shape());
    let rows: usize = parts.iter().map(|t| t.shape()[0]).sum();
    if padded_rows < rows {
        return Err(Status::internal(format!(
            "padding {rows} rows down to {padded_rows}"
        )));
    }
    let mut data = TensorData::with_capacity(first.dtype(), padded_rows * per_row);
    for part in parts {
        if &part.shape()[1..] != inner || part.dtype() != first.dtype() {
            return Err(Status::internal(format!(
                "cannot batch a {} tensor of shape {:?} with a {} tensor of shape {:?}",
                part.dtype(),
                part.shape(),
                first.dtype(),
                first.shape()
            )));
        }
        data.extend_from(part.data())?;
    }
    if padded_rows > rows {
        let first_row = first.data().slice(0..per_row);
        for _ in rows..padded_rows {
            data.extend_from(&first_row)?;
        }
    }
    let mut shape = Vec::with_capacity(first.shape().len());
    shape.push(padded_rows);
    shape.extend_from_slice(inner);
    Tensor::new(shape, data)
}

/// Rows `start..start + len` of `tensor`.
pub fn slice_rows(tensor: &Tensor, start: usize, len: usize) -> Result<Tensor, Status> {
    let per_row = row_len(tensor.shape());
    let mut shape = tensor.shape().to_vec();
    shape[0] = len;
    Tensor::new(
        shape,
        tensor
            .data()
            .slice(start * per_row..(start + len) * per_row),
    )
}

/// Cuts each output of a batch run into consecutive pieces of `row_counts` rows. Fails when an
/// output's dim 0 is not the batch's row count (`batch_rows`, padding included): such an output
/// is not per-row, and the caller must then run the requests one by one.
pub fn split_outputs(
    outputs: &BTreeMap<String, Tensor>,
    batch_rows: usize,
    row_counts: &[usize],
) -> Result<Vec<BTreeMap<String, Tensor>>, Status> {
    for (name, tensor) in outputs {
        if tensor.shape().first() != Some(&batch_rows) {
            return Err(Status::internal(format!(
                "output {name} of shape {:?} has no batch dimension of {batch_rows}",
                tensor.shape()
            )));
        }
    }
    let mut pieces = Vec::with_capacity(row_counts.len());
    let mut start = 0;
    for &rows in row_counts {
        let piece = outputs
            .iter()
            .map(|(name, t)| Ok((name.clone(), slice_rows(t, start, rows)?)))
            .collect::<Result<BTreeMap<_, _>, Status>>()?;
        pieces.push(piece);
        start += rows;
    }
    Ok(pieces)
}

/// Joins the outputs of consecutive row ranges of one request (its split pieces) back into one
/// result. `None` when the pieces' outputs are not all per-row (then the request must run whole).
pub fn join_outputs(pieces: Vec<BTreeMap<String, Tensor>>) -> Option<BTreeMap<String, Tensor>> {
    let names: Vec<String> = pieces.first()?.keys().cloned().collect();
    let mut joined = BTreeMap::new();
    for name in names {
        let parts: Vec<&Tensor> = pieces.iter().map(|p| p.get(&name)).collect::<Option<_>>()?;
        if parts.iter().any(|t| t.shape().is_empty()) {
            return None;
        }
        let rows = parts.iter().map(|t| t.shape()[0]).sum();
        joined.insert(name, concat_rows(&parts, rows).ok()?);
    }
    Some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], values: &[f32]) -> Tensor {
        Tensor::new(shape.to_vec(), TensorData::F32(values.to_vec())).unwrap()
    }

    #[test]
    fn concat_pad_and_split_round_trip() {
        let a = t(&[1, 2], &[1., 2.]);
        let b = t(&[2, 2], &[3., 4., 5., 6.]);
        let batch = concat_rows(&[&a, &b], 4).unwrap();
        assert_eq!(batch, t(&[4, 2], &[1., 2., 3., 4., 5., 6., 1., 2.]));
        let outputs = BTreeMap::from([("y".to_string(), batch)]);
        let pieces = split_outputs(&outputs, 4, &[1, 2]).unwrap();
        assert_eq!(pieces[0]["y"], a);
        assert_eq!(pieces[1]["y"], b);
        assert_eq!(
            join_outputs(pieces).unwrap()["y"],
            t(&[3, 2], &[1., 2., 3., 4., 5., 6.])
        );
    }

    #[test]
    fn mismatched_parts_and_non_batch_outputs_are_refused() {
        let a = t(&[1, 2], &[1., 2.]);
        let b = t(&[1, 3], &[1., 2., 3.]);
        assert!(concat_rows(&[&a, &b], 2).is_err());
        let scalar = BTreeMap::from([("n".to_string(), t(&[], &[3.]))]);
        assert!(split_outputs(&scalar, 2, &[1, 1]).is_err());
        let wrong_rows = BTreeMap::from([("y".to_string(), t(&[1, 2], &[1., 2.]))]);
        assert!(split_outputs(&wrong_rows, 2, &[1, 1]).is_err());
        assert!(join_outputs(vec![scalar.clone(), scalar]).is_none());
    }

    #[test]
    fn rank_one_and_string_rows() {
        let a = Tensor::new(vec![1], TensorData::String(vec![b"x".to_vec()])).unwrap();
        let b = Tensor::new(vec![1], TensorData::String(vec![b"yz".to_vec()])).unwrap();
        let batch = concat_rows(&[&a, &b], 3).unwrap();
        assert_eq!(batch.shape(), [3]);
        assert_eq!(slice_rows(&batch, 1, 1).unwrap(), b);
        assert_eq!(slice_rows(&batch, 2, 1).unwrap(), a);
    }
}
