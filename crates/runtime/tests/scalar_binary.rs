//! Our scalar binary op (`ops::scalar_binary`) against tract's binary ops: for every covered
//! operation, with the constant on either side, on inputs
//! with zeros, negatives, infinities and NaN, the results must be bit-identical. What it does
//! not cover stays tract's, and the bundled `half_plus_two` plans run it.

mod common;

use std::path::Path;

use tensorserve_runtime::SavedModelModel;
use tensorserve_runtime::ops::scalar_binary::{ScalarBinary, swap_scalar_binaries};
use tract_core::internal::*;
use tract_core::ops::binary::{BinMiniOp, TypedBinOp};
use tract_core::ops::math;

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut next = common::lcg(seed);
    (0..n)
        .map(|i| match i % 11 {
            0 => 0.0,
            1 => -0.0,
            2 => f32::INFINITY,
            3 => f32::NAN,
            _ => (next() % 2000) as f32 / 7.0 - 140.0,
        })
        .collect()
}

/// `x ∘ c` (or `c ∘ x`) as a typed model with tract's op, the constant wired as a node.
fn model(mini: Box<dyn BinMiniOp>, shape: &[usize], scalar: &Tensor, left: bool) -> TypedModel {
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact(shape)).unwrap();
    let c = model.add_const("c", scalar.clone()).unwrap();
    let inputs = if left { [c, x] } else { [x, c] };
    let y = model
        .wire_node("op", TypedBinOp(mini, None), &inputs)
        .unwrap();
    model.select_output_outlets(&y).unwrap();
    model
}

fn bits(t: &Tensor) -> Vec<u32> {
    let plain = t.try_as_plain_ram().unwrap();
    plain
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

fn minis() -> Vec<Box<dyn BinMiniOp>> {
    vec![
        Box::new(math::Add),
        Box::new(math::Sub),
        Box::new(math::SubF),
        Box::new(math::Mul),
        Box::new(math::Div),
    ]
}

#[test]
fn matches_tract_bit_for_bit() {
    let mut cases = 0;
    for shape in [vec![3], vec![1], vec![0], vec![2, 5], vec![4, 1, 7]] {
        let n: usize = shape.iter().product();
        let input = tract_ndarray::ArrayD::from_shape_vec(shape.clone(), values(n, n as u64))
            .unwrap()
            .into_tensor();
        for scalar in [0.5f32, -3.0, 0.0, f32::INFINITY] {
            // The constant with the tensor's rank, all dimensions 1 (tract's binary ops want
            // equal ranks; its importers add the axes).
            let c = tensor0(scalar)
                .broadcast_into_rank(shape.len())
                .unwrap()
                .into_arc_tensor();
            for mini in minis() {
                for left in [false, true] {
                    let name = format!("{mini:?} {shape:?} {scalar} left {left}");
                    let want = common::run_optimized(model(mini.clone(), &shape, &c, left), &input);
                    // As plan.rs does: declutter (which drops `x + 0`, `x * 1`...), swap.
                    let mut ours = model(mini.clone(), &shape, &c, left)
                        .into_decluttered()
                        .unwrap();
                    swap_scalar_binaries(&mut ours).unwrap();
                    if ours.nodes().iter().any(|n| n.op_is::<ScalarBinary>()) {
                        cases += 1;
                    }
                    let got = common::run_optimized(ours, &input);
                    assert_eq!(got.shape(), want.shape(), "{name}");
                    assert_eq!(bits(&got), bits(&want), "{name}");
                }
            }
        }
    }
    assert!(cases >= 150, "only {cases} cases ran our op");
}

#[test]
fn leaves_what_it_does_not_cover_to_tract() {
    let swapped = |mut m: TypedModel| {
        swap_scalar_binaries(&mut m).unwrap();
        m.nodes().iter().any(|n| n.op_is::<ScalarBinary>())
    };
    let half = tensor1(&[0.5f32]).into_arc_tensor();
    // Tensors from tract's 32-element threshold on keep tract's fast kernels.
    assert!(swapped(model(Box::new(math::Mul), &[31], &half, false)));
    assert!(!swapped(model(Box::new(math::Mul), &[32], &half, false)));
    // A constant of more than one element is not a scalar.
    let pair = tensor1(&[0.5f32, 2.0]).into_arc_tensor();
    assert!(!swapped(model(Box::new(math::Mul), &[2], &pair, false)));
    // Other operations and other types.
    assert!(!swapped(model(Box::new(math::Max), &[3], &half, false)));
    assert!(!swapped(model(Box::new(math::Pow), &[3], &half, false)));
    let mut ints = TypedModel::default();
    let x = ints.add_source("x", i32::fact([3])).unwrap();
    let c = ints.add_const("c", tensor1(&[2i32])).unwrap();
    let y = ints
        .wire_node("op", TypedBinOp(Box::new(math::Add), None), &[x, c])
        .unwrap();
    ints.select_output_outlets(&y).unwrap();
    assert!(!swapped(ints));
    // Two runtime inputs.
    let mut two = TypedModel::default();
    let a = two.add_source("a", f32::fact([3])).unwrap();
    let b = two.add_source("b", f32::fact([3])).unwrap();
    let y = two
        .wire_node("op", TypedBinOp(Box::new(math::Add), None), &[a, b])
        .unwrap();
    two.select_output_outlets(&y).unwrap();
    assert!(!swapped(two));
}

#[test]
fn half_plus_two_runs_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/half_plus_two/00000123");
    let model = SavedModelModel::load(&dir, &["serve"]).unwrap();
    let plan = model.signature_plan("serving_default").unwrap();
    let plan = plan.plan_for(&[vec![3]]).unwrap();
    let ops: Vec<String> = plan
        .model()
        .nodes()
        .iter()
        .map(|n| n.op.name().to_string())
        .collect();
    assert_eq!(
        ops.iter().filter(|o| *o == "ScalarBinary").count(),
        2,
        "{ops:?}"
    );
}

