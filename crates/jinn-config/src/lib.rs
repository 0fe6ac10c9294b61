//! The config.json interpreter: parse, validate, translate into a [`Plan`].

pub mod plan;

pub use plan::*;
