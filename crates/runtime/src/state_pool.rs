//! [`PooledPlan`]: a tract plan with a few idle run states kept for the next requests.
//!
//! `SimplePlan::run` builds a fresh `SimpleState` per call: a vector of op states, a vector of
//! node values filled with clones of every constant, a new session, and on drop a
//! `drop_session` call per node. On a small model that is a fifth of the run
//! (docs/performance.md). A state that finished a run cleanly is ready for the next one
//! (`SimpleState::run` ends with `reset_turn`, which clears every computed value and the
//! resolved symbols; the constants stay), so the pool keeps up to [`MAX_IDLE_STATES`] of them.
//!
//! Only plans where reuse cannot change an answer or leak memory get a pool:
//! * no node keeps an op state between runs (tract: `state()` answers `None` exactly when the
//!   op "keeps nothing between turns"), so a random generator or a stateful op still starts
//!   fresh on every request;
//! * no node is tract's `OptMatMul`, which keeps scratch in a thread-local map keyed by the
//!   state's session and frees it in `drop_session` on the dropping thread: a pooled state
//!   moving between threads would leave entries behind in the threads it left.
//!
//! A run that fails (or panics) drops its state instead of returning it, so a half-run state is
//! never reused.

use std::sync::{Arc, Mutex};

use tract_core::ops::matmul::optimized::OptMatMul;
use tract_hir::internal::*;

use crate::scalar_chain::ScalarChain;

/// Idle states kept per plan; more concurrent runs build (and drop) their own.
pub const MAX_IDLE_STATES: usize = 8;

/// A plan and, when reuse is safe, its idle run states.
pub struct PooledPlan {
    plan: Arc<TypedSimplePlan>,
    /// `None` when the plan's states must not be reused (module docs).
    idle: Option<Mutex<Vec<TypedSimpleState>>>,
    /// The plan as a chain of scalar ops, when that is all it is ([`ScalarChain`]).
    chain: Option<ScalarChain>,
}

impl PooledPlan {
    /// Wraps `plan`, deciding once whether its states may be reused.
    pub fn new(plan: Arc<TypedSimplePlan>) -> PooledPlan {
        let idle = Self::first_reusable_state(&plan).map(|state| Mutex::new(vec![state]));
        let chain = ScalarChain::of(plan.model());
        PooledPlan { plan, idle, chain }
    }

    fn first_reusable_state(plan: &Arc<TypedSimplePlan>) -> Option<TypedSimpleState> {
        if plan.model().nodes().iter().any(|n| n.op_is::<OptMatMul>()) {
            return None;
        }
        let state = plan.spawn().ok()?;
        state.op_states.iter().all(Option::is_none).then_some(state)
    }

    /// The plan itself.
    pub fn plan(&self) -> &Arc<TypedSimplePlan> {
        &self.plan
    }

    /// The plan as a chain of scalar ops that may run on the request's values directly.
    pub fn scalar_chain(&self) -> Option<&ScalarChain> {
        self.chain.as_ref()
    }

    /// Whether this plan's states are reused across runs.
    pub fn reuses_states(&self) -> bool {
        self.idle.is_some()
    }

    /// Idle states held now (for tests).
    pub fn idle_states(&self) -> usize {
        self.idle
            .as_ref()
            .map_or(0, |idle| idle.lock().expect("state pool lock").len())
    }

    /// Runs the plan on `inputs`, with an idle state when there is one.
    pub fn run(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let Some(idle) = &self.idle else {
            return self.plan.run(inputs);
        };
        let pooled = idle.lock().expect("state pool lock").pop();
        let mut state = match pooled {
            Some(state) => state,
            None => self.plan.spawn()?,
        };
        // `reset_turn` keeps the scenario a run picked; a fresh state has none.
        state.turn_state.scenario = None;
        let outputs = state.run(inputs)?;
        let mut idle = idle.lock().expect("state pool lock");
        if idle.len() < MAX_IDLE_STATES {
            idle.push(state);
        }
        Ok(outputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    /// y = 0.5 * x + 2 on a `[N]` f32 input, like `half_plus_two`.
    fn half_plus_two() -> Arc<TypedSimplePlan> {
        let mut model = TypedModel::default();
        let n = model.symbols.sym("N");
        let x = model
            .add_source("x", f32::fact([TDim::from(n)]))
            .expect("source");
        let half = model.add_const("half", tensor1(&[0.5f32])).expect("const");
        let two = model.add_const("two", tensor1(&[2f32])).expect("const");
        let scaled = model
            .wire_node("mul", tract_core::ops::math::mul(), &[x, half])
            .expect("mul");
        let y = model
            .wire_node("add", tract_core::ops::math::add(), &[scaled[0], two])
            .expect("add");
        model.select_output_outlets(&y).expect("outputs");
        TypedSimplePlan::new(model.into_optimized().expect("optimize")).expect("plan")
    }

    fn values(t: &TValue) -> Vec<f32> {
        t.try_as_plain_ram()
            .and_then(|p| p.as_slice::<f32>().map(|s| s.to_vec()))
            .expect("f32 values")
    }

    fn run(plan: &PooledPlan, x: &[f32]) -> Vec<f32> {
        let out = plan.run(tvec!(tensor1(x).into())).expect("run");
        values(&out[0])
    }

    #[test]
    fn reused_states_give_the_same_answers_as_fresh_ones() {
        let plan = PooledPlan::new(half_plus_two());
        assert!(plan.reuses_states());
        // Different batch sizes in turn: the symbol N must be resolved afresh each time.
        for x in [
            vec![1f32, 2., 5.],
            vec![-4.],
            vec![],
            vec![0.25; 7],
            vec![1., 2., 5.],
        ] {
            let fresh = plan
                .plan()
                .run(tvec!(tensor1(&x).into()))
                .expect("fresh run");
            assert_eq!(run(&plan, &x), values(&fresh[0]));
            assert_eq!(plan.idle_states(), 1);
        }
    }

    #[test]
    fn a_failed_run_drops_its_state() {
        let plan = PooledPlan::new(half_plus_two());
        // Wrong rank: set_inputs fails halfway; that state must not come back.
        let bad = plan.run(tvec!(tensor2(&[[1f32]]).into()));
        assert!(bad.is_err());
        assert_eq!(plan.idle_states(), 0);
        assert_eq!(run(&plan, &[2.]), vec![3.]);
        assert_eq!(plan.idle_states(), 1);
    }

    #[test]
    fn concurrent_runs_are_correct_and_the_pool_stays_bounded() {
        let plan = Arc::new(PooledPlan::new(half_plus_two()));
        let threads = MAX_IDLE_STATES + 4;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let plan = Arc::clone(&plan);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    for i in 0..200 {
                        let x = (t * 1000 + i) as f32;
                        assert_eq!(run(&plan, &[x, -x]), vec![0.5 * x + 2., -0.5 * x + 2.]);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread");
        }
        assert!(plan.idle_states() >= 1);
        assert!(plan.idle_states() <= MAX_IDLE_STATES);
    }
}