/// The bundled model's plan is nothing but its two scalar ops, so a request runs them on its
/// own values (`scalar_chain`): the answers must be tract's, bit for bit, and a feed that is
/// not f32 must still get tract's answer or error rather than a wrong one.
#[test]
fn half_plus_two_runs_as_a_scalar_chain_with_tracts_answers() {
    use std::collections::BTreeMap;
    use tensorserve_core::{Model, Tensor, TensorData};
    use tensorserve_runtime::scalar_chain::ScalarChain;

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/half_plus_two/00000123");
    let model = SavedModelModel::load(&dir, &["serve"]).unwrap();
    let plan = model
        .signature_plan("serving_default")
        .unwrap()
        .plan_for(&[vec![3]])
        .unwrap();
    assert!(ScalarChain::of(plan.model()).is_some());
    let x = [1.0f32, -0.0, f32::NAN];
    let tract = plan.run(tvec!(tensor1(&x).into())).unwrap();
    let tract: Vec<u32> = tract[0]
        .try_as_plain_ram()
        .unwrap()
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect();
    let feed = |data| BTreeMap::from([("x".to_string(), Tensor::new(vec![3], data).unwrap())]);
    let ours = model
        .run("serving_default", feed(TensorData::F32(x.to_vec())), &[])
        .unwrap();
    let TensorData::F32(ours) = ours["y"].data() else {
        panic!("f32 answer expected: {ours:?}");
    };
    assert_eq!(ours.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), tract);
    assert_eq!(ours[0], 2.5);
    // An f64 feed is not the chain's to take: it fails as tract's run fails.
    let wrong = model.run("serving_default", feed(TensorData::F64(vec![1.0; 3])), &[]);
    assert!(wrong.is_err(), "{wrong:?}");
}
