//! `TensorserveLookupTableFind`: a TensorFlow hash-table lookup with the table built once, at
//! load.
//!
//! The importer (`tensorserve_savedmodel`'s `tables` module) replaces `LookupTableFindV2(table,
//! keys, default)` by this op with inputs `(table_keys, table_values, keys, default)`, the first
//! two being the constants the init op would have imported (or read from an `assets/`
//! vocabulary file). When the graph is wired those are known, so the hash map is built there and
//! the planned op holds it behind an `Arc`: nothing is rebuilt per call, and the per-shape plans
//! share one table.

use std::collections::HashMap;
use std::hash::Hash;

use tract_hir::internal::*;
use tract_tensorflow::model::ParsingContext;
use tract_tensorflow::tfpb::tensorflow::NodeDef;

use super::support::konst;

pub fn lookup_table_find(_: &ParsingContext, _: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    Ok(expand(LookupTableFind))
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct LookupTableFind;

impl Expansion for LookupTableFind {
    fn name(&self) -> StaticName {
        "LookupTableFind".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 4)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &inputs[2].datum_type)?;
        s.equals(&inputs[1].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[3].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[2].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        target: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let keys = konst(target, inputs[0], prefix, "table keys")?;
        let values = konst(target, inputs[1], prefix, "table values")?;
        let table =
            Table::build(&keys, &values).with_context(|| format!("building table {prefix}"))?;
        target.wire_node(
            prefix,
            HashTableLookup {
                table: Arc::new(table),
            },
            &inputs[2..4],
        )
    }
}

/// Key → row of `values`.
#[derive(Debug)]
enum Index {
    Strings(HashMap<String, usize>),
    Ints(HashMap<i64, usize>),
}

/// A built table: where each key's value sits, and the values.
#[derive(Debug)]
struct Table {
    index: Index,
    values: Arc<Tensor>,
}

impl Table {
    fn build(keys: &Tensor, values: &Tensor) -> TractResult<Table> {
        ensure!(
            keys.rank() == 1 && values.rank() == 1 && keys.len() == values.len(),
            "keys {:?} and values {:?} must be vectors of one length",
            keys.shape(),
            values.shape()
        );
        let index = match keys.datum_type() {
            DatumType::String => {
                let keys = keys.try_as_plain_ram()?;
                Index::Strings(index_of(
                    keys.as_slice::<String>()?.iter().cloned(),
                    values,
                )?)
            }
            dt if dt.is_integer() => {
                let keys = keys.cast_to::<i64>()?;
                let keys = keys.try_as_plain_ram()?;
                Index::Ints(index_of(keys.as_slice::<i64>()?.iter().copied(), values)?)
            }
            dt => bail!("tables keyed by {dt:?} are not supported"),
        };
        Ok(Table {
            index,
            values: Arc::new(values.clone()),
        })
    }

    fn find(&self, query: &Tensor) -> TractResult<Vec<Option<usize>>> {
        Ok(match &self.index {
            Index::Strings(map) => {
                let query = query.try_as_plain_ram()?;
                query
                    .as_slice::<String>()?
                    .iter()
                    .map(|k| map.get(k).copied())
                    .collect()
            }
            Index::Ints(map) => {
                let query = query.cast_to::<i64>()?;
                let query = query.try_as_plain_ram()?;
                query
                    .as_slice::<i64>()?
                    .iter()
                    .map(|k| map.get(k).copied())
                    .collect()
            }
        })
    }
}

/// Maps each key to its position. A key imported twice must carry one value, as in
/// TensorFlow's `HashTable`.
fn index_of<K: Hash + Eq + std::fmt::Debug>(
    keys: impl Iterator<Item = K>,
    values: &Tensor,
) -> TractResult<HashMap<K, usize>> {
    let mut map = HashMap::new();
    for (row, key) in keys.enumerate() {
        if let Some(&first) = map.get(&key) {
            let same = values.slice(0, first, first + 1)? == values.slice(0, row, row + 1)?;
            ensure!(same, "key {key:?} is given two different values");
            continue;
        }
        map.insert(key, row);
    }
    Ok(map)
}

/// The planned lookup: inputs `(keys, default)`.
#[derive(Debug, Clone)]
struct HashTableLookup {
    table: Arc<Table>,
}

impl PartialEq for HashTableLookup {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.table, &other.table)
    }
}

impl Eq for HashTableLookup {}

impl Op for HashTableLookup {
    fn name(&self) -> StaticName {
        "HashTableLookup".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("{} entries", self.table.values.len())])
    }

    op_as_typed_op!();
}

impl EvalOp for HashTableLookup {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (query, default) = args_2!(inputs);
        let rows = self.table.find(&query)?;
        ensure!(
            default.len() == 1 || default.shape() == query.shape(),
            "the default value must be a scalar or have the keys' shape {:?}, not {:?}",
            query.shape(),
            default.shape()
        );
        let output = dispatch_datum!(gather(self.table.values.datum_type())(
            &self.table.values,
            &rows,
            &default,
            query.shape()
        ))?;
        Ok(tvec!(output.into_tvalue()))
    }
}

fn gather<T: Datum + Clone>(
    values: &Tensor,
    rows: &[Option<usize>],
    default: &Tensor,
    shape: &[usize],
) -> TractResult<Tensor> {
    let values = values.try_as_plain_ram()?;
    let values = values.as_slice::<T>()?;
    let default = default.try_as_plain_ram()?;
    let default = default.as_slice::<T>()?;
    let out: Vec<T> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| match row {
            Some(r) => values[*r].clone(),
            None => default[if default.len() == 1 { 0 } else { i }].clone(),
        })
        .collect();
    Ok(tract_ndarray::ArrayD::from_shape_vec(shape, out)?.into())
}

impl TypedOp for HashTableLookup {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(
            self.table.values.datum_type().fact(inputs[0].shape.clone())
        ))
    }

    as_op!();
}
