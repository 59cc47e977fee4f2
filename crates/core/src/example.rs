//! `tensorflow.Example`, the record classify and regress requests carry: a map from feature name
//! to a list of bytes, floats or int64s, with a hand-written protobuf codec (the message is
//! small and core stays free of code generation).
//!
//! The decoder accepts packed and unpacked repeated fields and skips unknown fields, as protobuf
//! requires; hostile bytes give `INVALID_ARGUMENT`, never a panic.

use std::collections::BTreeMap;

use crate::Status;

/// One feature's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Feature {
    /// `bytes_list`
    Bytes(Vec<Vec<u8>>),
    /// `float_list`
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

impl Feature {
    fn encode(&self) -> Vec<u8> {
        let mut list = Vec::new();
        let field = match self {
            Feature::Bytes(values) => {
                for v in values {
                    put_len_field(&mut list, 1, v);
                }
                1
            }
            Feature::Float(values) => {
                let packed: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                put_len_field(&mut list, 1, &packed);
                2
            }
            Feature::Int64(values) => {
                let mut packed = Vec::new();
                for &v in values {
                    put_varint(&mut packed, v as u64);
                }
                put_len_field(&mut list, 1, &packed);
                3
            }
        };
        let mut out = Vec::new();
        put_len_field(&mut out, field, &list);
        out
    }
}

impl Example {
    /// Serializes to protobuf wire format (features in name order, lists packed).
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
        for field in Fields(Reader {
            data: bytes,
            pos: 0,
        }) {
            if let (1, Value::Len(features)) = field? {
                for field in Fields(Reader {
                    data: features,
                    pos: 0,
                }) {
                    if let (1, Value::Len(entry)) = field? {
                        let (name, feature) = decode_entry(entry)?;
                        example.features.insert(name, feature);
                    }
                }
            }
        }
        Ok(example)
    }

    /// The example with the context's features added where the example lacks them, as
    /// `ExampleListWithContext` defines.
    pub fn merge_context(mut self, context: &Example) -> Example {
        for (name, feature) in &context.features {
            self.features
                .entry(name.clone())
                .or_insert_with(|| feature.clone());
        }
        self
    }
}

fn bad(what: &str) -> Status {
    Status::invalid_argument(format!("Could not parse example input: {what}"))
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

enum Value<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64,
    Len(&'a [u8]),
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
}

struct Fields<'a>(Reader<'a>);

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Value<'a>), Status>;

    fn next(&mut self) -> Option<Self::Item> {
        let r = &mut self.0;
        if r.pos >= r.data.len() {
            return None;
        }
        Some((|| {
            let key = r.varint()?;
            let field = u32::try_from(key >> 3).map_err(|_| bad("bad field number"))?;
            let value = match key & 7 {
                0 => Value::Varint(r.varint()?),
                1 => {
                    r.take(8)?;
                    Value::Fixed64
                }
                2 => {
                    let len = usize::try_from(r.varint()?).map_err(|_| bad("bad length"))?;
                    Value::Len(r.take(len)?)
                }
                5 => Value::Fixed32(u32::from_le_bytes(r.take(4)?.try_into().expect("4 bytes"))),
                _ => return Err(bad("unsupported wire type")),
            };
            Ok((field, value))
        })())
    }
}

fn decode_entry(entry: &[u8]) -> Result<(String, Feature), Status> {
    let mut name = String::new();
    let mut feature = None;
    for field in Fields(Reader {
        data: entry,
        pos: 0,
    }) {
        match field? {
            (1, Value::Len(n)) => {
                name =
                    String::from_utf8(n.to_vec()).map_err(|_| bad("feature name is not UTF-8"))?
            }
            (2, Value::Len(f)) => feature = Some(decode_feature(f)?),
            _ => {}
        }
    }
    // A feature with no kind set reads as an empty float list, which parse treats as missing data.
    Ok((name, feature.unwrap_or(Feature::Float(Vec::new()))))
}

fn decode_feature(bytes: &[u8]) -> Result<Feature, Status> {
    let mut feature = Feature::Float(Vec::new());
    for field in Fields(Reader {
        data: bytes,
        pos: 0,
    }) {
        let (kind, Value::Len(list)) = field? else {
            continue;
        };
        feature = match kind {
            1 => {
                let mut values = Vec::new();
                for f in Fields(Reader { data: list, pos: 0 }) {
                    if let (1, Value::Len(v)) = f? {
                        values.push(v.to_vec());
                    }
                }
                Feature::Bytes(values)
            }
            2 => {
                let mut values = Vec::new();
                for f in Fields(Reader { data: list, pos: 0 }) {
                    match f? {
                        (1, Value::Fixed32(bits)) => values.push(f32::from_bits(bits)),
                        (1, Value::Len(packed)) => {
                            if packed.len() % 4 != 0 {
                                return Err(bad("packed floats are not a multiple of 4 bytes"));
                            }
                            values.extend(
                                packed
                                    .chunks_exact(4)
                                    .map(|c| f32::from_le_bytes(c.try_into().unwrap())),
                            );
                        }
                        _ => {}
                    }
                }
                Feature::Float(values)
            }
            3 => {
                let mut values = Vec::new();
                for f in Fields(Reader { data: list, pos: 0 }) {
                    match f? {
                        (1, Value::Varint(v)) => values.push(v as i64),
                        (1, Value::Len(packed)) => {
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
                Feature::Int64(values)
            }
            _ => continue,
        };
    }
    Ok(feature)
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

    #[test]
    fn round_trips() {
        let e = sample();
        assert_eq!(Example::decode(&e.encode()).unwrap(), e);
    }

    #[test]
    fn decodes_unpacked_fields_as_tensorflow_python_may_write_them() {
        // float_list { value: 1.0 value: 2.0 } unpacked (wire type 5).
        let list = [0x0d, 0, 0, 0x80, 0x3f, 0x0d, 0, 0, 0, 0x40];
        let mut feature = Vec::new();
        put_len_field(&mut feature, 2, &list);
        let mut entry = Vec::new();
        put_len_field(&mut entry, 1, b"x");
        put_len_field(&mut entry, 2, &feature);
        let mut features = Vec::new();
        put_len_field(&mut features, 1, &entry);
        let mut example = Vec::new();
        put_len_field(&mut example, 1, &features);
        let e = Example::decode(&example).unwrap();
        assert_eq!(e.features["x"], Feature::Float(vec![1.0, 2.0]));
    }

    #[test]
    fn hostile_bytes_are_errors() {
        let good = sample().encode();
        for cut in 0..good.len() {
            let _ = Example::decode(&good[..cut]); // must not panic
        }
        assert!(Example::decode(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        assert!(Example::decode(&[0x0f]).is_err());
    }

    #[test]
    fn context_fills_missing_features() {
        let mut ctx = Example::default();
        ctx.features.insert("c".into(), Feature::Int64(vec![1]));
        ctx.features.insert("x".into(), Feature::Int64(vec![9]));
        let merged = sample().merge_context(&ctx);
        assert_eq!(merged.features["c"], Feature::Int64(vec![1]));
        assert_eq!(merged.features["x"], Feature::Float(vec![1.5, -2.0]));
    }
}
