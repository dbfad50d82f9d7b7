//! Shared test support: an in-memory store implementing the `store::api`
//! traits, and scanner scenarios written against those traits so they run on
//! both the in-memory store and the real `store::Store`.
#![allow(dead_code)]

pub mod memory_store;
pub mod scenarios;
