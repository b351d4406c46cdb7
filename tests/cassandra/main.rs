//! Integration tests against a real Apache Cassandra 5.0, which
//! `scripts/test` installs and starts (address in `TASKREC_CASSANDRA`,
//! default 127.0.0.1:9042). They fail, never skip, when it does not answer.
//!
//! One keyspace per run, named at random, so runs never share state; each
//! test works in task lists of its own.

mod bad_inputs;
#[path = "../support/capture.rs"]
mod capture;
mod churn;
mod claim_next;
mod clock;
mod cluster;
mod compat;
mod completion;
mod consistency;
mod contract;
#[path = "../support/corpus.rs"]
mod corpus;
mod counts;
mod crash;
#[path = "../support/exact.rs"]
mod exact;
mod held_claims;
mod history;
mod kept;
mod listing;
mod load;
mod new_ids;
mod operate;
mod own_node;
mod paging;
mod parts;
mod plain_claims;
mod save_all;
mod scheduled;
#[cfg(any(feature = "cassandra-tls", feature = "cassandra-rustls"))]
mod secure;
mod state_edges;
mod tombstones;
mod tracing_spans;
mod unique;
mod utils;
mod worker;
