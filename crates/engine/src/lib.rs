//! The model engine: which model versions are served, and the lookups requests make.
//!
//! A [`Manager`] discovers numbered version directories under each model's base path
//! ([`discovery`]), applies the version policy, drives each version through its lifecycle
//! ([`state`], a plain state machine with unit-tested transitions), loads through a [`Loader`]
//! (the runtime, or a fake in tests) on blocking threads, and publishes a [`table`] snapshot that
//! requests read without a lock. The model list comes from TF Serving's config file
//! ([`config`], read by the schema-free [`textproto`] reader) and is polled and reloaded by the
//! background tasks in [`poller`]. The crate depends only on `tensorserve-core`.

pub mod config;
pub mod discovery;
pub mod manager;
pub mod poller;
pub mod state;
pub mod table;
pub mod textproto;

pub use config::{ModelConfig, ModelServerConfig, VersionPolicy};
pub use manager::{Loader, Manager, ManagerOptions};
pub use state::{ModelState, VersionStatus};
pub use table::{ServableHandle, VersionChoice};
