//! `tensorflow.Example`, the record classify and regress requests carry: a map from feature name
//! to a list of bytes, floats or int64s, with a hand-written protobuf codec (the message is
//! small, and core stays free of code generation).
//!
//! Wire layout: `Example { Features features = 1 }`, `Features { map<string, Feature> feature = 1 }`
//! (map entries are `{ key = 1, value = 2 }`), `Feature { oneof kind { BytesList bytes_list = 1;
//! FloatList float_list = 2; Int64List int64_list = 3 } }`, each list `{ repeated value = 1 }`.
//!
//! The decoder follows protobuf's merge rules, since TF Serving builds `ExampleListWithContext`
//! inputs by concatenating serialized messages: repeated occurrences of a message field merge,
//! lists append, a later map entry with the same key replaces the earlier one, a later `kind`
//! replaces a different earlier one. Packed and unpacked encodings are both accepted, unknown
//! fields (groups included) are skipped, and malformed bytes give `INVALID_ARGUMENT`, never a
//! panic.

use std::collections::BTreeMap;

use crate::Status;

/// One feature's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Feature {
    /// `bytes_list`
    Bytes(Vec<Vec<u8>>),
    /// `float_list`. Also what a feature with no kind set decodes to (an empty list).
    Float(Vec<f32>),
    /// `int64_list`
    Int64(Vec<i64>),
}

/// A `tensorflow.Example`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Example {
    /// Features by name.
    pub features: BTreeMap<String, Feature>,
}

/// The example as the model sees it in an `ExampleListWithContext`: the context's features,
/// overridden by the example's own where both have a name (protobuf map merge order).
pub fn merge_context(example: &Example, context: &Example) -> Example {
    let mut merged = context.clone();
    for (name, feature) in &example.features {
        merged.features.insert(name.clone(), feature.clone());
    }
    merged
}

impl Example {
    /// The same as [`merge_context`], consuming the example.
    pub fn merge_context(self, context: &Example) -> Example {
        merge_context(&self, context)
    }

    /// Serializes to protobuf wire format (features in name order, numeric lists packed).
    pub fn encode(&self) -> Vec<u8> {
        let mut features = Vec::new();
        for (name, feature) in &self.features {
            let mut entry = Vec::new();
            put_len_field(&mut entry, 1, name.as_bytes());
            put_len_field(&mut entry, 2, &feature.encode());
            put_len_field(&mut features, 1, &entry);
        }
        let mut out = Vec::new();
        put_len_field(&mut out, 1, &features);
        out
    }

    /// Parses protobuf wire format.
    pub fn decode(bytes: &[u8]) -> Result<Example, Status> {
        let mut example = Example::default();
        for field in Fields::new(bytes) {
            if let (1, Wire::Len(features)) = field? {
                decode_features(features, &mut example.features)?;
            }
        }
        Ok(example)
    }
}

