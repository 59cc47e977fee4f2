//! Conversions between core tensors and tract tensors, at the edge of every run.

use tensorserve_core::{DType, Status, Tensor, TensorData};
use tract_core::prelude::{DatumType, Tensor as TractTensor};

/// The tract datum type for a core dtype, when tract can hold it.
pub fn datum_type(dtype: DType) -> Option<DatumType> {
    Some(match dtype {
        DType::F32 => DatumType::F32,
        DType::F64 => DatumType::F64,
        DType::I8 => DatumType::I8,
        DType::I16 => DatumType::I16,
        DType::I32 => DatumType::I32,
        DType::I64 => DatumType::I64,
        DType::U8 => DatumType::U8,
        DType::U16 => DatumType::U16,
        DType::U32 => DatumType::U32,
        DType::U64 => DatumType::U64,
        DType::Bool => DatumType::Bool,
        DType::String => DatumType::String,
        DType::F16 => DatumType::F16,
    })
}

/// Moves a core tensor into a tract tensor.
///
/// Plain values are copied straight into tract's aligned buffer (`Tensor::from_shape`): going
/// through an `ndarray::ArrayD` first, as tract's `From` does, costs more than the copy for
/// the small tensors of a typical request.
pub fn to_tract(tensor: Tensor) -> Result<TractTensor, Status> {
    let (shape, data) = tensor.into_parts();
    fn plain<T: tract_core::prelude::Datum + Copy>(
        shape: &[usize],
        v: &[T],
    ) -> Result<TractTensor, String> {
        TractTensor::from_shape(shape, v).map_err(|e| e.to_string())
    }
    let result = match data {
        TensorData::F32(v) => plain(&shape, &v),
        TensorData::F64(v) => plain(&shape, &v),
        TensorData::I8(v) => plain(&shape, &v),
        TensorData::I16(v) => plain(&shape, &v),
        TensorData::I32(v) => plain(&shape, &v),
        TensorData::I64(v) => plain(&shape, &v),
        TensorData::U8(v) => plain(&shape, &v),
        TensorData::U16(v) => plain(&shape, &v),
        TensorData::U32(v) => plain(&shape, &v),
        TensorData::U64(v) => plain(&shape, &v),
        TensorData::Bool(v) => plain(&shape, &v),
        TensorData::F16(v) => {
            let halves: Vec<_> = v
                .into_iter()
                .map(tract_core::prelude::f16::from_bits)
                .collect();
            plain(&shape, &halves)
        }
        TensorData::String(v) => {
            // tract keeps strings as Rust `String`s, so bytes must be UTF-8 to enter a graph.
            let strings = v
                .into_iter()
                .map(|b| {
                    String::from_utf8(b)
                        .map_err(|_| Status::invalid_argument("string input is not valid UTF-8"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            tract_core::ndarray::ArrayD::from_shape_vec(tract_core::ndarray::IxDyn(&shape), strings)
                .map(TractTensor::from)
                .map_err(|e| e.to_string())
        }
    };
    result.map_err(|e| Status::internal(format!("cannot build input tensor: {e}")))
}

/// Copies a tract tensor into a core tensor.
pub fn from_tract(tensor: &TractTensor) -> Result<Tensor, Status> {
    let shape = tensor.shape().to_vec();
    fn vec_of<T: tract_core::prelude::Datum + Clone>(t: &TractTensor) -> Result<Vec<T>, Status> {
        t.try_as_plain_ram()
            .and_then(|p| p.as_slice::<T>().map(|s| s.to_vec()))
            .map_err(|e| Status::internal(e.to_string()))
    }
    let data = match tensor.datum_type() {
        DatumType::F32 => TensorData::F32(vec_of(tensor)?),
        DatumType::F64 => TensorData::F64(vec_of(tensor)?),
        DatumType::I8 => TensorData::I8(vec_of(tensor)?),
        DatumType::I16 => TensorData::I16(vec_of(tensor)?),
        DatumType::I32 => TensorData::I32(vec_of(tensor)?),
        DatumType::I64 => TensorData::I64(vec_of(tensor)?),
        DatumType::U8 => TensorData::U8(vec_of(tensor)?),
        DatumType::U16 => TensorData::U16(vec_of(tensor)?),
        DatumType::U32 => TensorData::U32(vec_of(tensor)?),
        DatumType::U64 => TensorData::U64(vec_of(tensor)?),
        DatumType::Bool => TensorData::Bool(vec_of(tensor)?),
        DatumType::F16 => TensorData::F16(
            vec_of::<tract_core::prelude::f16>(tensor)?
                .into_iter()
                .map(|h| h.to_bits())
                .collect(),
        ),
        DatumType::String => TensorData::String(
            vec_of::<String>(tensor)?
                .into_iter()
                .map(String::into_bytes)
                .collect(),
        ),
        other => {
            return Err(Status::unimplemented(format!(
                "output type {other:?} is not supported"
            )));
        }
    };
    Tensor::new(shape, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_type() {
        let cases = vec![
            TensorData::F32(vec![1.5, -2.0]),
            TensorData::F64(vec![1.5, -2.0]),
            TensorData::I8(vec![1, -2]),
            TensorData::I16(vec![1, -2]),
            TensorData::I32(vec![1, -2]),
            TensorData::I64(vec![1, -2]),
            TensorData::U8(vec![1, 2]),
            TensorData::U16(vec![1, 2]),
            TensorData::U32(vec![1, 2]),
            TensorData::U64(vec![1, 2]),
            TensorData::Bool(vec![true, false]),
            TensorData::F16(vec![0x3c00, 0x4000]),
            TensorData::String(vec![b"a".to_vec(), b"bc".to_vec()]),
        ];
        for data in cases {
            let t = Tensor::new(vec![2, 1], data).unwrap();
            assert_eq!(from_tract(&to_tract(t.clone()).unwrap()).unwrap(), t);
        }
    }

    #[test]
    fn non_utf8_strings_are_rejected() {
        let t = Tensor::new(vec![1], TensorData::String(vec![vec![0xff]])).unwrap();
        assert!(to_tract(t).is_err());
    }
}
