//! Shared test support: scanner scenarios written against the `store::api`
//! traits, so they run on both `store::memory::MemoryStore` and the real
//! `store::Store`.
#![allow(dead_code)]

pub mod scenarios;
