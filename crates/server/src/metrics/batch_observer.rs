//! Connects the batching layer's hook to the `tensorserve_batch_size` histogram, so
//! `tensorserve-batching` itself depends on no metrics implementation.

use tensorserve_batching::{BatchObserver, BatchRun};

/// Records every batch's row count (padding excluded) under its model's name.
pub struct BatchSizeMetrics;

impl BatchObserver for BatchSizeMetrics {
    fn batch_started(&self, batch: &BatchRun<'_>) {
        // The batching layer labels a version "name:version"; metrics are per model name.
        let model = batch
            .model
            .rsplit_once(':')
            .map_or(batch.model, |(name, _)| name);
        super::observe_batch_size(model, batch.rows);
    }
}
