//! The model engine: which model versions are served, and the lookups requests make.
//!
//! [`Manager`] discovers numbered version directories under each model's base path
//! ([`discovery`]), applies the version policy, loads through a [`Loader`] (the runtime, or a
//! fake in tests), tracks each version's lifecycle ([`state`]) and reloads the model list from
//! TF Serving's config file ([`config`], read by the generic [`textproto`] reader). It depends
//! only on `tensorserve-core`.

pub mod config;
pub mod discovery;
pub mod manager;
pub mod state;
pub mod textproto;

pub use config::{ModelConfig, ModelServerConfig, VersionPolicy};
pub use manager::{Loader, Manager, ManagerOptions, ServableHandle, VersionChoice};
pub use state::{ModelState, VersionStatus};