impl Feature {
    fn encode(&self) -> Vec<u8> {
        let mut list = Vec::new();
        let kind = match self {
            Feature::Bytes(values) => {
                for v in values {
                    put_len_field(&mut list, 1, v);
                }
                1
            }
            Feature::Float(values) => {
                if !values.is_empty() {
                    let packed: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                    put_len_field(&mut list, 1, &packed);
                }
                2
            }
            Feature::Int64(values) => {
                if !values.is_empty() {
                    let mut packed = Vec::new();
                    for &v in values {
                        put_varint(&mut packed, v as u64);
                    }
                    put_len_field(&mut list, 1, &packed);
                }
                3
            }
        };
        let mut out = Vec::new();
        put_len_field(&mut out, kind, &list);
        out
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_len_field(out: &mut Vec<u8>, field: u32, payload: &[u8]) {
    put_varint(out, u64::from(field << 3 | 2));
    put_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

fn bad(what: &str) -> Status {
    Status::invalid_argument(format!("Could not parse example input: {what}"))
}

/// A field's payload by wire type (fixed64 is only ever skipped here).
enum Wire<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64,
    Len(&'a [u8]),
    Group,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, Status> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .data
                .get(self.pos)
                .ok_or_else(|| bad("truncated varint"))?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Status> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| bad("truncated field"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// Reads a tag: (field number, wire type).
    fn tag(&mut self) -> Result<(u32, u8), Status> {
        let key = self.varint()?;
        let field = u32::try_from(key >> 3)
            .ok()
            .filter(|&f| f != 0)
            .ok_or_else(|| bad("bad field number"))?;
        Ok((field, (key & 7) as u8))
    }

    /// Skips the rest of a group whose start tag was just read; nesting is tracked with a
    /// counter rather than recursion so hostile input cannot exhaust the stack.
    fn skip_group(&mut self, field: u32) -> Result<(), Status> {
        let mut open = vec![field];
        while let Some(&current) = open.last() {
            let (f, wire) = self.tag()?;
            match wire {
                0 => {
                    self.varint()?;
                }
                1 => {
                    self.take(8)?;
                }
                2 => {
                    let len = usize::try_from(self.varint()?).map_err(|_| bad("bad length"))?;
                    self.take(len)?;
                }
                3 => open.push(f),
                4 if f == current => {
                    open.pop();
                }
                5 => {
                    self.take(4)?;
                }
                _ => return Err(bad("mismatched group")),
            }
        }
        Ok(())
    }
}

/// Iterates the fields of one message.
struct Fields<'a>(Reader<'a>);

impl<'a> Fields<'a> {
    fn new(data: &'a [u8]) -> Fields<'a> {
        Fields(Reader { data, pos: 0 })
    }

    fn read(&mut self) -> Result<(u32, Wire<'a>), Status> {
        let r = &mut self.0;
        let (field, wire) = r.tag()?;
        let value = match wire {
            0 => Wire::Varint(r.varint()?),
            1 => {
                r.take(8)?;
                Wire::Fixed64
            }
            2 => {
                let len = usize::try_from(r.varint()?).map_err(|_| bad("bad length"))?;
                Wire::Len(r.take(len)?)
            }
            3 => {
                r.skip_group(field)?;
                Wire::Group
            }
            5 => {
                let b = r.take(4)?;
                Wire::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            _ => return Err(bad("unsupported wire type")),
        };
        Ok((field, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Wire<'a>), Status>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.pos >= self.0.data.len() {
            return None;
        }
        let item = self.read();
        if item.is_err() {
            // Stop after the first error so callers using `?` and callers that don't agree.
            self.0.pos = self.0.data.len();
        }
        Some(item)
    }
}

fn decode_features(bytes: &[u8], map: &mut BTreeMap<String, Feature>) -> Result<(), Status> {
    for field in Fields::new(bytes) {
        if let (1, Wire::Len(entry)) = field? {
            let (name, feature) = decode_entry(entry)?;
            map.insert(name, feature);
        }
    }
    Ok(())
}

/// A map entry; a missing key is `""` and a missing value an unset (empty) feature.
fn decode_entry(entry: &[u8]) -> Result<(String, Feature), Status> {
    let mut name = String::new();
    let mut feature = None;
    for field in Fields::new(entry) {
        match field? {
            (1, Wire::Len(n)) => name = String::from_utf8_lossy(n).into_owned(),
            (2, Wire::Len(f)) => decode_feature(f, &mut feature)?,
            _ => {}
        }
    }
    Ok((name, feature.unwrap_or(Feature::Float(Vec::new()))))
}

/// Merges one serialized `Feature` into `feature`.
fn decode_feature(bytes: &[u8], feature: &mut Option<Feature>) -> Result<(), Status> {
    for field in Fields::new(bytes) {
        let (kind, Wire::Len(list)) = field? else {
            continue;
        };
        let same_kind = matches!(
            (kind, &*feature),
            (1, Some(Feature::Bytes(_)))
                | (2, Some(Feature::Float(_)))
                | (3, Some(Feature::Int64(_)))
        );
        if !same_kind {
            // A different kind replaces the oneof; unknown kinds are skipped.
            *feature = Some(match kind {
                1 => Feature::Bytes(Vec::new()),
                2 => Feature::Float(Vec::new()),
                3 => Feature::Int64(Vec::new()),
                _ => continue,
            });
        }
        match feature {
            Some(Feature::Bytes(values)) => append_bytes(list, values)?,
            Some(Feature::Float(values)) => append_floats(list, values)?,
            Some(Feature::Int64(values)) => append_int64s(list, values)?,
            None => {}
        }
    }
    Ok(())
}

fn append_bytes(list: &[u8], values: &mut Vec<Vec<u8>>) -> Result<(), Status> {
    for field in Fields::new(list) {
        if let (1, Wire::Len(v)) = field? {
            values.push(v.to_vec());
        }
    }
    Ok(())
}

fn append_floats(list: &[u8], values: &mut Vec<f32>) -> Result<(), Status> {
    for field in Fields::new(list) {
        match field? {
            (1, Wire::Fixed32(bits)) => values.push(f32::from_bits(bits)),
            (1, Wire::Len(packed)) => {
                if packed.len() % 4 != 0 {
                    return Err(bad("packed floats are not a multiple of 4 bytes"));
                }
                values.extend(
                    packed
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

fn append_int64s(list: &[u8], values: &mut Vec<i64>) -> Result<(), Status> {
    for field in Fields::new(list) {
        match field? {
            (1, Wire::Varint(v)) => values.push(v as i64),
            (1, Wire::Len(packed)) => {
                let mut r = Reader {
                    data: packed,
                    pos: 0,
                };
                while r.pos < packed.len() {
                    values.push(r.varint()? as i64);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Example {
        let mut e = Example::default();
        e.features
            .insert("x".into(), Feature::Float(vec![1.5, -2.0]));
        e.features
            .insert("ids".into(), Feature::Int64(vec![1, -7, 1 << 40]));
        e.features.insert(
            "s".into(),
            Feature::Bytes(vec![b"a".to_vec(), vec![0, 255]]),
        );
        e
    }

    /// Wraps a serialized `Feature` as a one-feature Example named `name`.
    fn example_with(name: &str, feature: &[u8]) -> Vec<u8> {
        let mut entry = Vec::new();
        put_len_field(&mut entry, 1, name.as_bytes());
        put_len_field(&mut entry, 2, feature);
        let mut features = Vec::new();
        put_len_field(&mut features, 1, &entry);
        let mut example = Vec::new();
        put_len_field(&mut example, 1, &features);
        example
    }

    #[test]
    fn round_trips() {
        let e = sample();
        assert_eq!(Example::decode(&e.encode()).unwrap(), e);
        assert_eq!(Example::decode(&[]).unwrap(), Example::default());
    }

    #[test]
    fn encodes_like_protobuf() {
        let mut e = Example::default();
        e.features.insert("x".into(), Feature::Float(vec![1.0]));
        // features { feature { key: "x" value { float_list { value: 1 } } } }
        let want = [
            0x0a, 0x0f, 0x0a, 0x0d, 0x0a, 0x01, b'x', 0x12, 0x08, 0x12, 0x06, 0x0a, 0x04, 0, 0,
            0x80, 0x3f,
        ];
        assert_eq!(e.encode(), want);
    }

    #[test]
    fn decodes_a_python_serialized_example() {
        // tf.train.Example(features={"x2": float 1.0, "x": float 1.0}), from TF Serving testdata.
        let bytes =
            crate::json::b64::decode(b"Ch8KDgoCeDISCBIGCgQAAIA/Cg0KAXgSCBIGCgQAAIA/").unwrap();
        let e = Example::decode(&bytes).unwrap();
        assert_eq!(e.features["x"], Feature::Float(vec![1.0]));
        assert_eq!(e.features["x2"], Feature::Float(vec![1.0]));
    }

    #[test]
    fn decodes_unpacked_fields() {
        // float_list { value: 1.0 value: 2.0 } unpacked (wire type 5).
        let mut feature = Vec::new();
        put_len_field(
            &mut feature,
            2,
            &[0x0d, 0, 0, 0x80, 0x3f, 0x0d, 0, 0, 0, 0x40],
        );
        let e = Example::decode(&example_with("x", &feature)).unwrap();
        assert_eq!(e.features["x"], Feature::Float(vec![1.0, 2.0]));
        // int64_list { value: 3 value: -1 } unpacked (wire type 0).
        let mut list = vec![0x08, 0x03, 0x08];
        put_varint(&mut list, -1i64 as u64);
        let mut feature = Vec::new();
        put_len_field(&mut feature, 3, &list);
        let e = Example::decode(&example_with("i", &feature)).unwrap();
        assert_eq!(e.features["i"], Feature::Int64(vec![3, -1]));
    }

    #[test]
    fn merges_repeated_lists_and_replaces_other_kinds() {
        let mut feature = Vec::new();
        put_len_field(&mut feature, 3, &[0x08, 0x01]);
        put_len_field(&mut feature, 3, &[0x0a, 0x02, 0x02, 0x03]);
        let e = Example::decode(&example_with("i", &feature)).unwrap();
        assert_eq!(e.features["i"], Feature::Int64(vec![1, 2, 3]));
        put_len_field(&mut feature, 1, &[0x0a, 0x01, b'z']);
        let e = Example::decode(&example_with("i", &feature)).unwrap();
        assert_eq!(e.features["i"], Feature::Bytes(vec![b"z".to_vec()]));
    }

    #[test]
    fn concatenation_is_context_merge() {
        let mut ctx = Example::default();
        ctx.features.insert("c".into(), Feature::Int64(vec![1]));
        ctx.features.insert("x".into(), Feature::Int64(vec![9]));
        let mut bytes = ctx.encode();
        bytes.extend(sample().encode());
        let merged = Example::decode(&bytes).unwrap();
        assert_eq!(merged, merge_context(&sample(), &ctx));
        assert_eq!(merged.features["c"], Feature::Int64(vec![1]));
        assert_eq!(merged.features["x"], Feature::Float(vec![1.5, -2.0]));
        assert_eq!(sample().merge_context(&ctx), merged);
    }

    #[test]
    fn skips_unknown_fields_and_groups() {
        let mut bytes = vec![0x10, 0x05]; // field 2 varint
        bytes.extend([0x19, 1, 2, 3, 4, 5, 6, 7, 8]); // field 3 fixed64
        bytes.extend([0x23, 0x08, 0x01, 0x24]); // field 4 group { field 1 varint }
        bytes.extend([0x2d, 1, 2, 3, 4]); // field 5 fixed32
        bytes.extend(sample().encode());
        assert_eq!(Example::decode(&bytes).unwrap(), sample());
    }

    #[test]
    fn unset_kind_is_an_empty_float_list() {
        let e = Example::decode(&example_with("e", &[])).unwrap();
        assert_eq!(e.features["e"], Feature::Float(vec![]));
    }

    #[test]
    fn hostile_bytes_are_errors_not_panics() {
        let good = sample().encode();
        for cut in 0..good.len() {
            let _ = Example::decode(&good[..cut]);
        }
        for i in 0..good.len() {
            for b in [0x00, 0x07, 0x0f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = b;
                let _ = Example::decode(&bad);
            }
        }
        let cases: &[&[u8]] = &[
            &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
            &[0x0f],
            &[0x00, 0x00],
            &[0x0a; 11],
            &[0x80; 12],
            &[0x23, 0x2c],
            &[0x23; 100_000],
        ];
        for case in cases {
            let err = Example::decode(case).unwrap_err();
            assert_eq!(err.code(), crate::Code::InvalidArgument);
        }
        let mut feature = Vec::new();
        put_len_field(&mut feature, 2, &[0x0a, 0x03, 0, 0, 0]);
        assert!(Example::decode(&example_with("x", &feature)).is_err());
    }
}
