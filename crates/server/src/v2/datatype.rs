//! The Open Inference Protocol's tensor datatypes: one name for each of tensorserve's element
//! types (the protocol's thirteen are exactly TensorFlow's numeric types, bool and strings).

use tensorserve_core::DType;

/// The protocol's name of `dtype`.
pub fn name(dtype: DType) -> &'static str {
    match dtype {
        DType::Bool => "BOOL",
        DType::U8 => "UINT8",
        DType::U16 => "UINT16",
        DType::U32 => "UINT32",
        DType::U64 => "UINT64",
        DType::I8 => "INT8",
        DType::I16 => "INT16",
        DType::I32 => "INT32",
        DType::I64 => "INT64",
        DType::F16 => "FP16",
        DType::F32 => "FP32",
        DType::F64 => "FP64",
        DType::String => "BYTES",
    }
}

/// The element type named `name` (upper case, as the protocol writes them).
pub fn parse(name: &str) -> Option<DType> {
    DType::ALL.into_iter().find(|&d| self::name(d) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_a_distinct_name_that_parses_back() {
        let mut names: Vec<&str> = DType::ALL.iter().map(|&d| name(d)).collect();
        for &d in &DType::ALL {
            assert_eq!(parse(name(d)), Some(d));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DType::ALL.len());
        assert_eq!(parse("fp32"), None);
        assert_eq!(parse("STRING"), None);
    }
}
