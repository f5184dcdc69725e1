//! The jobs people do, each a few calls in one: listings as streams,
//! waiting, following logs,
//! deploying from `pcc-deploy.toml`, secret sets (and `.env` files), cloud
//! builds (and the build context they upload).

#[cfg(feature = "cloud-build")]
pub mod build_context;
pub(crate) mod build_logs;
#[cfg(feature = "cloud-build")]
pub mod cloud_build;
pub mod deploy;
pub mod deploy_config;
pub mod deploy_plan;
pub mod dotenv;
pub mod follow;
pub mod pages;
pub(crate) mod poll;
pub(crate) mod regular_file;
pub(crate) mod secret_sets;
pub(crate) mod state;
pub(crate) mod wait;
